//! The page. One file per panel; `App` owns the state and hands signals down.

mod backend;
mod compare;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::engine::{locate_bundle, Engine};

thread_local! {
    /// The loaded model. Not `Send` (it holds wasm-only GPU handles), so it lives beside
    /// the reactive graph rather than inside a signal.
    static ENGINE: RefCell<Option<Rc<Engine>>> = const { RefCell::new(None) };
}

pub fn engine() -> Option<Rc<Engine>> {
    ENGINE.with(|e| e.borrow().clone())
}

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// `?key=value` from the page URL.
pub fn query_param(key: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(key)
}

#[derive(Clone, Default, Debug)]
pub struct Timings {
    pub load_ms: Option<f64>,
    pub first_forward_ms: Option<f64>,
    pub last_forward_ms: Option<f64>,
}

#[component]
pub fn App() -> impl IntoView {
    let status = RwSignal::new("Loading model…".to_string());
    let backend = RwSignal::new("detecting…".to_string());
    let fallback = RwSignal::new(None::<String>);
    let heads_trained = RwSignal::new(true);
    let ready = RwSignal::new(false);
    let timings = RwSignal::new(Timings::default());

    spawn_local(async move {
        let t0 = now_ms();
        let candidates = match query_param("model") {
            Some(m) => vec![if m.ends_with('/') { m } else { format!("{m}/") }],
            None => vec!["models/default/".to_string(), "models/base/".to_string()],
        };
        let force_cpu = query_param("backend").as_deref() == Some("cpu");
        let loaded = match locate_bundle(&candidates).await {
            Ok((base, manifest)) => {
                status.set(format!("Downloading and verifying {base}…"));
                Engine::load(&base, manifest, force_cpu).await
            }
            Err(e) => Err(e),
        };
        match loaded {
            Ok((engine, reason)) => {
                backend.set(engine.backend_label());
                fallback.set(reason);
                heads_trained.set(match &engine {
                    Engine::Gpu { bundle, .. } => bundle.manifest.heads_trained,
                    Engine::Cpu { bundle } => bundle.manifest.heads_trained,
                });
                ENGINE.with(|e| *e.borrow_mut() = Some(Rc::new(engine)));
                timings.update(|t| t.load_ms = Some(now_ms() - t0));
                status.set("Ready.".into());
                ready.set(true);
            }
            Err(e) => {
                backend.set("none".into());
                status.set(format!("Could not load the model: {e}"));
            }
        }
    });

    view! {
        <header>
            <h1>"glassbox"</h1>
            <p class="tagline">"A sentence transformer you can look inside — running in your browser."</p>
        </header>
        <main>
            <backend::BackendPanel backend fallback timings heads_trained />
            <p class="status" data-testid="status" role="status">{move || status.get()}</p>
            <compare::Compare ready status timings />
        </main>
    }
}
