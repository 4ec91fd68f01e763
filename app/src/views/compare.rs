//! Two sentences in, the cosine similarity of their embeddings out.

use glassbox_model::readout::cosine;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{engine, now_ms, Timings};

#[component]
pub fn Compare(
    ready: RwSignal<bool>,
    status: RwSignal<String>,
    timings: RwSignal<Timings>,
) -> impl IntoView {
    let text_a = RwSignal::new("A man is eating food.".to_string());
    let text_b = RwSignal::new("A man is eating a piece of bread.".to_string());
    let similarity = RwSignal::new(None::<f32>);
    let warnings = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);

    let run = move |_| {
        let Some(engine) = engine() else { return };
        busy.set(true);
        similarity.set(None);
        warnings.set(vec![]);
        status.set("Running…".into());
        spawn_local(async move {
            // Let the browser paint "Running…" before the (possibly CPU-bound) forward pass.
            gloo_timers::future::TimeoutFuture::new(0).await;
            let mut notes = vec![];
            let mut items = vec![];
            for (name, text) in [
                ("Sentence A", text_a.get_untracked()),
                ("Sentence B", text_b.get_untracked()),
            ] {
                match engine.tokenize(&text) {
                    Ok(t) => {
                        if let Some(tr) = &t.truncation {
                            notes.push(format!("{name}: {}", tr.message()));
                        }
                        items.push(t);
                    }
                    Err(e) => notes.push(format!("{name}: {e}")),
                }
            }
            if items.len() < 2 {
                status.set("Nothing to compare: enter two non-empty sentences.".into());
                warnings.set(notes);
                busy.set(false);
                return;
            }
            let t0 = now_ms();
            match engine.run(items).await {
                Ok(results) => {
                    let dt = now_ms() - t0;
                    timings.update(|t| {
                        t.first_forward_ms.get_or_insert(dt);
                        t.last_forward_ms = Some(dt);
                    });
                    similarity.set(Some(cosine(&results[0].embedding, &results[1].embedding)));
                    status.set(format!("Done in {dt:.0} ms."));
                }
                Err(e) => status.set(format!("Inference failed: {e}")),
            }
            warnings.set(notes);
            busy.set(false);
        });
    };

    view! {
        <section class="panel compare">
            <h2>"Compare two sentences"</h2>
            <label>"Sentence A"
                <textarea data-testid="text-a" rows="3" maxlength="100000"
                    prop:value=move || text_a.get()
                    on:input=move |ev| text_a.set(event_target_value(&ev))></textarea>
            </label>
            <label>"Sentence B"
                <textarea data-testid="text-b" rows="3" maxlength="100000"
                    prop:value=move || text_b.get()
                    on:input=move |ev| text_b.set(event_target_value(&ev))></textarea>
            </label>
            <button data-testid="run" on:click=run disabled=move || !ready.get() || busy.get()>
                "Compare"
            </button>
            <ul class="warnings" data-testid="warnings">
                {move || warnings.get().into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}
            </ul>
            <p class="similarity">"cosine similarity: "
                <output data-testid="similarity"
                    attr:data-value=move || similarity.get().map(|s| format!("{s:.9}")).unwrap_or_default()>
                    {move || similarity.get().map(|s| format!("{s:.4}")).unwrap_or_else(|| "—".into())}
                </output>
            </p>
        </section>
    }
}
