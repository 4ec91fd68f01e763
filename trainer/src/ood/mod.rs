//! `glassbox eval --external FILE`: a bundle scored on data it was never trained on, next to
//! its own held-out test split, and how well its sentence head tells the two apart.
//!
//! Every set is predicted by the same code as `glassbox eval` (`crate::eval`), with its labels
//! mapped into the model's terms as the set's declaration says (`sets`), so the only thing
//! that differs from the in-distribution numbers is the data.

pub mod detect;
pub mod own;
pub mod read;
pub mod report;
pub mod sets;

use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use serde::Serialize;

use crate::config::TaskKind;
use crate::data::batch::Batcher;
use crate::data::conll::TokenExample;
use crate::data::encode::{encode_sentence, encode_tokens};
use crate::data::prepare::{prepare, PreparedTask};
use crate::data::sentence::SentenceExample;
use crate::data::split::Split;
use crate::data::task::{Examples, TaskData};
use crate::eval::{from_logits, logits, predict, score, Predictions, TaskScores, EVAL_BATCH};
use crate::load::Loaded;
use crate::metrics::classification::{class_scores, ClassReport};
use crate::metrics::span::{span_scores, SpanReport};
use detect::{Detection, Scores};
use own::{OwnSentences, OwnTags, OwnTest};
use read::{map_tags, read_set, ExternalData};
use sets::{ExternalSet, OodConfig};

/// One external set's results.
#[derive(Debug, Serialize)]
pub struct SetResult {
    pub set: ExternalSet,
    pub examples: usize,
    /// Examples longer than the model's input (cut, still scored).
    pub truncated: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spans: Option<SpanReport>,
    /// The bundle's own test split scored as this set is (its classes, or its shared types):
    /// the in-distribution number to read `classification`/`spans` against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub own_test: Option<f64>,
    /// Against the sentence head's scores on the in-distribution test split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
}

#[derive(Debug, Serialize)]
pub struct OodReport {
    pub bundle: String,
    /// The bundle's own test split, for comparison.
    pub in_distribution: Vec<TaskScores>,
    pub sets: Vec<SetResult>,
}

/// The model with what every set needs: its tasks as trained and the in-distribution scores.
struct Scorer<'a, B: Backend> {
    loaded: &'a Loaded<B>,
    tasks: Vec<PreparedTask>,
    inside: Option<Scores>,
    own: OwnTest,
    device: &'a B::Device,
}

/// Scores `loaded` (read from `bundle`) on its test split and on every set of `cfg`.
pub fn run<B: Backend>(
    bundle: &Path,
    loaded: &Loaded<B>,
    cfg: &OodConfig,
    device: &B::Device,
) -> Result<OodReport> {
    let train = crate::eval::saved::recipe(loaded, bundle)?;
    let (tasks, _) = prepare(&train, &loaded.tokenizer)?;
    let mut cx = Scorer {
        loaded,
        tasks,
        inside: None,
        own: OwnTest::default(),
        device,
    };
    // Every set is read and checked before the long in-distribution pass, so a bad file or
    // mapping fails in seconds.
    let inputs = cfg
        .sets
        .iter()
        .map(|set| {
            cx.read(set, cfg.seed)
                .with_context(|| format!("set {:?}", set.name))
        })
        .collect::<Result<Vec<_>>>()?;
    eprintln!("scoring the bundle's own test split…");
    let in_distribution = cx.in_distribution()?;
    let mut results = Vec::new();
    for (i, (set, data)) in cfg.sets.iter().zip(inputs).enumerate() {
        eprintln!("[{}/{}] {}…", i + 1, cfg.sets.len(), set.name);
        let r = cx
            .score_set(set, data)
            .with_context(|| format!("set {:?}", set.name))?;
        results.push(r);
    }
    Ok(OodReport {
        bundle: bundle.display().to_string(),
        in_distribution,
        sets: results,
    })
}

impl<B: Backend> Scorer<'_, B> {
    /// The test split's scores, keeping its predictions (and the sentence head's logits, from
    /// the same forward pass) to compare every set with.
    fn in_distribution(&mut self) -> Result<Vec<TaskScores>> {
        let pad = self.loaded.tokenizer.pad_id();
        let (mut scores, mut own) = (Vec::new(), OwnTest::default());
        for t in &self.tasks {
            let idx = t.indices("test");
            let rows = self.logits(t, idx)?;
            let preds = from_logits(t, Batcher::new(t, pad), idx, &rows)?;
            scores.push(score(t, "test", &preds));
            match preds {
                Predictions::Sentence { gold, .. } => {
                    let labels = t.labels().to_vec();
                    own.sentences.get_or_insert(OwnSentences {
                        labels,
                        gold,
                        logits: rows,
                    });
                }
                Predictions::Token { gold, pred, .. } => {
                    own.tags.get_or_insert(OwnTags { gold, pred });
                }
            }
        }
        self.inside = own.detection();
        self.own = own;
        Ok(scores)
    }

    /// The set's examples, after checking the bundle has the task it names.
    fn read(&self, set: &ExternalSet, seed: u64) -> Result<ExternalData> {
        let task = self.task(set)?;
        if !set.is_token() {
            set.classes(task.labels())?;
        }
        let data = read_set(set, seed)?;
        if data.is_empty() {
            bail!("{} holds no examples", set.file.display());
        }
        Ok(data)
    }

    fn sentence_task(&self) -> Option<&PreparedTask> {
        self.tasks.iter().find(|t| t.kind() == TaskKind::Sentence)
    }

    fn task(&self, set: &ExternalSet) -> Result<&PreparedTask> {
        let Some(t) = self.tasks.iter().find(|t| t.name() == set.task) else {
            let names: Vec<&str> = self.tasks.iter().map(|t| t.name()).collect();
            bail!(
                "the bundle has no task {:?} (its tasks: {names:?})",
                set.task
            );
        };
        let want = if set.is_token() {
            TaskKind::Token
        } else {
            TaskKind::Sentence
        };
        if t.kind() != want {
            bail!(
                "task {:?} is a {:?} task; this set needs a {want:?} task",
                t.name(),
                t.kind()
            );
        }
        Ok(t)
    }

    fn logits(&self, task: &PreparedTask, idx: &[usize]) -> Result<Vec<Vec<f32>>> {
        let batcher = Batcher::new(task, self.loaded.tokenizer.pad_id());
        let (model, kernels) = (&self.loaded.model, &self.loaded.kernels);
        logits(model, kernels, batcher, idx, EVAL_BATCH, self.device)
    }

    fn score_set(&self, set: &ExternalSet, data: ExternalData) -> Result<SetResult> {
        let task = self.task(set)?;
        let mut result = SetResult {
            set: set.clone(),
            examples: data.len(),
            truncated: 0,
            classification: None,
            spans: None,
            own_test: self.own.under(set),
            detection: None,
        };
        let texts = data.texts();
        match data {
            ExternalData::Sentences(v) => {
                let (report, scores, cut) = self.classify(task, set, v)?;
                result.classification = Some(report);
                result.truncated = cut;
                result.detection = self.inside.as_ref().map(|i| i.against(&scores));
            }
            ExternalData::Tokens(v) => {
                let (report, cut) = self.tag(task, set, v)?;
                result.spans = Some(report);
                result.truncated = cut;
                result.detection = self.detect_texts(texts)?;
            }
        }
        Ok(result)
    }

    /// Class scores over the classes the set maps to, predicting the likeliest of those.
    fn classify(
        &self,
        task: &PreparedTask,
        set: &ExternalSet,
        examples: Vec<SentenceExample>,
    ) -> Result<(ClassReport, Scores, usize)> {
        let classes = set.classes(task.labels())?;
        let model_idx: Vec<usize> = classes
            .iter()
            .map(|c| {
                task.labels()
                    .iter()
                    .position(|l| l == c)
                    .expect("checked by classes()")
            })
            .collect();
        let gold: Vec<usize> = examples
            .iter()
            .map(|e| {
                classes
                    .iter()
                    .position(|c| *c == e.label)
                    .expect("mapped labels")
            })
            .collect();
        let prepared = self.sentences(task, examples)?;
        let rows = self.logits(&prepared, prepared.indices("test"))?;
        let pred: Vec<usize> = rows
            .iter()
            .map(|r| restricted_argmax(r, &model_idx))
            .collect();
        let cut = prepared.encoded.iter().filter(|e| e.truncated).count();
        Ok((class_scores(&classes, &gold, &pred), Scores::of(&rows), cut))
    }

    /// Span scores over the shared types, the model's tags mapped by `model_types`.
    fn tag(
        &self,
        task: &PreparedTask,
        set: &ExternalSet,
        examples: Vec<TokenExample>,
    ) -> Result<(SpanReport, usize)> {
        let outside: Vec<TokenExample> = examples
            .iter()
            .map(|e| TokenExample {
                tags: vec!["O".into(); e.tokens.len()],
                ..e.clone()
            })
            .collect();
        let tok = &self.loaded.tokenizer;
        // Encoded against all-O targets: the gold tags are in the shared types, which the
        // model's tag set does not hold; `predict` takes gold from the examples themselves.
        let encoded = outside
            .iter()
            .map(|e| encode_tokens(tok, e, task.labels()))
            .collect::<Result<Vec<_>>>()?;
        let prepared = external_task(task, Examples::Token(examples), encoded);
        let preds = predict(
            &self.loaded.model,
            &self.loaded.kernels,
            &prepared,
            prepared.indices("test"),
            EVAL_BATCH,
            tok.pad_id(),
            self.device,
        )?;
        let Predictions::Token { gold, pred, .. } = preds else {
            bail!("a token task answered with sentence predictions");
        };
        let pred: Vec<Vec<String>> = pred.iter().map(|p| map_tags(p, &set.model_types)).collect();
        let cut = prepared.encoded.iter().filter(|e| e.truncated).count();
        Ok((span_scores(&gold, &pred), cut))
    }

    /// The sentence head's detection scores on arbitrary texts (a token set's tweets).
    fn detect_texts(&self, texts: Vec<String>) -> Result<Option<Detection>> {
        let (Some(task), Some(inside)) = (self.sentence_task(), &self.inside) else {
            return Ok(None);
        };
        let label = task.labels()[0].clone();
        let examples = texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| SentenceExample {
                text,
                label: label.clone(),
                confidence: None,
                line: i + 1,
            })
            .collect();
        let prepared = self.sentences(task, examples)?;
        let rows = self.logits(&prepared, prepared.indices("test"))?;
        Ok(Some(inside.against(&Scores::of(&rows))))
    }

    /// `examples` (labelled with the task's classes) encoded as a task whose test split is all.
    fn sentences(
        &self,
        task: &PreparedTask,
        examples: Vec<SentenceExample>,
    ) -> Result<PreparedTask> {
        let tok = &self.loaded.tokenizer;
        let encoded = examples
            .iter()
            .map(|e| encode_sentence(tok, e, task.labels(), false))
            .collect::<Result<Vec<_>>>()?;
        Ok(external_task(task, Examples::Sentence(examples), encoded))
    }
}

/// A task shaped like `like` (config, labels) over other examples, all in its test split.
fn external_task(
    like: &PreparedTask,
    examples: Examples,
    encoded: Vec<crate::data::encode::Encoded>,
) -> PreparedTask {
    let n = encoded.len();
    PreparedTask {
        data: TaskData {
            config: like.data.config.clone(),
            examples,
            labels: like.labels().to_vec(),
            clean: None,
        },
        split: Split {
            train: vec![],
            dev: vec![],
            test: (0..n).collect(),
        },
        encoded,
    }
}

/// Position in `allowed` of the largest of `row[allowed[k]]`.
pub(crate) fn restricted_argmax(row: &[f32], allowed: &[usize]) -> usize {
    (0..allowed.len())
        .max_by(|&a, &b| row[allowed[a]].total_cmp(&row[allowed[b]]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn restricted_argmax_ignores_classes_outside_the_set() {
        // Neutral (index 1) is largest but a binary set only weighs negative and positive.
        assert_eq!(super::restricted_argmax(&[0.1, 5.0, 0.3], &[0, 2]), 1);
        assert_eq!(super::restricted_argmax(&[0.4, 5.0, 0.3], &[0, 2]), 0);
    }
}
