//! `glassbox train`: multi-task fine-tuning with resumable checkpoints.
//!
//! Each step trains one task on one batch: the task is drawn by the configured sampler, the
//! batch is the next slice of that task's shuffled stream, dropout is seeded by the step.
//! Everything a step depends on is therefore a function of (seed, step, counters), which is
//! what lets `--resume` continue a killed run bit for bit.

pub mod balance;
pub mod checkpoint;
pub mod combine;
pub mod grads;
pub mod log;
pub mod loss;
pub mod optim;
pub mod parallel;
pub mod progress;
pub mod sampler;
pub mod schedule;
pub mod step;
pub mod trainer;

use std::path::{Path, PathBuf};

use anyhow::Result;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use glassbox_model::{Glassbox, GlassboxConfig, TextTokenizer};

use crate::config::{TaskKind, TrainConfig};
use crate::data::prepare::{prepare_config, PreparedTask, TaskReport};
use crate::data::split::Split;
use checkpoint::TrainState;
use trainer::Trainer;

/// Label sets of the heads the tasks train; `None` for a head without a task, which keeps
/// the base's labels (a bundle's, or the defaults for a fresh head).
pub fn head_labels(tasks: &[PreparedTask]) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let pick = |kind: TaskKind| {
        tasks
            .iter()
            .find(|t| t.kind() == kind)
            .map(|t| t.labels().to_vec())
    };
    (pick(TaskKind::Sentence), pick(TaskKind::Token))
}

/// The prepared data and a freshly loaded base model for `cfg`.
pub struct Setup<B: Backend> {
    pub tasks: Vec<PreparedTask>,
    pub reports: Vec<TaskReport>,
    pub model: Glassbox<B>,
    pub tokenizer: TextTokenizer,
    pub model_config: GlassboxConfig,
}

pub fn setup<B: Backend>(cfg: &TrainConfig, device: &B::Device) -> Result<Setup<B>> {
    // The tokenizer does not depend on labels: encode the data first, then build the model
    // with heads sized from the data's label sets.
    let (tasks, reports, tokenizer) = prepare_config(cfg)?;
    let (sl, tl) = head_labels(&tasks);
    B::seed(device, cfg.seed);
    let (model, model_config) = crate::load::load_for_training::<B>(
        &cfg.base_model,
        sl,
        tl,
        cfg.train.head_dropout,
        device,
    )?;
    Ok(Setup {
        tasks,
        reports,
        model,
        tokenizer,
        model_config,
    })
}

pub struct Outcome {
    pub run: PathBuf,
    pub state: TrainState,
}

/// Mixes seed and step into the per-step dropout seed.
fn step_seed(seed: u64, step: usize) -> u64 {
    (seed ^ 0xd1b5_4a32_d192_ed03)
        .wrapping_mul(step as u64 + 1)
        .rotate_left(17)
        ^ step as u64
}

pub fn train<B: AutodiffBackend>(
    cfg: &TrainConfig,
    run: &Path,
    resume: bool,
    device: &B::Device,
) -> Result<Outcome> {
    train_with::<B>(cfg, run, resume, None, device)
}

/// [`train`] with the splits replaced (one per task, in config order); cross-validation
/// trains each fold this way, with the fold as `dev`.
pub fn train_with<B: AutodiffBackend>(
    cfg: &TrainConfig,
    run: &Path,
    resume: bool,
    splits: Option<Vec<Split>>,
    device: &B::Device,
) -> Result<Outcome> {
    train_on::<B>(cfg, run, resume, splits, std::slice::from_ref(device))
}

/// [`train_with`] data-parallel over `devices` (see [`parallel`]); the model, optimizer and
/// evaluation live on the first. One device is the plain single-device loop.
pub fn train_on<B: AutodiffBackend>(
    cfg: &TrainConfig,
    run: &Path,
    resume: bool,
    splits: Option<Vec<Split>>,
    devices: &[B::Device],
) -> Result<Outcome> {
    let mut trainer = Trainer::<B>::open(cfg, run, resume, splits, devices)?;
    while trainer.running() {
        trainer.step()?;
        if trainer.eval_due() {
            trainer.evaluate()?;
        }
        if trainer.checkpoint_due() {
            trainer.checkpoint()?;
        }
    }
    Ok(Outcome {
        run: run.to_path_buf(),
        state: trainer.finish()?,
    })
}
