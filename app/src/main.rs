//! Entry point of the page's UI thread (built by Trunk as `glassbox-app`).

fn main() {
    console_error_panic_hook::set_once();
    glassbox_app::views::mount();
}
