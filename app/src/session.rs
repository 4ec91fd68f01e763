//! What the page asks of the worker, as Leptos [`Action`]s: load a bundle, analyse the
//! input, benchmark, occlude the selected sentence.
//!
//! Actions instead of hand-spawned tasks so that "is something running?" is read from the
//! actions themselves (`pending`) rather than from flags every path must remember to reset,
//! and so each task's outcome is a typed `Result<_, WorkerError>`. The worker's futures hold
//! `Rc`s, hence the `_local` constructors and dispatches.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;

use glassbox_model::weights::bundle::Manifest;
use leptos::prelude::*;

use crate::bench::{self, BenchError, Times, Workload};
use crate::client;
use crate::lesson;
use crate::lines;
use crate::now_ms;
use crate::protocol::{Progress, RunOutput, SentenceOut, WorkerError};
use crate::registry::page as reg;
use crate::state::{add_attention, focus_in_chunk, AttentionFor, Model, Row, State, Timings};
use crate::url::{self, BackendChoice, Query, SentenceSource};

/// Lines per request to the worker, so results appear while the rest are computed.
const RUN_BATCH: usize = 8;

/// What to do once a bundle has loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterLoad {
    Wait,
    /// Analyse the input (a permalink was opened, or the backend was switched).
    Run,
    /// `?bench=N` on first load: benchmark with N warm runs.
    Bench(usize),
}

/// The page's actions, all writing into one [`State`].
#[derive(Clone, Copy)]
pub struct Session {
    pub state: State,
    pub load: Action<AfterLoad, Result<(), WorkerError>>,
    pub run: Action<(), Result<(), WorkerError>>,
    /// Its value is the benchmark's JSON.
    pub bench: Action<usize, Result<String, BenchError>>,
    pub occlude: Action<String, Result<(), WorkerError>>,
    /// The attention maps of a row the user focused after its run, which read only the
    /// then-focused sentence's.
    pub attend: Action<AttentionFor, Result<(), WorkerError>>,
    /// A load, run or benchmark is in flight: they share the worker's queue, so the page
    /// starts no second one. Occlusion runs beside them and has its own flag.
    pub busy: Memo<bool>,
    pub occluding: Memo<bool>,
}

impl Session {
    pub fn new(s: State) -> Self {
        let runs = Cell::new(0u64);
        let run = Action::new_local(move |_: &()| {
            runs.set(runs.get() + 1);
            start_run(s, runs.get())
        });
        let bench = Action::new_local(move |n: &usize| start_bench(s, *n));
        let occlude = Action::new_local(move |text: &String| start_occlusion(s, text.clone()));
        let load = Action::new_local(move |after: &AfterLoad| start_load(s, *after, run, bench));
        let attend = Action::new_local(move |want: &AttentionFor| start_attention(s, want.clone()));
        let (loading, running, benching) = (load.pending(), run.pending(), bench.pending());
        let busy = Memo::new(move |_| loading.get() || running.get() || benching.get());
        // Whatever was occluded belongs to the sentence that was focused then.
        Effect::new(move |_| {
            s.derived.focus_text.track();
            s.occlusion.set(None);
        });
        // A focused sentence without its maps gets them: the inspector waits for them.
        Effect::new(move |_| {
            if let Some(want) = s.derived.wants_attention.get() {
                attend.dispatch_local(want);
            }
        });
        Self {
            state: s,
            load,
            run,
            bench,
            occlude,
            attend,
            busy,
            occluding: occlude.pending(),
        }
    }

    /// A model is loaded and nothing is running (tracked, for `disabled=`).
    pub fn ready(&self) -> bool {
        self.state.loaded() && !self.busy.get()
    }

    fn ready_untracked(&self) -> bool {
        self.state.model.with_untracked(Option::is_some) && !self.busy.get_untracked()
    }

    /// Restores a permalink, loads the model and does what the address asks after that.
    pub fn start(self) {
        let s = self.state;
        client::on_progress(move |p| s.progress.set(p));
        let from_link = self.restore();
        let query = Query::current();
        // A lesson link opens on its step and runs its sentences (the default ones without).
        if let Some(n) = query.lesson {
            s.lesson.set(Some(lesson::step_from_number(n)));
        }
        let after = match query.bench {
            Some(n) => AfterLoad::Bench(n),
            // A comparison link shows the comparison at once, on the sentences in the input.
            None if from_link || query.lesson.is_some() || query.compare.is_some() => {
                AfterLoad::Run
            }
            None => AfterLoad::Wait,
        };
        self.load.dispatch_local(after);
        self.follow_address();
    }

    /// Analyses the input, unless something is running or no model is loaded.
    pub fn analyse(self) {
        if self.ready_untracked() {
            self.run.dispatch_local(());
        }
    }

    /// Runs the benchmark with `?bench=N` warm rounds (10 by default) on the `?sentences=`
    /// list (the built-in sentences without one).
    pub fn benchmark(self) {
        if self.ready_untracked() {
            self.bench.dispatch_local(Query::current().bench_runs());
        }
    }

    /// Occlusion for the selected sentence. On demand, because on a software WebGPU adapter
    /// its new shapes cost minutes.
    pub fn occlude_focus(self) {
        if let Some(text) = self.state.derived.focus_text.get_untracked() {
            self.occlude.dispatch_local(text);
        }
    }

    /// Opens lesson mode on its first step over the sentences in the input (an example set
    /// when it is empty), analysing them unless they are what is shown already.
    pub fn start_lesson(self) {
        let s = self.state;
        if let Some(text) = lesson::sentences_for(&s.input.get_untracked()) {
            s.input.set(text.to_string());
        }
        s.lesson.set(Some(0));
        let planned: Vec<String> = lines::plan(&s.input.get_untracked())
            .lines
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        if s.ran.with_untracked(|ran| *ran != planned) {
            self.analyse();
        }
    }

    /// Reloads the model on the backend the switch now asks for, re-running what was shown.
    pub fn switch_backend(self, force_cpu: bool) {
        let s = self.state;
        s.backend
            .set(Query::current().backend.with_cpu_forced(force_cpu));
        let rerun = !s.rows.with_untracked(Vec::is_empty);
        self.load.dispatch_local(if rerun {
            AfterLoad::Run
        } else {
            AfterLoad::Wait
        });
    }

    /// Reads the permalink in the address into the state; true when it named sentences.
    fn restore(self) -> bool {
        let s = self.state;
        let r = url::restore(&url::current_hash());
        if let Some(v) = r.view {
            s.view.set(v);
        }
        let named = r.text.is_some();
        if let Some(text) = r.text {
            s.input.set(text);
        }
        named
    }

    /// Keeps the address bar's hash equal to what is shown (without adding history entries),
    /// and runs again when someone edits the hash by hand.
    fn follow_address(self) {
        let s = self.state;
        Effect::new(move |_| {
            let hash = s.ran.with(|lines| {
                (!lines.is_empty()).then(|| s.view.with(|v| url::permalink(lines, v)))
            });
            if let Some(h) = hash.filter(|h| *h != url::current_hash()) {
                url::replace_hash(&h);
            }
        });
        // `?lesson=N` follows the step shown, and goes when the lesson ends.
        Effect::new(move |_| {
            let step = s.lesson.get().map(|i| (i + 1).to_string());
            let search = url::current_search();
            let wanted = url::with_param(&search, "lesson", step.as_deref());
            if wanted != search {
                url::replace_search_and_hash(&wanted, &url::current_hash());
            }
        });
        let handle = window_event_listener(leptos::ev::hashchange, move |_| {
            if self.restore() {
                self.analyse();
            }
        });
        // The page lives as long as the listener; nothing to clean up.
        std::mem::forget(handle);
    }
}

/// Downloads (or reads from the browser's cache), verifies and loads the bundle, then does
/// `after`.
fn start_load(
    s: State,
    after: AfterLoad,
    run: Action<(), Result<(), WorkerError>>,
    bench: Action<usize, Result<String, BenchError>>,
) -> impl Future<Output = Result<(), WorkerError>> {
    s.model.set(None);
    s.progress.set(Progress::default());
    s.status.set("Downloading and verifying the model…".into());
    let backend = s.backend.get_untracked();
    async move {
        let t0 = now_ms();
        let model = match fetch_model(s, backend).await {
            Ok(m) => m,
            Err(e) => {
                s.status.set(format!("Could not load the model: {e}"));
                return Err(e);
            }
        };
        s.timings.set(Timings {
            load_ms: Some(now_ms() - t0),
            ..Timings::default()
        });
        let (man, info) = (&model.manifest, &model.info);
        s.status.set(format!(
            "Ready: {} {} from {} ({}).",
            man.name, man.version, info.base, info.source
        ));
        s.model.set(Some(Arc::new(model)));
        match after {
            AfterLoad::Wait => {}
            AfterLoad::Run => {
                run.dispatch_local(());
            }
            AfterLoad::Bench(n) => {
                bench.dispatch_local(n);
            }
        }
        Ok(())
    }
}

/// The first bundle the address names (or the defaults) that loads, as the page sees it;
/// with `?registry=`, the version it picks from the registry's index.
async fn fetch_model(s: State, backend: BackendChoice) -> Result<Model, WorkerError> {
    let query = Query::current();
    if let Some(registry) = &query.registry {
        return fetch_from_registry(s, registry, &query, backend).await;
    }
    let candidates = query
        .bundle_paths()
        .iter()
        .map(|p| url::absolute(p))
        .collect();
    let info = client::load(candidates, backend).await?;
    let manifest = Manifest::from_json(info.manifest_json.as_bytes())?;
    Ok(Model::new(info, manifest))
}

/// Reads the registry's index (shown by the picker, or its error), loads the version the
/// address asks for and checks its manifest is the one the index names.
async fn fetch_from_registry(
    s: State,
    registry: &str,
    query: &Query,
    backend: BackendChoice,
) -> Result<Model, WorkerError> {
    let (bundle, version, listing) = match reg::choose(registry, query).await {
        Ok(chosen) => chosen,
        Err(why) => {
            s.registry.set(Some(Err(why.clone())));
            return Err(reg::no_bundle(why));
        }
    };
    s.registry.set(Some(Ok(Arc::new(listing))));
    let info = client::load(vec![bundle], backend).await?;
    reg::check_manifest(&info, &version)?;
    let manifest = Manifest::from_json(info.manifest_json.as_bytes())?;
    Ok(Model::new(info, manifest))
}

/// Plans run number `run` from the input (synchronously, so the page shows at once what
/// will be analysed), then analyses it.
fn start_run(s: State, run: u64) -> impl Future<Output = Result<(), WorkerError>> {
    let plan = lines::plan(&s.input.get_untracked());
    s.notes.set(plan.notes);
    let lines = plan.lines;
    s.rows.set(vec![]);
    s.ran.set(lines.iter().map(|(_, l)| l.clone()).collect());
    if lines.is_empty() {
        s.status
            .set("Nothing to analyse: type or paste at least one sentence, one per line.".into());
    } else {
        s.occlusion.set(None);
        s.status
            .set(format!("Analysing {} sentences…", lines.len()));
    }
    async move {
        if lines.is_empty() {
            return Ok(());
        }
        let done = run_lines(s, run, &lines).await;
        if let Err(e) = &done {
            s.status.set(format!("Inference failed: {e}"));
        }
        done
    }
}

/// What a run counts as it goes, for its closing status line.
#[derive(Default)]
struct Tally {
    computed: usize,
    cached: usize,
    forward_ms: f64,
}

impl Tally {
    /// Counts one reply, and times its forward pass when it computed anything.
    fn count(&mut self, s: State, out: &RunOutput) {
        let ok = || out.sentences.iter().filter_map(|r| r.as_ref().ok());
        let fresh = ok().filter(|o| !o.cached).count();
        self.computed += fresh;
        self.cached += ok().filter(|o| o.cached).count();
        if fresh > 0 {
            self.forward_ms += out.forward_ms;
            s.timings.update(|t| {
                t.first_forward_ms.get_or_insert(out.forward_ms);
                t.per_sentence_ms = Some(out.forward_ms / fresh as f64);
            });
        }
    }

    fn summary(&self, n: usize, round_trip_ms: f64) -> String {
        let noun = if n == 1 { "sentence" } else { "sentences" };
        format!(
            "Done: {n} {noun} in {round_trip_ms:.0} ms ({} computed in {:.0} ms of model time, {} from cache).",
            self.computed, self.forward_ms, self.cached
        )
    }
}

/// Sends the lines to the worker in batches, showing results as they come. Each batch
/// brings back the attention of the focused sentence only, if it holds it (the focus as it
/// is when the batch is sent, so a pick made meanwhile counts).
async fn run_lines(s: State, run: u64, lines: &[(usize, String)]) -> Result<(), WorkerError> {
    let t0 = now_ms();
    let mut tally = Tally::default();
    // A selection beyond this run's lines falls back to the first line before anything
    // runs, so the first batch reads the right sentence's attention.
    s.view.maybe_update(|v| {
        let out_of_range = v.sel >= lines.len();
        if out_of_range {
            v.sel = 0;
        }
        out_of_range
    });
    for chunk in lines.chunks(RUN_BATCH) {
        let texts = chunk.iter().map(|(_, t)| t.clone()).collect();
        let start = s.rows.with_untracked(Vec::len);
        let sel = s.view.with_untracked(|v| v.sel);
        let attention = focus_in_chunk(sel, start, chunk.len());
        let out = client::run(texts, false, attention).await?;
        if let Some(why) = out.backend_change.clone() {
            s.switched_to_cpu(why);
        }
        tally.count(s, &out);
        s.rows.update(|r| r.extend(rows(run, chunk, out.sentences)));
        s.status.set(format!(
            "Analysed {} of {} sentences…",
            s.rows.with_untracked(Vec::len),
            lines.len()
        ));
    }
    let round_trip = now_ms() - t0;
    s.timings
        .update(|t| t.last_round_trip_ms = Some(round_trip));
    let n = s.rows.with_untracked(Vec::len);
    s.status.set(tally.summary(n, round_trip));
    Ok(())
}

/// One row per line of `chunk`, paired with the worker's answer for it.
fn rows(
    run: u64,
    chunk: &[(usize, String)],
    outs: Vec<Result<SentenceOut, WorkerError>>,
) -> Vec<Arc<Row>> {
    chunk
        .iter()
        .zip(outs)
        .map(|((line, text), out)| {
            Arc::new(Row {
                run,
                line: *line,
                text: text.clone(),
                out: out.map(Arc::new),
            })
        })
        .collect()
}

/// Runs one batch of `texts`, the worker's cache bypassed and no attention read back (the
/// peers it is compared with return none): the round trip in ms, and what the worker
/// answered.
async fn timed(texts: Vec<String>) -> Result<(f64, RunOutput), WorkerError> {
    let t0 = now_ms();
    let out = client::run(texts, true, None).await?;
    Ok((now_ms() - t0, out))
}

/// Measures the page as a user meets it, on the sentences the address names: first
/// inference, `n` rounds at batch 1 and at batch [`bench::BATCH`], as JSON.
fn start_bench(s: State, n: usize) -> impl Future<Output = Result<String, BenchError>> {
    s.status.set(format!("Benchmarking ({n} rounds)…"));
    async move {
        let measured = sentences_and_times(n).await;
        match &measured {
            Ok(_) => s.status.set("Benchmark done.".into()),
            Err(e) => s.status.set(format!("Benchmark failed: {e}")),
        }
        let (w, times) = measured?;
        let model = s.model.get_untracked();
        Ok(bench::report(model.as_ref().map(|m| &m.info), &w, times))
    }
}

async fn sentences_and_times(n: usize) -> Result<(Workload, Times), BenchError> {
    let (sentences, source) = bench_sentences().await?;
    let times = measure(&sentences, n).await?;
    let w = Workload {
        source,
        n_sentences: sentences.len(),
    };
    Ok((w, times))
}

/// The sentences `?sentences=` names (fetched or inline), else the built-in ones, with
/// where they came from.
async fn bench_sentences() -> Result<(Vec<String>, String), BenchError> {
    let unusable = |from: &str| {
        let from = from.to_string();
        move |why: String| BenchError::Sentences { from, why }
    };
    match Query::current().sentences {
        None => Ok((bench::builtin(), "built-in".into())),
        Some(SentenceSource::Inline(json)) => bench::parse_sentences(&json)
            .map(|v| (v, "inline".into()))
            .map_err(unusable("the ?sentences= parameter")),
        Some(SentenceSource::Url(u)) => {
            let at = url::absolute(&u);
            let text = url::fetch_same_origin(&at).await;
            text.and_then(|t| bench::parse_sentences(&t))
                .map(|v| (v, at.clone()))
                .map_err(unusable(&at))
        }
    }
}

/// Memory samples over a benchmark: runs so far, the worker's wasm memory as its last reply
/// said, the page's own wasm memory and JavaScript heap.
struct MemoryLog {
    runs: usize,
    worker: u64,
    samples: Vec<bench::MemorySample>,
}

impl MemoryLog {
    fn new(worker: u64) -> Self {
        let mut log = MemoryLog {
            runs: 1,
            worker,
            samples: Vec::new(),
        };
        log.sample();
        log
    }

    fn ran(&mut self, out: &RunOutput) {
        self.runs += 1;
        self.worker = out.worker_memory;
    }

    fn sample_every(&mut self, round: usize) {
        if round.is_multiple_of(bench::MEMORY_EVERY) {
            self.sample();
        }
    }

    fn sample(&mut self) {
        self.samples.push(bench::MemorySample {
            runs: self.runs,
            page_wasm_bytes: crate::wasm_memory_bytes(),
            worker_wasm_bytes: self.worker,
            page_js_heap_bytes: crate::js_heap_bytes(),
        });
    }
}

/// The first sentence cold, then `n` rounds of every sentence alone (interleaved, so a slow
/// spell of the machine spreads over all sentences), then `n` rounds of the sentences in
/// batches. WebGPU compiles kernels for each new shape in a sentence's first round: a cost
/// of first use that the median over three or more rounds leaves out.
async fn measure(sentences: &[String], n: usize) -> Result<Times, BenchError> {
    let (first, out) = timed(sentences[..1].to_vec()).await?;
    let first_embedding = match out.sentences.into_iter().next() {
        Some(Ok(o)) => o.embedding,
        Some(Err(e)) => return Err(e.into()),
        None => vec![],
    };
    let mut memory = MemoryLog::new(out.worker_memory);
    let mut t = Times {
        first,
        first_embedding,
        ..Times::default()
    };
    for round in 1..=n {
        let (mut trip, mut fwd) = (Vec::new(), Vec::new());
        for sentence in sentences {
            let (ms, out) = timed(vec![sentence.clone()]).await?;
            trip.push(ms);
            fwd.push(out.forward_ms);
            memory.ran(&out);
        }
        t.batch1.push(trip);
        t.batch1_forward.push(fwd);
        memory.sample_every(round);
    }
    for round in 1..=n {
        let mut total = 0.0;
        for chunk in sentences.chunks(bench::BATCH) {
            let (ms, out) = timed(chunk.to_vec()).await?;
            total += ms;
            memory.ran(&out);
        }
        t.batch16.push(total);
        memory.sample_every(n + round);
    }
    t.memory = memory.samples;
    Ok(t)
}

/// Runs the text of `want` again with its attention (the worker's cache upgrades its entry)
/// and gives the maps to its row, if the row is still the one the run made.
fn start_attention(s: State, want: AttentionFor) -> impl Future<Output = Result<(), WorkerError>> {
    s.attention_error.set(None);
    async move {
        let got = client::run(vec![want.text.clone()], false, Some(0))
            .await
            .and_then(|out| {
                if let Some(why) = out.backend_change {
                    s.switched_to_cpu(why);
                }
                match out.sentences.into_iter().next() {
                    Some(Ok(o)) if o.has_attention() => Ok(o),
                    Some(Err(e)) => Err(e),
                    _ => Err(WorkerError::Protocol(
                        "no attention for the sentence".into(),
                    )),
                }
            });
        match got {
            Ok(o) => {
                s.rows.maybe_update(|r| add_attention(r, &want, o));
                Ok(())
            }
            Err(e) => {
                s.attention_error.set(Some((want.text, e.to_string())));
                Err(e)
            }
        }
    }
}

/// Occludes `text` word by word and shows the result if `text` is still the one focused.
fn start_occlusion(s: State, text: String) -> impl Future<Output = Result<(), WorkerError>> {
    s.occlusion.set(None);
    async move {
        match client::occlude(text).await {
            Ok(o) => {
                let focused = s.derived.focus_text.get_untracked();
                if focused.as_deref() == Some(o.text.as_str()) {
                    s.occlusion.set(Some(Arc::new(o)));
                }
                Ok(())
            }
            Err(e) => {
                s.notes.update(|n| n.push(format!("Occlusion failed: {e}")));
                Err(e)
            }
        }
    }
}
