//! glassbox in the browser: the same burn model as the CLI, on WebGPU when the browser has
//! an adapter, on burn's CPU backend (wasm SIMD) when it has none.

mod engine;
mod views;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(views::App);
}
