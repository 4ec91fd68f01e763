//! One sentence up close: every wordpiece with its tag and top-3 alternatives, the attention
//! of every layer and head, one head enlarged and as a head view, head means and rollout, and
//! occlusion saliency beside them, because attention weights alone do not explain a decision.

use std::sync::Arc;

use glassbox_model::decode::argmax;
use glassbox_model::explain::{head_mean, rollout, top_k};
use glassbox_model::readout::SentenceResult;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{AttnMode, State};
use crate::charts::{grid, Bars, Chart, Grid, HeadView, Heatmap, Spec};
use crate::client::call;
use crate::protocol::{Reply, Request};

/// Keeps `focus` (the selected sentence with float attention) and its occlusion current.
pub fn track_focus(s: State) {
    Effect::new(move |_| {
        let sel = s.view.get().sel;
        let row = s.rows.get().get(sel).cloned();
        let Some(out) = row.and_then(|r| r.out.as_ref().ok().cloned()) else {
            s.focus.set(None);
            return;
        };
        let same = s.focus.with_untracked(|f| {
            f.as_ref()
                .is_some_and(|f| f.tokenized.text == out.tokenized.text)
        });
        if same {
            return;
        }
        s.occlusion.set(None);
        s.focus.set(Some(Arc::new(SentenceResult {
            embedding: out.embedding.clone(),
            heads: out.heads,
            attentions: out
                .attentions
                .iter()
                .map(|l| l.iter().map(|&b| b as f32 / 255.0).collect())
                .collect(),
            sentence_probs: out.sentence_probs.clone(),
            token_probs: out.token_probs.clone(),
            tokenized: out.tokenized.clone(),
        })));
    });
}

/// Occlusion for the selected sentence: one batched forward pass of every word-dropped
/// variant. On demand, because on a software WebGPU adapter its new shapes cost minutes.
fn occlude(s: State) {
    let Some(f) = s.focus.get_untracked() else {
        return;
    };
    let text = f.tokenized.text.clone();
    s.occlusion.set(None);
    s.occluding.set(true);
    spawn_local(async move {
        match call(Request::Occlude { text }).await {
            Reply::Occluded(o) => s.occlusion.set(Some(Arc::new(o))),
            Reply::Failed(e) => s.notes.update(|n| n.push(format!("Occlusion failed: {e}"))),
            _ => {}
        }
        s.occluding.set(false);
    });
}

/// The matrix the detail views show, with [CLS]/[SEP] removed (and rows renormalised) when
/// asked: their share of attention is large and mostly a "no-op" sink.
fn matrix(
    f: &SentenceResult,
    mode: AttnMode,
    layer: usize,
    head: usize,
    hide: bool,
) -> (Vec<String>, Vec<f32>) {
    let n = f.len();
    let full = match mode {
        AttnMode::Head => {
            let a = &f.attentions[layer];
            a[head * n * n..(head + 1) * n * n].to_vec()
        }
        AttnMode::Mean => head_mean(f, layer),
        AttnMode::Rollout => rollout(f),
    };
    let keep: Vec<usize> = (0..n)
        .filter(|&i| !(hide && f.tokenized.special[i]))
        .collect();
    let tokens = keep
        .iter()
        .map(|&i| f.tokenized.tokens[i].clone())
        .collect();
    let mut m = Vec::with_capacity(keep.len() * keep.len());
    for &i in &keep {
        let row: Vec<f32> = keep.iter().map(|&j| full[i * n + j]).collect();
        let sum: f32 = row.iter().sum();
        if hide && sum > 0.0 {
            m.extend(row.iter().map(|x| x / sum));
        } else {
            m.extend(row);
        }
    }
    (tokens, m)
}

#[component]
fn Pieces() -> impl IntoView {
    let s = expect_context::<State>();
    move || {
        let (Some(f), Some(m)) = (s.focus.get(), s.model.get()) else {
            return ().into_any();
        };
        let labels = &m.manifest.config.token_labels;
        let k = labels.len();
        let rows = (0..f.len())
            .filter(|&p| !f.tokenized.special[p])
            .map(|p| {
                let row = &f.token_probs[p * k..(p + 1) * k];
                let (best, _) = argmax(row);
                let top = top_k(row, 3)
                    .into_iter()
                    .map(|(i, v)| format!("{} {:.2}", labels[i], v))
                    .collect::<Vec<_>>()
                    .join(" · ");
                view! {
                    <tr>
                        <td class="piece">{f.tokenized.tokens[p].clone()}</td>
                        <td>{labels[best].clone()}</td>
                        <td class="top3">{top}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="pieces" data-testid="pieces">
                <thead><tr><th>"wordpiece"</th><th>"BIO tag"</th><th>"top-3 tag probabilities"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }
        .into_any()
    }
}

#[component]
fn Occlusion() -> impl IntoView {
    let s = expect_context::<State>();
    move || {
        let (Some(o), Some(m)) = (s.occlusion.get(), s.model.get()) else {
            return view! {
                <button class="small" data-testid="occlusion-run" on:click=move |_| occlude(s)
                    disabled=move || s.occluding.get() || s.model.get().is_none()>
                    {move || if s.occluding.get() { "Computing occlusion…" } else { "Compute occlusion" }}
                </button>
            }
            .into_any();
        };
        let labels = &m.manifest.config.sentence_labels;
        let (best, _) = argmax(&o.base_probs);
        let chars: Vec<char> = o.text.chars().collect();
        let words: Vec<String> = o
            .words
            .iter()
            .map(|&(a, b)| {
                chars[a.min(chars.len())..b.min(chars.len())]
                    .iter()
                    .collect()
            })
            .collect();
        let deltas: Vec<f32> = o
            .dropped_probs
            .iter()
            .map(|p| o.base_probs[best] - p[best])
            .collect();
        let range = deltas.iter().fold(0.01f32, |a, d| a.max(d.abs()));
        let label = labels[best].clone();
        let spec = Spec::Bars(Bars {
            labels: words,
            values: deltas,
            signed: true,
            range,
            highlight: None,
        });
        let alt = format!("occlusion: change in p({label}) when each word is left out");
        view! {
            <p class="caption">{format!("How much p({label}) drops when each word is left out (blue: the word supports \"{label}\"; orange: it argues against).")}</p>
            <Chart spec testid="occlusion" name="occlusion" alt=Signal::derive(move || alt.clone()) />
        }
        .into_any()
    }
}

#[component]
pub fn Inspect() -> impl IntoView {
    let s = expect_context::<State>();
    let layers = move || s.focus.get().map(|f| f.attentions.len()).unwrap_or(0);
    let heads = move || s.focus.get().map(|f| f.heads).unwrap_or(0);
    let grid_spec = Signal::derive(move || {
        let v = s.view.get();
        let f = s.focus.get();
        Spec::Grid(Grid {
            layers: f.as_ref().map(|f| f.attentions.len()).unwrap_or(0),
            heads: f.as_ref().map(|f| f.heads).unwrap_or(0),
            n: f.as_ref().map(|f| f.len()).unwrap_or(0),
            maps: f.map(|f| f.attentions.clone()).unwrap_or_default(),
            selected: (v.mode == AttnMode::Head).then_some((v.layer, v.head)),
        })
    });
    let detail = move || {
        let v = s.view.get();
        s.focus.get().map(|f| {
            let layer = v.layer.min(f.attentions.len().saturating_sub(1));
            let head = v.head.min(f.heads.saturating_sub(1));
            matrix(&f, v.mode, layer, head, v.hide_special)
        })
    };
    let heat_spec = Signal::derive(move || {
        let (tokens, values) = detail().unwrap_or_default();
        let vmax = values.iter().fold(0.0f32, |a, &b| a.max(b));
        Spec::Heatmap(Heatmap {
            rows: tokens.clone(),
            cols: tokens,
            values,
            vmax,
            annotate: false,
            mark_row: None,
        })
    });
    let head_spec = Signal::derive(move || {
        let (tokens, weights) = detail().unwrap_or_default();
        Spec::HeadView(HeadView {
            tokens,
            weights,
            focus: None,
        })
    });
    let title = move || {
        let v = s.view.get();
        match v.mode {
            AttnMode::Head => format!("Layer {}, head {}", v.layer + 1, v.head + 1),
            AttnMode::Mean => format!("Layer {}, mean over heads", v.layer + 1),
            AttnMode::Rollout => "Attention rollout over all layers".to_string(),
        }
    };
    let pick = Callback::new(move |(x, y): (f64, f64)| {
        if let Some((l, h)) = grid::hit(layers(), heads(), x, y) {
            s.view.update(|v| {
                v.layer = l;
                v.head = h;
                v.mode = AttnMode::Head;
            });
        }
    });
    let set_mode = move |ev: leptos::ev::Event| {
        let mode = match event_target_value(&ev).as_str() {
            "mean" => AttnMode::Mean,
            "rollout" => AttnMode::Rollout,
            _ => AttnMode::Head,
        };
        s.view.update(|v| v.mode = mode);
    };
    let mode_value = move || match s.view.get().mode {
        AttnMode::Head => "head",
        AttnMode::Mean => "mean",
        AttnMode::Rollout => "rollout",
    };
    let set_layer = move |ev: leptos::ev::Event| {
        if let Ok(l) = event_target_value(&ev).parse::<usize>() {
            s.view.update(|v| v.layer = l);
        }
    };
    let set_head = move |ev: leptos::ev::Event| {
        if let Ok(h) = event_target_value(&ev).parse::<usize>() {
            s.view.update(|v| v.head = h);
        }
    };
    view! {
        <section class="panel inspect" data-testid="inspect-panel">
            <h2>"Inside one sentence"
                {move || s.focus.get().map(|f| view! { <span class="muted">": " {f.tokenized.text.clone()}</span> })}
            </h2>
            <Show when=move || s.focus.get().is_some()
                fallback=|| view! { <p class="muted">"Analyse some sentences, then pick one with “Inspect”."</p> }>
                <details open>
                    <summary>"Wordpieces and their tags"</summary>
                    <Pieces />
                </details>
                <h3>"Attention"</h3>
                <p class="note">"Attention shows where each token reads from; it is not an explanation of the decision (Jain & Wallace 2019). Compare it with the occlusion chart, which measures what each word changes."</p>
                <p class="caption">"Every layer (rows) and head (columns); click one to enlarge it. Each thumbnail: rows attend to columns, brighter = more."</p>
                <Chart spec=grid_spec testid="attention" name="attention-grid"
                    alt=Signal::derive(|| "attention maps of every layer and head".to_string()) on_click=pick />
                <div class="controls">
                    <label class="inline">"View "
                        <select data-testid="attn-mode" prop:value=mode_value on:change=set_mode>
                            <option value="head">"one head"</option>
                            <option value="mean">"mean over heads"</option>
                            <option value="rollout">"rollout (all layers)"</option>
                        </select>
                    </label>
                    <label class="inline">"Layer "
                        <select data-testid="attn-layer" prop:value=move || s.view.get().layer.to_string() on:change=set_layer>
                            {move || (0..layers()).map(|l| view! { <option value=l.to_string()>{(l + 1).to_string()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="inline">"Head "
                        <select data-testid="attn-head" prop:value=move || s.view.get().head.to_string() on:change=set_head>
                            {move || (0..heads()).map(|h| view! { <option value=h.to_string()>{(h + 1).to_string()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="inline">
                        <input type="checkbox" data-testid="hide-special" prop:checked=move || s.view.get().hide_special
                            on:change=move |ev| s.view.update(|v| v.hide_special = event_target_checked(&ev)) />
                        " hide [CLS]/[SEP] (rows renormalised)"
                    </label>
                </div>
                <h4 data-testid="attention-title">{title}</h4>
                <div class="side-by-side">
                    <Chart spec=heat_spec testid="attention-detail" name="attention"
                        alt=Signal::derive(title) />
                    <Chart spec=head_spec testid="head-view" name="head-view"
                        alt=Signal::derive(move || format!("head view, {}", title())) />
                </div>
                <h3>"Occlusion saliency"</h3>
                <Occlusion />
            </Show>
        </section>
    }
}
