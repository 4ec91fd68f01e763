//! `glassbox eval`: load a bundle or a run, rebuild its data split from the recorded recipe,
//! score it and write the error analysis.

use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use glassbox_model::Glassbox;

use super::{evaluate, report, TaskScores};
use crate::config::TrainConfig;
use crate::data::prepare::prepare;

pub fn eval<B: Backend>(
    bundle: Option<&Path>,
    run: Option<&Path>,
    split: &str,
    out: Option<&Path>,
    device: &B::Device,
) -> Result<Vec<TaskScores>> {
    // The tokenizer comes from the bundle itself, or from the run's base model.
    let (model, train, tok_dir): (Glassbox<B>, TrainConfig, std::path::PathBuf) = match (
        bundle, run,
    ) {
        (Some(dir), _) => {
            let loaded = crate::load::load_dir::<B>(dir, device)?;
            let Some(cfg) = loaded
                .manifest
                .as_ref()
                .and_then(|m| m.training.as_ref())
                .and_then(|t| t.get("config"))
            else {
                bail!(
                    "bundle {} records no training recipe (it was not exported from a run), so there is no split to evaluate on",
                    dir.display()
                );
            };
            let train: TrainConfig = serde_json::from_value(cfg.clone())
                .context("the bundle's training recipe does not parse")?;
            (loaded.model, train, dir.to_path_buf())
        }
        (None, Some(run)) => {
            let rm = crate::export::load_run::<B>(run, device)?;
            let base = rm.train.base_model.clone();
            (rm.model, rm.train, base)
        }
        (None, None) => bail!("pass --bundle DIR or --run DIR"),
    };
    let (_, tok) = crate::load::read_tokenizer(&tok_dir, train.max_seq_len)?;
    let (tasks, _) = prepare(&train, &tok)?;
    let (scores, preds) = evaluate(
        &model,
        &tasks,
        split,
        crate::train::EVAL_BATCH,
        tok.pad_id(),
        device,
    );
    if let Some(out) = out {
        report::write_eval(out, &tasks, split, &scores, &preds)?;
        if let Some(run) = run {
            report::training_plots(run)?;
        }
    }
    Ok(scores)
}

pub fn print_scores(scores: &[TaskScores]) {
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
