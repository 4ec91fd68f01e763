//! `glassbox export`: a bundle from a training run or from a model directory.

use std::path::PathBuf;

use anyhow::{bail, Result};
use glassbox_model::weights::bundle::Manifest;

use crate::backend::BackendKind;
use crate::export::Quantize;
use crate::with_backend;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Model directory to export when there is no --run: a Hugging Face BERT checkpoint or a
    /// glassbox bundle.
    #[arg(long, default_value = "assets/all-MiniLM-L6-v2")]
    model: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Training run folder to export (its best dev checkpoint).
    #[arg(long)]
    run: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Quantize::None)]
    quantize: Quantize,
    #[arg(long)]
    out: PathBuf,
    /// Seed for the (still untrained) heads' initialisation when exporting a base model.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The bundle's model version (semver). Default: the parent bundle's next minor version
    /// when training started from a bundle, else 1.0.0.
    #[arg(long)]
    model_version: Option<String>,
}

pub fn export(a: ExportArgs) -> Result<()> {
    let manifest = match &a.run {
        Some(run) => with_backend!(a.backend, |B, device| {
            crate::export::export_run::<B>(
                run,
                &a.out,
                a.quantize,
                a.model_version.as_deref(),
                &device,
            )?
        }),
        None => {
            if a.quantize != Quantize::None {
                bail!("--quantize applies to trained runs; pass --run DIR");
            }
            with_backend!(a.backend, |B, device| {
                crate::export::export_bundle::<B>(
                    &a.model,
                    &a.out,
                    a.seed,
                    a.model_version.as_deref(),
                    &device,
                )?
            })
        }
    };
    report(&a, &manifest);
    Ok(())
}

fn report(a: &ExportArgs, manifest: &Manifest) {
    let size: u64 = manifest
        .files
        .keys()
        .filter_map(|f| std::fs::metadata(a.out.join(f)).ok())
        .map(|m| m.len())
        .sum();
    let parent = manifest
        .lineage
        .as_ref()
        .and_then(|l| l.parent_version.as_deref())
        .map_or_else(
            || "a pretrained checkpoint".to_string(),
            |p| format!("version {p}"),
        );
    eprintln!("model version {} (from {parent})", manifest.version);
    eprintln!(
        "bundle written to {} ({} files hashed, {:.1} MB, quantization {}, heads trained: {})",
        a.out.display(),
        manifest.files.len(),
        size as f64 / 1e6,
        manifest.quantization,
        manifest.heads_trained
    );
    for m in &manifest.metrics {
        eprintln!("  {} {} ({}): {:.4}", m.task, m.name, m.split, m.value);
    }
}
