//! One card per sentence: the class with a probability bar per class, and the text with its
//! entities marked inline (type and score beside each, colour from a colour-blind-safe
//! palette and always the type in words too). Text is only ever inserted as text nodes.

use std::sync::Arc;

use glassbox_model::decode::{argmax, entities_by, Entity};
use leptos::prelude::*;

use super::{Model, Row, State};
use crate::charts::{Bars, Chart, Spec};
use crate::protocol::SentenceOut;

/// JSON of the class distribution, for tests and for people who want the exact numbers.
fn probs_json(labels: &[String], probs: &[f32]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .zip(probs)
        .map(|(l, p)| (l.clone(), serde_json::json!(p)))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// The text cut at entity boundaries: plain runs and marked entities, in order.
fn highlighted(text: &str, ents: &[Entity], model: &Model) -> impl IntoView {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut at = 0;
    for e in ents {
        if e.start < at || e.end > chars.len() {
            continue;
        }
        parts.push(chars[at..e.start].iter().collect::<String>().into_any());
        let class = format!("ent ent-{}", model.type_index(&e.label) % 10);
        let span: String = chars[e.start..e.end].iter().collect();
        parts.push(
            view! {
                <span class=class>
                    <mark data-testid="entity" data-label=e.label.clone()
                        data-start=e.start.to_string() data-end=e.end.to_string()
                        title=format!("{} · {:.2}", e.label, e.score)>{span}</mark>
                    <span class="ent-type">{format!("{} {:.2}", e.label, e.score)}</span>
                </span>
            }
            .into_any(),
        );
        at = e.end;
    }
    parts.push(chars[at..].iter().collect::<String>().into_any());
    parts
}

#[component]
fn Card(row: Arc<Row>, index: usize) -> impl IntoView {
    let s = expect_context::<State>();
    let Some(model) = s.model.get_untracked() else {
        return ().into_any();
    };
    let select = move |_| s.view.update(|v| v.sel = index);
    let selected = move || s.view.get().sel == index;
    let line = row.line;
    match &row.out {
        Err(e) => view! {
            <article class="result error" data-testid="result" data-line=line.to_string()>
                <header><span class="line">{format!("line {line}")}</span></header>
                <p class="text">{row.text.clone()}</p>
                <p class="warning" data-testid="result-error">{format!("Not analysed: {e}")}</p>
            </article>
        }
        .into_any(),
        Ok(out) => {
            let out: SentenceOut = out.clone();
            let labels = model.manifest.config.sentence_labels.clone();
            let (best, p) = argmax(&out.sentence_probs);
            let label = labels.get(best).cloned().unwrap_or_default();
            let probs = probs_json(&labels, &out.sentence_probs);
            let bars = Spec::Bars(Bars {
                labels: labels.clone(),
                values: out.sentence_probs.clone(),
                signed: false,
                range: 1.0,
                highlight: Some(best),
            });
            let alt = format!("class probabilities: {label} {:.0}%", p * 100.0);
            let token_labels = model.manifest.config.token_labels.clone();
            let tokenized = out.tokenized.clone();
            let token_probs = out.token_probs.clone();
            let m = model.clone();
            let ents = move || {
                let agg = s.view.get().agg;
                let ents = entities_by(&tokenized, &token_probs, &token_labels, agg);
                highlighted(&tokenized.text, &ents, &m)
            };
            let truncation = out.tokenized.truncation.as_ref().map(|t| t.message());
            view! {
                <article class="result" class:selected=selected data-testid="result"
                    data-line=line.to_string() data-probs=probs>
                    <header>
                        <span class="line">{format!("{}.", index + 1)}</span>
                        <strong class="label" data-testid="sentence-label">{label}</strong>
                        <span class="prob">{format!("{:.1}%", p * 100.0)}</span>
                        {out.cached.then(|| view! {
                            <span class="cache-hit" data-testid="cache-hit" title="answered from the worker's cache for this model">"cached"</span>
                        })}
                        <button class="small" data-testid="inspect" on:click=select>"Inspect"</button>
                    </header>
                    <Chart spec=bars testid="probs" name="probabilities" alt=Signal::derive(move || alt.clone()) />
                    <p class="text" data-testid="text">{ents}</p>
                    {truncation.map(|t| view! { <p class="warning" data-testid="truncated">{t}</p> })}
                </article>
            }
            .into_any()
        }
    }
}

#[component]
fn Legend() -> impl IntoView {
    let s = expect_context::<State>();
    move || {
        s.model.get().map(|m| {
            m.entity_types
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    view! { <span class=format!("ent ent-{}", i % 10)><mark>{t.clone()}</mark></span> }
                })
                .collect_view()
        })
    }
}

#[component]
pub fn Results() -> impl IntoView {
    let s = expect_context::<State>();
    view! {
        <section class="panel results">
            <h2>"Class and entities"</h2>
            <p class="legend" data-testid="legend">"Entity types: " <Legend /></p>
            <div class="cards">
                {move || s.rows.get().into_iter().enumerate()
                    .map(|(i, row)| view! { <Card row index=i /> })
                    .collect_view()}
            </div>
        </section>
    }
}
