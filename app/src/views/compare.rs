//! Champion and challenger side by side on the analysed sentences: per model, each
//! sentence's class with its probabilities and its entity spans, so a class sees where the
//! two disagree before any aggregate metric says so.

use std::sync::Arc;

use glassbox_model::text::decode::entities_by;
use leptos::prelude::*;

use crate::protocol::{SentenceOut, WorkerError};
use crate::registry::compare::{Compare, Compared};
use crate::state::{Model, State};
use crate::views::results::{probs_json, ClassShares};

#[component]
pub fn ComparePanel() -> impl IntoView {
    let Some(c) = use_context::<Compare>() else {
        return ().into_any();
    };
    let s = expect_context::<State>();
    view! {
        <section class="panel compare" data-testid="compare">
            <h2>"Compare: " {c.names.0.get_value()} " and " {c.names.1.get_value()}</h2>
            {move || c.error.get().map(|e| view! { <p class="warning" data-testid="compare-error">{e}</p> })}
            {move || match (s.model.get(), c.peer.get(), c.result.get()) {
                (Some(a), Some(b), Some(r)) => view! { <Columns a b r /> }.into_any(),
                (_, None, _) => view! { <p class="note">"Loading the second model…"</p> }.into_any(),
                _ => view! { <p class="note">"Analyse sentences to compare the two models on them."</p> }.into_any(),
            }}
        </section>
    }
    .into_any()
}

#[component]
fn Columns(a: Arc<Model>, b: Arc<Model>, r: Arc<Compared>) -> impl IntoView {
    let c = expect_context::<Compare>();
    view! {
        <div class="compare-columns">
            <Column role="a" name=c.names.0.get_value() model=a outs=r.a.clone() texts=r.texts.clone() />
            <Column role="b" name=c.names.1.get_value() model=b outs=r.b.clone() texts=r.texts.clone() />
        </div>
    }
}

/// One model's answers, one line per sentence.
#[component]
fn Column(
    role: &'static str,
    name: String,
    model: Arc<Model>,
    outs: Vec<Result<SentenceOut, WorkerError>>,
    texts: Vec<String>,
) -> impl IntoView {
    let man = &model.manifest;
    let title = format!("{name}: {} {}", man.name, man.version);
    let lines = texts
        .into_iter()
        .zip(outs)
        .enumerate()
        .map(|(i, (text, out))| view! { <Line index=i text out model=model.clone() /> })
        .collect_view();
    view! {
        <div class="compare-column" data-testid=format!("compare-{role}") data-version=man.version.clone()>
            <h3>{title}</h3>
            <ol class="compare-lines">{lines}</ol>
        </div>
    }
}

#[component]
fn Line(
    index: usize,
    text: String,
    out: Result<SentenceOut, WorkerError>,
    model: Arc<Model>,
) -> impl IntoView {
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return view! { <li class="warning" data-testid="compare-line">{format!("{text}: {e}")}</li> }
                .into_any()
        }
    };
    let labels = model.manifest.config.sentence_labels.clone();
    let probs = probs_json(&labels, &out.sentence_probs);
    view! {
        <li class="compare-line" data-testid="compare-line" data-index=index.to_string() data-probs=probs>
            <ClassShares labels probs=out.sentence_probs.clone() testid="compare-label" />
            <p class="text">{out.tokenized.text.clone()}</p>
            <Spans out=Arc::new(out) model />
        </li>
    }
    .into_any()
}

/// The entity spans as the current word aggregation reads them.
#[component]
fn Spans(out: Arc<SentenceOut>, model: Arc<Model>) -> impl IntoView {
    let s = expect_context::<State>();
    move || {
        let agg = s.view.with(|v| v.agg);
        let labels = &model.manifest.config.token_labels;
        let ents = entities_by(&out.tokenized, &out.token_probs, labels, agg);
        let chars: Vec<char> = out.tokenized.text.chars().collect();
        let items = ents
            .into_iter()
            .filter(|e| e.start <= e.end && e.end <= chars.len())
            .map(|e| {
                let span: String = chars[e.start..e.end].iter().collect();
                let class = format!("ent ent-{}", model.type_index(&e.label) % 10);
                view! {
                    <span class=class><mark data-testid="compare-entity" data-label=e.label.clone()
                        data-start=e.start.to_string() data-end=e.end.to_string()>{span}</mark>
                        <span class="ent-type">{format!("{} {:.2}", e.label, e.score)}</span></span>
                }
            })
            .collect_view();
        view! { <p class="spans">"Entities: " {items}</p> }
    }
}
