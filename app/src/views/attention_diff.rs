//! Where the two compared models attend differently to the focused sentence: a layers ×
//! heads grid of the mean absolute difference of their attention maps (darker is more
//! different, the biggest outlined), and the two maps of the picked cell side by side.
//! Cells are shaded with CSS classes: the page's Content-Security-Policy forbids inline
//! styles.

use std::sync::Arc;

use leptos::prelude::*;

use crate::charts::{Chart, Spec};
use crate::derived::{detail, heatmap, AttnPick};
use crate::protocol::SentenceOut;
use crate::registry::compare::{Compare, Compared};
use crate::registry::diff::{attention_diff, shade, DiffGrid};
use crate::state::{AttnMode, State};

/// Colour steps of the grid (`.heat-0` … `.heat-7` in the style sheet).
const SHADES: usize = 8;

/// The focused sentence's maps from both models, when both came back.
fn focus_maps(r: &Compared) -> Option<(SentenceOut, SentenceOut)> {
    let a = r.a.get(r.focus)?.as_ref().ok()?;
    let b = r.b.get(r.focus)?.as_ref().ok()?;
    (a.has_attention() && b.has_attention()).then(|| (a.clone(), b.clone()))
}

#[component]
pub fn AttentionDiffPanel() -> impl IntoView {
    let Some(c) = use_context::<Compare>() else {
        return ().into_any();
    };
    // A closure, not a memo: results have no `PartialEq`, and a new comparison means new maps.
    let maps = move || c.result.with(|r| r.as_deref().and_then(focus_maps));
    view! {
        <section class="panel attention-diff" data-testid="attention-diff">
            <h2>"Where their attention differs"</h2>
            {move || maps().map(|(a, b)| match attention_diff(&a.attentions, &b.attentions) {
                Ok(g) => view! { <DiffView g=Arc::new(g) a=Arc::new(a) b=Arc::new(b) /> }.into_any(),
                Err(e) => view! { <p class="warning" data-testid="diff-error">{e}</p> }.into_any(),
            })}
        </section>
    }
    .into_any()
}

#[component]
fn DiffView(g: Arc<DiffGrid>, a: Arc<SentenceOut>, b: Arc<SentenceOut>) -> impl IntoView {
    let c = expect_context::<Compare>();
    let biggest = g.biggest();
    let picked = move || c.cell.get().or(biggest).unwrap_or((0, 0));
    let text = a.tokenized.text.clone();
    view! {
        <p class="note">{format!("Mean |difference| of each head's map for “{text}”; the biggest is outlined. Pick a cell to see both maps.")}</p>
        <Grid g=g.clone() biggest />
        {move || {
            let (layer, head) = picked();
            view! { <Maps a=a.clone() b=b.clone() layer head value=g.get(layer, head) /> }
        }}
    }
}

/// The heat grid: one button per layer and head, rows are layers.
#[component]
fn Grid(g: Arc<DiffGrid>, biggest: Option<(usize, usize)>) -> impl IntoView {
    let c = expect_context::<Compare>();
    let max = g.max();
    let rows = (0..g.layers)
        .map(|layer| {
            let cells = (0..g.heads)
                .map(|head| {
                    let v = g.get(layer, head);
                    let class = format!("diff-cell heat-{}", shade(v, max, SHADES));
                    let chosen = move || c.cell.get().or(biggest) == Some((layer, head));
                    view! {
                        <td><button class=class class:biggest=biggest == Some((layer, head)) class:chosen=chosen
                            data-testid="diff-cell" data-layer=layer.to_string() data-head=head.to_string()
                            data-value=format!("{v:.5}") title=format!("layer {} head {}: {v:.4}", layer + 1, head + 1)
                            on:click=move |_| c.cell.set(Some((layer, head)))>{format!("{:.0}", v * 1000.0)}</button></td>
                    }
                })
                .collect_view();
            view! { <tr><th>{format!("L{}", layer + 1)}</th>{cells}</tr> }
        })
        .collect_view();
    let head_labels = (0..g.heads)
        .map(|h| view! { <th>{format!("H{}", h + 1)}</th> })
        .collect_view();
    view! {
        <table class="diff-grid" data-testid="diff-grid" data-layers=g.layers.to_string() data-heads=g.heads.to_string()>
            <thead><tr><th></th>{head_labels}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="note">"Cells show the mean |difference| × 1000."</p>
    }
}

/// Both models' map of one head, side by side.
#[component]
fn Maps(
    a: Arc<SentenceOut>,
    b: Arc<SentenceOut>,
    layer: usize,
    head: usize,
    value: f32,
) -> impl IntoView {
    let s = expect_context::<State>();
    let c = expect_context::<Compare>();
    let spec = move |out: &SentenceOut| -> Spec {
        let pick = AttnPick {
            mode: AttnMode::Head,
            layer,
            head,
            hide_special: s.view.with_untracked(|v| v.hide_special),
        };
        heatmap(&detail(out, pick))
    };
    let (sa, sb) = (spec(&a), spec(&b));
    let title = format!(
        "Layer {} head {}: mean |difference| {value:.4}",
        layer + 1,
        head + 1
    );
    let alt = |who: String| {
        Signal::derive(move || format!("attention of {who}, layer {} head {}", layer + 1, head + 1))
    };
    view! {
        <h3 data-testid="diff-picked" data-layer=layer.to_string() data-head=head.to_string()>{title}</h3>
        <div class="compare-columns">
            <div><h4>{c.names.0.get_value()}</h4>
                <Chart spec=sa testid="diff-map-a" name="attention-a" alt=alt(c.names.0.get_value()) /></div>
            <div><h4>{c.names.1.get_value()}</h4>
                <Chart spec=sb testid="diff-map-b" name="attention-b" alt=alt(c.names.1.get_value()) /></div>
        </div>
    }
}
