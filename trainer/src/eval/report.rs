//! Writing an evaluation to disk: scores, every error, the summary table and the charts.

use std::fs;
use std::path::Path;

use anyhow::Result;

use super::errors::{analyse, summary_markdown, Analysis};
use super::{Predictions, TaskScores};
use crate::data::prepare::PreparedTask;
use crate::io::write_atomic;
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
