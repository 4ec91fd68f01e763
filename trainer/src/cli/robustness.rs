//! `glassbox robustness`: a CheckList-style behavioural suite on a bundle, both heads.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use burn::prelude::*;

use crate::backend::BackendKind;
use crate::load::{load_dir, Loaded};
use crate::robustness::report::{summary_line, table, write_report, Report};
use crate::robustness::run::run_suite;
use crate::robustness::suite::{entity_types, Suite};
use crate::with_backend;

const EXIT_CODES: &str = "Exit status: 0 whenever the suite ran, however many tests failed (it \
measures, it does not gate); 1 on errors (a bundle missing or untrained, a suite that does not \
parse or names a label the bundle does not have).";

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct RobustnessArgs {
    /// A glassbox bundle with trained heads.
    #[arg(long)]
    bundle: PathBuf,
    /// The suite (TOML; see configs/checklist.toml). Default: the built-in suite, which is
    /// configs/checklist.toml.
    #[arg(long)]
    suite: Option<PathBuf>,
    /// Folder for robustness.json, robustness.md and robustness.svg.
    #[arg(long, default_value = "robustness-report")]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Seeds the sampling of capped templates and every perturbation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn robustness(a: RobustnessArgs) -> Result<()> {
    let suite = match &a.suite {
        Some(path) => Suite::from_file(path)?,
        None => Suite::builtin()?,
    };
    let report = with_backend!(a.backend, |B, device| {
        let loaded = load_dir::<B>(&a.bundle, &device)?;
        measure(&loaded, &a.bundle, &suite, a.seed, &device)?
    });
    write_report(&a.out, &report)?;
    print!("{}", table(&report));
    println!("{}", summary_line(&report));
    eprintln!("report written to {}", a.out.display());
    Ok(())
}

fn measure<B: Backend>(
    loaded: &Loaded<B>,
    bundle: &Path,
    suite: &Suite,
    seed: u64,
    device: &B::Device,
) -> Result<Report> {
    if !loaded.heads_trained {
        bail!(
            "{} has untrained heads: robustness needs a fine-tuned bundle",
            bundle.display()
        );
    }
    let cfg = &loaded.config;
    suite.check_labels(&cfg.sentence_labels, &entity_types(&cfg.token_labels))?;
    let tests = run_suite(loaded, suite, seed, device)?;
    let model = loaded
        .manifest
        .as_ref()
        .map_or("unnamed model".to_string(), |m| {
            format!("{} {}", m.name, m.version)
        });
    Ok(Report::new(
        bundle,
        model,
        suite.source.clone(),
        seed,
        tests,
    ))
}
