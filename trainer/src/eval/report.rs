//! Writing an evaluation to disk: scores, every error, the summary table and the charts.

use std::fs;
use std::path::Path;

use anyhow::Result;
use glassbox_model::view::link::permalink;

use super::errors::{analyse, summary_markdown, Analysis};
use super::{Predictions, TaskScores};
use crate::data::prepare::PreparedTask;
use crate::io::write_atomic;
use crate::metrics::classification::ClassReport;
use crate::metrics::span::SpanReport;
use crate::plots;

/// Scores and error analysis of one split, written to `out`. `page_model` is the bundle's
/// folder as the page is served (`models/default`), for the errors' permalinks.
pub fn write_eval(
    out: &Path,
    tasks: &[PreparedTask],
    split: &str,
    scores: &[TaskScores],
    preds: &[Predictions],
    page_model: Option<&str>,
) -> Result<Vec<Analysis>> {
    fs::create_dir_all(out)?;
    write_atomic(
        &out.join("scores.json"),
        serde_json::to_string_pretty(scores)?.as_bytes(),
    )?;
    let analyses = tasks
        .iter()
        .zip(preds)
        .map(|(t, p)| analyse(t, t.indices(split), p))
        .collect::<Result<Vec<Analysis>>>()?;
    write_error_files(out, &analyses, page_model)?;
    for (s, a) in scores.iter().zip(&analyses) {
        plot_task(out, split, s, a)?;
    }
    Ok(analyses)
}

/// The error analysis in its three forms: every error (`errors.jsonl`), the grouped counts and
/// slice scores (`errors_summary.json`) and the same as a Markdown table (`errors_summary.md`).
fn write_error_files(out: &Path, analyses: &[Analysis], page_model: Option<&str>) -> Result<()> {
    write_atomic(
        &out.join("errors.jsonl"),
        errors_jsonl(analyses, page_model)?.as_bytes(),
    )?;
    write_atomic(
        &out.join("errors_summary.json"),
        serde_json::to_string_pretty(analyses)?.as_bytes(),
    )?;
    write_atomic(
        &out.join("errors_summary.md"),
        summary_markdown(analyses).as_bytes(),
    )
}

/// Every error of every task, one JSON object a line, tasks in order, each with the
/// `permalink` that opens its text in the page (appended to the page's address).
fn errors_jsonl(analyses: &[Analysis], page_model: Option<&str>) -> Result<String> {
    let mut lines = String::new();
    for a in analyses {
        for e in &a.errors {
            let mut e = e.clone();
            if let Some(text) = e.get("text").and_then(|t| t.as_str()) {
                e["permalink"] = permalink(page_model, text).into();
            }
            lines.push_str(&serde_json::to_string(&e)?);
            lines.push('\n');
        }
    }
    Ok(lines)
}

/// The charts of one task: the class confusion of a sentence task, or the per-type F1 and the
/// entity type confusion of a token task.
fn plot_task(out: &Path, split: &str, s: &TaskScores, a: &Analysis) -> Result<()> {
    if let Some(c) = &s.classification {
        plot_class_confusion(out, split, &s.task, c)?;
    }
    if let Some(sp) = &s.spans {
        plot_f1_per_type(out, split, &s.task, sp)?;
        plot_type_confusion(out, split, &s.task, sp, a)?;
    }
    Ok(())
}

/// Gold class against predicted class, as a heatmap.
fn plot_class_confusion(out: &Path, split: &str, task: &str, c: &ClassReport) -> Result<()> {
    plots::heatmap(
        &out.join(format!("confusion_{task}")),
        &format!("{task}: confusion ({split})"),
        &c.labels,
        &c.labels,
        &c.confusion,
    )
}

/// Span F1 of each entity type, as a bar chart.
fn plot_f1_per_type(out: &Path, split: &str, task: &str, sp: &SpanReport) -> Result<()> {
    let bars: Vec<(String, f64)> = sp.per_type.iter().map(|(k, p)| (k.clone(), p.f1)).collect();
    plots::bar_chart(
        &out.join(format!("f1_per_type_{task}")),
        &format!("{task}: span F1 per entity type ({split})"),
        "F1",
        &bars,
    )
}

/// Gold entity type against predicted type (with the `boundary` and `(none)` rows and the
/// `(none)` column of [`Analysis::type_confusion`]), as a heatmap.
fn plot_type_confusion(
    out: &Path,
    split: &str,
    task: &str,
    sp: &SpanReport,
    a: &Analysis,
) -> Result<()> {
    let (rows, cols) = type_confusion_axes(sp);
    let m = type_confusion_matrix(a, &rows, &cols);
    plots::heatmap(
        &out.join(format!("confusion_{task}")),
        &format!("{task}: entity types ({split}); boundary = overlapping span"),
        &rows,
        &cols,
        &m,
    )
}

/// Row and column labels of the entity type confusion: the entity types, then the rows
/// `boundary` and `(none)` and the column `(none)`.
fn type_confusion_axes(sp: &SpanReport) -> (Vec<String>, Vec<String>) {
    let mut rows: Vec<String> = sp.per_type.keys().cloned().collect();
    let mut cols = rows.clone();
    rows.extend(["boundary".to_string(), "(none)".to_string()]);
    cols.push("(none)".to_string());
    (rows, cols)
}

/// The counts of the analysis laid out on `rows` × `cols`; a pair never seen counts 0.
fn type_confusion_matrix(a: &Analysis, rows: &[String], cols: &[String]) -> Vec<Vec<usize>> {
    rows.iter()
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
        .collect()
}
