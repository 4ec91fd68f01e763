//! glassbox in the browser: the same burn model as the CLI, on WebGPU when the browser has
//! an adapter, on burn's CPU backend (wasm SIMD) when it has none.
//!
//! Two wasm programs share this crate. The page (`views`, `client`) is Leptos only; the model
//! runs in a dedicated Web Worker (`worker`) so that a long CPU forward pass never freezes the
//! page a teacher is presenting from.

pub mod charts;
pub mod client;
pub mod protocol;
pub mod views;
pub mod worker;

/// Milliseconds from the global `performance` clock, on the page and in the worker alike.
pub fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| wasm_bindgen::JsCast::dyn_into::<web_sys::Performance>(p).ok())
        .map(|p| p.now())
        .unwrap_or(0.0)
}
