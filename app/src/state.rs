//! Everything the page shows, in one [`State`]: signals for what the user and the worker
//! set, memos for everything derived from them.
//!
//! Why memos: a chart redraws when its spec changes, and a memo only notifies when its value
//! actually differs. So picking a head redraws the grid's outline and the detail charts but
//! not the similarity heatmap, changing the word aggregation redraws no attention chart, and
//! the rollout (the costly matrix product) is computed once per change for both charts that
//! show it.

use std::sync::Arc;

use glassbox_model::text::decode::Aggregation;
use glassbox_model::text::labels::entity_types;
use glassbox_model::weights::bundle::Manifest;
use leptos::prelude::*;

use crate::charts::Spec;
use crate::derived::{self, AttnPick, Detail, Named, OcclusionChart};
use crate::protocol::{LoadInfo, Occlusion, Progress, SentenceOut, WorkerError, CPU_BACKEND};
use crate::url::BackendChoice;

const EXAMPLES: &str =
    "Just watched the new Star Wars movie with Sarah in London, absolutely loved it!\n\
Apple's customer service kept me on hold for an hour. Never again.\n\
The meeting with Microsoft is moved to Tuesday at 3pm.";

#[derive(Clone, Default, Debug, PartialEq)]
pub struct Timings {
    pub load_ms: Option<f64>,
    pub first_forward_ms: Option<f64>,
    /// Forward time of the last run divided by the sentences it computed.
    pub per_sentence_ms: Option<f64>,
    /// Click to last result on this thread: forward passes plus the trips to the worker.
    pub last_round_trip_ms: Option<f64>,
}

/// The loaded bundle as the page sees it.
#[derive(Clone, Debug)]
pub struct Model {
    pub info: LoadInfo,
    pub manifest: Manifest,
    /// Entity types in label order (B-/I- stripped), which fixes each type's colour.
    pub entity_types: Vec<String>,
}

impl Model {
    pub fn new(info: LoadInfo, manifest: Manifest) -> Self {
        let entity_types = entity_types(&manifest.config.token_labels);
        Self {
            info,
            manifest,
            entity_types,
        }
    }

    pub fn type_index(&self, label: &str) -> usize {
        self.entity_types
            .iter()
            .position(|t| t == label)
            .unwrap_or(0)
    }
}

/// Which attention the detail charts show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttnMode {
    Head,
    Mean,
    Rollout,
}

impl AttnMode {
    /// The name used by the mode picker and in permalinks.
    pub fn name(self) -> &'static str {
        match self {
            AttnMode::Head => "head",
            AttnMode::Mean => "mean",
            AttnMode::Rollout => "rollout",
        }
    }

    /// The mode of a name; anything unknown is one head, the default view.
    pub fn from_name(s: &str) -> Self {
        match s {
            "mean" => AttnMode::Mean,
            "rollout" => AttnMode::Rollout,
            _ => AttnMode::Head,
        }
    }
}

/// The aggregation of a name (the model crate's, shared with the CLI); anything unknown is
/// the first piece, as trained.
pub fn aggregation_from_name(s: &str) -> Aggregation {
    s.parse().unwrap_or(Aggregation::First)
}

/// Everything about what is shown that a permalink restores.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewState {
    pub sel: usize,
    pub layer: usize,
    pub head: usize,
    pub mode: AttnMode,
    pub hide_special: bool,
    pub agg: Aggregation,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            sel: 0,
            layer: 0,
            head: 0,
            mode: AttnMode::Head,
            hide_special: false,
            agg: Aggregation::First,
        }
    }
}

/// One analysed line.
#[derive(Debug)]
pub struct Row {
    /// Which run made it: with `line`, the key that tells a re-run's card from the last one's.
    pub run: u64,
    /// 1-based line number in the input.
    pub line: usize,
    pub text: String,
    pub out: Result<Arc<SentenceOut>, WorkerError>,
}

/// Whether a shared result changed: results are never edited, so a new `Arc` is a new
/// result, and comparing pointers spares a deep comparison of every attention weight.
fn changed_arc<T>(old: Option<&Option<Arc<T>>>, new: Option<&Option<Arc<T>>>) -> bool {
    match (old, new) {
        (Some(Some(a)), Some(Some(b))) => !Arc::ptr_eq(a, b),
        (Some(a), Some(b)) => a.is_some() != b.is_some(),
        _ => true,
    }
}

/// Signals the page writes, and the memos derived from them.
#[derive(Clone, Copy)]
pub struct State {
    pub status: RwSignal<String>,
    pub model: RwSignal<Option<Arc<Model>>>,
    pub progress: RwSignal<Progress>,
    pub input: RwSignal<String>,
    /// Lines of the last run, as analysed (the permalink encodes these).
    pub ran: RwSignal<Vec<String>>,
    pub rows: RwSignal<Vec<Arc<Row>>>,
    pub notes: RwSignal<Vec<String>>,
    pub view: RwSignal<ViewState>,
    pub occlusion: RwSignal<Option<Arc<Occlusion>>>,
    pub timings: RwSignal<Timings>,
    /// The backend the next load asks for (the address's, until the switch changes it).
    pub backend: RwSignal<BackendChoice>,
    pub derived: Derived,
}

/// What the page computes from [`State`]'s signals, each recomputed only when its inputs
/// change.
#[derive(Clone, Copy)]
pub struct Derived {
    /// The selected sentence, when it was analysed.
    pub focus: Memo<Option<Arc<SentenceOut>>>,
    pub focus_text: Memo<Option<String>>,
    /// Layers and heads of the focused sentence (0, 0 without one).
    pub depth: Memo<(usize, usize)>,
    pub pick: Memo<AttnPick>,
    pub title: Memo<String>,
    pub detail: Memo<Detail>,
    pub grid: Memo<Spec>,
    pub heatmap: Memo<Spec>,
    pub head_view: Memo<Spec>,
    /// Embeddings of the analysed rows, numbered by position in the result list.
    pub embedded: Memo<Named>,
    pub similarity: Memo<Spec>,
    pub pca: Memo<Spec>,
    pub occlusion: Memo<Option<OcclusionChart>>,
}

impl State {
    pub fn new(backend: BackendChoice) -> Self {
        let rows = RwSignal::new(Vec::<Arc<Row>>::new());
        let view = RwSignal::new(ViewState::default());
        let model = RwSignal::new(None::<Arc<Model>>);
        let occlusion = RwSignal::new(None::<Arc<Occlusion>>);
        Self {
            status: RwSignal::new("Loading model…".into()),
            model,
            progress: RwSignal::new(Progress::default()),
            input: RwSignal::new(EXAMPLES.into()),
            ran: RwSignal::new(vec![]),
            rows,
            notes: RwSignal::new(vec![]),
            view,
            occlusion,
            timings: RwSignal::new(Timings::default()),
            backend: RwSignal::new(backend),
            derived: Derived::new(rows, view, model, occlusion),
        }
    }

    /// A model is loaded; whether nothing else is running is the session's to say.
    pub fn loaded(&self) -> bool {
        self.model.with(Option::is_some)
    }

    /// The worker lost its WebGPU device and now runs on the CPU: say so, and show it.
    pub fn switched_to_cpu(&self, why: String) {
        self.notes.update(|n| n.push(why.clone()));
        self.model.update(|m| {
            if let Some(old) = m.take() {
                let mut new = Model::clone(&old);
                new.info.backend = CPU_BACKEND.to_string();
                new.info.fallback_reason = Some(why);
                *m = Some(Arc::new(new));
            }
        });
    }
}

impl Derived {
    fn new(
        rows: RwSignal<Vec<Arc<Row>>>,
        view: RwSignal<ViewState>,
        model: RwSignal<Option<Arc<Model>>>,
        occlusion: RwSignal<Option<Arc<Occlusion>>>,
    ) -> Self {
        let focus = focus_of(rows, view);
        let focus_text =
            Memo::new(move |_| focus.with(|f| f.as_ref().map(|f| f.tokenized.text.clone())));
        let depth = Memo::new(move |_| focus.with(|f| f.as_deref().map_or((0, 0), depth_of)));
        let pick = pick_of(depth, view);
        let detail = Memo::new(move |_| {
            let pick = pick.get();
            focus.with(|f| {
                f.as_ref()
                    .map(|f| derived::detail(f, pick))
                    .unwrap_or_default()
            })
        });
        let selected = Memo::new(move |_| {
            view.with(|v| (v.mode == AttnMode::Head).then_some((v.layer, v.head)))
        });
        let embedded = Memo::new(move |_| rows.with(|r| embeddings(r)));
        Self {
            focus,
            focus_text,
            depth,
            pick,
            title: Memo::new(move |_| view.with(|v| derived::title(v.mode, v.layer, v.head))),
            detail,
            grid: Memo::new(move |_| {
                let selected = selected.get();
                focus.with(|f| derived::grid(f.as_deref(), selected))
            }),
            heatmap: Memo::new(move |_| detail.with(derived::heatmap)),
            head_view: Memo::new(move |_| detail.with(derived::head_view)),
            embedded,
            similarity: Memo::new(move |_| embedded.with(derived::similarity)),
            pca: Memo::new(move |_| embedded.with(derived::pca)),
            occlusion: occlusion_chart(model, focus_text, occlusion),
        }
    }
}

/// The selected row's result, when it has one.
fn focus_of(
    rows: RwSignal<Vec<Arc<Row>>>,
    view: RwSignal<ViewState>,
) -> Memo<Option<Arc<SentenceOut>>> {
    Memo::new_with_compare(
        move |_| {
            let sel = view.with(|v| v.sel);
            rows.with(|r| r.get(sel).and_then(|r| r.out.as_ref().ok().cloned()))
        },
        changed_arc,
    )
}

/// Layers and heads of one result.
fn depth_of(f: &SentenceOut) -> (usize, usize) {
    let heads = f.attentions.first().map_or(0, |a| a.heads());
    (f.attentions.len(), heads)
}

/// The view's attention choice, clamped to the focused sentence's layers and heads.
fn pick_of(depth: Memo<(usize, usize)>, view: RwSignal<ViewState>) -> Memo<AttnPick> {
    Memo::new(move |_| {
        let (layers, heads) = depth.get();
        view.with(|v| AttnPick {
            mode: v.mode,
            layer: v.layer.min(layers.saturating_sub(1)),
            head: v.head.min(heads.saturating_sub(1)),
            hide_special: v.hide_special,
        })
    })
}

/// The occlusion chart of the focused sentence, once computed.
fn occlusion_chart(
    model: RwSignal<Option<Arc<Model>>>,
    focus_text: Memo<Option<String>>,
    occlusion: RwSignal<Option<Arc<Occlusion>>>,
) -> Memo<Option<OcclusionChart>> {
    Memo::new(move |_| {
        let labels = model.with(|m| {
            m.as_ref()
                .map(|m| m.manifest.config.sentence_labels.clone())
        })?;
        let text = focus_text.get()?;
        // Only the focused sentence's: an older one may linger until it is cleared.
        occlusion.with(|o| {
            o.as_ref()
                .filter(|o| o.text == text)
                .map(|o| derived::occlusion(o, &labels))
        })
    })
}

/// Embeddings of the rows that were analysed, named by their position in the list (failed
/// lines keep their number but have no point).
fn embeddings(rows: &[Arc<Row>]) -> Named {
    rows.iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let o = r.out.as_ref().ok()?;
            Some(((i + 1).to_string(), o.embedding.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_fall_back_to_the_defaults() {
        for m in [AttnMode::Head, AttnMode::Mean, AttnMode::Rollout] {
            assert_eq!(AttnMode::from_name(m.name()), m);
        }
        for a in Aggregation::ALL {
            assert_eq!(aggregation_from_name(a.name()), a);
        }
        assert_eq!(AttnMode::from_name("HEAD"), AttnMode::Head);
        assert_eq!(aggregation_from_name(""), Aggregation::First);
    }
}
