//! The bundle's model card in brief, from its manifest (labels, metrics, data and licences)
//! plus the limitations written into its MODEL_CARD.md: what the model is for, how well it
//! does, and where it fails, next to the predictions it makes.
//!
//! The card's text comes from the worker, which checked it against the manifest's hash like
//! every other file of the bundle: what is shown is what the trainer wrote.

use std::sync::Arc;

use glassbox_model::weights::bundle::Metric;
use leptos::prelude::*;

use crate::model_card::caveats;
use crate::state::{Model, State};

#[component]
pub fn ModelCard() -> impl IntoView {
    let s = expect_context::<State>();
    move || s.model.get().map(|m| view! { <Card m /> })
}

#[component]
fn Card(m: Arc<Model>) -> impl IntoView {
    let man = &m.manifest;
    let caveats = m
        .info
        .model_card
        .as_deref()
        .map(caveats)
        .unwrap_or_default();
    let data = man.data.clone();
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
            <Metrics metrics=man.metrics.clone() />
            <h3>"Data"</h3>
            <ul>
                <For each=move || data.clone().into_iter().enumerate() key=|(i, d)| (*i, d.name.clone())
                    children=|(_, d)| view! { <li><strong>{d.name}</strong>": " {d.source} " — " {d.licence}</li> } />
            </ul>
            <For each=move || caveats.clone().into_iter().enumerate() key=|(i, (title, _))| (*i, title.clone())
                children=|(_, (title, body))| view! { <h3>{title}</h3><p class="prose">{body}</p> } />
            <p><a href=card_url>"The full model card (MODEL_CARD.md)"</a></p>
        </section>
    }
}

/// The evaluation metrics the manifest records, with their split.
#[component]
fn Metrics(metrics: Vec<Metric>) -> impl IntoView {
    view! {
        <table class="metrics" data-testid="metrics">
            <thead><tr><th>"task"</th><th>"metric"</th><th>"value"</th><th>"split"</th></tr></thead>
            <tbody>
                <For each=move || metrics.clone().into_iter().enumerate()
                    key=|(i, x)| (*i, x.task.clone(), x.name.clone())
                    children=|(_, x)| view! {
                        <tr><td>{x.task}</td><td>{x.name}</td>
                            <td class="num">{format!("{:.3}", x.value)}</td><td>{x.split}</td></tr>
                    } />
            </tbody>
        </table>
    }
}
