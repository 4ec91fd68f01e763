//! The gate report (`gate.json`, written by `glassbox gate`) that judged a challenger, read
//! for the compare view: the verdict, McNemar's discordant counts and p-value, and the
//! macro-F1 and span-F1 differences with their bootstrap intervals. Only those fields are
//! read, so a report that gains fields still parses.

use serde::Deserialize;

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct GateSummary {
    /// Every check passed: the challenger may be promoted.
    pub passed: bool,
    pub statistics: Statistics,
    #[serde(default)]
    pub decision: Option<Decision>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Statistics {
    #[serde(default)]
    pub mcnemar: Option<McNemar>,
    #[serde(default)]
    pub macro_f1: Option<MetricStat>,
    #[serde(default)]
    pub span_f1: Option<MetricStat>,
}

/// McNemar's exact test on sentence correctness.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct McNemar {
    /// `b`: items only the champion got right.
    pub champion_only: u64,
    /// `c`: items only the challenger got right.
    pub challenger_only: u64,
    pub p_value: f64,
}

/// One metric of both models and the challenger − champion difference.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct MetricStat {
    pub champion: f64,
    pub challenger: f64,
    pub difference: Interval,
}

#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct Interval {
    pub point: f64,
    pub low: f64,
    pub high: f64,
    #[serde(default = "default_level")]
    pub level: f64,
}

fn default_level() -> f64 {
    0.95
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Decision {
    pub checks: Vec<Check>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    #[serde(default)]
    pub reason: String,
}

impl GateSummary {
    /// Reads a `gate.json`; `from` names it in the error.
    pub fn parse(text: &str, from: &str) -> Result<GateSummary, String> {
        serde_json::from_str(text).map_err(|e| format!("the gate report {from} is unreadable: {e}"))
    }

    /// "b = 3, c = 9, p = 0.146" for McNemar, when the recipe has a sentence task.
    pub fn mcnemar_line(&self) -> Option<String> {
        let m = self.statistics.mcnemar?;
        Some(format!(
            "McNemar: b = {} (champion alone right), c = {} (challenger alone right), p = {:.3}",
            m.champion_only, m.challenger_only, m.p_value
        ))
    }

    /// One line per metric: both values and the difference with its interval.
    pub fn metric_lines(&self) -> Vec<String> {
        let s = &self.statistics;
        [("macro-F1", s.macro_f1), ("span micro-F1", s.span_f1)]
            .into_iter()
            .filter_map(|(name, m)| Some(metric_line(name, &m?)))
            .collect()
    }
}

fn metric_line(name: &str, m: &MetricStat) -> String {
    let d = &m.difference;
    format!(
        "{name}: {:.4} → {:.4}, difference {:+.4} ({:.0}% interval [{:+.4}, {:+.4}])",
        m.champion,
        m.challenger,
        d.point,
        d.level * 100.0,
        d.low,
        d.high
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields `glassbox gate` writes, with the ones this reader skips.
    const GATE: &str = r#"{"passed": false, "split": "test", "limit": 50,
      "statistics": {
        "mcnemar": {"both_right": 39, "champion_only": 3, "challenger_only": 9, "both_wrong": 11, "p_value": 0.146},
        "macro_f1": {"champion": 0.75, "challenger": 0.7625,
                     "difference": {"point": 0.0125, "low": -0.004, "high": 0.03, "level": 0.95, "resamples": 2000}},
        "span_f1": null},
      "decision": {"passed": false, "checks": [
        {"name": "mcnemar", "passed": false, "reason": "not significant"},
        {"name": "macro_f1 regression", "passed": true, "reason": "ok"}]}}"#;

    #[test]
    fn a_gate_report_reads_as_verdict_mcnemar_and_differences() {
        let g = GateSummary::parse(GATE, "gates/1.1.0.json").unwrap();
        assert!(!g.passed);
        assert_eq!(
            g.mcnemar_line().unwrap(),
            "McNemar: b = 3 (champion alone right), c = 9 (challenger alone right), p = 0.146"
        );
        assert_eq!(
            g.metric_lines(),
            vec!["macro-F1: 0.7500 → 0.7625, difference +0.0125 (95% interval [-0.0040, +0.0300])"]
        );
        let checks = g.decision.unwrap().checks;
        assert_eq!(checks.len(), 2);
        assert!(!checks[0].passed && checks[1].passed);
    }

    #[test]
    fn an_unreadable_report_says_which_file() {
        let e = GateSummary::parse("{}", "gates/x.json").unwrap_err();
        assert!(
            e.starts_with("the gate report gates/x.json is unreadable"),
            "{e}"
        );
    }
}
