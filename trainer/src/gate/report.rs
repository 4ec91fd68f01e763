//! What the gate leaves behind, pass or fail: `gate.json` (every statistic, the decision, the
//! rules, item counts, both bundles' identities), `gate.md` to read, and `gate.svg`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::chart::difference_chart;
use super::paired::BundleInfo;
use super::rules::{Decision, GateRules, GateStats, MetricStat};
use super::GateItems;
use crate::config::TaskKind;
use crate::data::prepare::PreparedTask;

pub const JSON_FILE: &str = "gate.json";
pub const MARKDOWN_FILE: &str = "gate.md";
pub const CHART_FILE: &str = "gate.svg";

#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    /// Every check passed: promote the challenger.
    pub passed: bool,
    pub champion: BundleInfo,
    pub challenger: BundleInfo,
    /// The split of the champion's recipe the gate set was taken from.
    pub split: String,
    /// Only N items of each task were used, evenly spaced over the split.
    pub limit: Option<usize>,
    pub items: ItemCounts,
    pub rules: GateRules,
    pub statistics: GateStats,
    pub decision: Decision,
}

impl GateReport {
    pub fn passed(&self) -> bool {
        self.passed
    }
}

/// How many items each task contributed, and which task that was.
#[derive(Debug, Clone, Serialize)]
pub struct ItemCounts {
    pub sentence_task: Option<String>,
    pub sentences: usize,
    pub token_task: Option<String>,
    /// Sentences (tweets) of the token task; spans are resampled with their sentence.
    pub token_sentences: usize,
}

impl ItemCounts {
    pub fn of(tasks: &[PreparedTask], items: &GateItems) -> Self {
        let name = |kind| {
            tasks
                .iter()
                .find(|t| t.kind() == kind)
                .map(|t| t.name().to_string())
        };
        ItemCounts {
            sentence_task: name(TaskKind::Sentence),
            sentences: items.sentences.as_ref().map_or(0, |s| s.len()),
            token_task: name(TaskKind::Token),
            token_sentences: items.spans.as_ref().map_or(0, |s| s.len()),
        }
    }
}

/// Writes the three files into `out` (created if missing).
pub fn write_report(out: &Path, report: &GateReport) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    crate::io::write_json(&out.join(JSON_FILE), report)?;
    crate::io::write_atomic(&out.join(MARKDOWN_FILE), markdown(report).as_bytes())?;
    let svg = difference_chart(&report.statistics, &report.rules);
    crate::io::write_atomic(&out.join(CHART_FILE), svg.as_bytes())
}

/// The one-line verdict printed by the command.
pub fn verdict(report: &GateReport) -> String {
    if report.passed {
        format!(
            "PASS: promote {} {} over {} {}",
            report.challenger.name,
            report.challenger.version,
            report.champion.name,
            report.champion.version
        )
    } else {
        let failed: Vec<&str> = report
            .decision
            .failed_checks()
            .map(|c| c.name.as_str())
            .collect();
        format!("FAIL: keep the champion ({} failed)", failed.join(", "))
    }
}

fn markdown(r: &GateReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Champion–challenger gate: {}\n", verdict(r));
    bundles_section(&mut s, r);
    checks_section(&mut s, r);
    metrics_section(&mut s, r);
    mcnemar_section(&mut s, r);
    let _ = writeln!(
        s,
        "![challenger − champion with {:.0}% intervals and thresholds]({CHART_FILE})\n",
        r.rules.level * 100.0
    );
    let rules = toml::to_string(&r.rules).unwrap_or_default();
    let _ = writeln!(s, "## Rules\n\n```toml\n{}```", rules);
    s
}

fn bundles_section(s: &mut String, r: &GateReport) {
    let _ = writeln!(s, "| | bundle | version | created | manifest SHA-256 |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for (role, b) in [("champion", &r.champion), ("challenger", &r.challenger)] {
        let _ = writeln!(
            s,
            "| {role} | {} (`{}`) | {} | {} | `{}` |",
            b.name,
            b.dir.display(),
            b.version,
            b.created_at,
            b.manifest_sha256
        );
    }
    let i = &r.items;
    let limit = r
        .limit
        .map(|n| format!(", {n} items per task spread evenly over it"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "\nGate set: split `{}` of the champion's recipe{limit}: {} sentences ({}), {} tweets with entity tags ({}).\n",
        r.split,
        i.sentences,
        i.sentence_task.as_deref().unwrap_or("no sentence task"),
        i.token_sentences,
        i.token_task.as_deref().unwrap_or("no token task"),
    );
}

fn checks_section(s: &mut String, r: &GateReport) {
    let _ = writeln!(s, "## Checks\n\n| | check | reason |\n|---|---|---|");
    for c in &r.decision.checks {
        let mark = if c.passed { "pass" } else { "**FAIL**" };
        let _ = writeln!(s, "| {mark} | {} | {} |", c.name, c.reason);
    }
    s.push('\n');
}

fn metrics_section(s: &mut String, r: &GateReport) {
    let pct = r.rules.level * 100.0;
    let _ = writeln!(
        s,
        "## Metrics\n\n| metric | champion | challenger | difference | {pct:.0}% interval | resamples |\n|---|---|---|---|---|---|"
    );
    let stats = &r.statistics;
    for (name, m) in [
        ("macro-F1", &stats.macro_f1),
        ("span micro-F1", &stats.span_f1),
    ] {
        if let Some(MetricStat {
            champion,
            challenger,
            difference: d,
        }) = m
        {
            let _ = writeln!(
                s,
                "| {name} | {champion:.4} | {challenger:.4} | {:+.4} | [{:+.4}, {:+.4}] | {} |",
                d.point, d.low, d.high, d.resamples
            );
        }
    }
    s.push('\n');
}

fn mcnemar_section(s: &mut String, r: &GateReport) {
    let Some(m) = &r.statistics.mcnemar else {
        return;
    };
    let _ = writeln!(
        s,
        "## McNemar (sentence correctness)\n\n| | challenger right | challenger wrong |\n|---|---|---|\n| **champion right** | {} | {} |\n| **champion wrong** | {} | {} |\n\nExact two-sided p-value {:.4e} (alpha {}).\n",
        m.both_right, m.champion_only, m.challenger_only, m.both_wrong, m.p_value, r.rules.alpha
    );
}
