//! The API worker's message loop: JSON requests from `glassbox.js` queue up and one task
//! answers them in order with the page's own [`Engine`] (bundle fetch and hash check,
//! WebGPU with CPU fallback, result cache), so two requests never interleave GPU work and a
//! `predict` posted while `load` runs simply waits for it.
//!
//! Talks to its global scope through `Reflect` (`onmessage`, `postMessage`) rather than
//! gloo-worker: the other end is plain JavaScript, not a Rust bridge.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use glassbox_model::text::decode::Aggregation;
use glassbox_model::weights::bundle::Manifest;
use js_sys::{Function, Reflect};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::answer::{self, Selection};
use super::message::{self, Op};
use crate::protocol::{Progress, SentenceOut, WorkerError};
use crate::worker::Engine;

/// Texts per forward pass: a `predict` of thousands of lines never pads them into one batch.
const BATCH: usize = 16;

/// A loaded model and its parsed manifest (labels, layer and head counts).
struct Loaded {
    engine: Engine,
    manifest: Manifest,
}

#[derive(Default)]
struct State {
    queue: RefCell<VecDeque<String>>,
    draining: Cell<bool>,
    model: RefCell<Option<Rc<Loaded>>>,
}

/// Sends one reply (JSON text) to the page.
fn post(text: &str) {
    let global = js_sys::global();
    let send = Reflect::get(&global, &"postMessage".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    if let Some(send) = send {
        // Posting a string cannot fail on a live worker scope.
        let _ = send.call1(&global, &text.into());
    }
}

/// Installs the message handler; called from the worker binary's `main`.
pub fn register() {
    let state = Rc::new(State::default());
    let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
        let data = Reflect::get(&event, &"data".into()).unwrap_or_default();
        let text = data.as_string().unwrap_or_default();
        state.queue.borrow_mut().push_back(text);
        if !state.draining.replace(true) {
            wasm_bindgen_futures::spawn_local(drain(state.clone()));
        }
    });
    let _ = Reflect::set(&js_sys::global(), &"onmessage".into(), on_message.as_ref());
    // The handler lives as long as the worker.
    on_message.forget();
    // Messages that arrived before this handler existed were dropped by the browser, so
    // glassbox.js sends nothing until it hears this.
    post(&message::ready());
}

async fn drain(state: Rc<State>) {
    loop {
        let next = state.queue.borrow_mut().pop_front();
        let Some(text) = next else { break };
        let reply = match message::parse(&text) {
            Ok((id, op)) => match handle(&state, &id, op).await {
                Ok(result) => message::ok(&id, result),
                Err(e) => message::failed(&id, &e),
            },
            Err(bad) => message::refused(&bad),
        };
        post(&reply);
    }
    state.draining.set(false);
}

fn loaded(state: &State) -> Result<Rc<Loaded>, WorkerError> {
    state.model.borrow().clone().ok_or(WorkerError::NotLoaded)
}

async fn handle(state: &State, id: &Value, op: Op) -> Result<Value, WorkerError> {
    match op {
        Op::Load { url, backend } => {
            // Drop a previous model first: two copies of the weights may not fit.
            state.model.borrow_mut().take();
            let progress = |p: Progress| post(&message::progress(id, p));
            let engine = Engine::load(&[url], backend, &progress).await?;
            let info = engine.info();
            let manifest = Manifest::from_json(info.manifest_json.as_bytes())?;
            let result = answer::info(&info, &manifest);
            *state.model.borrow_mut() = Some(Rc::new(Loaded { engine, manifest }));
            Ok(result)
        }
        Op::Predict { texts, aggregate } => {
            let m = loaded(state)?;
            predict(&m, &texts, aggregate).await
        }
        Op::Embed { texts } => {
            let m = loaded(state)?;
            embed(&m, &texts).await
        }
        Op::Attention { text, layer, head } => {
            let sel = Selection { layer, head };
            let m = loaded(state)?;
            attention(&m, &text, sel).await
        }
        Op::Dispose => {
            state.model.borrow_mut().take();
            Ok(Value::Null)
        }
    }
}

/// Runs `texts` through the engine in batches; `answer` turns each computed text into its
/// JSON, a text that could not be encoded becomes the CLI's error item at its place.
async fn per_text(
    m: &Loaded,
    texts: &[String],
    answer: &dyn Fn(&SentenceOut) -> Value,
) -> Result<Value, WorkerError> {
    let mut out = Vec::with_capacity(texts.len());
    for (b, chunk) in texts.chunks(BATCH).enumerate() {
        let run = m.engine.run(chunk, false, None).await?;
        for (i, s) in run.sentences.iter().enumerate() {
            out.push(match s {
                Ok(s) => answer(s),
                Err(e) => answer::item_error(b * BATCH + i, e),
            });
        }
    }
    Ok(Value::Array(out))
}

async fn predict(m: &Loaded, texts: &[String], agg: Aggregation) -> Result<Value, WorkerError> {
    let cfg = &m.manifest.config;
    per_text(m, texts, &|s: &SentenceOut| answer::prediction(cfg, s, agg)).await
}

async fn embed(m: &Loaded, texts: &[String]) -> Result<Value, WorkerError> {
    per_text(m, texts, &answer::embedding).await
}

/// One text's attention as computed (f32, not the cache's bytes); an empty text or a layer
/// the model lacks rejects the call, since there is nothing else in it to answer.
async fn attention(m: &Loaded, text: &str, sel: Selection) -> Result<Value, WorkerError> {
    answer::check_selection(&m.manifest.config, sel)?;
    let r = m.engine.exact(text).await?;
    Ok(answer::attention(&r, sel))
}
