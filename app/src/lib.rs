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

/// Bytes of this thread's wasm memory (it only grows: a leak shows as growth that never
/// stops); 0 outside wasm.
pub fn wasm_memory_bytes() -> u64 {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        wasm_bindgen::memory()
            .dyn_into::<js_sys::WebAssembly::Memory>()
            .map(|m| {
                m.buffer()
                    .unchecked_into::<js_sys::ArrayBuffer>()
                    .byte_length() as u64
            })
            .unwrap_or(0)
    }
    #[cfg(not(target_arch = "wasm32"))]
    0
}

/// Bytes of the JavaScript heap in use, where the browser says (Chromium's
/// `performance.memory`; exact only with `--enable-precise-memory-info`); 0 elsewhere.
pub fn js_heap_bytes() -> u64 {
    let get = |o: &wasm_bindgen::JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).ok();
    get(&js_sys::global(), "performance")
        .and_then(|p| get(&p, "memory"))
        .and_then(|m| get(&m, "usedJSHeapSize"))
        .and_then(|v| v.as_f64())
        .map_or(0, |v| v as u64)
}

/// Milliseconds from the global `performance` clock, on the page and in the worker alike.
pub fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| wasm_bindgen::JsCast::dyn_into::<web_sys::Performance>(p).ok())
        .map(|p| p.now())
        .unwrap_or(0.0)
}
