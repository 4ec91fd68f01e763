//! The out-of-distribution report: `ood.json` (everything), `ood.md` (one table, then the
//! mappings each set declared) and `ood.svg`/`.png` (each set's headline metric next to the
//! in-distribution one).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::{OodReport, SetResult};
use crate::io::{write_atomic, write_json};

/// The set's headline: macro-F1 over its classes, or span micro-F1 over the shared types.
pub fn headline(r: &SetResult) -> (&'static str, f64) {
    match (&r.classification, &r.spans) {
        (Some(c), _) => ("macro-F1", c.macro_avg.f1),
        (_, Some(s)) => ("span micro-F1", s.micro.f1),
        _ => ("none", f64::NAN),
    }
}

fn fmt(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map_or("–".into(), |v| format!("{v:.3}"))
}

/// The summary table (markdown, also what the command prints).
pub fn table(report: &OodReport) -> String {
    let mut s = String::from(
        "| set | task | examples (cut) | metric | external | own test split, same mapping | AUROC max-softmax | AUROC energy |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in &report.sets {
        let (metric, value) = headline(r);
        let d = r.detection.as_ref();
        let _ = writeln!(
            s,
            "| {} | {} | {} ({}) | {metric} | {} | {} | {} | {} |",
            r.set.name,
            r.set.task,
            r.examples,
            r.truncated,
            fmt(Some(value)),
            fmt(r.own_test),
            fmt(d.map(|d| d.auroc_max_softmax)),
            fmt(d.map(|d| d.auroc_energy)),
        );
    }
    s
}

/// What each set's labels were mapped to, so every number above can be read correctly.
fn mappings(report: &OodReport) -> String {
    let mut s = String::new();
    for r in &report.sets {
        let set = &r.set;
        let pairs = |m: &std::collections::BTreeMap<String, String>| {
            m.iter()
                .map(|(a, b)| format!("{a} → {b}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let what = if set.is_token() {
            format!(
                "gold types: {}; model types: {} (others dropped)",
                pairs(&set.gold_types),
                pairs(&set.model_types)
            )
        } else if !set.bands.is_empty() {
            format!("score cut at {:?} into {:?}", set.thresholds, set.bands)
        } else {
            format!("labels: {}", pairs(&set.labels))
        };
        let _ = writeln!(s, "- **{}** (`{}`): {what}", set.name, set.file.display());
    }
    s
}

/// Each task's headline on the test split over all its classes or types.
fn native(report: &OodReport) -> String {
    let parts: Vec<String> = report
        .in_distribution
        .iter()
        .map(|s| {
            let (metric, v) = s.headline();
            format!("{} {metric} {v:.3}", s.task)
        })
        .collect();
    parts.join(", ")
}

pub fn write(out: &Path, report: &OodReport) -> Result<()> {
    std::fs::create_dir_all(out)?;
    write_json(&out.join("ood.json"), report)?;
    let md = format!(
        "# Out-of-distribution evaluation of `{}`\n\n{}\nThe bundle's own test split in its own terms: {}.\n\nAUROC: how well the score separates the bundle's own test split (higher scores) from the set; 0.5 is chance.\n\n## Label mappings\n\n{}",
        report.bundle,
        table(report),
        native(report),
        mappings(report)
    );
    write_atomic(&out.join("ood.md"), md.as_bytes())?;
    let mut bars = Vec::new();
    for r in &report.sets {
        bars.push((r.set.name.clone(), headline(r).1));
        if let Some(own) = r.own_test {
            bars.push(("  own test, same mapping".into(), own));
        }
    }
    crate::plots::bar_chart(
        &out.join("ood"),
        "Out of distribution vs the model's own test split",
        "headline metric",
        &bars,
    )
}
