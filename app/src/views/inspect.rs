//! One sentence up close: every wordpiece with its tag and top-3 alternatives, the attention
//! of every layer and head, one head enlarged and as a head view, head means and rollout, and
//! occlusion saliency beside them, because attention weights alone do not explain a decision.
//!
//! Every chart here reads a memo of the state, so each redraws only when what it shows
//! changes (picking a head does not redraw the grid's maps, only its outline).

use glassbox_model::text::decode::argmax;
use glassbox_model::view::explain::top_k;
use leptos::prelude::*;

use crate::charts::{grid, Chart};
use crate::lesson::Panel;
use crate::session::Session;
use crate::state::{AttnMode, State};
use crate::views::lesson::highlights;

/// Each wordpiece (special tokens left out) with its tag and the three likeliest tags.
#[component]
fn Pieces() -> impl IntoView {
    let s = expect_context::<State>();
    let rows = move || {
        let (Some(f), Some(m)) = (s.derived.focus.get(), s.model.get()) else {
            return vec![];
        };
        let labels = &m.manifest.config.token_labels;
        let k = labels.len();
        (0..f.tokenized.ids.len())
            .filter(|&p| !f.tokenized.special[p])
            .map(|p| {
                let row = &f.token_probs[p * k..(p + 1) * k];
                let top = top_k(row, 3)
                    .into_iter()
                    .map(|(i, v)| format!("{} {:.2}", labels[i], v))
                    .collect::<Vec<_>>()
                    .join(" · ");
                (
                    p,
                    f.tokenized.tokens[p].clone(),
                    labels[argmax(row).0].clone(),
                    top,
                )
            })
            .collect()
    };
    view! {
        <table class="pieces" data-testid="pieces">
            <thead><tr><th>"wordpiece"</th><th>"BIO tag"</th><th>"top-3 tag probabilities"</th></tr></thead>
            <tbody>
                <For each=rows key=|row| row.clone()
                    children=|(_, piece, tag, top)| view! {
                        <tr><td class="piece">{piece}</td><td>{tag}</td><td class="top3">{top}</td></tr>
                    } />
            </tbody>
        </table>
    }
}

/// The occlusion chart of the selected sentence, or the button that computes it.
#[component]
fn Occlusion() -> impl IntoView {
    let s = expect_context::<State>();
    let session = expect_context::<Session>();
    move || {
        match s.derived.occlusion.get() {
        None => view! {
            <button class="small" data-testid="occlusion-run" on:click=move |_| session.occlude_focus()
                disabled=move || session.occluding.get() || !s.loaded()>
                {move || if session.occluding.get() { "Computing occlusion…" } else { "Compute occlusion" }}
            </button>
        }
        .into_any(),
        Some(chart) => {
            let label = chart.label;
            let alt = format!("occlusion: change in p({label}) when each word is left out");
            view! {
                <p class="caption">{format!("How much p({label}) drops when each word is left out (blue: the word supports \"{label}\"; orange: it argues against).")}</p>
                <Chart spec=chart.spec testid="occlusion" name="occlusion" alt=Signal::derive(move || alt.clone()) />
            }
            .into_any()
        }
    }
    }
}

/// `0..count` as options numbered from 1.
fn numbered_options(count: usize) -> impl IntoView {
    (0..count)
        .map(|i| view! { <option value=i.to_string()>{(i + 1).to_string()}</option> })
        .collect_view()
}

/// A number from a `<select>` into the view.
fn on_number(s: State, set: fn(&mut crate::state::ViewState, usize)) -> impl Fn(leptos::ev::Event) {
    move |ev| {
        if let Ok(n) = event_target_value(&ev).parse::<usize>() {
            s.view.update(|v| set(v, n));
        }
    }
}

/// Mode, layer, head and the [CLS]/[SEP] toggle of the detail charts.
#[component]
fn AttentionControls() -> impl IntoView {
    let s = expect_context::<State>();
    let depth = s.derived.depth;
    let set_mode = move |ev: leptos::ev::Event| {
        let mode = AttnMode::from_name(&event_target_value(&ev));
        s.view.update(|v| v.mode = mode);
    };
    view! {
        <div class="controls">
            <label class="inline">"View "
                <select data-testid="attn-mode" prop:value=move || s.view.with(|v| v.mode.name()) on:change=set_mode>
                    <option value="head">"one head"</option>
                    <option value="mean">"mean over heads"</option>
                    <option value="rollout">"rollout (all layers)"</option>
                </select>
            </label>
            <label class="inline">"Layer "
                <select data-testid="attn-layer" prop:value=move || s.view.with(|v| v.layer.to_string())
                    on:change=on_number(s, |v, l| v.layer = l)>
                    {move || numbered_options(depth.get().0)}
                </select>
            </label>
            <label class="inline">"Head "
                <select data-testid="attn-head" prop:value=move || s.view.with(|v| v.head.to_string())
                    on:change=on_number(s, |v, h| v.head = h)>
                    {move || numbered_options(depth.get().1)}
                </select>
            </label>
            <label class="inline">
                <input type="checkbox" data-testid="hide-special" prop:checked=move || s.view.with(|v| v.hide_special)
                    on:change=move |ev| s.view.update(|v| v.hide_special = event_target_checked(&ev)) />
                " hide [CLS]/[SEP] (rows renormalised)"
            </label>
        </div>
    }
}

/// What stands in for the maps while the focused sentence's are fetched (a run reads them
/// back for the sentence focused then only), or why they could not be.
#[component]
fn AttentionPending() -> impl IntoView {
    let s = expect_context::<State>();
    let message = move || {
        let text = s.derived.focus_text.get();
        s.attention_error.with(|e| match e {
            Some((failed, why)) if Some(failed) == text.as_ref() => {
                format!("Attention could not be computed: {why}")
            }
            _ => "Computing attention…".to_string(),
        })
    };
    view! { <p class="muted" data-testid="attention-pending">{message}</p> }
}

/// Every layer and head as thumbnails (click one to pick it), then the picked attention as
/// a heatmap and as a head view; a short wait instead while the maps are fetched, never an
/// empty grid.
#[component]
fn Attention() -> impl IntoView {
    let s = expect_context::<State>();
    let d = s.derived;
    view! {
        <div data-lesson=Panel::Attention.id() class:lesson-focus=highlights(s, Panel::Attention)>
        <h3>"Attention"</h3>
        <p class="note">"Attention shows where each token reads from; it is not an explanation of the decision (Jain & Wallace 2019). Compare it with the occlusion chart, which measures what each word changes."</p>
        <Show when=move || d.attended.get() fallback=|| view! { <AttentionPending /> }>
            <AttentionMaps />
        </Show>
        </div>
    }
}

/// The focused sentence's maps: the grid, the controls and the detail charts.
#[component]
fn AttentionMaps() -> impl IntoView {
    let s = expect_context::<State>();
    let d = s.derived;
    let pick = Callback::new(move |(x, y): (f64, f64)| {
        let (layers, heads) = d.depth.get_untracked();
        if let Some((l, h)) = grid::hit(layers, heads, x, y) {
            s.view.update(|v| {
                v.layer = l;
                v.head = h;
                v.mode = AttnMode::Head;
            });
        }
    });
    // 1-based position of the sentence the maps belong to, for scripts and tests.
    let sentence = move || s.view.with(|v| v.sel + 1).to_string();
    view! {
        <div data-testid="attention-maps" data-sentence=sentence>
        <p class="caption">"Every layer (rows) and head (columns); click one to enlarge it. Each thumbnail: rows attend to columns, brighter = more."</p>
        <Chart spec=d.grid testid="attention" name="attention-grid"
            alt=Signal::derive(|| "attention maps of every layer and head".to_string()) on_click=pick />
        <AttentionControls />
        <h4 data-testid="attention-title">{move || d.title.get()}</h4>
        <div class="side-by-side">
            <Chart spec=d.heatmap testid="attention-detail" name="attention" alt=d.title.into() />
            <Chart spec=d.head_view testid="head-view" name="head-view"
                alt=Signal::derive(move || format!("head view, {}", d.title.get())) />
        </div>
        </div>
    }
}

#[component]
pub fn Inspect() -> impl IntoView {
    let s = expect_context::<State>();
    let text = s.derived.focus_text;
    view! {
        <section class="panel inspect" data-testid="inspect-panel">
            <h2>"Inside one sentence"
                {move || text.get().map(|t| view! { <span class="muted">": " {t}</span> })}
            </h2>
            <Show when=move || text.with(Option::is_some)
                fallback=|| view! { <p class="muted">"Analyse some sentences, then pick one with “Inspect”."</p> }>
                <details open data-lesson=Panel::Pieces.id() class:lesson-focus=highlights(s, Panel::Pieces)>
                    <summary>"Wordpieces and their tags"</summary>
                    <Pieces />
                </details>
                <Attention />
                <div data-lesson=Panel::Occlusion.id() class:lesson-focus=highlights(s, Panel::Occlusion)>
                    <h3>"Occlusion saliency"</h3>
                    <Occlusion />
                </div>
            </Show>
        </section>
    }
}
