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
            <p data-testid="lineage">{lineage(man)}</p>
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

/// The version's ancestry in one sentence: what it was fine-tuned from and with which code.
fn lineage(man: &glassbox_model::weights::bundle::Manifest) -> String {
    let Some(l) = &man.lineage else {
        return format!(
            "Version {}: exported before versions recorded their lineage.",
            man.version
        );
    };
    let parent = l
        .parent_version
        .as_deref()
        .map_or("a pretrained checkpoint".to_string(), |p| {
            format!("version {p}")
        });
    let commit = l
        .code_commit
        .as_deref()
        .map_or("unrecorded code".to_string(), |c| {
            format!("code {}", &c[..c.len().min(12)])
        });
    format!(
        "Version {}: fine-tuned from {parent} with {commit}.",
        man.version
    )
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

#[cfg(test)]
mod tests {
    use glassbox_model::weights::bundle::{Lineage, Manifest};

    fn committed() -> Manifest {
        let bytes = include_bytes!("../../../public/models/default/manifest.json");
        Manifest::from_json(bytes).unwrap()
    }

    #[test]
    fn lineage_names_parent_and_short_commit() {
        let mut m = committed();
        m.version = "1.3.0".into();
        m.lineage = Some(Lineage {
            parent_version: Some("1.2.0".into()),
            code_commit: Some("0123456789abcdef0123456789abcdef01234567-dirty".into()),
            ..Lineage::default()
        });
        assert_eq!(
            super::lineage(&m),
            "Version 1.3.0: fine-tuned from version 1.2.0 with code 0123456789ab."
        );
        m.lineage = Some(Lineage::default());
        assert_eq!(
            super::lineage(&m),
            "Version 1.3.0: fine-tuned from a pretrained checkpoint with unrecorded code."
        );
        m.lineage = None;
        assert!(super::lineage(&m).contains("before versions recorded"));
    }
}
