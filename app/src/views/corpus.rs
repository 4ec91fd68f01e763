//! Across the pasted sentences: how alike their embeddings are (cosine heatmap) and where they
//! sit relative to each other (2-D PCA), numbered as in the list of results.

use leptos::prelude::*;

use crate::charts::Chart;
use crate::lesson::Panel;
use crate::state::State;
use crate::views::lesson::highlights;

#[component]
pub fn Corpus() -> impl IntoView {
    let s = expect_context::<State>();
    let d = s.derived;
    view! {
        <section class="panel corpus" data-lesson=Panel::Corpus.id() class:lesson-focus=highlights(s, Panel::Corpus)>
            <h2>"Across sentences"</h2>
            <Show when=move || { d.embedded.with(Vec::len) >= 2 }
                fallback=|| view! { <p class="muted">"Analyse two or more sentences to compare their embeddings."</p> }>
                <div class="side-by-side">
                    <div>
                        <h3>"Cosine similarity of sentence embeddings"</h3>
                        <Chart spec=d.similarity testid="similarity" name="similarity"
                            alt=Signal::derive(|| "cosine similarity matrix".to_string()) />
                    </div>
                    <div>
                        <h3>"Embeddings in 2-D (PCA)"</h3>
                        <Chart spec=d.pca testid="pca" name="pca"
                            alt=Signal::derive(|| "PCA scatter of sentence embeddings".to_string()) />
                    </div>
                </div>
            </Show>
        </section>
    }
}
