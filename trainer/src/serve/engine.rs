//! The path every inference route shares: tokenize (422 naming the input), look each input up
//! in the cache, queue the misses for the model thread, format each answer with the CLI's own
//! JSON code, cache it, and hand the answers back in input order with their timings.

use std::sync::Arc;

use glassbox_model::text::decode::Aggregation;
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::{GlassboxConfig, Tokenized};
use serde_json::{json, Value};

use super::cache::Key;
use super::errors::ApiError;
use super::metrics::Metrics;
use super::state::{Model, Shared};
use super::timing::Timings;
use crate::infer::output::{attention_json, embedding_json};
use crate::infer::predict::prediction_json;

/// What is computed for each input; with its options it is part of the cache key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Task {
    Predict(Aggregation),
    Embed,
    Attention { layer: usize, head: usize },
}

impl Task {
    fn key(&self) -> String {
        match self {
            Task::Predict(a) => format!("predict:{}", a.name()),
            Task::Embed => "embed".into(),
            Task::Attention { layer, head } => format!("attention:{layer}:{head}"),
        }
    }

    /// The metric label: the task without its options.
    fn label(&self) -> &'static str {
        match self {
            Task::Predict(_) => "predict",
            Task::Embed => "embed",
            Task::Attention { .. } => "attention",
        }
    }

    /// The CLI's JSON object for this task, plus `truncated`.
    fn format(&self, cfg: &GlassboxConfig, r: &SentenceResult) -> Value {
        let mut v = match *self {
            Task::Predict(a) => prediction_json(cfg, r, a),
            Task::Embed => embedding_json(r),
            Task::Attention { layer, head } => attention_json(r, layer, head),
        };
        v["truncated"] = json!(r.tokenized.truncation.is_some());
        v
    }
}

/// The answers to one request: one serialized JSON object per input, in input order.
pub(crate) struct Answer {
    pub items: Vec<Arc<str>>,
    pub tokenized: Vec<Tokenized>,
    pub timings: Timings,
}

impl Answer {
    /// 0-based indices of the inputs that were cut to the model's maximum length.
    pub fn truncated(&self) -> Vec<usize> {
        (0..self.tokenized.len())
            .filter(|&i| self.tokenized[i].truncation.is_some())
            .collect()
    }

    /// The answers as one JSON array, each object byte for byte as computed or cached.
    pub fn json_array(&self) -> String {
        let mut s = String::from("[");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(item);
        }
        s.push(']');
        s
    }
}

/// Tokenizes every text; the first that cannot be encoded (empty, whitespace only) is a 422
/// naming it with `name(index)`. Counts inputs, wordpieces, [UNK]s and truncations.
pub(crate) fn tokenize(
    model: &Model,
    metrics: &Metrics,
    texts: &[String],
    name: &(dyn Fn(usize) -> String + Sync),
) -> Result<Vec<Tokenized>, ApiError> {
    let mut out = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let t = model
            .tokenizer
            .encode(text)
            .map_err(|e| ApiError::validation(format!("{}: {e}", name(i))))?;
        out.push(t);
    }
    for t in &out {
        metrics.inputs.inc();
        metrics.wordpieces.inc_by(t.ids.len() as u64);
        let unk = t.tokens.iter().filter(|p| *p == "[UNK]").count();
        metrics.unknown_wordpieces.inc_by(unk as u64);
        if t.truncation.is_some() {
            metrics.truncated_inputs.inc();
        }
    }
    Ok(out)
}

/// Texts above this many bytes in one request are tokenized with the runtime told that this
/// thread blocks (a 2 MB body takes a noticeable time to tokenize; tweets take microseconds).
const BLOCKING_BYTES: usize = 64 << 10;

/// [`tokenize`], moving the other tasks of this runtime thread elsewhere while a large
/// request is tokenized, so it cannot stall the connections that share the thread.
pub(crate) fn tokenize_off_runtime(
    model: &Model,
    metrics: &Metrics,
    texts: &[String],
    name: &(dyn Fn(usize) -> String + Sync),
) -> Result<Vec<Tokenized>, ApiError> {
    let bytes: usize = texts.iter().map(String::len).sum();
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if bytes > BLOCKING_BYTES && multi_thread {
        tokio::task::block_in_place(|| tokenize(model, metrics, texts, name))
    } else {
        tokenize(model, metrics, texts, name)
    }
}

/// How routes name input `i` in messages: `input at index i`.
pub(crate) fn input_name(i: usize) -> String {
    format!("input at index {i}")
}

/// Runs `task` on `texts` through the cache and the batcher.
pub(crate) async fn answer(
    shared: &Shared,
    model: &Model,
    task: Task,
    texts: &[String],
    name: &(dyn Fn(usize) -> String + Sync),
) -> Result<Answer, ApiError> {
    let mut timings = Timings::start();
    let tokenized = tokenize_off_runtime(model, &shared.metrics, texts, name)?;
    timings.tokenization = timings.start.elapsed();
    let task_key: Arc<str> = task.key().into();
    let keys: Vec<Key> = texts
        .iter()
        .map(|text| Key {
            bundle: model.bundle_hash.clone(),
            task: task_key.clone(),
            text: text.clone(),
        })
        .collect();
    let mut items: Vec<Option<Arc<str>>> = keys.iter().map(|k| shared.cache.get(k)).collect();
    let misses: Vec<usize> = (0..items.len()).filter(|&i| items[i].is_none()).collect();
    let label = [task.label()];
    let hits = (items.len() - misses.len()) as u64;
    shared
        .metrics
        .cache_hits
        .with_label_values(&label)
        .inc_by(hits);
    let missed = misses.len() as u64;
    shared
        .metrics
        .cache_misses
        .with_label_values(&label)
        .inc_by(missed);
    let attention = matches!(task, Task::Attention { .. });
    let mut waiting = Vec::with_capacity(misses.len());
    for &i in &misses {
        let rx = model.queue.push(tokenized[i].clone(), attention);
        waiting.push((i, rx.ok_or_else(stopped)?));
    }
    for (i, rx) in waiting {
        let done = rx
            .await
            .map_err(|_| stopped())?
            .map_err(ApiError::internal)?;
        timings.queue = timings.queue.max(done.queue);
        timings.inference = timings.inference.max(done.inference);
        if let Some(drift) = &shared.drift {
            drift.observe(&model.bundle_hash, &done.result);
        }
        let text: Arc<str> = task.format(&model.config, &done.result).to_string().into();
        shared.cache.insert(keys[i].clone(), text.clone());
        items[i] = Some(text);
    }
    Ok(Answer {
        items: items.into_iter().flatten().collect(),
        tokenized,
        timings,
    })
}

fn stopped() -> ApiError {
    ApiError::internal("the model thread has stopped; see the server log")
}

/// Counts what `/predict` answered (cached or not): classes, confidence, entities per type.
pub(crate) fn observe_predictions(metrics: &Metrics, items: &[Arc<str>]) {
    for item in items {
        let Ok(v) = serde_json::from_str::<Value>(item) else {
            continue;
        };
        if let Some(label) = v.pointer("/sentence/label").and_then(Value::as_str) {
            metrics.predicted_class.with_label_values(&[label]).inc();
            if let Some(p) = v["sentence"]["probs"][label].as_f64() {
                metrics.confidence.observe(p);
            }
        }
        for e in v["entities"].as_array().into_iter().flatten() {
            if let Some(kind) = e["label"].as_str() {
                metrics.entities.with_label_values(&[kind]).inc();
            }
        }
    }
}
