//! Which backend runs the model, why, and how fast. Collapsed into one status line (backend,
//! model, load state) that expands on click: the page opens on the sentences, but the
//! question a teacher is asked first ("is this on the GPU?") stays one click away. The switch
//! reloads the model on the CPU backend so both can be compared live.

use leptos::prelude::*;

use super::bench::BenchOutput;
use crate::session::Session;
use crate::state::State;
use crate::status_line::LoadState;
use crate::url::{BackendChoice, Query};

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0} ms"))
        .unwrap_or_else(|| "—".into())
}

fn mib(b: u64) -> String {
    format!("{:.1} MB", b as f64 / 1e6)
}

/// The collapsed line and, when expanded, the backend details and the benchmark. Open from
/// the start when the address asks for a benchmark, whose result is shown inside.
#[component]
pub fn BackendStatus() -> impl IntoView {
    view! {
        <details class="backend-status" data-testid="backend-details" open=Query::current().bench.is_some()>
            <summary data-testid="backend-summary"><StatusLine /></summary>
            <BackendPanel />
            <BenchOutput />
        </details>
    }
}

/// "CPU (wasm SIMD) · glassbox 1.0 · ready": what runs, which model, how far it is.
#[component]
fn StatusLine() -> impl IntoView {
    let s = expect_context::<State>();
    let session = expect_context::<Session>();
    let backend = move || {
        s.model
            .with(|m| m.as_ref().map(|m| m.info.backend.clone()))
            .unwrap_or_else(|| "detecting…".into())
    };
    let model = move || {
        s.model
            .with(|m| {
                m.as_ref()
                    .map(|m| format!("{} {}", m.manifest.name, m.manifest.version))
            })
            .unwrap_or_else(|| "model".into())
    };
    let state = move || {
        let failed = session.load.value().with(|v| matches!(v, Some(Err(_))));
        let p = s.progress.get();
        LoadState::of(s.loaded(), session.busy.get(), failed, (p.loaded, p.total)).words()
    };
    view! {
        <span class="status-line">
            <span data-testid="backend" class="backend-name">{backend}</span>
            " · " <span data-testid="model-name">{model}</span>
            " · " <span data-testid="load-state">{state}</span>
        </span>
        <span class="expand-hint">"details"</span>
    }
}

#[component]
fn BackendPanel() -> impl IntoView {
    let s = expect_context::<State>();
    let session = expect_context::<Session>();
    let info = move || s.model.get().map(|m| m.info.clone());
    let toggle = move |ev: leptos::ev::Event| session.switch_backend(event_target_checked(&ev));
    view! {
        <section class="panel backend">
            <h2>"Backend"</h2>
            <p class="where">"The model runs in a Web Worker, so the page stays responsive while it computes."</p>
            {move || info().and_then(|i| i.fallback_reason).map(|r| view! {
                <p class="note" data-testid="fallback-reason">"Not using WebGPU: " {r}</p>
            })}
            {move || s.model.get().filter(|m| !m.manifest.heads_trained).map(|_| view! {
                <p class="note">"This bundle's classification heads are untrained: only the embeddings and attention are meaningful."</p>
            })}
            {move || {
                let p = s.progress.get();
                (s.model.get().is_none() && p.total > 0).then(|| view! {
                    <label class="progress">"Downloading the model: " {mib(p.loaded)} " of " {mib(p.total)}
                        <progress data-testid="progress" max=p.total.to_string() value=p.loaded.to_string()></progress>
                    </label>
                })
            }}
            <label class="switch">
                <input type="checkbox" data-testid="force-cpu" prop:checked=move || s.backend.get() == BackendChoice::Cpu
                    disabled=move || session.busy.get() on:change=toggle />
                " Force the CPU backend (reloads the model)"
            </label>
            <dl class="timings" data-testid="timings">
                <dt>"model from"</dt><dd data-testid="source">{move || info().map(|i| format!("{} · {}", i.source, mib(i.bytes))).unwrap_or_else(|| "—".into())}</dd>
                <dt>"offline copy"</dt><dd data-testid="offline">{move || info().map(|i| offline_copy(i.not_kept.as_deref())).unwrap_or_else(|| "—".into())}</dd>
                <dt>"model load"</dt><dd data-testid="t-load">{move || ms(s.timings.get().load_ms)}</dd>
                <dt>"first inference"</dt><dd data-testid="t-first">{move || ms(s.timings.get().first_forward_ms)}</dd>
                <dt>"per sentence (last run)"</dt><dd data-testid="t-sentence">{move || ms(s.timings.get().per_sentence_ms)}</dd>
                <dt>"click to result"</dt><dd data-testid="t-round-trip">{move || ms(s.timings.get().last_round_trip_ms)}</dd>
            </dl>
        </section>
    }
}

/// The "offline copy" line: stored, or why not (a full quota costs the offline copy only).
fn offline_copy(not_kept: Option<&str>) -> String {
    match not_kept {
        None => "kept in this browser".into(),
        Some(why) => format!("not kept ({why}): the next visit downloads it again"),
    }
}
