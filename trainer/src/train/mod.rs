//! `glassbox train`: multi-task fine-tuning with resumable checkpoints.
//!
//! Each step trains one task on one batch: the task is drawn by the configured sampler, the
//! batch is the next slice of that task's shuffled stream, dropout is seeded by the step.
//! Everything a step depends on is therefore a function of (seed, step, counters), which is
//! what lets `--resume` continue a killed run bit for bit.

pub mod checkpoint;
pub mod loss;
pub mod optim;
pub mod sampler;
pub mod schedule;

use std::fs;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::module::AutodiffModule;
use burn::prelude::*;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use glassbox_model::{pad_batch, Glassbox, GlassboxConfig, TextTokenizer};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::config::{TaskKind, TrainConfig};
use crate::data::encode::Target;
use crate::data::prepare::{prepare_config, PreparedTask, TaskReport};
use crate::eval::{evaluate, mean_headline};
use crate::fetch::write_atomic;
use checkpoint::{Best, Checkpoint, TrainState};
use optim::{default_groups, parameters, GroupOptimizer};
use sampler::{task_for_step, task_probs, Stream};

pub const CONFIG_COPY: &str = "config.toml";
pub const METRICS: &str = "metrics.jsonl";
pub const BEST: &str = "best";
pub const FINAL_WEIGHTS: &str = "final.bpk";
pub const EVAL_BATCH: usize = 64;

/// Label sets of both heads; a head without a task keeps the default labels (untrained).
pub fn head_labels(tasks: &[PreparedTask]) -> (Vec<String>, Vec<String>) {
    let pick = |kind: TaskKind, fallback: Vec<String>| {
        tasks
            .iter()
            .find(|t| t.kind() == kind)
            .map(|t| t.labels().to_vec())
            .unwrap_or(fallback)
    };
    (
        pick(
            TaskKind::Sentence,
            GlassboxConfig::default_sentence_labels(),
        ),
        pick(TaskKind::Token, GlassboxConfig::default_token_labels()),
    )
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
    let groups = default_groups(&parameters::<B, _>(&model), t.weight_decay);
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
    let warmup = (t.warmup_ratio * t.steps as f64).round() as usize;
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

    while state.step < t.steps && !state.stopped_early {
        let step = state.step;
        let ti = task_for_step(t.sampling, &probs, cfg.seed, step);
        let task = &tasks[ti];
        let k = state.batches[ti];
        let idx = streams[ti].batch(k, t.batch_size);
        B::seed(device, step_seed(cfg.seed, step));
        let items: Vec<_> = idx.iter().map(|&i| &task.encoded[i]).collect();
        let rows: Vec<&[u32]> = items.iter().map(|e| e.ids.as_slice()).collect();
        let batch = pad_batch::<B>(&rows, pad, device);
        let out = model.forward(batch.input_ids, batch.pad_mask);
        let loss = match task.kind() {
            TaskKind::Sentence => {
                let targets: Vec<usize> = items
                    .iter()
                    .map(|e| match e.target {
                        Target::Class(c) => c,
                        Target::Tags(_) => unreachable!(),
                    })
                    .collect();
                let weights: Vec<f32> = items.iter().map(|e| e.weight).collect();
                loss::sentence_loss(out.sentence_logits, &targets, &weights)
            }
            TaskKind::Token => {
                let targets: Vec<Vec<i64>> = items
                    .iter()
                    .map(|e| match &e.target {
                        Target::Tags(v) => v.clone(),
                        Target::Class(_) => unreachable!(),
                    })
                    .collect();
                loss::token_loss(out.token_logits, &targets)
            }
        }
        .mul_scalar(task.data.config.loss_weight);
        let loss_v: f64 = loss.clone().into_scalar().elem();
        // Looked up only when a run has to stop.
        let last_good = || {
            checkpoint::latest(run)
                .map(|d| d.display().to_string())
                .unwrap_or_else(|| "none yet".into())
        };
        if !loss_v.is_finite() {
            bar.abandon();
            bail!(
                "step {step}: the {:?} loss is {loss_v}; training stopped. The last good checkpoint is {} (lower train.lr or raise clipping, then --resume)",
                task.name(),
                last_good()
            );
        }
        let lr = schedule::warmup_linear(step, t.steps, warmup, t.lr);
        let grads = loss.backward();
        let (m, norm) = opt.step(lr, model, grads, t.clip_norm);
        if !norm.is_finite() {
            bar.abandon();
            bail!(
                "step {step}: the {:?} gradient norm is {norm}; training stopped. The last good checkpoint is {}",
                task.name(),
                last_good()
            );
        }
        model = m;
        state.batches[ti] += 1;
        state.sentences += idx.len();
        state.step += 1;
        window.1 += idx.len();
        let secs = window.0.elapsed().as_secs_f64();
        if secs > 5.0 {
            rate = window.1 as f64 / secs;
            window = (Instant::now(), 0);
        }
        let e = ema[ti].map_or(loss_v, |e| 0.9 * e + 0.1 * loss_v);
        ema[ti] = Some(e);
        state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
        writeln!(
            log,
            "{}",
            json!({"step": step, "task": task.name(), "loss": loss_v, "lr": lr, "grad_norm": norm,
                   "epoch": streams[ti].epochs(state.batches[ti], t.batch_size),
                   "sentences": state.sentences, "elapsed_s": state.elapsed_s})
        )?;
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
