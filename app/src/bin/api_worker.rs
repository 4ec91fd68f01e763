//! Entry point of the JavaScript API's worker (built by Trunk as `glassbox-api-worker`),
//! spawned by `glassbox.js` once per loaded model.

fn main() {
    console_error_panic_hook::set_once();
    // The worker exists only in the browser; natively this binary does nothing.
    #[cfg(target_arch = "wasm32")]
    glassbox_app::api::register();
}
