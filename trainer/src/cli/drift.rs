//! `glassbox profile` (a bundle's reference profile from its training texts) and
//! `glassbox drift` (texts against that profile: report, charts, verdicts).

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::backend::BackendKind;
use crate::drift::compare::Thresholds;
use crate::drift::offline::{drift_report, profile_bundle, write_report, Sampling};
use crate::drift::profile::EMBEDDING_ROWS;
use crate::drift::texts::{read_file, read_split, Text};
use crate::with_backend;

/// Where the texts come from: a file, or a split of a training config's sentence task.
#[derive(clap::Args)]
pub struct TextSource {
    /// Texts: `.csv` (with --text-column), `.jsonl` (a "text" field), else one per line.
    #[arg(long, conflicts_with = "config", required_unless_present = "config")]
    data: Option<PathBuf>,
    /// CSV column holding the text.
    #[arg(long, default_value = "text")]
    text_column: String,
    /// Instead of --data: the training config whose sentence task's split to read (cleaned
    /// and split exactly as training did).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The split of --config: train, dev or test.
    #[arg(long, default_value = "train", requires = "config")]
    split: String,
}

impl TextSource {
    /// The texts and how reports name them.
    fn read(&self) -> Result<(Vec<Text>, String)> {
        match (&self.data, &self.config) {
            (Some(d), _) => Ok((read_file(d, &self.text_column)?, d.display().to_string())),
            (None, Some(c)) => Ok((
                read_split(c, &self.split)?,
                format!("{} (split {})", c.display(), self.split),
            )),
            (None, None) => bail!("pass --data FILE or --config TOML"),
        }
    }
}

#[derive(clap::Args)]
pub struct ProfileArgs {
    /// The bundle to add the profile to (its manifest is rewritten with the profile's hash).
    #[arg(long)]
    bundle: PathBuf,
    #[command(flatten)]
    source: TextSource,
    /// Most texts run through the model (a seeded sample beyond it).
    #[arg(long, default_value_t = 2000)]
    sample: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Embedding rows kept in the profile (f16, ~2 KB of base64 each).
    #[arg(long, default_value_t = EMBEDDING_ROWS)]
    rows: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

pub fn profile(a: ProfileArgs) -> Result<()> {
    let (texts, data) = a.source.read()?;
    let sampling = Sampling {
        max_texts: a.sample,
        seed: a.seed,
        rows: a.rows,
    };
    let (p, _) = with_backend!(a.backend, |B, device| {
        profile_bundle::<B>(&a.bundle, texts, &data, sampling, &device)?
    });
    let shares: Vec<String> = p
        .labels
        .iter()
        .zip(&p.class_counts)
        .map(|(l, c)| format!("{l} {:.3}", *c as f64 / p.source.sampled as f64))
        .collect();
    eprintln!(
        "profile of {} texts (of {}) written to {}: classes {}; [UNK] rate {:.4}; {} embedding rows",
        p.source.sampled,
        p.source.available,
        a.bundle.join(crate::drift::profile::PROFILE_FILE).display(),
        shares.join(", "),
        p.tokens.unk_rate,
        p.embedding.rows
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct DriftArgs {
    /// A bundle with a drift profile (`glassbox export` writes one; `glassbox profile` adds one).
    #[arg(long)]
    bundle: PathBuf,
    #[command(flatten)]
    source: TextSource,
    /// Folder for drift.json, drift.md and the charts.
    #[arg(long, default_value = "drift-report")]
    out: PathBuf,
    /// Most texts run through the model (a seeded sample beyond it).
    #[arg(long, default_value_t = 2000)]
    sample: usize,
    /// Seed of the text sample and of the MMD permutations.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Class PSI above this is drift.
    #[arg(long, default_value_t = 0.2)]
    psi_threshold: f64,
    /// Confidence KS p-value below this is drift.
    #[arg(long, default_value_t = 0.01)]
    ks_alpha: f64,
    /// Embedding MMD permutation p-value below this is drift.
    #[arg(long, default_value_t = 0.01)]
    mmd_alpha: f64,
    /// Permutations for the MMD p-value.
    #[arg(long, default_value_t = 500)]
    permutations: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

pub fn drift(a: DriftArgs) -> Result<()> {
    let (texts, data) = a.source.read()?;
    let thresholds = Thresholds {
        psi: a.psi_threshold,
        ks_alpha: a.ks_alpha,
        mmd_alpha: a.mmd_alpha,
        permutations: a.permutations,
        seed: a.seed,
        ..Thresholds::default()
    };
    let (report, profile, obs) = with_backend!(a.backend, |B, device| {
        drift_report::<B>(&a.bundle, texts, &data, a.sample, &thresholds, &device)?
    });
    write_report(&a.out, &report, &profile, &obs, &data)?;
    for line in report.summary_lines() {
        println!("{line}");
    }
    eprintln!("report written to {}", a.out.display());
    Ok(())
}
