//! Entry point of the inference worker (built by Trunk as `glassbox-worker`).

fn main() {
    console_error_panic_hook::set_once();
    glassbox_app::worker::register();
}
