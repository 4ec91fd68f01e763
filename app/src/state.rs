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
use crate::registry::page::Listed;
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

/// A row whose attention the page wants but the run did not read back (a run reads it for
/// the focused sentence only): fetched when the user focuses that row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttentionFor {
    /// The run that made the row: an answer for a row a newer run replaced is dropped.
    pub run: u64,
    /// Position in the result list.
    pub index: usize,
    /// The line as analysed (what the worker is asked to run again).
    pub text: String,
}

/// The row at `sel` when it was analysed but came back without its attention.
pub fn missing_attention(rows: &[Arc<Row>], sel: usize) -> Option<AttentionFor> {
    let row = rows.get(sel)?;
    let out = row.out.as_ref().ok()?;
    (!out.has_attention()).then(|| AttentionFor {
        run: row.run,
        index: sel,
        text: row.text.clone(),
    })
}

/// Gives the row `want` names the attention maps of `got` (its text run again with
/// attention), keeping everything else of the row as shown. False, changing nothing, when
/// that row is gone or replaced by a newer run, already has maps, or `got` has none or
/// another tokenisation.
pub fn add_attention(rows: &mut [Arc<Row>], want: &AttentionFor, got: SentenceOut) -> bool {
    let Some(row) = rows.get_mut(want.index) else {
        return false;
    };
    let Ok(out) = &row.out else { return false };
    let fits = row.run == want.run
        && row.text == want.text
        && !out.has_attention()
        && got.has_attention()
        && got.tokenized.ids == out.tokenized.ids;
    if !fits {
        return false;
    }
    let out = SentenceOut {
        attentions: got.attentions,
        ..SentenceOut::clone(out)
    };
    *row = Arc::new(Row {
        run: row.run,
        line: row.line,
        text: row.text.clone(),
        out: Ok(Arc::new(out)),
    });
    true
}

/// Where the focused row `sel` falls in the chunk of `len` rows that starts at row `start`,
/// if it does: the one sentence of that request whose attention to read back.
pub fn focus_in_chunk(sel: usize, start: usize, len: usize) -> Option<usize> {
    (start..start + len).contains(&sel).then(|| sel - start)
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
    /// Why fetching a sentence's attention failed: the text, and the message.
    pub attention_error: RwSignal<Option<(String, String)>>,
    pub timings: RwSignal<Timings>,
    /// The backend the next load asks for (the address's, until the switch changes it).
    pub backend: RwSignal<BackendChoice>,
    /// The lesson step shown (0-based), or `None` outside lesson mode.
    pub lesson: RwSignal<Option<usize>>,
    /// The `?registry=` index and the version loaded from it, or why it could not be read.
    pub registry: RwSignal<Listed>,
    pub derived: Derived,
}

/// What the page computes from [`State`]'s signals, each recomputed only when its inputs
/// change.
#[derive(Clone, Copy)]
pub struct Derived {
    /// The selected sentence, when it was analysed.
    pub focus: Memo<Option<Arc<SentenceOut>>>,
    pub focus_text: Memo<Option<String>>,
    /// The focused sentence's attention maps are here (a run reads them back for the
    /// focused sentence only; another one's arrive after it is focused).
    pub attended: Memo<bool>,
    /// The focused row, when a model is loaded and the row lacks its attention: what the
    /// session fetches.
    pub wants_attention: Memo<Option<AttentionFor>>,
    /// Layers and heads of the focused sentence (0, 0 without one or without its maps).
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
            attention_error: RwSignal::new(None),
            timings: RwSignal::new(Timings::default()),
            backend: RwSignal::new(backend),
            lesson: RwSignal::new(None),
            registry: RwSignal::new(None),
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
            attended: Memo::new(move |_| {
                focus.with(|f| f.as_ref().is_some_and(|f| f.has_attention()))
            }),
            wants_attention: wants_attention(rows, view, model),
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

/// The focused row's missing attention, while a model is loaded to compute it. Compared by
/// value, so results of other rows arriving do not ask again.
fn wants_attention(
    rows: RwSignal<Vec<Arc<Row>>>,
    view: RwSignal<ViewState>,
    model: RwSignal<Option<Arc<Model>>>,
) -> Memo<Option<AttentionFor>> {
    Memo::new(move |_| {
        if !model.with(Option::is_some) {
            return None;
        }
        let sel = view.with(|v| v.sel);
        rows.with(|r| missing_attention(r, sel))
    })
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

    /// A result for `text` of two wordpieces, its attention read back or not, marked cached.
    fn out(text: &str, attention: bool) -> SentenceOut {
        use glassbox_model::view::attention::Attention;
        SentenceOut {
            tokenized: glassbox_model::Tokenized {
                text: text.into(),
                ids: vec![101, 102],
                tokens: vec!["[CLS]".into(), "[SEP]".into()],
                offsets: vec![(0, 0); 2],
                word_ids: vec![None; 2],
                special: vec![true; 2],
                truncation: None,
            },
            embedding: vec![0.6, 0.8],
            sentence_probs: vec![0.2, 0.8],
            token_probs: vec![1.0; 2],
            attentions: if attention {
                vec![Attention::from_f32(1, 2, vec![0.5; 4]).quantized()]
            } else {
                vec![]
            },
            cached: true,
        }
    }

    fn row(run: u64, line: usize, text: &str, out: Result<SentenceOut, WorkerError>) -> Arc<Row> {
        Arc::new(Row {
            run,
            line,
            text: text.into(),
            out: out.map(Arc::new),
        })
    }

    /// Run 7: "a" with its attention, "b" without, a failed line "c".
    fn rows() -> Vec<Arc<Row>> {
        vec![
            row(7, 1, "a", Ok(out("a", true))),
            row(7, 2, "b", Ok(out("b", false))),
            row(7, 3, "c", Err(WorkerError::NotLoaded)),
        ]
    }

    #[test]
    fn only_an_analysed_row_without_its_maps_wants_attention() {
        let r = rows();
        assert_eq!(missing_attention(&r, 0), None, "already has its maps");
        assert_eq!(
            missing_attention(&r, 1),
            Some(AttentionFor {
                run: 7,
                index: 1,
                text: "b".into()
            })
        );
        assert_eq!(
            missing_attention(&r, 2),
            None,
            "a failed line has nothing to show"
        );
        assert_eq!(missing_attention(&r, 3), None, "no such row");
    }

    #[test]
    fn fetched_maps_join_their_row_and_leave_the_rest_of_it_as_shown() {
        let mut r = rows();
        let want = missing_attention(&r, 1).unwrap();
        let mut got = out("b", true);
        got.cached = false;
        got.sentence_probs = vec![0.3, 0.7];
        assert!(add_attention(&mut r, &want, got));
        let b = r[1].out.as_ref().unwrap();
        assert!(b.has_attention());
        assert!(b.cached, "the card still says how the run answered it");
        assert_eq!(b.sentence_probs, vec![0.2, 0.8]);
        assert_eq!((r[1].run, r[1].line, r[1].text.as_str()), (7, 2, "b"));
        assert_eq!(missing_attention(&r, 1), None);
    }

    #[test]
    fn maps_for_a_row_that_changed_or_maps_that_do_not_fit_are_dropped() {
        let want = missing_attention(&rows(), 1).unwrap();
        let refused = |r: &mut Vec<Arc<Row>>, want: &AttentionFor, got: SentenceOut| {
            let before: Vec<_> = r.iter().map(Arc::as_ptr).collect();
            let changed = add_attention(r, want, got);
            let after: Vec<_> = r.iter().map(Arc::as_ptr).collect();
            !changed && before == after
        };
        let newer = |w: &AttentionFor| AttentionFor {
            run: 8,
            ..w.clone()
        };
        assert!(
            refused(&mut rows(), &newer(&want), out("b", true)),
            "another run"
        );
        let elsewhere = AttentionFor {
            index: 0,
            ..want.clone()
        };
        assert!(
            refused(&mut rows(), &elsewhere, out("b", true)),
            "another text"
        );
        let gone = AttentionFor {
            index: 5,
            ..want.clone()
        };
        assert!(refused(&mut rows(), &gone, out("b", true)), "no such row");
        assert!(
            refused(&mut rows(), &want, out("b", false)),
            "no maps came back"
        );
        let mut longer = out("b", true);
        longer.tokenized.ids.push(7);
        assert!(refused(&mut rows(), &want, longer), "another tokenisation");
        let has = AttentionFor {
            index: 0,
            text: "a".into(),
            ..want
        };
        assert!(
            refused(&mut rows(), &has, out("a", true)),
            "already has maps"
        );
    }

    #[test]
    fn the_focused_row_is_found_in_the_chunk_that_holds_it() {
        assert_eq!(focus_in_chunk(5, 0, 8), Some(5));
        assert_eq!(focus_in_chunk(9, 8, 8), Some(1));
        assert_eq!(focus_in_chunk(7, 8, 8), None);
        assert_eq!(focus_in_chunk(16, 8, 8), None);
        assert_eq!(focus_in_chunk(0, 0, 0), None);
    }
}
