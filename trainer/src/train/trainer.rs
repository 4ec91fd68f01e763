//! The training loop as phases: [`Trainer::open`] prepares (or resumes) a run, [`Trainer::step`]
//! trains one step, [`Trainer::evaluate`] scores dev and keeps the best weights,
//! [`Trainer::checkpoint`] saves everything a resume needs, [`Trainer::finish`] writes the
//! final weights, the summary and the charts. `super::train_on` strings them together.

use std::fs;

use anyhow::{bail, Context, Result};
use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use glassbox_model::nn::projection::Kernels;
use glassbox_model::{Glassbox, GlassboxConfig};
use serde_json::json;

use super::checkpoint::{self, Checkpoint, TrainState};
use super::combine::{self, ParamSets, TaskGrad};
use super::log::{training_plots, MetricsLog, StepLine};
use super::optim::{frozen_units, parameters, GroupOptimizer, LrFactors, Unit};
use super::progress::Progress;
use super::sampler::{task_for_step, task_probs, Stream};
use super::{balance, parallel, schedule, setup, step, step_seed, Setup};
use crate::config::{TaskKind, TrainConfig};
use crate::data::batch::Batcher;
use crate::data::prepare::PreparedTask;
use crate::data::split::Split;
use crate::eval::{evaluate, mean_headline, EVAL_BATCH};
use crate::io::{write_atomic, write_json, write_json_compact};
use crate::run_dir::{Best, RunDir, TaskProbability, TrainSummary};

/// A run in progress.
pub struct Trainer<'a, B: AutodiffBackend> {
    cfg: &'a TrainConfig,
    run: RunDir,
    devices: &'a [B::Device],
    tasks: Vec<PreparedTask>,
    /// Taken out only for the duration of an optimizer step.
    model: Option<Glassbox<B>>,
    opt: GroupOptimizer<B, Glassbox<B>>,
    pub(crate) state: TrainState,
    probs: Vec<f64>,
    streams: Vec<Stream>,
    pad: u32,
    layers: usize,
    sets: ParamSets,
    log: MetricsLog,
    progress: Progress,
    /// Slows every step down; only for tests that must interrupt a run mid-way.
    delay: Option<std::time::Duration>,
}

fn model_bytes<B: Backend>(model: &Glassbox<B>) -> Result<Vec<u8>> {
    BinBytesRecorder::<FullPrecisionSettings>::default()
        .record(model.clone().into_record(), ())
        .map_err(|e| anyhow::anyhow!("serialising weights: {e}"))
}

fn model_from_bytes<B: Backend>(
    model: Glassbox<B>,
    bytes: Vec<u8>,
    device: &B::Device,
) -> Result<Glassbox<B>> {
    let record = BinBytesRecorder::<FullPrecisionSettings>::default()
        .load(bytes, device)
        .map_err(|e| anyhow::anyhow!("checkpoint weights do not load: {e}"))?;
    Ok(model.load_record(record))
}

/// Refuses a resume without a checkpoint and a new run over an existing one.
fn check_run_folder(run: &RunDir, resume: bool) -> Result<()> {
    if resume && checkpoint::latest(run.path()).is_none() {
        bail!(
            "--resume: {} holds no checkpoint to resume from",
            run.path().display()
        );
    }
    if !resume && run.config_file().exists() {
        bail!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            run.path().display()
        );
    }
    fs::create_dir_all(run.path()).with_context(|| format!("creating {}", run.path().display()))
}

/// The run's records of what it trains on. Written once the data has been read, so a config
/// error leaves no half-made run behind.
fn write_run_files(
    run: &RunDir,
    cfg: &TrainConfig,
    resume: bool,
    setup: &Setup<impl Backend>,
    augmented: &[impl serde::Serialize],
) -> Result<()> {
    if !resume {
        write_atomic(&run.config_file(), toml::to_string(cfg)?.as_bytes())?;
        run.record_code()?;
    }
    write_json(&run.data_report_file(), &setup.reports)?;
    let splits: Vec<_> = setup
        .tasks
        .iter()
        .map(|t| json!({"task": t.name(), "train": t.split.train, "dev": t.split.dev, "test": t.split.test}))
        .collect();
    write_json_compact(&run.splits_file(), &splits)?;
    if !augmented.is_empty() {
        write_json(&run.augment_file(), augmented)?;
    }
    write_json(&run.model_config_file(), &setup.model_config)
}

/// Optimizer groups with their learning-rate factors, built from the ids of the model as
/// loaded (a resumed model's ids are the checkpoint's, not fresh ones).
fn optimizer<B: AutodiffBackend>(
    cfg: &TrainConfig,
    model: &Glassbox<B>,
    model_config: &GlassboxConfig,
) -> GroupOptimizer<B, Glassbox<B>> {
    let t = &cfg.train;
    let head_factor = |kind: TaskKind| cfg.task(kind).map(|c| c.head_lr_factor).unwrap_or(1.0);
    let factors = LrFactors {
        encoder: t.encoder_lr_factor,
        layer_decay: t.layer_decay,
        layers: model_config.bert.num_hidden_layers,
        sentence_head: head_factor(TaskKind::Sentence),
        token_head: head_factor(TaskKind::Token),
    };
    let groups = super::optim::groups(&parameters::<B, _>(model), t.weight_decay, &factors);
    GroupOptimizer::new(groups)
}

/// The task's training stream, bucketed by wordpiece length as configured.
fn stream(task: &PreparedTask, index: usize, cfg: &TrainConfig) -> Stream {
    let items = task.split.train.clone();
    let lengths = items.iter().map(|&i| task.encoded[i].ids.len()).collect();
    Stream::new(items, cfg.seed, index).bucketed(lengths, cfg.train.length_pool)
}

fn fresh_state(tasks: usize) -> TrainState {
    TrainState {
        step: 0,
        batches: vec![0; tasks],
        best: None,
        evals_since_best: 0,
        stopped_early: false,
        elapsed_s: 0.0,
        sentences: 0,
        balance: balance::BalanceState::new(tasks),
    }
}

impl<'a, B: AutodiffBackend> Trainer<'a, B> {
    /// Prepares the data and the model, writes the run's records and restores the last
    /// checkpoint when resuming. `splits` replace the configured ones (cross-validation).
    pub fn open(
        cfg: &'a TrainConfig,
        run: &std::path::Path,
        resume: bool,
        splits: Option<Vec<Split>>,
        devices: &'a [B::Device],
    ) -> Result<Self> {
        let Some(device) = devices.first() else {
            bail!("no device to train on");
        };
        parallel::check(&cfg.train, devices.len())?;
        let run = RunDir::new(run);
        check_run_folder(&run, resume)?;
        let mut s = setup::<B>(cfg, device)?;
        if let Some(splits) = splits {
            for (t, sp) in s.tasks.iter_mut().zip(splits) {
                t.split = sp;
            }
        }
        let augmented = crate::data::augment::augment_tasks(
            &mut s.tasks,
            &cfg.augment,
            &s.tokenizer,
            cfg.seed,
        )?;
        write_run_files(&run, cfg, resume, &s, &augmented)?;
        let (model, state, optim_blobs) =
            Self::restore(&run, resume, s.model, s.tasks.len(), device)?;
        let mut opt = optimizer(cfg, &model, &s.model_config);
        if let Some(blobs) = optim_blobs {
            opt = opt.load(blobs, device)?;
        }
        let log = MetricsLog::open(&run, state.step)?;
        let probs = Self::sampling(cfg, &s.tasks)?;
        let layers = s.model_config.bert.num_hidden_layers;
        let sets = ParamSets {
            shared: opt.ids_of(|u| u.shared()),
            heads: opt.ids_of(|u| !u.shared()),
            last_layer: opt.ids_of(|u| u == Unit::Layer(layers.saturating_sub(1))),
        };
        Ok(Self {
            streams: s
                .tasks
                .iter()
                .enumerate()
                .map(|(i, task)| stream(task, i, cfg))
                .collect(),
            progress: Progress::new(cfg.train.steps, state.step, s.tasks.len(), state.elapsed_s),
            pad: s.tokenizer.pad_id(),
            delay: std::env::var("GLASSBOX_STEP_DELAY_MS")
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .map(std::time::Duration::from_millis),
            cfg,
            run,
            devices,
            tasks: s.tasks,
            model: Some(model),
            opt,
            state,
            probs,
            layers,
            sets,
            log,
        })
    }

    /// The model and state to start from: fresh, or the last checkpoint's.
    #[allow(clippy::type_complexity)]
    fn restore(
        run: &RunDir,
        resume: bool,
        model: Glassbox<B>,
        tasks: usize,
        device: &B::Device,
    ) -> Result<(Glassbox<B>, TrainState, Option<Vec<Vec<u8>>>)> {
        let Some(dir) = checkpoint::latest(run.path()).filter(|_| resume) else {
            return Ok((model, fresh_state(tasks), None));
        };
        let ck = checkpoint::load(&dir)?;
        // Restores the parameter ids too, which the optimizer state is keyed by.
        let model = model_from_bytes(model, ck.model, device)?;
        eprintln!(
            "resuming {} at step {}",
            run.path().display(),
            ck.state.step
        );
        Ok((model, ck.state, Some(ck.optim)))
    }

    /// Each task's sampling probability; every task needs training examples.
    fn sampling(cfg: &TrainConfig, tasks: &[PreparedTask]) -> Result<Vec<f64>> {
        let sizes: Vec<usize> = tasks.iter().map(|t| t.split.train.len()).collect();
        if let Some(i) = sizes.iter().position(|&n| n == 0) {
            bail!(
                "task {:?} has no training examples after splitting",
                tasks[i].name()
            );
        }
        Ok(task_probs(
            cfg.train.sampling,
            cfg.train.temperature,
            &sizes,
        ))
    }

    fn model(&self) -> &Glassbox<B> {
        self.model
            .as_ref()
            .expect("the model is only taken out during an optimizer step")
    }

    fn device(&self) -> &B::Device {
        &self.devices[0]
    }

    /// More steps to train.
    pub fn running(&self) -> bool {
        self.state.step < self.cfg.train.steps && !self.state.stopped_early
    }

    /// Dev evaluation is due after the step just trained.
    pub fn eval_due(&self) -> bool {
        self.state.step.is_multiple_of(self.cfg.train.eval_every) || self.last()
    }

    /// A checkpoint is due after the step just trained (and the evaluation).
    pub fn checkpoint_due(&self) -> bool {
        self.state
            .step
            .is_multiple_of(self.cfg.train.checkpoint_every)
            || self.last()
            || self.state.stopped_early
    }

    fn last(&self) -> bool {
        self.state.step == self.cfg.train.steps
    }

    /// Where to resume from when the run has to stop.
    fn last_good(&self) -> String {
        checkpoint::latest(self.run.path())
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "none yet".into())
    }

    /// Trains one step: one batch of the sampled task, or of every task for the joint
    /// balancing strategies, combined into one optimizer step.
    pub fn step(&mut self) -> Result<()> {
        let cfg = self.cfg;
        let t = &cfg.train;
        let step = self.state.step;
        let frozen = frozen_units(
            t.freeze_embeddings,
            t.freeze_encoder,
            t.unfreeze_every,
            self.layers,
            step,
        );
        let lr = schedule::lr_at(t, step);
        let chosen: Vec<usize> = if t.balance.joint() {
            (0..self.tasks.len()).collect()
        } else {
            vec![task_for_step(t.sampling, &self.probs, cfg.seed, step)]
        };
        let mut trained = Vec::with_capacity(chosen.len());
        for &ti in &chosen {
            trained.push(self.task_gradient(ti, step)?);
        }
        let model = self
            .model
            .take()
            .expect("the model is in place between steps");
        let combined =
            combine::combine(t, &model, &mut self.state.balance, &mut trained, &self.sets);
        let (model, norm) = self.opt.step(lr, model, combined, t.clip_norm, &frozen);
        self.model = Some(model);
        if !norm.is_finite() {
            self.progress.abandon();
            let names: Vec<&str> = chosen.iter().map(|&i| self.tasks[i].name()).collect();
            bail!(
                "step {step}: the {} gradient norm is {norm}; training stopped. The last good checkpoint is {}",
                names.join("+"),
                self.last_good()
            );
        }
        self.state.step += 1;
        self.state.elapsed_s = self.progress.elapsed_s();
        self.record_step(step, lr, norm, &trained)?;
        if let Some(d) = self.delay {
            std::thread::sleep(d);
        }
        Ok(())
    }

    /// Logs each trained task's line and updates the progress display.
    fn record_step(&mut self, step: usize, lr: f64, norm: f64, trained: &[TaskGrad]) -> Result<()> {
        let batch = self.cfg.train.batch_size;
        for g in trained {
            self.log.step(&StepLine {
                step,
                task: self.tasks[g.task].name(),
                loss: g.loss,
                weight: g.weight,
                lr,
                grad_norm: norm,
                epoch: self.streams[g.task].epochs(self.state.batches[g.task], batch),
                sentences: self.state.sentences,
                elapsed_s: self.state.elapsed_s,
            })?;
        }
        let names: Vec<&str> = self.tasks.iter().map(|t| t.name()).collect();
        let losses: Vec<(usize, f64)> = trained.iter().map(|g| (g.task, g.loss)).collect();
        self.progress.stepped(self.state.step, &names, &losses, lr);
        Ok(())
    }

    /// One task's gradient on its next batch, with its loss checked and counted.
    fn task_gradient(&mut self, ti: usize, step: usize) -> Result<TaskGrad> {
        let cfg = self.cfg;
        let t = &cfg.train;
        let idx = self.streams[ti].batch(self.state.batches[ti], t.batch_size);
        let seed = step_seed(cfg.seed, step) ^ ((ti as u64) << 40);
        let config_weight = self.tasks[ti].data.config.loss_weight;
        let (grads, loss, weight) = if self.devices.len() > 1 {
            // Mixup and uncertainty weighting were refused by `parallel::check`.
            let w = combine::loss_weight(t.balance, config_weight, &self.state.balance, ti);
            let task = &self.tasks[ti];
            let (g, raw) = parallel::task_gradients(
                self.model(),
                task,
                &idx,
                self.pad,
                w,
                self.devices,
                seed,
            )?;
            (g, raw, w)
        } else {
            self.single_device_gradient(ti, &idx, step, seed, config_weight)?
        };
        if !loss.is_finite() {
            self.progress.abandon();
            bail!(
                "step {step}: the {:?} loss is {loss}; training stopped. The last good checkpoint is {} (lower train.lr or raise clipping, then --resume)",
                self.tasks[ti].name(),
                self.last_good()
            );
        }
        if t.balance == crate::config::Balance::Dwa {
            let (window, temp) = (t.dwa_window, t.dwa_temperature);
            self.state.balance.dwa_observe(ti, loss, step, window, temp);
        }
        self.state.batches[ti] += 1;
        self.state.sentences += idx.len();
        self.progress.trained(idx.len());
        Ok(TaskGrad {
            task: ti,
            grads,
            loss,
            weight,
        })
    }

    /// Forward and backward on one device, with mixup and the strategy's loss weight; the
    /// uncertainty log-variance takes its own gradient step here.
    fn single_device_gradient(
        &mut self,
        ti: usize,
        idx: &[usize],
        step: usize,
        seed: u64,
        config_weight: f64,
    ) -> Result<(GradientsParams, f64, f64)> {
        let cfg = self.cfg;
        let t = &cfg.train;
        let device = self.device();
        B::seed(device, seed);
        let task = &self.tasks[ti];
        let mix = (task.kind() == TaskKind::Sentence && t.mixup_alpha > 0.0)
            .then(|| step::draw_mix(t.mixup_alpha, cfg.seed, step, idx.len()));
        let model = self.model();
        let batch = Batcher::new(task, self.pad).batch(idx, device)?;
        let raw = step::batch_loss(model, batch, task.labels().len(), mix.as_ref());
        let raw_v: f64 = raw.clone().into_scalar().elem();
        let w = combine::weigh(t.balance, raw, config_weight, &self.state.balance, ti);
        let mut grads = w.loss.backward();
        if let Some(s) = w.log_var {
            let g: f64 = s
                .grad(&grads)
                .map(|g| g.into_scalar().elem())
                .unwrap_or(0.0);
            self.state.balance.log_vars[ti] -= t.uncertainty_lr * g;
            s.grad_remove(&mut grads);
        }
        let grads = GradientsParams::from_grads(grads, self.model());
        Ok((grads, raw_v, w.weight))
    }

    /// Scores dev; keeps the weights when they are the best so far; stops early after
    /// `patience` evaluations without improvement.
    pub fn evaluate(&mut self) -> Result<()> {
        let cfg = self.cfg;
        let t = &cfg.train;
        let valid = self.model().valid();
        let (scores, _) = evaluate(
            &valid,
            &Kernels::F32,
            &self.tasks,
            "dev",
            EVAL_BATCH,
            self.pad,
            self.device(),
        )?;
        let score = mean_headline(&scores);
        let improved = self.state.best.as_ref().is_none_or(|b| score > b.score);
        let dev = serde_json::to_value(&scores)?;
        let heads: Vec<String> = scores
            .iter()
            .map(|s| format!("{} {} {:.4}", s.task, s.headline().0, s.headline().1))
            .collect();
        let step = self.state.step;
        self.progress.println(format!(
            "step {step}: dev {}{}",
            heads.join(", "),
            if improved { " (best)" } else { "" }
        ));
        let epochs: Vec<f64> = (0..self.tasks.len())
            .map(|i| self.streams[i].epochs(self.state.batches[i], t.batch_size))
            .collect();
        self.log.eval(step - 1, score, &dev, &epochs)?;
        if improved {
            write_atomic(&self.run.best_weights(), &valid.to_burnpack()?)?;
            self.state.best = Some(Best { step, score, dev });
            write_json(&self.run.best_record(), &self.state.best)?;
            self.state.evals_since_best = 0;
        } else {
            self.state.evals_since_best += 1;
            if t.patience > 0 && self.state.evals_since_best >= t.patience {
                self.state.stopped_early = true;
                self.progress.println(format!(
                    "early stop at step {step}: no dev improvement in {} evaluations",
                    t.patience
                ));
            }
        }
        Ok(())
    }

    /// Saves weights, optimizer moments and the loop state, swapped in atomically.
    pub fn checkpoint(&mut self) -> Result<()> {
        self.log.flush()?;
        checkpoint::save(
            self.run.path(),
            &Checkpoint {
                state: self.state.clone(),
                model: model_bytes(self.model())?,
                optim: self.opt.save()?,
            },
        )
    }

    /// Final weights, the summary (which marks the run finished) and the training charts.
    pub fn finish(self) -> Result<TrainState> {
        self.progress.finish();
        write_atomic(
            &self.run.final_weights(),
            &self.model().valid().to_burnpack()?,
        )?;
        let s = &self.state;
        let summary = TrainSummary {
            best: s.best.clone(),
            elapsed_s: s.elapsed_s,
            sentences: s.sentences,
            sentences_per_s: s.sentences as f64 / s.elapsed_s.max(1e-9),
            steps: s.step,
            stopped_early: s.stopped_early,
            task_probabilities: self
                .tasks
                .iter()
                .zip(&self.probs)
                .map(|(t, &p)| TaskProbability {
                    p,
                    task: t.name().to_string(),
                })
                .collect(),
        };
        write_json(&self.run.summary_file(), &summary)?;
        training_plots(&self.run)?;
        Ok(self.state)
    }
}
