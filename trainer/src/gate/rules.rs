//! The gate's rules (read from TOML, `configs/gate.toml`) and the decision they give on the
//! paired statistics: every check listed with pass or fail and why.
//!
//! Per metric (sentence macro-F1, span micro-F1) there are two checks on the difference
//! `challenger − champion`:
//! - **improvement**: the point difference on the gate set is at least `min_improvement`
//!   (the point, not the interval's lower bound: demanding a lower bound above zero would make
//!   every metric a significance test, and the significance test is McNemar's);
//! - **regression**: the interval's lower bound is at least `−max_regression`, i.e. the data
//!   rule out a drop larger than that at the configured confidence.
//!
//! McNemar's test makes "better" mean more than noise: with `require_mcnemar`, the
//! challenger must win significantly more of the sentences the two models disagree on.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use super::bootstrap::{Interval, Resampling};
use super::mcnemar::McNemar;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GateRules {
    /// McNemar significance level.
    #[serde(default = "d_alpha")]
    pub alpha: f64,
    /// Whether the challenger must be significantly better on sentence correctness.
    #[serde(default = "d_true")]
    pub require_mcnemar: bool,
    /// Two-sided confidence level of the bootstrap intervals.
    #[serde(default = "d_level")]
    pub level: f64,
    /// Bootstrap resamples per metric.
    #[serde(default = "d_resamples")]
    pub resamples: usize,
    /// Seed of the bootstrap's resampling.
    #[serde(default)]
    pub seed: u64,
    /// Sentence classification macro-F1.
    #[serde(default)]
    pub macro_f1: MetricRule,
    /// Entity span micro-F1.
    #[serde(default)]
    pub span_f1: MetricRule,
}

/// Thresholds on one metric's difference, in absolute F1 points (0.01 = one point).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MetricRule {
    /// The point difference must reach this (negative: tolerate a small drop).
    #[serde(default)]
    pub min_improvement: f64,
    /// The interval's lower bound must not fall below minus this.
    #[serde(default = "d_max_regression")]
    pub max_regression: f64,
}

fn d_alpha() -> f64 {
    0.05
}
fn d_true() -> bool {
    true
}
fn d_level() -> f64 {
    0.95
}
fn d_resamples() -> usize {
    2000
}
/// Two F1 points: a 95% interval from a few hundred tweets (the entity test split) is
/// several points wide, so a tighter bound would refuse most challengers on noise alone.
fn d_max_regression() -> f64 {
    0.02
}

impl Default for MetricRule {
    fn default() -> Self {
        toml::from_str("").expect("defaults parse")
    }
}

impl Default for GateRules {
    fn default() -> Self {
        toml::from_str("").expect("defaults parse")
    }
}

impl GateRules {
    /// Reads and checks a rules file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read gate rules {}", path.display()))?;
        let rules: GateRules = toml::from_str(&text)
            .with_context(|| format!("gate rules {} do not parse", path.display()))?;
        rules
            .validate()
            .with_context(|| format!("gate rules {}", path.display()))?;
        Ok(rules)
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            bail!("alpha must be in (0, 1), got {}", self.alpha);
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            bail!("level must be in (0, 1), got {}", self.level);
        }
        if self.resamples == 0 {
            bail!("resamples must be at least 1");
        }
        for (name, r) in [("macro_f1", self.macro_f1), ("span_f1", self.span_f1)] {
            if !(r.max_regression >= 0.0 && r.min_improvement.is_finite()) {
                bail!("{name}: max_regression must be ≥ 0 and min_improvement a number");
            }
        }
        Ok(())
    }

    pub fn resampling(&self) -> Resampling {
        Resampling {
            resamples: self.resamples,
            level: self.level,
            seed: self.seed,
        }
    }
}

/// One metric of both models on the gate set, and the bootstrapped difference.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct MetricStat {
    pub champion: f64,
    pub challenger: f64,
    /// `challenger − champion`, with its interval.
    pub difference: Interval,
}

/// The paired statistics the decision reads; `None` where the recipe has no such task.
#[derive(Debug, Clone, Serialize)]
pub struct GateStats {
    pub mcnemar: Option<McNemar>,
    pub macro_f1: Option<MetricStat>,
    pub span_f1: Option<MetricStat>,
}

/// One rule applied: its name, verdict and a sentence saying why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// Every check passed: promote the challenger.
    pub passed: bool,
    pub checks: Vec<Check>,
}

impl Decision {
    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }
}

/// Applies `rules` to `stats`.
pub fn decide(rules: &GateRules, stats: &GateStats) -> Decision {
    let mut checks = vec![mcnemar_check(rules, stats.mcnemar.as_ref())];
    checks.extend(metric_checks("macro_f1", &rules.macro_f1, stats.macro_f1));
    checks.extend(metric_checks("span_f1", &rules.span_f1, stats.span_f1));
    Decision {
        passed: checks.iter().all(|c| c.passed),
        checks,
    }
}

fn mcnemar_check(rules: &GateRules, m: Option<&McNemar>) -> Check {
    let name = "mcnemar".to_string();
    let Some(m) = m else {
        return Check {
            name,
            passed: !rules.require_mcnemar,
            reason: "no sentence task in the gate set".into(),
        };
    };
    let better = m.challenger_better(rules.alpha);
    let counts = format!(
        "challenger alone right on {}, champion alone on {}; exact p = {:.4e}",
        m.challenger_only, m.champion_only, m.p_value
    );
    let reason = match (rules.require_mcnemar, better) {
        (false, _) => format!("not required (require_mcnemar = false); {counts}"),
        (true, true) => format!("significantly better at alpha {}: {counts}", rules.alpha),
        (true, false) => format!(
            "not significantly better at alpha {}: {counts}",
            rules.alpha
        ),
    };
    Check {
        name,
        passed: better || !rules.require_mcnemar,
        reason,
    }
}

fn metric_checks(metric: &str, rule: &MetricRule, stat: Option<MetricStat>) -> Vec<Check> {
    let Some(MetricStat { difference: ci, .. }) = stat else {
        return vec![Check {
            name: metric.to_string(),
            passed: true,
            reason: "not evaluated: the gate set has no task for this metric".into(),
        }];
    };
    let improved = ci.point >= rule.min_improvement;
    let bounded = ci.low >= -rule.max_regression;
    let pct = ci.level * 100.0;
    vec![
        Check {
            name: format!("{metric} improvement"),
            passed: improved,
            reason: format!(
                "{metric} difference {:+.4} {} the minimum improvement {:+.4}",
                ci.point,
                if improved { "reaches" } else { "is below" },
                rule.min_improvement
            ),
        },
        Check {
            name: format!("{metric} regression"),
            passed: bounded,
            reason: format!(
                "{metric} {pct:.0}% interval lower bound {:+.4} {} the allowed regression {:+.4}",
                ci.low,
                if bounded { "is within" } else { "falls below" },
                -rule.max_regression
            ),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_partial_files() {
        let r = GateRules::default();
        assert_eq!((r.alpha, r.level, r.resamples), (0.05, 0.95, 2000));
        assert!(r.require_mcnemar);
        assert_eq!(r.macro_f1, r.span_f1);
        assert_eq!(
            (r.macro_f1.min_improvement, r.macro_f1.max_regression),
            (0.0, 0.02)
        );
        let r: GateRules =
            toml::from_str("alpha = 0.01\n[span_f1]\nmin_improvement = 0.02").unwrap();
        assert_eq!(r.alpha, 0.01);
        assert_eq!(r.span_f1.min_improvement, 0.02);
        assert_eq!(r.span_f1.max_regression, 0.02);
        assert!(toml::from_str::<GateRules>("alhpa = 0.01").is_err());
        let bad: GateRules = toml::from_str("level = 1.5").unwrap();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn the_committed_rules_file_parses_and_validates() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/gate.toml");
        let r = GateRules::from_file(&path).unwrap();
        assert!(r.require_mcnemar);
    }
}
