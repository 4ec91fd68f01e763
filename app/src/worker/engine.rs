//! The loaded model as the worker serves it: a verified bundle, the runner chosen for it,
//! and a cache of results already computed.
//!
//! The verified bundle bytes are kept so that a lost WebGPU device can be replaced by the CPU
//! backend without a download; that is the only time the runner changes.

use std::cell::RefCell;
use std::rc::Rc;

use glassbox_model::text::decode::words;
use glassbox_model::view::attention::Attention;
use glassbox_model::view::explain::drop_word;
use glassbox_model::view::readout::{softmax, BatchData, SentenceResult};
use glassbox_model::view::ReadBack;
use glassbox_model::weights::bundle::WEIGHTS;
use glassbox_model::Tokenized;

use super::cache::ResultCache;
use super::loader::{self, Bundle};
use super::runner::{self, Runner};
use crate::now_ms;
use crate::protocol::{LoadInfo, Occlusion, Progress, RunOutput, SentenceOut, WorkerError};
use crate::url::BackendChoice;

/// Rows per forward pass of the occlusion batch: bounds memory on long sentences.
const OCCLUSION_BATCH: usize = 16;
/// Bytes of results kept per loaded model.
const CACHE_BYTES: usize = 64 << 20;

/// One answer per requested text, `None` while it waits for the forward pass.
type Slots = Vec<Option<Result<SentenceOut, WorkerError>>>;
/// Texts to compute: their index in the request and their encoding.
type Todo = Vec<(usize, Tokenized)>;

/// What to read back for `todo`: the attention of the batch row that holds
/// `texts[attention]`, when that text is computed at all.
fn read_back(todo: &[(usize, Tokenized)], attention: Option<usize>) -> ReadBack {
    match todo.iter().position(|(i, _)| Some(*i) == attention) {
        Some(row) => ReadBack::Attention(vec![row]),
        None => ReadBack::Outputs,
    }
}

pub struct Engine {
    runner: RefCell<Rc<dyn Runner>>,
    bundle: Bundle,
    info: RefCell<LoadInfo>,
    results: RefCell<ResultCache>,
}

/// What the page keeps of one computed sentence: attention quantised to bytes (a quarter of
/// the f32 size, finer than any colour scale can show).
fn sentence_out(r: SentenceResult) -> SentenceOut {
    SentenceOut {
        attentions: r.attentions.iter().map(Attention::quantized).collect(),
        embedding: r.embedding,
        sentence_probs: r.sentence_probs,
        token_probs: r.token_probs,
        tokenized: r.tokenized,
        cached: false,
    }
}

impl Engine {
    /// Loads and verifies the bundle, then builds it on the backend this browser offers.
    pub async fn load(
        candidates: &[String],
        backend: BackendChoice,
        progress: &dyn Fn(Progress),
    ) -> Result<Engine, WorkerError> {
        let t0 = now_ms();
        let bundle = loader::load(candidates, progress).await?;
        let (runner, fallback_reason) = runner::choose(&bundle, backend).await?;
        let not_kept = bundle.remember().await;
        let info = LoadInfo {
            backend: runner.backend().to_string(),
            fallback_reason,
            base: bundle.base.clone(),
            manifest_json: String::from_utf8_lossy(&bundle.manifest_bytes).into_owned(),
            model_card: bundle.model_card(),
            model_key: bundle.manifest.files[WEIGHTS].clone(),
            source: bundle.source.clone(),
            not_kept,
            bytes: bundle.bytes(),
            load_ms: now_ms() - t0,
        };
        Ok(Engine {
            runner: RefCell::new(Rc::from(runner)),
            bundle,
            info: RefCell::new(info),
            results: RefCell::new(ResultCache::new(CACHE_BYTES)),
        })
    }

    pub fn info(&self) -> LoadInfo {
        self.info.borrow().clone()
    }

    fn runner(&self) -> Rc<dyn Runner> {
        self.runner.borrow().clone()
    }

    /// Runs `items` on the current backend; when WebGPU fails (a lost device), switches to
    /// the CPU backend for good and runs them again there. Returns what changed, if anything.
    async fn forward(
        &self,
        items: Vec<Tokenized>,
        what: ReadBack,
    ) -> Result<(BatchData, Option<String>), WorkerError> {
        let current = self.runner();
        let e = match current.forward(items.clone(), what.clone()).await {
            Ok(d) => return Ok((d, None)),
            Err(e) if current.on_gpu() => e,
            Err(e) => return Err(e),
        };
        let cpu: Rc<dyn Runner> = Rc::from(runner::cpu(&self.bundle)?);
        let note = format!("WebGPU failed ({e}); switched to the CPU backend");
        {
            let mut info = self.info.borrow_mut();
            info.backend = cpu.backend().to_string();
            info.fallback_reason = Some(note.clone());
        }
        *self.runner.borrow_mut() = cpu.clone();
        self.results.borrow_mut().clear();
        let d = cpu.forward(items, what).await?;
        Ok((d, Some(note)))
    }

    /// Encodes every text (reporting empty ones and truncation per text), answers texts seen
    /// before from the cache, and runs the rest as one padded batch. Only `texts[attention]`
    /// gets its attention maps: a cached entry without them does not answer it, and only its
    /// batch row's maps are read back from the device.
    pub async fn run(
        &self,
        texts: &[String],
        fresh: bool,
        attention: Option<usize>,
    ) -> Result<RunOutput, WorkerError> {
        let (mut slots, todo) = self.lookup(texts, fresh, attention);
        let (mut forward_ms, mut backend_change) = (0.0, None);
        if !todo.is_empty() {
            let t0 = now_ms();
            let items: Vec<Tokenized> = todo.iter().map(|(_, t)| t.clone()).collect();
            let what = read_back(&todo, attention);
            let (data, change) = self.forward(items.clone(), what).await?;
            backend_change = change;
            forward_ms = now_ms() - t0;
            for ((i, _), r) in todo.iter().zip(data.split(items)) {
                let out = sentence_out(r);
                self.results.borrow_mut().put(texts[*i].clone(), &out);
                slots[*i] = Some(Ok(out));
            }
        }
        Ok(RunOutput {
            sentences: slots.into_iter().flatten().collect(),
            forward_ms,
            backend_change,
            worker_memory: crate::wasm_memory_bytes(),
        })
    }

    /// One slot per text, filled where the cache answers or the text cannot be encoded, and
    /// the encodings left to compute with their index in `texts`.
    fn lookup(&self, texts: &[String], fresh: bool, attention: Option<usize>) -> (Slots, Todo) {
        let runner = self.runner();
        let mut slots: Slots = Vec::with_capacity(texts.len());
        let mut todo: Todo = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let wants = attention == Some(i);
            let hit = (!fresh)
                .then(|| self.results.borrow_mut().get(text, wants))
                .flatten();
            if let Some(hit) = hit {
                slots.push(Some(Ok(hit)));
                continue;
            }
            match runner.tokenizer().encode(text) {
                Ok(t) => {
                    slots.push(None);
                    todo.push((i, t));
                }
                Err(e) => slots.push(Some(Err(e.into()))),
            }
        }
        (slots, todo)
    }

    /// `text` alone with every layer's attention as computed (f32), bypassing the result
    /// cache, whose maps are quantised to bytes: the JavaScript API hands these
    /// probabilities to other programs, which may sum or compare them.
    pub async fn exact(&self, text: &str) -> Result<SentenceResult, WorkerError> {
        let t = self.runner().tokenizer().encode(text)?;
        let (data, _) = self
            .forward(vec![t.clone()], ReadBack::Attention(vec![0]))
            .await?;
        Ok(data.split(vec![t]).remove(0))
    }

    /// The sentence distribution of `text` and of `text` with each word dropped.
    pub async fn occlude(&self, text: &str) -> Result<Occlusion, WorkerError> {
        let t = self.runner().tokenizer().encode(text)?;
        let words = words(&t);
        let mut variants = vec![t.clone()];
        variants.extend(words.iter().map(|w| drop_word(&t, w.id)));
        let mut probs = Vec::with_capacity(variants.len());
        for chunk in variants.chunks(OCCLUSION_BATCH) {
            let (data, _) = self.forward(chunk.to_vec(), ReadBack::Outputs).await?;
            let k = data.sentence_logits.len() / data.batch.max(1);
            probs.extend(data.sentence_logits.chunks(k).map(softmax));
        }
        let base_probs = probs.remove(0);
        Ok(Occlusion {
            text: text.to_string(),
            words: words.iter().map(|w| (w.start, w.end)).collect(),
            base_probs,
            dropped_probs: probs,
        })
    }
}
