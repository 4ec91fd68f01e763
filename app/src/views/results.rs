//! One card per sentence: the class with a probability bar per class, and the text with its
//! entities marked inline (type and score beside each, colour from a colour-blind-safe
//! palette and always the type in words too). Text is only ever inserted as text nodes.

use std::sync::Arc;

use glassbox_model::text::decode::{argmax, entities_by, Entity};
use leptos::prelude::*;

use crate::charts::Chart;
use crate::derived::class_bars;
use crate::lesson::Panel;
use crate::protocol::{SentenceOut, WorkerError};
use crate::state::{Model, Row, State};
use crate::views::lesson::highlights;

/// JSON of the class distribution, for tests and for people who want the exact numbers.
pub(crate) fn probs_json(labels: &[String], probs: &[f32]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .zip(probs)
        .map(|(l, p)| (l.clone(), serde_json::json!(p)))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// A class distribution in words: the winning class (under `testid`), its probability, and
/// every class's share — one line where a chart would take too much room (comparisons).
#[component]
pub(crate) fn ClassShares(
    labels: Vec<String>,
    probs: Vec<f32>,
    testid: &'static str,
) -> impl IntoView {
    let (best, p) = argmax(&probs);
    let label = labels.get(best).cloned().unwrap_or_default();
    let shares: Vec<String> = labels
        .iter()
        .zip(&probs)
        .map(|(l, p)| format!("{l} {:.1}%", p * 100.0))
        .collect();
    view! {
        <strong data-testid=testid>{label}</strong>
        {format!(" {:.1}% — ", p * 100.0)}<span class="shares">{shares.join(" · ")}</span>
    }
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

/// A line the worker could not analyse (empty after normalisation, …), with why.
#[component]
fn FailedCard(line: usize, text: String, error: WorkerError) -> impl IntoView {
    view! {
        <article class="result error" data-testid="result" data-line=line.to_string()>
            <header><span class="line">{format!("line {line}")}</span></header>
            <p class="text">{text}</p>
            <p class="warning" data-testid="result-error">{format!("Not analysed: {error}")}</p>
        </article>
    }
}

/// The entities of `out` as the current word aggregation reads them, marked in its text.
pub(crate) fn entity_text(s: State, out: Arc<SentenceOut>, model: Arc<Model>) -> impl IntoView {
    move || {
        let agg = s.view.with(|v| v.agg);
        let labels = &model.manifest.config.token_labels;
        let ents = entities_by(&out.tokenized, &out.token_probs, labels, agg);
        highlighted(&out.tokenized.text, &ents, &model)
    }
}

/// An analysed sentence; `index` is its position in the list (what "Inspect" selects).
#[component]
fn ResultCard(
    line: usize,
    index: usize,
    out: Arc<SentenceOut>,
    model: Arc<Model>,
) -> impl IntoView {
    let s = expect_context::<State>();
    let labels = &model.manifest.config.sentence_labels;
    let (best, p) = argmax(&out.sentence_probs);
    let label = labels.get(best).cloned().unwrap_or_default();
    let probs = probs_json(labels, &out.sentence_probs);
    let bars = class_bars(labels, &out.sentence_probs);
    let alt = format!("class probabilities: {label} {:.0}%", p * 100.0);
    let truncation = out.tokenized.truncation.as_ref().map(|t| t.message());
    let cached = out.cached;
    view! {
        <article class="result" class:selected=move || s.view.with(|v| v.sel == index) data-testid="result"
            data-line=line.to_string() data-probs=probs>
            <header>
                <span class="line">{format!("{}.", index + 1)}</span>
                <strong class="label" data-testid="sentence-label">{label}</strong>
                <span class="prob">{format!("{:.1}%", p * 100.0)}</span>
                {cached.then(|| view! {
                    <span class="cache-hit" data-testid="cache-hit" title="answered from the worker's cache for this model">"cached"</span>
                })}
                <button class="small" data-testid="inspect" on:click=move |_| s.view.update(|v| v.sel = index)>"Inspect"</button>
            </header>
            <Chart spec=bars testid="probs" name="probabilities" alt=Signal::derive(move || alt.clone()) />
            <p class="text" data-testid="text">{entity_text(s, out, model)}</p>
            {truncation.map(|t| view! { <p class="warning" data-testid="truncated">{t}</p> })}
        </article>
    }
}

#[component]
fn Card(row: Arc<Row>, index: usize) -> impl IntoView {
    let s = expect_context::<State>();
    let Some(model) = s.model.get_untracked() else {
        return ().into_any();
    };
    match &row.out {
        Err(error) => {
            view! { <FailedCard line=row.line text=row.text.clone() error=error.clone() /> }
                .into_any()
        }
        Ok(out) => view! { <ResultCard line=row.line index out=out.clone() model /> }.into_any(),
    }
}

#[component]
fn Legend() -> impl IntoView {
    let s = expect_context::<State>();
    let types = move || {
        s.model.with(|m| {
            m.as_ref()
                .map(|m| m.entity_types.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <For each=move || types().into_iter().enumerate() key=|(i, t)| (*i, t.clone())
            children=|(i, t)| view! { <span class=format!("ent ent-{}", i % 10)><mark>{t}</mark></span> } />
    }
}

#[component]
pub fn Results() -> impl IntoView {
    let s = expect_context::<State>();
    view! {
        <section class="panel results" data-lesson=Panel::Results.id() class:lesson-focus=highlights(s, Panel::Results)>
            <h2>"Class and entities"</h2>
            <p class="legend" data-testid="legend">"Entity types: " <Legend /></p>
            <div class="cards">
                // Keyed by run and line: a card stays as it is while later lines of its run
                // arrive, and a re-run (now answered from the cache) gets fresh cards.
                <For each=move || s.rows.get().into_iter().enumerate()
                    key=|(_, row)| (row.run, row.line)
                    children=|(index, row)| view! { <Card row index /> } />
            </div>
        </section>
    }
}
