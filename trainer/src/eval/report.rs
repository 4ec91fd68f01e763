//! Writing an evaluation to disk: scores, every error, the summary table and the charts.

use std::fs;
use std::io::BufRead;
use std::path::Path;

use anyhow::Result;
use serde_json::Value;

use super::errors::{analyse, summary_markdown, Analysis};
use super::{Predictions, TaskScores};
use crate::data::prepare::PreparedTask;
use crate::fetch::write_atomic;
use crate::plots;

/// Scores and error analysis of one split, written to `out`.
pub fn write_eval(
    out: &Path,
    tasks: &[PreparedTask],
    split: &str,
    scores: &[TaskScores],
    preds: &[Predictions],
) -> Result<Vec<Analysis>> {
    fs::create_dir_all(out)?;
    write_atomic(
        &out.join("scores.json"),
        serde_json::to_string_pretty(scores)?.as_bytes(),
    )?;
    let analyses: Vec<Analysis> = tasks
        .iter()
        .zip(preds)
        .map(|(t, p)| analyse(t, t.indices(split), p))
        .collect();
    let mut lines = String::new();
    for a in &analyses {
        for e in &a.errors {
            lines.push_str(&serde_json::to_string(e)?);
            lines.push('\n');
        }
    }
    write_atomic(&out.join("errors.jsonl"), lines.as_bytes())?;
    write_atomic(
        &out.join("errors_summary.json"),
        serde_json::to_string_pretty(&analyses)?.as_bytes(),
    )?;
    write_atomic(
        &out.join("errors_summary.md"),
        summary_markdown(&analyses).as_bytes(),
    )?;
    for (s, a) in scores.iter().zip(&analyses) {
        if let Some(c) = &s.classification {
            plots::heatmap(
                &out.join(format!("confusion_{}", s.task)),
                &format!("{}: confusion ({split})", s.task),
                &c.labels,
                &c.labels,
                &c.confusion,
            )?;
        }
        if let Some(sp) = &s.spans {
            let bars: Vec<(String, f64)> =
                sp.per_type.iter().map(|(k, p)| (k.clone(), p.f1)).collect();
            plots::bar_chart(
                &out.join(format!("f1_per_type_{}", s.task)),
                &format!("{}: span F1 per entity type ({split})", s.task),
                "F1",
                &bars,
            )?;
            let mut rows: Vec<String> = sp.per_type.keys().cloned().collect();
            let mut cols = rows.clone();
            rows.extend(["boundary".to_string(), "(none)".to_string()]);
            cols.push("(none)".to_string());
            let m: Vec<Vec<usize>> = rows
                .iter()
                .map(|r| {
                    cols.iter()
                        .map(|c| {
                            a.type_confusion
                                .iter()
                                .find(|(g, p, _)| g == r && p == c)
                                .map_or(0, |x| x.2)
                        })
                        .collect()
                })
                .collect();
            plots::heatmap(
                &out.join(format!("confusion_{}", s.task)),
                &format!(
                    "{}: entity types ({split}); boundary = overlapping span",
                    s.task
                ),
                &rows,
                &cols,
                &m,
            )?;
        }
    }
    Ok(analyses)
}

/// Loss per task and learning rate over steps, dev scores over steps, from `metrics.jsonl`.
pub fn training_plots(run: &Path) -> Result<()> {
    let path = run.join(crate::train::METRICS);
    let Ok(f) = fs::File::open(&path) else {
        return Ok(());
    };
    let mut loss: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
    let mut lr = vec![];
    let mut dev: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
    for line in std::io::BufReader::new(f).lines() {
        let v: Value = match serde_json::from_str(&line?) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let step = v["step"].as_f64().unwrap_or(0.0);
        if v.get("eval").is_some() {
            for s in v["scores"].as_array().into_iter().flatten() {
                let task = s["task"].as_str().unwrap_or("?");
                let val = s
                    .pointer("/classification/macro_avg/f1")
                    .or_else(|| s.pointer("/spans/micro/f1"))
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                dev.entry(task.to_string())
                    .or_default()
                    .push((step + 1.0, val));
            }
        } else if let (Some(task), Some(l)) = (v["task"].as_str(), v["loss"].as_f64()) {
            loss.entry(task.to_string()).or_default().push((step, l));
            lr.push((step, v["lr"].as_f64().unwrap_or(0.0)));
        }
    }
    // Smooth per-task loss with a running mean so the trend is readable.
    let smooth = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
        let k = 10usize;
        pts.iter()
            .enumerate()
            .map(|(i, &(x, _))| {
                let lo = i.saturating_sub(k - 1);
                let w = &pts[lo..=i];
                (x, w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64)
            })
            .collect()
    };
    let series: Vec<plots::Series> = loss
        .iter()
        .map(|(k, v)| (format!("{k} (mean of last 10)"), smooth(v)))
        .collect();
    if !series.is_empty() {
        plots::lines(
            &run.join("plot_loss"),
            "training loss per task",
            "step",
            "loss",
            &series,
        )?;
        plots::lines(
            &run.join("plot_lr"),
            "learning rate",
            "step",
            "lr",
            &[("lr".into(), lr)],
        )?;
    }
    if !dev.is_empty() {
        let s: Vec<plots::Series> = dev
            .into_iter()
            .map(|(k, v)| (format!("{k} (macro-F1 / span micro-F1)"), v))
            .collect();
        plots::lines(
            &run.join("plot_dev"),
            "dev score over training",
            "step",
            "score",
            &s,
        )?;
    }
    Ok(())
}
