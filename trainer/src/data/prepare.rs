//! From a config to encoded, split tasks: read, clean, split (seeded, stratified), optionally
//! subsample the training part, encode. Training, evaluation and cross-validation all start
//! here, so a run's `--split test` is exactly the split training never looked at.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use glassbox_model::TextTokenizer;
use serde::Serialize;

use super::encode::{encode_sentence, encode_tokens, Encoded};
use super::split::{stratified_split, Split};
use super::task::{load_extra, load_task, Examples, TaskData};
use crate::config::{TaskKind, TrainConfig};

pub struct PreparedTask {
    pub data: TaskData,
    pub split: Split,
    /// One per example of `data`, in the same order.
    pub encoded: Vec<Encoded>,
}

impl PreparedTask {
    pub fn name(&self) -> &str {
        &self.data.config.name
    }
    pub fn kind(&self) -> TaskKind {
        self.data.config.kind
    }
    pub fn labels(&self) -> &[String] {
        &self.data.labels
    }
    pub fn indices(&self, split: &str) -> &[usize] {
        match split {
            "train" => &self.split.train,
            "dev" => &self.split.dev,
            _ => &self.split.test,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TaskReport {
    pub name: String,
    pub file: String,
    pub examples: usize,
    pub labels: Vec<String>,
    /// split → stratum → count
    pub counts: BTreeMap<String, BTreeMap<String, usize>>,
    /// Examples longer than `max_seq_len` wordpieces (cut, still used).
    pub truncated: usize,
    pub subsampled_from: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean: Option<super::clean::CleanReport>,
}

/// Per-task seed: tasks split independently of how many tasks precede them.
pub fn task_seed(seed: u64, name: &str) -> u64 {
    name.bytes().fold(seed ^ 0x9e37_79b9_7f4a_7c15, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// [`prepare`] with the base model's tokenizer, which is also returned (its pad id batches
/// the encoded data).
pub fn prepare_config(
    cfg: &TrainConfig,
) -> Result<(Vec<PreparedTask>, Vec<TaskReport>, TextTokenizer)> {
    let (_, tok) = crate::load::read_tokenizer(&cfg.base_model, cfg.max_seq_len)?;
    let (tasks, reports) = prepare(cfg, &tok)?;
    Ok((tasks, reports, tok))
}

pub fn prepare(
    cfg: &TrainConfig,
    tok: &TextTokenizer,
) -> Result<(Vec<PreparedTask>, Vec<TaskReport>)> {
    let mut tasks = Vec::new();
    let mut reports = Vec::new();
    for tc in &cfg.tasks {
        let data = load_task(tc)?;
        let strata = data.strata();
        let seed = task_seed(cfg.seed, &tc.name);
        let mut split = stratified_split(&strata, cfg.split.dev, cfg.split.test, seed);
        let mut subsampled_from = None;
        if let Some(n) = tc.max_train_examples {
            if n < split.train.len() {
                subsampled_from = Some(split.train.len());
                let keys: Vec<String> = split.train.iter().map(|&i| strata[i].clone()).collect();
                let drop = 1.0 - n as f64 / keys.len() as f64;
                let sub = stratified_split(&keys, 0.0, drop, seed.wrapping_add(1));
                split.train = sub.train.iter().map(|&j| split.train[j]).collect();
            }
        }
        if let Some(n) = tc.max_dev_examples {
            if n < split.dev.len() {
                let keys: Vec<String> = split.dev.iter().map(|&i| strata[i].clone()).collect();
                let drop = 1.0 - n as f64 / keys.len() as f64;
                let sub = stratified_split(&keys, 0.0, drop, seed.wrapping_add(2));
                split.dev = sub.train.iter().map(|&j| split.dev[j]).collect();
            }
        }
        let mut data = data;
        append_extra(tc, &mut data, &mut split)?;
        let strata = data.strata();
        let encoded: Vec<Encoded> = match &data.examples {
            Examples::Sentence(v) => v
                .iter()
                .map(|e| encode_sentence(tok, e, &data.labels, tc.weight_by_confidence))
                .collect::<Result<_>>(),
            Examples::Token(v) => v
                .iter()
                .map(|e| encode_tokens(tok, e, &data.labels))
                .collect::<Result<_>>(),
        }
        .with_context(|| format!("task {:?}: encoding {}", tc.name, tc.file.display()))?;
        let mut counts = BTreeMap::new();
        for (name, idx) in [
            ("train", &split.train),
            ("dev", &split.dev),
            ("test", &split.test),
        ] {
            let mut c: BTreeMap<String, usize> = BTreeMap::new();
            for &i in idx {
                *c.entry(strata[i].clone()).or_default() += 1;
            }
            counts.insert(name.to_string(), c);
        }
        reports.push(TaskReport {
            name: tc.name.clone(),
            file: tc.file.display().to_string(),
            examples: data.len(),
            labels: data.labels.clone(),
            counts,
            truncated: encoded.iter().filter(|e| e.truncated).count(),
            subsampled_from,
            clean: data.clean.clone(),
        });
        tasks.push(PreparedTask {
            data,
            split,
            encoded,
        });
    }
    Ok((tasks, reports))
}

/// Appends the examples of the task's `extra_train` files to its data and to the training
/// split (after any subsampling, so every new example is trained on).
fn append_extra(
    tc: &crate::config::TaskConfig,
    data: &mut TaskData,
    split: &mut Split,
) -> Result<()> {
    for file in &tc.extra_train {
        let start = data.len();
        match (&mut data.examples, load_extra(tc, file, &data.labels)?) {
            (Examples::Sentence(v), Examples::Sentence(more)) => v.extend(more),
            (Examples::Token(v), Examples::Token(more)) => v.extend(more),
            _ => unreachable!("load_extra reads the task's own kind"),
        }
        split.train.extend(start..data.len());
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testing {
    use serde_json::json;

    use super::*;

    /// A prepared task of `examples` with empty splits and no encodings: enough for the code
    /// that scores predictions, which reads only the name, kind and labels.
    pub fn task(examples: Examples, labels: &[&str]) -> PreparedTask {
        use crate::data::split::Split;
        use crate::data::task::TaskData;
        let kind = match &examples {
            Examples::Sentence(_) => "sentence",
            Examples::Token(_) => "token",
        };
        let config = serde_json::from_value(json!({"name": "t", "kind": kind, "file": "t"}));
        PreparedTask {
            data: TaskData {
                config: config.unwrap(),
                examples,
                labels: labels.iter().map(|l| l.to_string()).collect(),
                clean: None,
            },
            split: Split {
                train: vec![],
                dev: vec![],
                test: vec![],
            },
            encoded: vec![],
        }
    }
}
