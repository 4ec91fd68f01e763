//! `?bench=N` and its button: measures the page as a user meets it and prints JSON for
//! scripts (the e2e suite, `bench/page-bench.mjs`): model load (and whether it came from the
//! network or the cache), first inference, warm per-sentence latency at batch 1 (each
//! sentence's median over N rounds, cache bypassed) and batch-16 throughput, on the built-in
//! sentences or on the list `?sentences=` names (a same-origin URL or inline JSON).

use leptos::prelude::*;

use crate::session::Session;

#[component]
pub fn BenchOutput() -> impl IntoView {
    let session = expect_context::<Session>();
    let outcome = move || session.bench.value().get();
    view! {
        <section class="panel bench">
            <h2>"Benchmark"</h2>
            <p class="caption">"Times this browser on this model: first inference, warm latency per sentence and batch throughput (the cache is bypassed). Add ?bench=N to the address to run it on load, and ?sentences= with a same-origin URL of a JSON list of strings (or the list itself) to time your own sentences."</p>
            <button class="small" data-testid="bench-run" disabled=move || !session.ready() on:click=move |_| session.benchmark()>"Run benchmark"</button>
            {move || outcome().map(|r| match r {
                Ok(json) => view! { <pre data-testid="bench">{json}</pre> }.into_any(),
                Err(e) => view! { <p class="note" data-testid="bench-error">"Benchmark failed: " {e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
