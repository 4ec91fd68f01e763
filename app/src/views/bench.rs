//! `?bench=N`: measures the page as a user meets it and prints JSON for scripts (the e2e
//! suite saves it): model load (and whether it came from the network or the cache), first inference, warm per-sentence latency (median of N
//! single-sentence runs, cache bypassed) and batch throughput.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{query_param, State};
use crate::client::call;
use crate::now_ms;
use crate::protocol::{Reply, Request};

const SENTENCES: [&str; 4] = [
    "Just watched the new Star Wars movie with Sarah in London, absolutely loved it!",
    "Apple's customer service kept me on hold for an hour. Never again.",
    "The meeting with Microsoft is moved to Tuesday at 3pm.",
    "@jack is heading to the Lakers game tonight #NBA",
];

async fn timed(texts: Vec<String>) -> Result<f64, String> {
    let t0 = now_ms();
    match call(Request::Run { texts, fresh: true }).await {
        Reply::Ran(_) => Ok(now_ms() - t0),
        Reply::Failed(e) => Err(e),
        _ => Err("unexpected reply".into()),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs the benchmark with `?bench=N` warm runs (10 by default) and shows its JSON.
pub fn run(s: State) {
    if s.busy.get_untracked() || s.model.get_untracked().is_none() {
        return;
    }
    let n: usize = query_param("bench")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
        .clamp(1, 200);
    s.status.set(format!("Benchmarking ({n} warm runs)…"));
    s.busy.set(true);
    spawn_local(async move {
        let result: Result<String, String> = async {
            let first = timed(vec![SENTENCES[0].to_string()]).await?;
            let mut warm = Vec::new();
            // The same sentence every time: warm means no new shapes to compile (WebGPU
            // compiles kernels per shape, which is a cost of first use, not of inference).
            for _ in 0..n {
                warm.push(timed(vec![SENTENCES[0].to_string()]).await?);
            }
            let batch: Vec<String> = (0..8).map(|i| SENTENCES[i % 4].to_string()).collect();
            // One batch of 8, the size the page sends its lines in.
            let batch_ms = timed(batch.clone()).await?;
            let m = s.model.get_untracked();
            let (backend, source, load_ms, bytes) = m
                .map(|m| {
                    (
                        m.info.backend.clone(),
                        m.info.source.clone(),
                        m.info.load_ms,
                        m.info.bytes,
                    )
                })
                .unwrap_or_default();
            Ok(serde_json::json!({
                "backend": backend,
                "model_source": source,
                "load_ms": load_ms,
                "model_bytes": bytes,
                "first_inference_ms": first,
                "warm_ms_per_sentence_median": median(warm),
                "warm_runs": n,
                "batch_sentences_per_s": batch.len() as f64 / (batch_ms / 1000.0),
            })
            .to_string())
        }
        .await;
        match result {
            Ok(json) => {
                s.bench.set(Some(json));
                s.status.set("Benchmark done.".into());
            }
            Err(e) => s.status.set(format!("Benchmark failed: {e}")),
        }
        s.busy.set(false);
    });
}

#[component]
pub fn BenchOutput() -> impl IntoView {
    let s = expect_context::<State>();
    view! {
        <section class="panel bench">
            <h2>"Benchmark"</h2>
            <p class="caption">"Times this browser on this model: first inference, warm latency per sentence and batch throughput (the cache is bypassed). Add ?bench=N to the address to run it on load."</p>
            <button class="small" data-testid="bench-run" disabled=move || !s.ready() on:click=move |_| run(s)>"Run benchmark"</button>
            {move || s.bench.get().map(|b| view! { <pre data-testid="bench">{b}</pre> })}
        </section>
    }
}
