//! The run folder: every file a training run, its evaluations and its experiments leave
//! behind, named once, with typed readers.
//!
//! Other modules never spell a file name; they ask a [`RunDir`] for a path or a value. That
//! keeps the writer (training) and the readers (export, evaluation, experiments) agreeing on
//! one layout, and it is why those modules no longer import one another to find a file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use glassbox_model::weights::bundle;
use glassbox_model::{Glassbox, GlassboxConfig};
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::io::read_json;

/// The copy of the training config a run was started with.
const CONFIG: &str = "config.toml";
/// One JSON line per training step and per dev evaluation.
const METRICS: &str = "metrics.jsonl";
/// Best dev weights and their record.
const BEST: &str = "best";
const BEST_RECORD: &str = "best.json";
const FINAL_WEIGHTS: &str = "final.bpk";
const SUMMARY: &str = "train_summary.json";
const DATA_REPORT: &str = "data_report.json";
const SPLITS: &str = "splits.json";
const AUGMENT: &str = "augment.json";
const MODEL_CONFIG: &str = "model_config.json";
/// The git commit of the code that started the run (see [`crate::code_version`]).
const CODE: &str = "code.json";
const PLOT_LOSS: &str = "plot_loss";
const PLOT_LR: &str = "plot_lr";
const PLOT_DEV: &str = "plot_dev";
const CV: &str = "cv";
/// The summary `glassbox cv` writes in its output folder.
pub const CV_RESULT: &str = "cv.json";
const BASELINES: &str = "baselines.json";
const SINGLE_TASK: &str = "single_task.json";
const SINGLE_TASK_RUNS: &str = "single-task";
const SINGLE_TASK_PLOT: &str = "single_task";

/// The best dev evaluation so far (`best/best.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Best {
    /// Steps trained when it was evaluated.
    pub step: usize,
    /// Mean of the tasks' headline metrics on dev.
    pub score: f64,
    /// Every task's dev scores, as evaluation wrote them.
    pub dev: serde_json::Value,
}

/// What a finished run reports (`train_summary.json`); its presence marks the run finished.
/// Fields in alphabetical order, as the file has always been written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainSummary {
    pub best: Option<Best>,
    pub elapsed_s: f64,
    pub sentences: usize,
    pub sentences_per_s: f64,
    pub steps: usize,
    pub stopped_early: bool,
    pub task_probabilities: Vec<TaskProbability>,
}

/// How often the sampler drew a task.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskProbability {
    pub p: f64,
    pub task: String,
}

/// One row of `baselines.json` (`glassbox baselines`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BaselineRow {
    pub task: String,
    pub model: String,
    pub metric: String,
    pub value: f64,
    pub split: String,
    /// What was chosen on dev, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
}

/// A run's model: its config, data recipe and chosen weights.
pub struct RunModel<B: Backend> {
    pub train: TrainConfig,
    pub config: GlassboxConfig,
    pub model: Glassbox<B>,
    /// The weights file it was loaded from (best dev or final).
    pub weights: PathBuf,
}

/// One run folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    pub fn config_file(&self) -> PathBuf {
        self.root.join(CONFIG)
    }

    pub fn metrics_file(&self) -> PathBuf {
        self.root.join(METRICS)
    }

    pub fn best_dir(&self) -> PathBuf {
        self.root.join(BEST)
    }

    pub fn best_weights(&self) -> PathBuf {
        self.best_dir().join(bundle::WEIGHTS)
    }

    pub fn best_record(&self) -> PathBuf {
        self.best_dir().join(BEST_RECORD)
    }

    pub fn final_weights(&self) -> PathBuf {
        self.root.join(FINAL_WEIGHTS)
    }

    pub fn summary_file(&self) -> PathBuf {
        self.root.join(SUMMARY)
    }

    pub fn data_report_file(&self) -> PathBuf {
        self.root.join(DATA_REPORT)
    }

    pub fn splits_file(&self) -> PathBuf {
        self.root.join(SPLITS)
    }

    pub fn augment_file(&self) -> PathBuf {
        self.root.join(AUGMENT)
    }

    pub fn model_config_file(&self) -> PathBuf {
        self.root.join(MODEL_CONFIG)
    }

    /// Chart stems (`.png` and `.svg` are added) of the training curves.
    pub fn loss_plot(&self) -> PathBuf {
        self.root.join(PLOT_LOSS)
    }

    pub fn lr_plot(&self) -> PathBuf {
        self.root.join(PLOT_LR)
    }

    pub fn dev_plot(&self) -> PathBuf {
        self.root.join(PLOT_DEV)
    }

    /// Where `glassbox cv --out RUN/cv` puts its folds, so export finds the intervals.
    pub fn cv_dir(&self) -> PathBuf {
        self.root.join(CV)
    }

    pub fn baselines_file(&self) -> PathBuf {
        self.root.join(BASELINES)
    }

    pub fn single_task_file(&self) -> PathBuf {
        self.root.join(SINGLE_TASK)
    }

    /// Chart stem of the multi-task vs single-task comparison.
    pub fn single_task_plot(&self) -> PathBuf {
        self.root.join(SINGLE_TASK_PLOT)
    }

    /// The run that trains `task` alone for `glassbox single-task`.
    pub fn single_task_run(&self, task: &str) -> RunDir {
        RunDir::new(self.root.join(SINGLE_TASK_RUNS).join(task))
    }

    /// Default output folder of `glassbox eval --run` on `split`.
    pub fn eval_dir(&self, split: &str) -> PathBuf {
        self.root.join(format!("eval-{split}"))
    }

    /// Training ran to its end (the summary is written last).
    pub fn is_finished(&self) -> bool {
        self.summary_file().is_file()
    }

    /// The config the run was started with.
    pub fn config(&self) -> Result<TrainConfig> {
        TrainConfig::load(&self.config_file())
            .with_context(|| format!("{} is not a glassbox run folder", self.root.display()))
    }

    pub fn model_config(&self) -> Result<GlassboxConfig> {
        read_json(&self.model_config_file())
    }

    pub fn summary(&self) -> Result<TrainSummary> {
        read_json(&self.summary_file())
    }

    pub fn best(&self) -> Result<Best> {
        read_json(&self.best_record())
    }

    /// Records the code the run is trained with (once, when the run starts).
    pub fn record_code(&self) -> Result<()> {
        let commit = crate::code_version::git_commit(Path::new("."));
        crate::io::write_json(
            &self.root.join(CODE),
            &serde_json::json!({ "commit": commit }),
        )
    }

    /// The commit [`Self::record_code`] wrote; `None` for runs from before it was recorded
    /// or trained outside a git checkout.
    pub fn code_commit(&self) -> Option<String> {
        let v: serde_json::Value = read_json(&self.root.join(CODE)).ok()?;
        v["commit"].as_str().map(str::to_string)
    }

    /// The summary of `glassbox cv --out RUN/cv`, when one was written.
    pub fn cv_result(&self) -> Option<serde_json::Value> {
        read_json(&self.cv_dir().join(CV_RESULT)).ok()
    }

    /// The rows of `glassbox baselines`, when it was run.
    pub fn baselines(&self) -> Option<Vec<BaselineRow>> {
        read_json(&self.baselines_file()).ok()
    }

    /// The Markdown table of `glassbox single-task`, when it was run.
    pub fn single_task_table(&self) -> Option<String> {
        let v: serde_json::Value = read_json(&self.single_task_file()).ok()?;
        v["table"].as_str().map(str::to_string)
    }

    /// Fails with what to do when the run has not finished.
    pub fn require_finished(&self) -> Result<()> {
        if !self.is_finished() {
            bail!(
                "{} has not finished training (no {SUMMARY}); finish it with `glassbox train --resume` first",
                self.root.display()
            );
        }
        Ok(())
    }

    /// The weights a run hands on: the best dev checkpoint, or the final weights when the
    /// run never evaluated.
    pub fn weights(&self) -> Result<PathBuf> {
        let (best, fin) = (self.best_weights(), self.final_weights());
        if best.is_file() {
            Ok(best)
        } else if fin.is_file() {
            Ok(fin)
        } else {
            bail!(
                "{} has no trained weights yet (no {BEST}/{} or {FINAL_WEIGHTS}); train or --resume it first",
                self.root.display(),
                bundle::WEIGHTS
            )
        }
    }

    /// The run's model with its chosen weights.
    pub fn load_model<B: Backend>(&self, device: &B::Device) -> Result<RunModel<B>> {
        let train = self.config()?;
        let config = self.model_config()?;
        let weights = self.weights()?;
        let bytes = std::fs::read(&weights)
            .with_context(|| format!("cannot read {}", weights.display()))?;
        let model = config
            .init::<B>(device)
            .load_burnpack(bytes)
            .with_context(|| format!("loading {}", weights.display()))?;
        Ok(RunModel {
            train,
            config,
            model,
            weights,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_reads_back_the_json_training_has_always_written() {
        let v = serde_json::json!({
            "steps": 4, "sentences": 32, "elapsed_s": 2.0, "sentences_per_s": 16.0,
            "stopped_early": false,
            "best": {"step": 4, "score": 0.5, "dev": []},
            "task_probabilities": [{"task": "ner", "p": 1.0}],
        });
        let s: TrainSummary = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(s.best.as_ref().unwrap().step, 4);
        assert_eq!(serde_json::to_value(&s).unwrap(), v);
        // Alphabetical fields: the file's bytes do not change with the typed writer.
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.starts_with("{\"best\":"), "{text}");
    }

    #[test]
    fn a_run_without_weights_says_what_to_do() {
        let run = RunDir::new(std::env::temp_dir().join("glassbox-no-such-run"));
        let e = run.weights().unwrap_err().to_string();
        assert!(e.contains("train or --resume"), "{e}");
        assert!(!run.is_finished() && !run.config_file().is_file());
        assert!(run.require_finished().is_err());
    }
}
