//! `glassbox train`: multi-task fine-tuning with resumable checkpoints.
//!
//! Each step trains one task on one batch: the task is drawn by the configured sampler, the
//! batch is the next slice of that task's shuffled stream, dropout is seeded by the step.
//! Everything a step depends on is therefore a function of (seed, step, counters), which is
//! what lets `--resume` continue a killed run bit for bit.

pub mod balance;
pub mod checkpoint;
pub mod grads;
pub mod loss;
pub mod optim;
pub mod parallel;
pub mod sampler;
pub mod schedule;
pub mod step;

use std::fs;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use glassbox_model::{Glassbox, GlassboxConfig, TextTokenizer};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::config::{Balance, TaskKind, TrainConfig};
use crate::data::prepare::{prepare_config, PreparedTask, TaskReport};
use crate::eval::{evaluate, mean_headline};
use crate::fetch::write_atomic;
use burn::optim::GradientsParams;
use checkpoint::{Best, Checkpoint, TrainState};
use optim::{frozen_units, parameters, GroupOptimizer, LrFactors, Unit};
use sampler::{task_for_step, task_probs, Stream};

pub const CONFIG_COPY: &str = "config.toml";
pub const METRICS: &str = "metrics.jsonl";
pub const BEST: &str = "best";
pub const FINAL_WEIGHTS: &str = "final.bpk";
pub const EVAL_BATCH: usize = 64;

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

/// Keeps only the log lines of steps before `step` (a killed run may have logged past its
/// last checkpoint; those steps are run again).
fn truncate_log(path: &Path, step: usize) -> Result<()> {
    if !path.is_file() {
        return Ok(());
    }
    let f = fs::File::open(path)?;
    let mut kept = String::new();
    for line in std::io::BufReader::new(f).lines() {
        let line = line?;
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => continue, // a line cut by the kill
        };
        if v.get("step")
            .and_then(|s| s.as_u64())
            .is_some_and(|s| (s as usize) < step)
        {
            kept.push_str(&line);
            kept.push('\n');
        }
    }
    write_atomic(path, kept.as_bytes())
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
    splits: Option<Vec<crate::data::split::Split>>,
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
    splits: Option<Vec<crate::data::split::Split>>,
    devices: &[B::Device],
) -> Result<Outcome> {
    let Some(device) = devices.first() else {
        bail!("no device to train on");
    };
    parallel::check(&cfg.train, devices.len())?;
    let ck_dir = checkpoint::latest(run);
    if resume && ck_dir.is_none() {
        bail!(
            "--resume: {} holds no checkpoint to resume from",
            run.display()
        );
    }
    if !resume && run.join(CONFIG_COPY).exists() {
        bail!(
            "{} already holds a run; pass --resume to continue it or choose another --out",
            run.display()
        );
    }
    fs::create_dir_all(run).with_context(|| format!("creating {}", run.display()))?;
    let Setup {
        mut tasks,
        reports,
        model,
        tokenizer,
        model_config,
    } = setup::<B>(cfg, device)?;
    if let Some(splits) = splits {
        for (t, s) in tasks.iter_mut().zip(splits) {
            t.split = s;
        }
    }
    let augmented =
        crate::data::augment::augment_tasks(&mut tasks, &cfg.augment, &tokenizer, cfg.seed)?;
    // Written once the data has been read, so a config error leaves no half-made run behind.
    if !resume {
        write_atomic(&run.join(CONFIG_COPY), toml::to_string(cfg)?.as_bytes())?;
    }
    write_atomic(
        &run.join("data_report.json"),
        serde_json::to_string_pretty(&reports)?.as_bytes(),
    )?;
    let splits: Vec<_> = tasks
        .iter()
        .map(|t| json!({"task": t.name(), "train": t.split.train, "dev": t.split.dev, "test": t.split.test}))
        .collect();
    write_atomic(
        &run.join("splits.json"),
        serde_json::to_string(&splits)?.as_bytes(),
    )?;
    if !augmented.is_empty() {
        write_atomic(
            &run.join("augment.json"),
            serde_json::to_string_pretty(&augmented)?.as_bytes(),
        )?;
    }
    write_atomic(
        &run.join("model_config.json"),
        serde_json::to_string_pretty(&model_config)?.as_bytes(),
    )?;

    let t = &cfg.train;
    let mut model = model;
    let mut state = TrainState {
        step: 0,
        batches: vec![0; tasks.len()],
        best: None,
        evals_since_best: 0,
        stopped_early: false,
        elapsed_s: 0.0,
        sentences: 0,
        balance: balance::BalanceState::new(tasks.len()),
    };
    let mut optim_state = None;
    if let Some(dir) = &ck_dir {
        if resume {
            let ck = checkpoint::load(dir)?;
            // Restores the parameter ids too, which the optimizer state is keyed by.
            model = model_from_bytes(model, ck.model, device)?;
            optim_state = Some(ck.optim);
            state = ck.state;
            eprintln!("resuming {} at step {}", run.display(), state.step);
        }
    }
    // Groups are built from the ids of the model as loaded (a resumed model's ids are the
    // checkpoint's, not the fresh ones).
    let head_factor = |kind: TaskKind| cfg.task(kind).map(|c| c.head_lr_factor).unwrap_or(1.0);
    let factors = LrFactors {
        encoder: t.encoder_lr_factor,
        layer_decay: t.layer_decay,
        layers: model_config.bert.num_hidden_layers,
        sentence_head: head_factor(TaskKind::Sentence),
        token_head: head_factor(TaskKind::Token),
    };
    let groups = optim::groups(&parameters::<B, _>(&model), t.weight_decay, &factors);
    let mut opt = GroupOptimizer::<B, Glassbox<B>>::new(groups);
    if let Some(blobs) = optim_state {
        opt = opt.load(blobs, device)?;
    }
    truncate_log(&run.join(METRICS), state.step)?;
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.join(METRICS))?;

    let sizes: Vec<usize> = tasks.iter().map(|t| t.split.train.len()).collect();
    if let Some(i) = sizes.iter().position(|&n| n == 0) {
        bail!(
            "task {:?} has no training examples after splitting",
            tasks[i].name()
        );
    }
    let probs = task_probs(t.sampling, t.temperature, &sizes);
    let mut streams: Vec<Stream> = tasks
        .iter()
        .enumerate()
        .map(|(i, task)| Stream::new(task.split.train.clone(), cfg.seed, i))
        .collect();
    let pad = tokenizer.pad_id();

    let bar = ProgressBar::new(t.steps as u64).with_position(state.step as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps {elapsed_precise} (eta {eta}) {msg}",
        )
        .expect("valid template"),
    );
    let mut ema: Vec<Option<f64>> = vec![None; tasks.len()];
    let started = Instant::now();
    let elapsed_before = state.elapsed_s;
    let mut window = (Instant::now(), 0usize);
    let mut rate = 0.0;
    // Slows every step down; only for tests that must interrupt a run mid-way.
    let delay = std::env::var("GLASSBOX_STEP_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(std::time::Duration::from_millis);
    // Without a terminal the bar is invisible; print a plain line now and then instead.
    let plain = bar.is_hidden();
    let mut last_plain = Instant::now();

    let layers = model_config.bert.num_hidden_layers;
    let shared = opt.ids_of(|u| u.shared());
    let heads = opt.ids_of(|u| !u.shared());
    let last_layer = opt.ids_of(|u| u == Unit::Layer(layers.saturating_sub(1)));
    // Looked up only when a run has to stop.
    let last_good = || {
        checkpoint::latest(run)
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "none yet".into())
    };

    while state.step < t.steps && !state.stopped_early {
        let step = state.step;
        let frozen = frozen_units(
            t.freeze_embeddings,
            t.freeze_encoder,
            t.unfreeze_every,
            layers,
            step,
        );
        let lr = schedule::lr_at(t, step);
        // Joint balancing needs every task's gradient at this step; otherwise one task trains.
        let chosen: Vec<usize> = if t.balance.joint() {
            (0..tasks.len()).collect()
        } else {
            vec![task_for_step(t.sampling, &probs, cfg.seed, step)]
        };
        let mut task_grads = Vec::with_capacity(chosen.len());
        let mut raw_losses = Vec::with_capacity(chosen.len());
        let mut used_weights = Vec::with_capacity(chosen.len());
        for &ti in &chosen {
            let task = &tasks[ti];
            let idx = streams[ti].batch(state.batches[ti], t.batch_size);
            let seed = step_seed(cfg.seed, step) ^ ((ti as u64) << 40);
            let lw = task.data.config.loss_weight;
            let bal = &mut state.balance;
            let (task_grad, raw_v, w) = if devices.len() > 1 {
                // Mixup and uncertainty weighting were refused by `parallel::check`.
                let w = match t.balance {
                    Balance::Dwa => lw * bal.weights[ti],
                    _ => lw,
                };
                let (g, raw_v) =
                    parallel::task_gradients(&model, task, &idx, pad, w, devices, seed);
                (g, raw_v, w)
            } else {
                B::seed(device, seed);
                let mix = (task.kind() == TaskKind::Sentence && t.mixup_alpha > 0.0)
                    .then(|| step::draw_mix(t.mixup_alpha, cfg.seed, step, idx.len()));
                let raw = step::batch_loss(&model, task, &idx, pad, mix.as_ref(), device);
                let raw_v: f64 = raw.clone().into_scalar().elem();
                let (loss, log_var, w) = match t.balance {
                    Balance::Fixed | Balance::Gradnorm | Balance::Pcgrad => {
                        (raw.mul_scalar(lw), None, lw)
                    }
                    Balance::Dwa => {
                        let w = lw * bal.weights[ti];
                        (raw.mul_scalar(w), None, w)
                    }
                    Balance::Uncertainty => {
                        // exp(−s)·L + s with s = log σ² a leaf tensor the backward pass reaches.
                        let s = Tensor::<B, 1>::from_data([bal.log_vars[ti] as f32], device)
                            .require_grad();
                        let l = raw.mul_scalar(lw) * s.clone().neg().exp() + s.clone();
                        (l, Some(s), lw * (-bal.log_vars[ti]).exp())
                    }
                };
                let mut grads = loss.backward();
                if let Some(s) = log_var {
                    let g: f64 = s
                        .grad(&grads)
                        .map(|g| g.into_scalar().elem())
                        .unwrap_or(0.0);
                    bal.log_vars[ti] -= t.uncertainty_lr * g;
                    s.grad_remove(&mut grads);
                }
                (GradientsParams::from_grads(grads, &model), raw_v, w)
            };
            if !raw_v.is_finite() {
                bar.abandon();
                bail!(
                    "step {step}: the {:?} loss is {raw_v}; training stopped. The last good checkpoint is {} (lower train.lr or raise clipping, then --resume)",
                    task.name(),
                    last_good()
                );
            }
            if t.balance == Balance::Dwa {
                bal.dwa_observe(ti, raw_v, step, t.dwa_window, t.dwa_temperature);
            }
            task_grads.push(task_grad);
            raw_losses.push(raw_v);
            used_weights.push(w);
            state.batches[ti] += 1;
            state.sentences += idx.len();
            window.1 += idx.len();
        }
        let combined = match t.balance {
            Balance::Pcgrad => {
                let k = task_grads.len();
                let mut gram = vec![vec![0.0; k]; k];
                for i in 0..k {
                    for j in i..k {
                        let d = grads::dot::<B, _>(
                            &model,
                            &task_grads[i],
                            &task_grads[j],
                            Some(&shared),
                        );
                        gram[i][j] = d;
                        gram[j][i] = d;
                    }
                }
                let a = balance::pcgrad_coefficients(&gram);
                let mut total = GradientsParams::new();
                for (kk, g) in task_grads.iter().enumerate() {
                    let c: f64 = (0..k).map(|i| a[i][kk]).sum();
                    grads::axpy::<B, _>(&model, &mut total, c, g, Some(&shared));
                    grads::axpy::<B, _>(&model, &mut total, 1.0, g, Some(&heads));
                }
                total
            }
            Balance::Gradnorm => {
                let bal = &mut state.balance;
                let norms: Vec<f64> = task_grads
                    .iter()
                    .map(|g| grads::squared_norm::<B, _>(&model, g, Some(&last_layer)).sqrt())
                    .collect();
                for (i, l) in raw_losses.iter().enumerate() {
                    bal.initial[i].get_or_insert(*l);
                }
                let w = bal.weights.clone();
                let mut total = GradientsParams::new();
                for (i, g) in task_grads.iter().enumerate() {
                    grads::axpy::<B, _>(&model, &mut total, w[i], g, None);
                    used_weights[i] *= w[i];
                }
                let initial: Vec<f64> = bal.initial.iter().map(|l| l.unwrap_or(1.0)).collect();
                bal.weights = balance::gradnorm_update(
                    &w,
                    &norms,
                    &raw_losses,
                    &initial,
                    t.gradnorm_alpha,
                    t.gradnorm_lr,
                );
                total
            }
            _ => task_grads.pop().expect("one task trained"),
        };
        let (m, norm) = opt.step(lr, model, combined, t.clip_norm, &frozen);
        if !norm.is_finite() {
            bar.abandon();
            let names: Vec<&str> = chosen.iter().map(|&i| tasks[i].name()).collect();
            bail!(
                "step {step}: the {} gradient norm is {norm}; training stopped. The last good checkpoint is {}",
                names.join("+"),
                last_good()
            );
        }
        model = m;
        state.step += 1;
        let secs = window.0.elapsed().as_secs_f64();
        if secs > 5.0 {
            rate = window.1 as f64 / secs;
            window = (Instant::now(), 0);
        }
        state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
        for (j, &ti) in chosen.iter().enumerate() {
            let loss_v = raw_losses[j];
            let e = ema[ti].map_or(loss_v, |e| 0.9 * e + 0.1 * loss_v);
            ema[ti] = Some(e);
            writeln!(
                log,
                "{}",
                json!({"step": step, "task": tasks[ti].name(), "loss": loss_v, "weight": used_weights[j],
                       "lr": lr, "grad_norm": norm,
                       "epoch": streams[ti].epochs(state.batches[ti], t.batch_size),
                       "sentences": state.sentences, "elapsed_s": state.elapsed_s})
            )?;
        }
        let losses: Vec<String> = tasks
            .iter()
            .zip(&ema)
            .map(|(t, e)| {
                format!(
                    "{} {}",
                    t.name(),
                    e.map_or("-".into(), |v| format!("{v:.3}"))
                )
            })
            .collect();
        bar.set_message(format!(
            "loss {} | lr {lr:.2e} | {rate:.1} sent/s",
            losses.join(" ")
        ));
        bar.set_position(state.step as u64);
        if plain && last_plain.elapsed().as_secs() >= 30 {
            last_plain = Instant::now();
            eprintln!(
                "step {}/{}: loss {} | lr {lr:.2e} | {rate:.1} sent/s",
                state.step,
                t.steps,
                losses.join(" ")
            );
        }
        if let Some(d) = delay {
            std::thread::sleep(d);
        }

        let last = state.step == t.steps;
        if state.step.is_multiple_of(t.eval_every) || last {
            let valid = model.valid();
            let (scores, _) = evaluate(&valid, &tasks, "dev", EVAL_BATCH, pad, device);
            let score = mean_headline(&scores);
            let improved = state.best.as_ref().is_none_or(|b| score > b.score);
            let dev = serde_json::to_value(&scores)?;
            let heads: Vec<String> = scores
                .iter()
                .map(|s| format!("{} {} {:.4}", s.task, s.headline().0, s.headline().1))
                .collect();
            bar.println(format!(
                "step {}: dev {}{}",
                state.step,
                heads.join(", "),
                if improved { " (best)" } else { "" }
            ));
            writeln!(
                log,
                "{}",
                json!({"step": step, "eval": "dev", "score": score, "scores": dev.clone(),
                       "epochs": tasks.iter().enumerate().map(|(i, _)| streams[i].epochs(state.batches[i], t.batch_size)).collect::<Vec<_>>()})
            )?;
            if improved {
                let dir = run.join(BEST);
                fs::create_dir_all(&dir)?;
                write_atomic(
                    &dir.join(glassbox_model::bundle::WEIGHTS),
                    &valid.to_burnpack()?,
                )?;
                state.best = Some(Best {
                    step: state.step,
                    score,
                    dev,
                });
                write_atomic(
                    &dir.join("best.json"),
                    serde_json::to_string_pretty(&state.best)?.as_bytes(),
                )?;
                state.evals_since_best = 0;
            } else {
                state.evals_since_best += 1;
                if t.patience > 0 && state.evals_since_best >= t.patience {
                    state.stopped_early = true;
                    bar.println(format!(
                        "early stop at step {}: no dev improvement in {} evaluations",
                        state.step, t.patience
                    ));
                }
            }
        }
        if state.step.is_multiple_of(t.checkpoint_every) || last || state.stopped_early {
            log.flush()?;
            checkpoint::save(
                run,
                &Checkpoint {
                    state: state.clone(),
                    model: model_bytes(&model)?,
                    optim: opt.save()?,
                },
            )?;
        }
    }
    bar.finish();
    write_atomic(&run.join(FINAL_WEIGHTS), &model.valid().to_burnpack()?)?;
    write_atomic(
        &run.join("train_summary.json"),
        serde_json::to_string_pretty(&json!({
            "steps": state.step, "sentences": state.sentences, "elapsed_s": state.elapsed_s,
            "sentences_per_s": state.sentences as f64 / state.elapsed_s.max(1e-9),
            "stopped_early": state.stopped_early, "best": state.best,
            "task_probabilities": tasks.iter().zip(&probs).map(|(t, p)| json!({"task": t.name(), "p": p})).collect::<Vec<_>>(),
        }))?
        .as_bytes(),
    )?;
    crate::eval::report::training_plots(run)?;
    Ok(Outcome {
        run: run.to_path_buf(),
        state,
    })
}
