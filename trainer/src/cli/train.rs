//! Commands that train: `train`, and the studies made of training runs (`cv`, `single-task`,
//! `ablate`, `baselines`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::backend::Autodiff;

use crate::backend::{BackendKind, Indexed};
use crate::config::TrainConfig;
use crate::run_dir::RunDir;
use crate::with_backend;

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Task/training config (TOML). With --resume it may be left out: the run's copy is used.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run folder.
    #[arg(long)]
    out: PathBuf,
    /// Continue a stopped or killed run from its last checkpoint.
    #[arg(long)]
    resume: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Data-parallel training over these devices of the backend (comma-separated indices;
    /// each batch is split between them, the optimizer steps on the first). The cpu backend
    /// has device 0 only; listing a device twice runs two replicas on it.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    devices: Vec<usize>,
}

#[derive(clap::Args)]
pub struct CvArgs {
    #[arg(long)]
    config: PathBuf,
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Train only this fold (0-based), e.g. one fold per process, GPU or machine sharing
    /// OUT; once all are done, a run without --fold writes the summary.
    #[arg(long)]
    fold: Option<usize>,
    /// Output folder (one run folder per fold, cv.json, cv_spread.png/svg). Use
    /// RUN/cv so `glassbox export --run RUN` puts the intervals in the manifest.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

#[derive(clap::Args)]
pub struct SingleTaskArgs {
    #[arg(long)]
    run: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

#[derive(clap::Args)]
pub struct AblateArgs {
    #[arg(long)]
    config: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Train nothing: tabulate the runs already finished under --out.
    #[arg(long)]
    report_only: bool,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

#[derive(clap::Args)]
pub struct BaselinesArgs {
    #[arg(long)]
    run: PathBuf,
}

pub fn train(a: TrainArgs) -> Result<()> {
    let cfg = train_config(a.config.as_deref(), &a.out, a.resume)?;
    let outcome = with_backend!(a.backend, |B, device| {
        let devices = a
            .devices
            .iter()
            .map(|&i| Indexed::nth(&device, i))
            .collect::<Result<Vec<_>>>()?;
        crate::train::train_on::<Autodiff<B>>(&cfg, &a.out, a.resume, None, &devices)?
    });
    let s = &outcome.state;
    let best = s
        .best
        .as_ref()
        .map(|b| format!("best dev score {:.4} at step {}", b.score, b.step))
        .unwrap_or_default();
    eprintln!(
        "run {} finished at step {} ({:.0} s, {} sentences); {best}",
        outcome.run.display(),
        s.step,
        s.elapsed_s,
        s.sentences
    );
    Ok(())
}

/// The config of a new run, or of the run being resumed (which must match `--config` if
/// both are given: a resumed run with other settings would not be the same run).
fn train_config(config: Option<&Path>, out: &Path, resume: bool) -> Result<TrainConfig> {
    let run = RunDir::new(out);
    match (config, resume) {
        (None, false) => bail!("--config FILE is required for a new run"),
        (Some(c), false) => TrainConfig::load(c),
        (c, true) => {
            let run_cfg = TrainConfig::load(&run.config_file())
                .with_context(|| format!("--resume: {} is not a run folder", out.display()))?;
            if let Some(c) = c {
                if TrainConfig::load(c)? != run_cfg {
                    bail!(
                        "--config {} differs from the run's own {}; a resumed run keeps its configuration",
                        c.display(),
                        run.config_file().display()
                    );
                }
            }
            Ok(run_cfg)
        }
    }
}

pub fn cv(a: CvArgs) -> Result<()> {
    let cfg = TrainConfig::load(&a.config)?;
    let result = with_backend!(a.backend, |B, device| {
        crate::experiments::cv::cross_validate::<Autodiff<B>>(
            &cfg, a.folds, a.fold, &a.out, &device,
        )?
    });
    let shown = result.get("summary").unwrap_or(&result);
    println!("{}", serde_json::to_string_pretty(shown)?);
    Ok(())
}

pub fn single_task(a: SingleTaskArgs) -> Result<()> {
    let result = with_backend!(a.backend, |B, device| {
        crate::experiments::single_task::compare::<Autodiff<B>>(&a.run, &device)?
    });
    print!("{}", result["table"].as_str().unwrap_or_default());
    Ok(())
}

pub fn ablate(a: AblateArgs) -> Result<()> {
    with_backend!(a.backend, |B, device| {
        crate::experiments::ablate::ablate::<Autodiff<B>>(
            &a.config,
            &a.out,
            a.report_only,
            &device,
        )?
    });
    print!(
        "{}",
        std::fs::read_to_string(crate::experiments::ablate::table_file(&a.out))?
    );
    Ok(())
}

pub fn baselines(a: BaselinesArgs) -> Result<()> {
    for r in &crate::experiments::baselines::run_baselines(&a.run)? {
        println!(
            "{:<10} {:<28} {:<12} {:.4}",
            r.task, r.model, r.metric, r.value
        );
    }
    Ok(())
}
