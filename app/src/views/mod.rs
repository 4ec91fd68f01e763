//! The page. One file per panel; `App` owns the state (one `State` in the context) and the
//! run loop. The model itself lives in the inference worker (`crate::client`), never on this
//! thread.

mod backend;
mod bench;
mod card;
mod corpus;
mod input;
mod inspect;
mod permalink;
mod results;

use std::sync::Arc;

use glassbox_model::bundle::Manifest;
use glassbox_model::decode::{parse_tag, Aggregation};
use glassbox_model::readout::SentenceResult;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::client::{call, on_progress};
use crate::now_ms;
use crate::protocol::{LoadInfo, Occlusion, Progress, Reply, Request, SentenceOut, CPU_BACKEND};

/// Characters of input analysed; the rest is cut with a visible note.
pub const MAX_CHARS: usize = 100_000;
/// Lines analysed per run; the rest are listed as not analysed.
pub const MAX_LINES: usize = 64;
/// Lines per request to the worker, so results appear while the rest are computed.
const RUN_BATCH: usize = 8;

const EXAMPLES: &str =
    "Just watched the new Star Wars movie with Sarah in London, absolutely loved it!\n\
Apple's customer service kept me on hold for an hour. Never again.\n\
The meeting with Microsoft is moved to Tuesday at 3pm.";

/// `?key=value` from the page URL.
pub fn query_param(key: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    params.get(key)
}

/// `path` resolved against the page, so the worker (whose own URL differs) fetches the same file.
fn absolute(path: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .unwrap_or_default();
    web_sys::Url::new_with_base(path, &base)
        .map(|u| u.href())
        .unwrap_or_else(|_| path.to_string())
}

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
pub struct Model {
    pub info: LoadInfo,
    pub manifest: Manifest,
    /// Entity types in label order (B-/I- stripped), which fixes each type's colour.
    pub entity_types: Vec<String>,
}

impl Model {
    pub fn type_index(&self, label: &str) -> usize {
        self.entity_types
            .iter()
            .position(|t| t == label)
            .unwrap_or(0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttnMode {
    Head,
    Mean,
    Rollout,
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
pub struct Row {
    /// 1-based line number in the input.
    pub line: usize,
    pub text: String,
    pub out: Result<SentenceOut, String>,
}

#[derive(Clone, Copy)]
pub struct State {
    pub status: RwSignal<String>,
    pub busy: RwSignal<bool>,
    pub model: RwSignal<Option<Arc<Model>>>,
    pub progress: RwSignal<Progress>,
    pub input: RwSignal<String>,
    /// Lines of the last run, as analysed (the permalink encodes these).
    pub ran: RwSignal<Vec<String>>,
    pub rows: RwSignal<Vec<Arc<Row>>>,
    pub notes: RwSignal<Vec<String>>,
    pub view: RwSignal<ViewState>,
    /// The selected sentence with attention as floats, for the attention views.
    pub focus: RwSignal<Option<Arc<SentenceResult>>>,
    pub occlusion: RwSignal<Option<Arc<Occlusion>>>,
    pub occluding: RwSignal<bool>,
    pub timings: RwSignal<Timings>,
    pub force_cpu: RwSignal<bool>,
    pub bench: RwSignal<Option<String>>,
}

impl State {
    fn new() -> Self {
        Self {
            status: RwSignal::new("Loading model…".into()),
            busy: RwSignal::new(false),
            model: RwSignal::new(None),
            progress: RwSignal::new(Progress::default()),
            input: RwSignal::new(EXAMPLES.into()),
            ran: RwSignal::new(vec![]),
            rows: RwSignal::new(vec![]),
            notes: RwSignal::new(vec![]),
            view: RwSignal::new(ViewState::default()),
            focus: RwSignal::new(None),
            occlusion: RwSignal::new(None),
            occluding: RwSignal::new(false),
            timings: RwSignal::new(Timings::default()),
            force_cpu: RwSignal::new(query_param("backend").as_deref() == Some("cpu")),
            bench: RwSignal::new(None),
        }
    }

    pub fn ready(&self) -> bool {
        self.model.get().is_some() && !self.busy.get()
    }
}

pub fn mount() {
    leptos::mount::mount_to_body(App);
}

fn bundle_candidates() -> Vec<String> {
    match query_param("model") {
        Some(m) => vec![absolute(&if m.ends_with('/') {
            m
        } else {
            format!("{m}/")
        })],
        None => vec![absolute("models/default/"), absolute("models/base/")],
    }
}

fn entity_types(labels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        let (_, t) = parse_tag(l);
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

/// What to do once a bundle has loaded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AfterLoad {
    Wait,
    /// Analyse the input (a permalink was opened, or the backend was switched).
    Run,
    /// `?bench=N` on first load.
    Bench,
}

/// (Re)loads the bundle on the backend the switch asks for, then does `after`.
pub fn load(s: State, after: AfterLoad) {
    s.model.set(None);
    s.busy.set(true);
    s.progress.set(Progress::default());
    s.status.set("Downloading and verifying the model…".into());
    let force_cpu = s.force_cpu.get_untracked();
    spawn_local(async move {
        let t0 = now_ms();
        let reply = call(Request::Load {
            candidates: bundle_candidates(),
            force_cpu,
        })
        .await;
        s.busy.set(false);
        match reply {
            Reply::Loaded(info) => match Manifest::from_json(info.manifest_json.as_bytes()) {
                Ok(manifest) => {
                    s.timings.update(|t| {
                        *t = Timings {
                            load_ms: Some(now_ms() - t0),
                            ..Timings::default()
                        }
                    });
                    s.status.set(format!(
                        "Ready: {} {} from {} ({}).",
                        manifest.name, manifest.version, info.base, info.source
                    ));
                    let entity_types = entity_types(&manifest.config.token_labels);
                    s.model.set(Some(Arc::new(Model {
                        info,
                        manifest,
                        entity_types,
                    })));
                    match after {
                        AfterLoad::Bench => bench::run(s),
                        AfterLoad::Run => run(s),
                        AfterLoad::Wait => {}
                    }
                }
                Err(e) => s.status.set(format!("Could not load the model: {e}")),
            },
            Reply::Failed(e) => s.status.set(format!("Could not load the model: {e}")),
            _ => s
                .status
                .set("Could not load the model: unexpected reply".into()),
        }
    });
}

/// The lines a run analyses, with the notes that say what was left out.
pub fn lines_of(input: &str) -> (Vec<(usize, String)>, Vec<String>) {
    let mut notes = vec![];
    let total = input.chars().count();
    let text: String = if total > MAX_CHARS {
        notes.push(format!(
            "The input has {total} characters; only the first {MAX_CHARS} were analysed."
        ));
        input.chars().take(MAX_CHARS).collect()
    } else {
        input.to_string()
    };
    let mut lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect();
    if lines.len() > MAX_LINES {
        let rest = lines.len() - MAX_LINES;
        notes.push(format!(
            "{} lines were pasted; the first {MAX_LINES} were analysed and {rest} were not (from line {} on).",
            lines.len(),
            lines[MAX_LINES].0
        ));
        lines.truncate(MAX_LINES);
    }
    (lines, notes)
}

/// Runs every line of the input through the worker in batches, showing results as they come.
pub fn run(s: State) {
    if s.busy.get_untracked() || s.model.get_untracked().is_none() {
        return;
    }
    let (lines, notes) = lines_of(&s.input.get_untracked());
    s.notes.set(notes);
    if lines.is_empty() {
        s.rows.set(vec![]);
        s.ran.set(vec![]);
        s.status
            .set("Nothing to analyse: type or paste at least one sentence, one per line.".into());
        return;
    }
    s.busy.set(true);
    s.rows.set(vec![]);
    s.occlusion.set(None);
    s.ran.set(lines.iter().map(|(_, l)| l.clone()).collect());
    s.status
        .set(format!("Analysing {} sentences…", lines.len()));
    spawn_local(async move {
        let t0 = now_ms();
        let (mut computed, mut cached, mut forward_ms) = (0usize, 0usize, 0.0);
        for chunk in lines.chunks(RUN_BATCH) {
            let texts: Vec<String> = chunk.iter().map(|(_, t)| t.clone()).collect();
            match call(Request::Run {
                texts,
                fresh: false,
            })
            .await
            {
                Reply::Ran(out) => {
                    if let Some(change) = out.backend_change {
                        s.notes.update(|n| n.push(change.clone()));
                        s.model.update(|m| {
                            if let Some(old) = m.take() {
                                let mut info = old.info.clone();
                                info.backend = CPU_BACKEND.to_string();
                                info.fallback_reason = Some(change);
                                *m = Some(Arc::new(Model {
                                    info,
                                    manifest: old.manifest.clone(),
                                    entity_types: old.entity_types.clone(),
                                }));
                            }
                        });
                    }
                    let fresh = out
                        .sentences
                        .iter()
                        .filter(|r| r.as_ref().is_ok_and(|o| !o.cached))
                        .count();
                    computed += fresh;
                    cached += out
                        .sentences
                        .iter()
                        .filter(|r| r.as_ref().is_ok_and(|o| o.cached))
                        .count();
                    if fresh > 0 {
                        forward_ms += out.forward_ms;
                        s.timings.update(|t| {
                            t.first_forward_ms.get_or_insert(out.forward_ms);
                            t.per_sentence_ms = Some(out.forward_ms / fresh as f64);
                        });
                    }
                    let new: Vec<Arc<Row>> = chunk
                        .iter()
                        .zip(out.sentences)
                        .map(|((line, text), out)| {
                            Arc::new(Row {
                                line: *line,
                                text: text.clone(),
                                out,
                            })
                        })
                        .collect();
                    s.rows.update(|r| r.extend(new));
                    s.status.set(format!(
                        "Analysed {} of {} sentences…",
                        s.rows.with_untracked(Vec::len),
                        lines.len()
                    ));
                }
                Reply::Failed(e) => {
                    s.status.set(format!("Inference failed: {e}"));
                    s.busy.set(false);
                    return;
                }
                _ => {
                    s.status.set("Inference failed: unexpected reply".into());
                    s.busy.set(false);
                    return;
                }
            }
        }
        let rt = now_ms() - t0;
        s.timings.update(|t| t.last_round_trip_ms = Some(rt));
        let n = s.rows.with_untracked(Vec::len);
        s.view.update(|v| {
            if v.sel >= n {
                v.sel = 0;
            }
        });
        let noun = if n == 1 { "sentence" } else { "sentences" };
        s.status.set(format!(
            "Done: {n} {noun} in {rt:.0} ms ({computed} computed in {forward_ms:.0} ms of model time, {cached} from cache)."
        ));
        s.busy.set(false);
    });
}

#[component]
pub fn App() -> impl IntoView {
    let s = State::new();
    provide_context(s);
    on_progress(move |p| s.progress.set(p));
    let from_link = permalink::restore(s);
    let after = if query_param("bench").is_some() {
        AfterLoad::Bench
    } else if from_link {
        AfterLoad::Run
    } else {
        AfterLoad::Wait
    };
    load(s, after);
    permalink::keep_in_sync(s);
    inspect::track_focus(s);

    view! {
        <header>
            <h1>"glassbox"</h1>
            <p class="tagline">"A sentence transformer you can look inside — running in your browser."</p>
        </header>
        <main>
            <backend::BackendPanel />
            <input::InputPanel />
            <results::Results />
            <inspect::Inspect />
            <corpus::Corpus />
            <card::ModelCard />
            <bench::BenchOutput />
        </main>
    }
}
