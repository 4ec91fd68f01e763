//! A JavaScript API over the page's inference engine, so any web page can use glassbox the
//! way people use transformers.js `pipeline()`:
//! `const m = await glassbox.load(url, {backend}); await m.predict(texts)`.
//!
//! `app/api/glassbox.js` spawns one `glassbox-api-worker` per loaded model and speaks the
//! JSON protocol of [`message`] with it; the worker ([`service`]) answers with the page's own
//! [`Engine`](crate::worker::Engine) and formats results as [`answer`] says — the objects of
//! `glassbox predict|embed|attention --format json`. Only the wire format and the answers
//! are pure Rust (tested natively); the message loop needs the browser.

pub mod answer;
pub mod message;
#[cfg(target_arch = "wasm32")]
mod service;

#[cfg(target_arch = "wasm32")]
pub use service::register;
