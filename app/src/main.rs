//! Entry point of the page's UI thread (built by Trunk as `glassbox-app`).

fn main() {
    console_error_panic_hook::set_once();
    // The page exists only in the browser; natively this binary does nothing.
    #[cfg(target_arch = "wasm32")]
    glassbox_app::views::mount();
}
