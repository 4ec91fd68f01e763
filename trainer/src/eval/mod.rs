//! Running a model over a split and scoring it. Training (dev scores), `glassbox eval` and
//! cross-validation all go through [`evaluate`], so they report the same numbers.

pub mod errors;
pub mod interval;
pub mod report;
pub mod saved;

use anyhow::{bail, Result};
use burn::prelude::*;
use glassbox_model::nn::projection::Kernels;
use glassbox_model::text::decode::argmax;
use glassbox_model::view::readout::softmax;
use glassbox_model::view::{read, ReadBack};
use glassbox_model::Glassbox;
use serde::Serialize;
use serde_json::Value;

use crate::config::TaskKind;
use crate::data::batch::{Batcher, Targets};
use crate::data::encode::{word_tags, Encoded};
use crate::data::prepare::PreparedTask;
use crate::data::task::Examples;
use crate::metrics::classification::{class_scores, ClassReport};
use crate::metrics::span::{span_scores, SpanReport};

/// Sentences per forward pass when scoring.
pub const EVAL_BATCH: usize = 64;

/// Logits of each example `idx`, row-major and aligned with `idx` (`[classes]` for
/// sentences, `[pieces × tags]` for tokens), in batches of similar length.
pub(crate) fn logits<B: Backend>(
    model: &Glassbox<B>,
    kernels: &Kernels<B>,
    batcher: Batcher,
    idx: &[usize],
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<Vec<f32>>> {
    let mut out = vec![Vec::new(); idx.len()];
    for chunk in batcher.by_length(idx, batch_size) {
        let rows: Vec<usize> = chunk.iter().map(|&k| idx[k]).collect();
        let inputs = batcher.inputs::<B>(&rows, device);
        let lengths = inputs.lengths.clone();
        let d = read(
            model.forward_with(inputs.input_ids, inputs.pad_mask, kernels),
            &ReadBack::Outputs,
        )?;
        let (classes, tags) = (
            d.sentence_logits.len() / d.batch,
            d.token_logits.len() / (d.batch * d.len),
        );
        for (k, &at) in chunk.iter().enumerate() {
            out[at] = match batcher.kind() {
                TaskKind::Sentence => d.sentence_logits[k * classes..(k + 1) * classes].to_vec(),
                TaskKind::Token => {
                    d.token_logits[k * d.len * tags..(k * d.len + lengths[k]) * tags].to_vec()
                }
            };
        }
    }
    Ok(out)
}

fn argmax_softmax(row: &[f32]) -> (usize, f32) {
    argmax(&softmax(row))
}

/// Predictions for the examples `idx` of one task, aligned with `idx`.
#[derive(Debug, Clone)]
pub enum Predictions {
    Sentence {
        gold: Vec<usize>,
        pred: Vec<usize>,
        /// Full class distribution per example.
        probs: Vec<Vec<f32>>,
    },
    Token {
        gold: Vec<Vec<String>>,
        pred: Vec<Vec<String>>,
        /// Probability of the predicted tag, per word.
        confidence: Vec<Vec<f32>>,
    },
}

pub fn predict<B: Backend>(
    model: &Glassbox<B>,
    kernels: &Kernels<B>,
    task: &PreparedTask,
    idx: &[usize],
    batch_size: usize,
    pad_id: u32,
    device: &B::Device,
) -> Result<Predictions> {
    let batcher = Batcher::new(task, pad_id);
    let rows = logits(model, kernels, batcher, idx, batch_size, device)?;
    from_logits(task, batcher, idx, &rows)
}

/// The predictions for examples `idx` of `task` from their logits rows (as [`logits`] returns
/// them), for callers that keep the logits too.
pub(crate) fn from_logits(
    task: &PreparedTask,
    batcher: Batcher,
    idx: &[usize],
    rows: &[Vec<f32>],
) -> Result<Predictions> {
    match (batcher.targets(idx)?, &task.data.examples) {
        (Targets::Classes { classes: gold, .. }, _) => {
            let probs: Vec<Vec<f32>> = rows.iter().map(|r| softmax(r)).collect();
            let pred = probs.iter().map(|p| argmax(p).0).collect();
            Ok(Predictions::Sentence { gold, pred, probs })
        }
        (Targets::Tags(_), Examples::Token(examples)) => {
            let items: Vec<&Encoded> = idx.iter().map(|&i| &task.encoded[i]).collect();
            let tags = task.labels();
            let mut gold = vec![];
            let mut pred = vec![];
            let mut confidence = vec![];
            for ((e, r), &i) in items.iter().zip(rows).zip(idx) {
                let t = tags.len();
                let (piece_pred, piece_p): (Vec<usize>, Vec<f32>) =
                    r.chunks(t).map(argmax_softmax).unzip();
                pred.push(word_tags(&e.first_piece, &piece_pred, tags));
                confidence.push(
                    e.first_piece
                        .iter()
                        .map(|p| p.map(|p| piece_p[p]).unwrap_or(0.0))
                        .collect(),
                );
                gold.push(examples[i].tags.clone());
            }
            Ok(Predictions::Token {
                gold,
                pred,
                confidence,
            })
        }
        (Targets::Tags(_), Examples::Sentence(_)) => {
            bail!("task {:?}: tag targets over sentence examples", task.name())
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskScores {
    pub task: String,
    pub split: String,
    pub examples: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spans: Option<SpanReport>,
}

impl TaskScores {
    /// The task's headline number: macro-F1 for sentences, span micro-F1 for entities.
    pub fn headline(&self) -> (&'static str, f64) {
        match (&self.classification, &self.spans) {
            (Some(c), _) => ("macro_f1", c.macro_avg.f1),
            (_, Some(s)) => ("span_micro_f1", s.micro.f1),
            _ => ("none", 0.0),
        }
    }
}

pub fn score(task: &PreparedTask, split: &str, preds: &Predictions) -> TaskScores {
    let (classification, spans, n) = match preds {
        Predictions::Sentence { gold, pred, .. } => (
            Some(class_scores(task.labels(), gold, pred)),
            None,
            gold.len(),
        ),
        Predictions::Token { gold, pred, .. } => (None, Some(span_scores(gold, pred)), gold.len()),
    };
    TaskScores {
        task: task.name().to_string(),
        split: split.to_string(),
        examples: n,
        classification,
        spans,
    }
}

/// Scores every task on `split`; the mean headline is what model selection maximises.
/// `kernels` computes the encoder's linear layers (int8 bundles are scored both ways).
pub fn evaluate<B: Backend>(
    model: &Glassbox<B>,
    kernels: &Kernels<B>,
    tasks: &[PreparedTask],
    split: &str,
    batch_size: usize,
    pad_id: u32,
    device: &B::Device,
) -> Result<(Vec<TaskScores>, Vec<Predictions>)> {
    let mut scores = Vec::with_capacity(tasks.len());
    let mut preds = Vec::with_capacity(tasks.len());
    for t in tasks {
        let p = predict(
            model,
            kernels,
            t,
            t.indices(split),
            batch_size,
            pad_id,
            device,
        )?;
        scores.push(score(t, split, &p));
        preds.push(p);
    }
    Ok((scores, preds))
}

/// Every scalar metric of one task's scores (as stored in run folders: [`TaskScores`] in
/// JSON), under the names manifests and cross-validation use.
pub fn flat_metrics(scores: &Value) -> std::collections::BTreeMap<String, f64> {
    let mut m = std::collections::BTreeMap::new();
    let f = |p: &str| scores.pointer(p).and_then(Value::as_f64);
    for (name, p) in [
        ("accuracy", "/classification/accuracy"),
        ("macro_f1", "/classification/macro_avg/f1"),
        ("micro_f1", "/classification/micro_f1"),
        ("span_micro_f1", "/spans/micro/f1"),
        ("span_micro_precision", "/spans/micro/precision"),
        ("span_micro_recall", "/spans/micro/recall"),
        ("span_macro_f1", "/spans/macro_avg/f1"),
        ("token_accuracy", "/spans/token_accuracy"),
    ] {
        if let Some(x) = f(p) {
            m.insert(name.to_string(), x);
        }
    }
    let c = &scores["classification"];
    if let (Some(labels), Some(per)) = (c["labels"].as_array(), c["per_class"].as_array()) {
        for (l, p) in labels.iter().zip(per) {
            if let (Some(l), Some(x)) = (l.as_str(), p["f1"].as_f64()) {
                m.insert(format!("f1_{l}"), x);
            }
        }
    }
    m
}

impl TaskScores {
    pub fn flat(&self) -> std::collections::BTreeMap<String, f64> {
        flat_metrics(&serde_json::to_value(self).expect("scores serialise"))
    }
}

pub fn mean_headline(scores: &[TaskScores]) -> f64 {
    scores.iter().map(|s| s.headline().1).sum::<f64>() / scores.len().max(1) as f64
}
