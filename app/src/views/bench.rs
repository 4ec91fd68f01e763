//! `?bench=N` and its button: measures the page as a user meets it and prints JSON for
//! scripts (the e2e suite saves it): model load (and whether it came from the network or the
//! cache), first inference, warm per-sentence latency (median of N single-sentence runs,
//! cache bypassed) and batch throughput.

use leptos::prelude::*;

use crate::session::Session;

#[component]
pub fn BenchOutput() -> impl IntoView {
    let session = expect_context::<Session>();
    let json = move || session.bench.value().get().and_then(Result::ok);
    view! {
        <section class="panel bench">
            <h2>"Benchmark"</h2>
            <p class="caption">"Times this browser on this model: first inference, warm latency per sentence and batch throughput (the cache is bypassed). Add ?bench=N to the address to run it on load."</p>
            <button class="small" data-testid="bench-run" disabled=move || !session.ready() on:click=move |_| session.benchmark()>"Run benchmark"</button>
            {move || json().map(|b| view! { <pre data-testid="bench">{b}</pre> })}
        </section>
    }
}
