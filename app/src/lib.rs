//! glassbox in the browser: the same burn model as the CLI, on WebGPU when the browser has
//! an adapter, on burn's CPU backend (wasm SIMD) when it has none.
//!
//! Two wasm programs share this crate. The page (`views` over `state` and `session`, talking
//! through `client`) is Leptos only; the model runs in a dedicated Web Worker (`worker`) so
//! that a long CPU forward pass never freezes the page a teacher is presenting from.
//!
//! What needs a browser (the worker's bridge, the session's actions, the views) is compiled
//! for wasm32 only; everything pure (line limits, the address, chart specs, the result cache,
//! the benchmark report) also compiles natively, where `cargo test -p glassbox-app` tests it.

pub mod api;
pub mod bench;
pub mod charts;
#[cfg(target_arch = "wasm32")]
pub mod client;
pub mod derived;
pub mod lesson;
pub mod lines;
pub mod model_card;
pub mod protocol;
pub mod registry;
#[cfg(target_arch = "wasm32")]
pub mod session;
pub mod state;
pub mod status_line;
pub mod url;
#[cfg(target_arch = "wasm32")]
pub mod views;
pub mod whatif;
pub mod worker;

/// Milliseconds from the global `performance` clock, on the page and in the worker alike.
pub fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| wasm_bindgen::JsCast::dyn_into::<web_sys::Performance>(p).ok())
        .map(|p| p.now())
        .unwrap_or(0.0)
}
