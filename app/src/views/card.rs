//! The bundle's model card in brief, from its manifest (labels, metrics, data and licences)
//! plus the limitations written into its MODEL_CARD.md: what the model is for, how well it
//! does, and where it fails, next to the predictions it makes.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::State;

/// The "## Limitations" and "## Ethical considerations" sections of a model card.
pub fn caveats(card: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in card.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            out.extend(current.take());
            if title.starts_with("Limitations") || title.starts_with("Ethical") {
                current = Some((title.to_string(), String::new()));
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.extend(current);
    out.into_iter()
        .map(|(t, b)| (t, b.trim().to_string()))
        .collect()
}

#[component]
pub fn ModelCard() -> impl IntoView {
    let s = expect_context::<State>();
    let notes = RwSignal::new(Vec::<(String, String)>::new());
    Effect::new(move |_| {
        let Some(m) = s.model.get() else { return };
        let url = format!("{}MODEL_CARD.md", m.info.base);
        spawn_local(async move {
            let text = match gloo_net::http::Request::get(&url).send().await {
                Ok(r) if r.ok() => r.text().await.unwrap_or_default(),
                _ => String::new(),
            };
            notes.set(caveats(&text));
        });
    });
    move || {
        s.model.get().map(|m| {
            let man = &m.manifest;
            let metrics = man
                .metrics
                .iter()
                .map(|x| {
                    view! {
                        <tr><td>{x.task.clone()}</td><td>{x.name.clone()}</td>
                            <td class="num">{format!("{:.3}", x.value)}</td><td>{x.split.clone()}</td></tr>
                    }
                })
                .collect_view();
            let data = man
                .data
                .iter()
                .map(|d| view! { <li><strong>{d.name.clone()}</strong>": " {d.source.clone()} " — " {d.licence.clone()}</li> })
                .collect_view();
            let card_url = format!("{}MODEL_CARD.md", m.info.base);
            view! {
                <section class="panel card" data-testid="model-card">
                    <h2>"Model card"</h2>
                    <p>
                        <strong>{format!("{} {}", man.name, man.version)}</strong>
                        {format!(" — from {}, {} weights, created {}.", man.base_checkpoint, man.quantization, man.created_at)}
                    </p>
                    <p>"Sentence classes: " {man.config.sentence_labels.join(", ")}</p>
                    <p>"Entity types: " {m.entity_types.join(", ")}</p>
                    <table class="metrics" data-testid="metrics">
                        <thead><tr><th>"task"</th><th>"metric"</th><th>"value"</th><th>"split"</th></tr></thead>
                        <tbody>{metrics}</tbody>
                    </table>
                    <h3>"Data"</h3>
                    <ul>{data}</ul>
                    {move || notes.get().into_iter().map(|(t, b)| view! {
                        <h3>{t}</h3><p class="prose">{b}</p>
                    }).collect_view()}
                    <p><a href=card_url>"The full model card (MODEL_CARD.md)"</a></p>
                </section>
            }
        })
    }
}
