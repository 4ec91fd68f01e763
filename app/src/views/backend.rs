//! Which backend runs the model, why, and how fast: the first thing a teacher is asked.

use leptos::prelude::*;

use super::Timings;

fn ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0} ms"))
        .unwrap_or_else(|| "—".into())
}

#[component]
pub fn BackendPanel(
    backend: RwSignal<String>,
    fallback: RwSignal<Option<String>>,
    timings: RwSignal<Timings>,
    heads_trained: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <section class="panel backend">
            <h2>"Backend"</h2>
            <p class="where">"The model runs in a Web Worker, so the page stays responsive while it computes."</p>
            <p data-testid="backend" class="backend-name">{move || backend.get()}</p>
            {move || fallback.get().map(|r| view! {
                <p class="note" data-testid="fallback-reason">"Not using WebGPU: " {r}</p>
            })}
            {move || (!heads_trained.get()).then(|| view! {
                <p class="note">"This bundle's classification heads are untrained: only the embeddings and attention are meaningful."</p>
            })}
            <dl class="timings" data-testid="timings">
                <dt>"model load"</dt><dd data-testid="t-load">{move || ms(timings.get().load_ms)}</dd>
                <dt>"first inference"</dt><dd data-testid="t-first">{move || ms(timings.get().first_forward_ms)}</dd>
                <dt>"last inference"</dt><dd data-testid="t-last">{move || ms(timings.get().last_forward_ms)}</dd>
                <dt>"click to result"</dt><dd data-testid="t-round-trip">{move || ms(timings.get().last_round_trip_ms)}</dd>
            </dl>
        </section>
    }
}
