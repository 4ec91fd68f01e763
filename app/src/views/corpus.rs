//! Across the pasted sentences: how alike their embeddings are (cosine heatmap) and where they
//! sit relative to each other (2-D PCA), numbered as in the list of results.

use glassbox_model::explain::{cosine_matrix, pca2};
use leptos::prelude::*;

use super::State;
use crate::charts::{Chart, Heatmap, Scatter, Spec};

#[component]
pub fn Corpus() -> impl IntoView {
    let s = expect_context::<State>();
    // Numbered by position in the result list; failed lines have no embedding.
    let embedded = move || {
        s.rows
            .get()
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                r.out
                    .as_ref()
                    .ok()
                    .map(|o| ((i + 1).to_string(), o.embedding.clone()))
            })
            .collect::<Vec<_>>()
    };
    let sim = Signal::derive(move || {
        let (names, embs): (Vec<String>, Vec<Vec<f32>>) = embedded().into_iter().unzip();
        let values = cosine_matrix(&embs).concat();
        Spec::Heatmap(Heatmap {
            annotate: names.len() <= 12,
            rows: names.clone(),
            cols: names,
            values,
            vmax: 1.0,
            mark_row: None,
        })
    });
    let pca = Signal::derive(move || {
        let (names, embs): (Vec<String>, Vec<Vec<f32>>) = embedded().into_iter().unzip();
        Spec::Scatter(Scatter {
            points: pca2(&embs),
            labels: names,
        })
    });
    view! {
        <section class="panel corpus">
            <h2>"Across sentences"</h2>
            <Show when=move || { embedded().len() >= 2 }
                fallback=|| view! { <p class="muted">"Analyse two or more sentences to compare their embeddings."</p> }>
                <div class="side-by-side">
                    <div>
                        <h3>"Cosine similarity of sentence embeddings"</h3>
                        <Chart spec=sim testid="similarity" name="similarity"
                            alt=Signal::derive(|| "cosine similarity matrix".to_string()) />
                    </div>
                    <div>
                        <h3>"Embeddings in 2-D (PCA)"</h3>
                        <Chart spec=pca testid="pca" name="pca"
                            alt=Signal::derive(|| "PCA scatter of sentence embeddings".to_string()) />
                    </div>
                </div>
            </Show>
        </section>
    }
}
