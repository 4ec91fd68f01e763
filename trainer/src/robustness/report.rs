//! What a suite run leaves behind: `robustness.json` (per test: name, head, kind, capability,
//! cases, failures, failure rate, up to five failing examples with their predictions),
//! `robustness.md` (a table per capability and the examples), `robustness.svg` (failure rate
//! per test) and the table printed to stdout.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::chart::failure_chart;
use super::judge::Prediction;
use super::suite::{Head, Kind, Test};

pub const JSON_FILE: &str = "robustness.json";
pub const MARKDOWN_FILE: &str = "robustness.md";
pub const CHART_FILE: &str = "robustness.svg";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The bundle's folder as given.
    pub bundle: String,
    /// Its manifest's name and version.
    pub model: String,
    /// The suite file (or the built-in suite).
    pub suite: String,
    pub seed: u64,
    pub summary: Summary,
    pub tests: Vec<TestResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub tests: usize,
    pub cases: usize,
    pub failures: usize,
    /// Failures over all cases of all tests.
    pub failure_rate: f64,
    /// The mean of the tests' failure rates (each test counts once, whatever its size).
    pub mean_test_failure_rate: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub name: String,
    pub capability: String,
    pub kind: Kind,
    pub head: Head,
    /// What passing means, in a few words.
    pub expectation: String,
    pub cases: usize,
    pub failures: usize,
    pub failure_rate: f64,
    /// The first failing cases (at most five), in case order.
    pub examples: Vec<Example>,
}

/// A failing case with what the model answered.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub text: String,
    pub prediction: Prediction,
    /// The perturbed (INV) or extended (DIR) sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_prediction: Option<Prediction>,
    /// Why it fails.
    pub why: String,
}

impl TestResult {
    pub fn new(test: &Test, cases: usize, failures: usize, examples: Vec<Example>) -> Self {
        TestResult {
            name: test.name.clone(),
            capability: test.capability.clone(),
            kind: test.kind(),
            head: test.head,
            expectation: test.expectation(),
            cases,
            failures,
            failure_rate: rate(failures, cases),
            examples,
        }
    }
}

fn rate(failures: usize, cases: usize) -> f64 {
    if cases == 0 {
        0.0
    } else {
        failures as f64 / cases as f64
    }
}

impl Report {
    pub fn new(
        bundle: &Path,
        model: String,
        suite: String,
        seed: u64,
        tests: Vec<TestResult>,
    ) -> Self {
        let cases = tests.iter().map(|t| t.cases).sum();
        let failures = tests.iter().map(|t| t.failures).sum();
        let mean = tests.iter().map(|t| t.failure_rate).sum::<f64>() / tests.len().max(1) as f64;
        Report {
            bundle: bundle.display().to_string(),
            model,
            suite,
            seed,
            summary: Summary {
                tests: tests.len(),
                cases,
                failures,
                failure_rate: rate(failures, cases),
                mean_test_failure_rate: mean,
            },
            tests,
        }
    }

    /// Capabilities in the order the suite first names them.
    fn capabilities(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for t in &self.tests {
            if !out.contains(&t.capability.as_str()) {
                out.push(&t.capability);
            }
        }
        out
    }
}

/// The line the command ends with.
pub fn summary_line(r: &Report) -> String {
    let s = &r.summary;
    format!(
        "{} tests, {} cases: {} failures ({:.1} % of cases); mean failure rate per test {:.1} %",
        s.tests,
        s.cases,
        s.failures,
        100.0 * s.failure_rate,
        100.0 * s.mean_test_failure_rate
    )
}

/// Writes the three files into `out` (created if missing).
pub fn write_report(out: &Path, r: &Report) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    crate::io::write_json(&out.join(JSON_FILE), r)?;
    crate::io::write_atomic(&out.join(MARKDOWN_FILE), markdown(r).as_bytes())?;
    let svg = failure_chart(&r.model, &r.tests)?;
    crate::io::write_atomic(&out.join(CHART_FILE), svg.as_bytes())
}

/// The table printed to stdout.
pub fn table(r: &Report) -> String {
    let wc = width(r.tests.iter().map(|t| t.capability.as_str()), "capability");
    let wt = width(r.tests.iter().map(|t| t.name.as_str()), "test");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<wc$}  {:<wt$}  kind  head      {:>6}  {:>8}",
        "capability", "test", "cases", "failed"
    );
    for t in &r.tests {
        let _ = writeln!(
            s,
            "{:<wc$}  {:<wt$}  {:<4}  {:<8}  {:>6}  {:>6.1} %",
            t.capability,
            t.name,
            kind_name(t.kind),
            head_name(t.head),
            t.cases,
            100.0 * t.failure_rate
        );
    }
    s
}

fn width<'a>(items: impl Iterator<Item = &'a str>, header: &str) -> usize {
    items
        .map(|s| s.chars().count())
        .chain([header.len()])
        .max()
        .unwrap_or(0)
}

pub fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Mft => "MFT",
        Kind::Inv => "INV",
        Kind::Dir => "DIR",
    }
}

fn head_name(h: Head) -> &'static str {
    match h {
        Head::Sentence => "sentence",
        Head::Token => "token",
    }
}

fn markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Behavioural tests (CheckList): {}\n", r.model);
    let _ = writeln!(
        s,
        "Bundle `{}`, {}, seed {}.\n\n**{}.**\n",
        r.bundle,
        r.suite,
        r.seed,
        summary_line(r)
    );
    let _ = writeln!(s, "![failure rate per test]({CHART_FILE})\n");
    for cap in r.capabilities() {
        let tests: Vec<&TestResult> = r.tests.iter().filter(|t| t.capability == cap).collect();
        let _ = writeln!(s, "## {cap}\n");
        s.push_str(&table_md(&tests));
        for t in tests.iter().filter(|t| !t.examples.is_empty()) {
            examples_md(&mut s, t);
        }
    }
    s
}

/// A capability's tests as a markdown table.
pub fn table_md(tests: &[&TestResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| test | kind | head | expectation | cases | failures | failure rate |"
    );
    let _ = writeln!(s, "|---|---|---|---|---:|---:|---:|");
    for t in tests {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {:.1} % |",
            cell(&t.name),
            kind_name(t.kind),
            head_name(t.head),
            cell(&t.expectation),
            t.cases,
            t.failures,
            100.0 * t.failure_rate
        );
    }
    s.push('\n');
    s
}

fn examples_md(s: &mut String, t: &TestResult) {
    let _ = writeln!(s, "Failing examples of *{}*:\n", cell(&t.name));
    for e in &t.examples {
        match &e.changed {
            Some(c) => {
                let _ = writeln!(s, "- {} → {}: {}", quoted(&e.text), quoted(c), e.why);
            }
            None => {
                let _ = writeln!(s, "- {}: {}", quoted(&e.text), e.why);
            }
        }
    }
    s.push('\n');
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn quoted(text: &str) -> String {
    format!("“{}”", cell(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, cap: &str, cases: usize, failures: usize) -> TestResult {
        TestResult {
            name: name.into(),
            capability: cap.into(),
            kind: Kind::Inv,
            head: Head::Sentence,
            expectation: "same under typo".into(),
            cases,
            failures,
            failure_rate: rate(failures, cases),
            examples: vec![],
        }
    }

    fn report() -> Report {
        let tests = vec![
            result("typo", "Robustness", 100, 10),
            result("a | b", "Fairness", 300, 0),
            result("url", "Robustness", 100, 30),
        ];
        Report::new(Path::new("b"), "m 1".into(), "s.toml".into(), 0, tests)
    }

    #[test]
    fn the_summary_pools_cases_and_averages_tests() {
        let r = report();
        // 40 of 500 cases; tests 10 %, 0 %, 30 % → mean 13.3 %
        assert_eq!(r.summary.failures, 40);
        assert!((r.summary.failure_rate - 0.08).abs() < 1e-12);
        assert!((r.summary.mean_test_failure_rate - 0.4 / 3.0).abs() < 1e-12);
        assert_eq!(
            summary_line(&r),
            "3 tests, 500 cases: 40 failures (8.0 % of cases); mean failure rate per test 13.3 %"
        );
    }

    #[test]
    fn the_markdown_has_a_table_per_capability_in_suite_order() {
        let md = markdown(&report());
        let robustness = md.find("## Robustness").unwrap();
        let fairness = md.find("## Fairness").unwrap();
        assert!(robustness < fairness);
        assert!(md.contains("| url | INV | sentence | same under typo | 100 | 30 | 30.0 % |"));
        assert!(md.contains("| a \\| b |"), "pipes are escaped");
    }

    #[test]
    fn the_printed_table_aligns_its_columns() {
        let t = table(&report());
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4);
        let col = lines[0].find("cases").unwrap() + "cases".len();
        assert!(lines[1][..col].ends_with("100"), "{t}");
        assert!(lines[1].ends_with("10.0 %"), "{t}");
    }
}
