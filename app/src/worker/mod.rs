//! The inference worker: owns the loaded model and answers the page's requests.
//!
//! Requests are handled strictly one after another (a queue drained by a single task), so a
//! `Run` sent while the model is still loading waits for it instead of failing, and two runs
//! never interleave their GPU work. `loader` verifies a bundle, `runner` puts it on one
//! backend, `engine` serves it with a result cache.
//!
//! Only the cache and the adapter check are pure Rust; everything else needs the browser and
//! is compiled for wasm32 alone, so their tests run on the host with `cargo test -p
//! glassbox-app`.

pub mod adapter;
pub mod cache;
#[cfg(target_arch = "wasm32")]
mod engine;
#[cfg(target_arch = "wasm32")]
mod fetch;
#[cfg(target_arch = "wasm32")]
mod loader;
#[cfg(target_arch = "wasm32")]
mod runner;
#[cfg(target_arch = "wasm32")]
mod service;

/// The engine itself, for the JavaScript API's worker (`crate::api`), which serves it too.
#[cfg(target_arch = "wasm32")]
pub use engine::Engine;
#[cfg(target_arch = "wasm32")]
pub use service::{register, InferenceWorker};
