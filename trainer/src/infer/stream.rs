//! The batch loop behind `predict`, `embed` and `attention` on many texts: read a batch of
//! items, answer it, write its answers, repeat. Only one batch of results is held at a time,
//! so a file of any length streams; an item that cannot be answered (empty text, bad line)
//! becomes an error object at its position and every other item is still answered.

use std::io;

use anyhow::{Context, Result};
use burn::prelude::*;
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::Tokenized;
use indicatif::ProgressBar;
use serde_json::{json, Value};

use super::input::{Item, Items};
use super::output::mark_truncated;
use super::run;
use super::sink::Sink;
use crate::load::Loaded;

/// What one run computes for each text.
pub struct Job<'a> {
    /// Texts per forward pass (and per written batch).
    pub batch_size: usize,
    /// Whether attention maps are read back (only `attention` needs them).
    pub attention: bool,
    /// The JSON answer for one result (the same function `glassbox serve` formats with).
    pub answer: &'a dyn Fn(&SentenceResult) -> Value,
}

/// How a run went: the exit status is chosen from `failed`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub answered: usize,
    pub failed: usize,
    pub truncated: usize,
}

/// Messages for stderr, printed around the progress bar (when there is one) so that neither
/// tears the other.
pub struct Notes {
    bar: Option<ProgressBar>,
}

impl Notes {
    pub fn new(bar: Option<ProgressBar>) -> Self {
        Self { bar }
    }

    pub fn warn(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{msg}")),
            None => eprintln!("{msg}"),
        }
    }

    /// Removes the bar once the input is done.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Answers every item in order, writing each batch's answers as soon as it is computed.
/// Fails only when the input cannot be read or the model cannot run at all.
pub fn stream<B: Backend>(
    loaded: &Loaded<B>,
    mut items: Items,
    job: &Job,
    sink: &mut dyn Sink,
    notes: &Notes,
    device: &B::Device,
) -> Result<Tally> {
    let mut tally = Tally::default();
    loop {
        let batch = items
            .by_ref()
            .take(job.batch_size.max(1))
            .collect::<io::Result<Vec<Item>>>()
            .context("reading the input")?;
        if batch.is_empty() {
            break;
        }
        for v in answer_batch(loaded, &batch, job, notes, &mut tally, device)? {
            sink.item(&v)?;
        }
        sink.flush()?;
    }
    sink.finish()?;
    Ok(tally)
}

/// One batch: error objects for the items that cannot be encoded, one forward pass for the
/// rest, answers in input order.
fn answer_batch<B: Backend>(
    loaded: &Loaded<B>,
    batch: &[Item],
    job: &Job,
    notes: &Notes,
    tally: &mut Tally,
    device: &B::Device,
) -> Result<Vec<Value>> {
    let mut out: Vec<Option<Value>> = vec![None; batch.len()];
    let (mut good, mut at) = (Vec::new(), Vec::new());
    for (i, item) in batch.iter().enumerate() {
        match encode(loaded, item) {
            Ok(t) => {
                good.push(t);
                at.push(i);
            }
            Err(msg) => {
                notes.warn(&format!("error: {}: {msg}", item.at));
                tally.failed += 1;
                out[i] = Some(error_json(item, &msg));
            }
        }
    }
    let results = run(loaded, good, job.batch_size, job.attention, device)?;
    for (i, r) in at.into_iter().zip(&results) {
        out[i] = Some(answer_json(&batch[i], r, job, notes, tally));
    }
    Ok(out.into_iter().flatten().collect())
}

fn encode<B: Backend>(loaded: &Loaded<B>, item: &Item) -> Result<Tokenized, String> {
    let text = item.text.as_ref().map_err(Clone::clone)?;
    loaded.tokenizer.encode(text).map_err(|e| e.to_string())
}

/// `{"line": N, "error": "WHERE: what"}`, with the line's `id` when it had one.
pub fn error_json(item: &Item, msg: &str) -> Value {
    let mut v = json!({"line": item.line, "error": format!("{}: {msg}", item.at)});
    if let Some(id) = &item.id {
        v["id"] = id.clone();
    }
    v
}

/// The job's answer with `truncated` (and a stderr note when the text was cut) and the
/// line's `id` when it had one.
fn answer_json(
    item: &Item,
    r: &SentenceResult,
    job: &Job,
    notes: &Notes,
    tally: &mut Tally,
) -> Value {
    let mut v = (job.answer)(r);
    mark_truncated(&mut v, r);
    if let Some(t) = &r.tokenized.truncation {
        notes.warn(&format!("warning: {}: {}", item.at, t.message()));
        tally.truncated += 1;
    }
    if let Some(id) = &item.id {
        v["id"] = id.clone();
    }
    tally.answered += 1;
    v
}
