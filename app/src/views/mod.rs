//! The page. One file per panel; `App` owns the state and hands signals down. The model
//! itself lives in the inference worker (`crate::client`), never on this thread.

mod backend;
mod compare;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::client::call;
use crate::now_ms;
use crate::protocol::{Reply, Request};

/// `?key=value` from the page URL.
pub fn query_param(key: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(key)
}

/// `path` resolved against the page, so the worker (whose own URL differs) fetches the same file.
fn absolute(path: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    web_sys::Url::new_with_base(path, &base)
        .map(|u| u.href())
        .unwrap_or_else(|_| path.to_string())
}

#[derive(Clone, Default, Debug)]
pub struct Timings {
    pub load_ms: Option<f64>,
    pub first_forward_ms: Option<f64>,
    pub last_forward_ms: Option<f64>,
    /// Click to result on this thread: the forward pass plus the trip to the worker.
    pub last_round_trip_ms: Option<f64>,
}

pub fn mount() {
    leptos::mount::mount_to_body(App);
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
            Some(m) => vec![absolute(&if m.ends_with('/') {
                m
            } else {
                format!("{m}/")
            })],
            None => vec![absolute("models/default/"), absolute("models/base/")],
        };
        let force_cpu = query_param("backend").as_deref() == Some("cpu");
        status.set("Downloading and verifying the model…".into());
        match call(Request::Load {
            candidates,
            force_cpu,
        })
        .await
        {
            Reply::Loaded(info) => {
                backend.set(info.backend);
                fallback.set(info.fallback_reason);
                heads_trained.set(info.heads_trained);
                timings.update(|t| t.load_ms = Some(now_ms() - t0));
                status.set(format!("Ready: {} from {}.", info.model_name, info.base));
                ready.set(true);
            }
            Reply::Failed(e) => {
                backend.set("none".into());
                status.set(format!("Could not load the model: {e}"));
            }
            Reply::Ran(_) => status.set("Could not load the model: unexpected reply".into()),
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
