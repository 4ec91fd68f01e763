//! Entry point of the inference worker (built by Trunk as `glassbox-worker`).

fn main() {
    console_error_panic_hook::set_once();
    // The worker exists only in the browser; natively this binary does nothing.
    #[cfg(target_arch = "wasm32")]
    glassbox_app::worker::register();
}
