//! `glassbox eval`: score a bundle or a run on a split of its data.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::backend::BackendKind;
use crate::eval::saved::Source;
use crate::eval::TaskScores;
use crate::load::KernelChoice;
use crate::run_dir::RunDir;
use crate::with_backend;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A bundle written by `glassbox export --run` (its manifest names the data recipe).
    #[arg(long, conflicts_with = "run", required_unless_present = "run")]
    bundle: Option<PathBuf>,
    #[arg(long)]
    run: Option<PathBuf>,
    #[arg(long, default_value = "test", value_parser = ["train", "dev", "test"])]
    split: String,
    /// Where to write scores, errors and charts (default: RUN/eval-SPLIT for a run).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// What computes the encoder's linear layers: f32, or int8 kernels (CPU backend).
    #[arg(long, value_enum, default_value_t = KernelChoice::F32)]
    kernels: KernelChoice,
    /// Print the scores as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Score the bundle on the external sets this TOML file declares (`configs/ood.toml`),
    /// next to its own test split, with out-of-distribution detection (writes ood.json,
    /// ood.md and a chart to --out, default `ood-report`).
    #[arg(long, requires = "bundle")]
    external: Option<PathBuf>,
}

pub fn eval(a: EvalArgs) -> Result<()> {
    if let (Some(file), Some(bundle)) = (&a.external, &a.bundle) {
        return external(file, bundle, &a);
    }
    let run = a.run.as_ref().map(RunDir::new);
    let out = a.out.or_else(|| run.as_ref().map(|r| r.eval_dir(&a.split)));
    let scores = with_backend!(a.backend, |B, device| {
        let source = Source {
            bundle: a.bundle.as_deref(),
            run: a.run.as_deref(),
            kernels: a.kernels,
        };
        crate::eval::saved::eval::<B>(source, &a.split, out.as_deref(), &device)?
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&scores)?);
    } else {
        print_scores(&scores);
    }
    if let Some(o) = out {
        // The run's training charts are redrawn with the evaluation (a killed run has none).
        if let Some(run) = &run {
            crate::train::log::training_plots(run)?;
        }
        eprintln!("scores, errors.jsonl and charts written to {}", o.display());
    }
    Ok(())
}

/// `--external`: the out-of-distribution report.
fn external(file: &Path, bundle: &Path, a: &EvalArgs) -> Result<()> {
    let cfg = crate::ood::sets::OodConfig::load(file)?;
    let out = a.out.clone().unwrap_or_else(|| PathBuf::from("ood-report"));
    let report = with_backend!(a.backend, |B, device| {
        let loaded = crate::load::load_dir::<B>(bundle, &device)?.with_kernels(a.kernels);
        crate::ood::run(bundle, &loaded, &cfg, &device)?
    });
    crate::ood::report::write(&out, &report)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", crate::ood::report::table(&report));
    }
    eprintln!(
        "ood.json, ood.md and the chart written to {}",
        out.display()
    );
    Ok(())
}

fn print_scores(scores: &[TaskScores]) {
    for s in scores {
        println!("{} ({} split, {} examples)", s.task, s.split, s.examples);
        if let Some(c) = &s.classification {
            println!(
                "  accuracy {:.4}  macro-F1 {:.4}  micro-F1 {:.4}",
                c.accuracy, c.macro_avg.f1, c.micro_f1
            );
            println!(
                "  {:<14} {:>9} {:>9} {:>9} {:>8}",
                "class", "precision", "recall", "F1", "support"
            );
            for (l, p) in c.labels.iter().zip(&c.per_class) {
                println!(
                    "  {l:<14} {:>9.4} {:>9.4} {:>9.4} {:>8}",
                    p.precision, p.recall, p.f1, p.support
                );
            }
            println!(
                "  confusion (rows true, columns predicted: {}):",
                c.labels.join(", ")
            );
            for row in &c.confusion {
                println!(
                    "    {}",
                    row.iter().map(|v| format!("{v:>6}")).collect::<String>()
                );
            }
        }
        if let Some(sp) = &s.spans {
            println!(
                "  span micro P {:.4} R {:.4} F1 {:.4}  macro-F1 {:.4}  token accuracy {:.4}",
                sp.micro.precision,
                sp.micro.recall,
                sp.micro.f1,
                sp.macro_avg.f1,
                sp.token_accuracy
            );
            println!(
                "  {:<14} {:>9} {:>9} {:>9} {:>8}",
                "type", "precision", "recall", "F1", "support"
            );
            for (l, p) in &sp.per_type {
                println!(
                    "  {l:<14} {:>9.4} {:>9.4} {:>9.4} {:>8}",
                    p.precision, p.recall, p.f1, p.support
                );
            }
        }
    }
}
