//! Two sentences in, the cosine similarity of their embeddings out.

use glassbox_model::readout::cosine;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::Timings;
use crate::client::call;
use crate::now_ms;
use crate::protocol::{Reply, Request};

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
        busy.set(true);
        similarity.set(None);
        warnings.set(vec![]);
        status.set("Running…".into());
        let names = ["Sentence A", "Sentence B"];
        let texts = vec![text_a.get_untracked(), text_b.get_untracked()];
        spawn_local(async move {
            let t0 = now_ms();
            match call(Request::Run { texts }).await {
                Reply::Ran(out) => {
                    let mut notes = vec![];
                    let mut embeddings = vec![];
                    for (name, s) in names.iter().zip(out.sentences) {
                        match s {
                            Ok(s) => {
                                if let Some(t) = s.truncation {
                                    notes.push(format!("{name}: {t}"));
                                }
                                embeddings.push(s.embedding);
                            }
                            Err(e) => notes.push(format!("{name}: {e}")),
                        }
                    }
                    if embeddings.len() < 2 {
                        status.set("Nothing to compare: enter two non-empty sentences.".into());
                    } else {
                        let dt = out.forward_ms;
                        timings.update(|t| {
                            t.first_forward_ms.get_or_insert(dt);
                            t.last_forward_ms = Some(dt);
                            t.last_round_trip_ms = Some(now_ms() - t0);
                        });
                        similarity.set(Some(cosine(&embeddings[0], &embeddings[1])));
                        status.set(format!("Done in {dt:.0} ms."));
                    }
                    warnings.set(notes);
                }
                Reply::Failed(e) => status.set(format!("Inference failed: {e}")),
                Reply::Loaded(_) => status.set("Inference failed: unexpected reply".into()),
            }
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
                    data-value=move || similarity.get().map(|s| format!("{s:.9}")).unwrap_or_default()>
                    {move || similarity.get().map(|s| format!("{s:.4}")).unwrap_or_else(|| "—".into())}
                </output>
            </p>
        </section>
    }
}
