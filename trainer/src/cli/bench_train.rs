//! `glassbox bench-train`: training throughput (sentences per second of optimizer steps) of a
//! config, with random batches and with length-bucketed batches measured in the same run,
//! interleaved, so the ratio holds on a shared, noisy machine. Prints JSON, asserts nothing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::backend::Autodiff;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::backend::BackendKind;
use crate::config::TrainConfig;
use crate::train::trainer::Trainer;
use crate::with_backend;

#[derive(clap::Args)]
pub struct BenchTrainArgs {
    /// Task/training config (TOML); its data, model and batch size are what is timed.
    #[arg(long)]
    config: PathBuf,
    /// Timed optimizer steps per measurement (after one untimed warm-up step).
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Measurements per variant, interleaved (the median is reported).
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

/// One batching variant's measurements.
#[derive(Debug, Serialize)]
struct Variant {
    name: &'static str,
    length_pool: usize,
    /// Sentences per second of each measurement, in the order they ran.
    sentences_per_s: Vec<f64>,
    median_sentences_per_s: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    config: String,
    batch_size: usize,
    steps: usize,
    threads: usize,
    variants: Vec<Variant>,
    /// Bucketed over random batches, from the medians.
    bucketed_over_random: f64,
}

pub fn bench_train(a: BenchTrainArgs) -> Result<()> {
    if a.steps == 0 || a.repeats == 0 {
        bail!("--steps and --repeats must be at least 1");
    }
    let cfg = TrainConfig::load(&a.config)?;
    let pool = if cfg.train.length_pool > 0 {
        cfg.train.length_pool
    } else {
        crate::config::TrainParams::default().length_pool
    };
    let mut variants = vec![
        variant("random batches", 0),
        variant("length-bucketed", pool),
    ];
    for rep in 0..a.repeats {
        for v in &mut variants {
            let mut cfg = cfg.clone();
            cfg.train.length_pool = v.length_pool;
            let rate = with_backend!(a.backend, |B, device| {
                time_steps::<Autodiff<B>>(&cfg, a.steps, rep, &device)?
            });
            v.sentences_per_s.push(rate);
        }
    }
    for v in &mut variants {
        v.median_sentences_per_s = super::bench::median(&mut v.sentences_per_s.clone());
    }
    let report = Report {
        config: a.config.display().to_string(),
        batch_size: cfg.train.batch_size,
        steps: a.steps,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        bucketed_over_random: variants[1].median_sentences_per_s
            / variants[0].median_sentences_per_s,
        variants,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn variant(name: &'static str, length_pool: usize) -> Variant {
    Variant {
        name,
        length_pool,
        sentences_per_s: Vec::new(),
        median_sentences_per_s: 0.0,
    }
}

/// Trains one warm-up step and `steps` timed ones in a throw-away run folder; returns the
/// timed steps' sentences per second. Nothing is evaluated or checkpointed.
fn time_steps<B: AutodiffBackend>(
    cfg: &TrainConfig,
    steps: usize,
    rep: usize,
    device: &B::Device,
) -> Result<f64> {
    let mut cfg = cfg.clone();
    cfg.train.steps = steps + 1;
    let dir = scratch(cfg.train.length_pool, rep)?;
    let devices = [device.clone()];
    let rate = (|| {
        let mut trainer = Trainer::<B>::open(&cfg, &dir, false, None, &devices)?;
        trainer.step()?;
        let before = trainer.state.sentences;
        let t0 = Instant::now();
        for _ in 0..steps {
            trainer.step()?;
        }
        Ok::<_, anyhow::Error>(
            (trainer.state.sentences - before) as f64 / t0.elapsed().as_secs_f64(),
        )
    })();
    let _ = std::fs::remove_dir_all(&dir);
    rate
}

/// A fresh, empty run folder under the system's temporary directory.
fn scratch(pool: usize, rep: usize) -> Result<PathBuf> {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "glassbox-bench-train-{}-{pool}-{rep}",
        std::process::id()
    ));
    if Path::new(&dir).exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    Ok(dir)
}
