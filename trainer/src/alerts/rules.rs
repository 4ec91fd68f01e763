//! The alert rules file (`configs/alerts.yml`): what each rule watches, how long the condition
//! must hold before it fires, and what it says when it does.
//!
//! YAML rather than TOML because the rules leave glassbox as YAML too (Prometheus rule files,
//! `glassbox alerts --out`), so an operator reads one format on both sides; a list of rules
//! with nested expressions is also plainer in YAML than TOML's `[[rules]]` + inline tables.
//! Parsed with serde_norway, the maintained fork of the archived serde_yaml.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// A whole rules file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleFile {
    /// The Prometheus rule group the rules are written into.
    #[serde(default = "default_group")]
    pub group: String,
    pub rules: Vec<Rule>,
}

/// One alert: a condition on the server's own metrics, held for `for` before it fires.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Rule {
    /// The alert's name (`alertname` in Prometheus, `alert` label of `glassbox_alert_firing`).
    pub name: String,
    /// One kind as a single-key map, `{latency_quantile_above: {threshold_ms: 500}}`; read
    /// through the deserializer (no buffering), so a mistake inside keeps its line.
    #[serde(with = "serde_norway::with::singleton_map")]
    pub expr: Expr,
    /// How long the condition must hold before the alert fires (0s: at the first evaluation).
    #[serde(rename = "for", default, with = "humantime_serde")]
    pub for_: Duration,
    #[serde(default)]
    pub severity: Severity,
    /// One line for whoever is paged; `{{ $value }}` becomes the observed value.
    pub summary: String,
}

/// What a rule watches. Every kind is one PromQL expression (see `promql`) and the same
/// computation in-process (see `eval`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Expr {
    /// Any series of a gauge (e.g. a drift statistic) above `threshold`.
    GaugeAbove { metric: String, threshold: f64 },
    /// Any series of a gauge (e.g. a drift p-value) below `threshold`.
    GaugeBelow { metric: String, threshold: f64 },
    /// A latency quantile of one route over the window, from the histogram's bucket increases.
    LatencyQuantileAbove {
        #[serde(default = "default_route")]
        route: String,
        #[serde(default = "default_quantile")]
        quantile: f64,
        threshold_ms: f64,
        #[serde(default = "default_window", with = "humantime_serde")]
        window: Duration,
    },
    /// The share of requests whose status matches `status` (e.g. `5xx`) over the window.
    StatusShareAbove {
        status: StatusMatch,
        /// Only this route's requests; none: every route but `exclude_routes`.
        #[serde(default)]
        route: Option<String>,
        /// Left out when no `route` is given: the probes, whose 503 while the model loads
        /// is an answer, not an error.
        #[serde(default = "probe_routes")]
        exclude_routes: Vec<String>,
        threshold: f64,
        #[serde(default = "default_window", with = "humantime_serde")]
        window: Duration,
    },
    /// Requests per second whose status matches `status` (e.g. `429`) over the window.
    StatusRateAbove {
        status: StatusMatch,
        /// Only this route's requests; none: every route but `exclude_routes`.
        #[serde(default)]
        route: Option<String>,
        /// Left out when no `route` is given: the probes, whose 503 while the model loads
        /// is an answer, not an error.
        #[serde(default = "probe_routes")]
        exclude_routes: Vec<String>,
        threshold_per_second: f64,
        #[serde(default = "default_window", with = "humantime_serde")]
        window: Duration,
    },
    /// Mean top-class confidence over the window below `reference - max_drop`; `reference` is
    /// the mean confidence on the reference data (the bundle's evaluation set).
    MeanConfidenceBelow {
        reference: f64,
        max_drop: f64,
        #[serde(default = "default_window", with = "humantime_serde")]
        window: Duration,
    },
}

/// A status code (`429`) or a class of them (`5xx`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct StatusMatch(String);

#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

fn default_group() -> String {
    "glassbox".into()
}

fn default_route() -> String {
    "/predict".into()
}

fn probe_routes() -> Vec<String> {
    vec!["/health".into(), "/ready".into()]
}

fn default_quantile() -> f64 {
    0.99
}

fn default_window() -> Duration {
    Duration::from_secs(300)
}

/// Rounds away float noise from a derived threshold (0.9 - 0.2 is 0.7000000000000001), so
/// logs, PromQL and comparisons all use the number the operator wrote.
pub(crate) fn tidy(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// The mean confidence below which a `mean_confidence_below` rule fires.
pub(crate) fn confidence_floor(reference: f64, max_drop: f64) -> f64 {
    tidy(reference - max_drop)
}

/// A latency threshold in seconds, the unit of the histogram.
pub(crate) fn seconds(ms: f64) -> f64 {
    tidy(ms / 1000.0)
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        };
        f.write_str(s)
    }
}

impl TryFrom<String> for StatusMatch {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let b = s.as_bytes();
        let class = b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && &s[1..] == "xx";
        let code = b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && s.parse::<u16>().is_ok();
        if class || code {
            Ok(Self(s))
        } else {
            Err(format!(
                "status {s:?} is neither a code (429) nor a class (5xx)"
            ))
        }
    }
}

impl From<StatusMatch> for String {
    fn from(s: StatusMatch) -> String {
        s.0
    }
}

impl StatusMatch {
    /// Whether a `status` label value (e.g. "503") matches.
    pub fn matches(&self, status: &str) -> bool {
        match self.0.strip_suffix("xx") {
            Some(first) => status.len() == 3 && status.starts_with(first),
            None => status == self.0,
        }
    }

    /// The PromQL label matcher: `status=~"5.."` or `status="429"`.
    pub fn promql(&self) -> String {
        match self.0.strip_suffix("xx") {
            Some(first) => format!("status=~\"{first}..\""),
            None => format!("status=\"{}\"", self.0),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Expr {
    /// The longest stretch of history the expression looks back over.
    pub fn window(&self) -> Duration {
        match self {
            Self::GaugeAbove { .. } | Self::GaugeBelow { .. } => Duration::ZERO,
            Self::LatencyQuantileAbove { window, .. }
            | Self::StatusShareAbove { window, .. }
            | Self::StatusRateAbove { window, .. }
            | Self::MeanConfidenceBelow { window, .. } => *window,
        }
    }

    /// The condition in words, for logs and the `description` annotation.
    pub fn describe(&self) -> String {
        let w = |d: &Duration| humantime::format_duration(*d).to_string();
        let on = |r: &Option<String>, x: &[String]| match r {
            Some(r) => format!(" of {r}"),
            None if x.is_empty() => String::new(),
            None => format!(" (not counting {})", x.join(", ")),
        };
        match self {
            Self::GaugeAbove { metric, threshold } => format!("{metric} above {threshold}"),
            Self::GaugeBelow { metric, threshold } => format!("{metric} below {threshold}"),
            Self::LatencyQuantileAbove {
                route,
                quantile,
                threshold_ms,
                window,
            } => format!(
                "p{} latency of {route} above {threshold_ms} ms over {}",
                quantile * 100.0,
                w(window)
            ),
            Self::StatusShareAbove {
                status,
                route,
                exclude_routes,
                threshold,
                window,
            } => format!(
                "share of {} answers{} above {threshold} over {}",
                status.as_str(),
                on(route, exclude_routes),
                w(window)
            ),
            Self::StatusRateAbove {
                status,
                route,
                exclude_routes,
                threshold_per_second,
                window,
            } => format!(
                "{} answers{} above {threshold_per_second}/s over {}",
                status.as_str(),
                on(route, exclude_routes),
                w(window)
            ),
            Self::MeanConfidenceBelow {
                reference,
                max_drop,
                window,
            } => format!(
                "mean confidence below {} (reference {reference} - {max_drop}) over {}",
                confidence_floor(*reference, *max_drop),
                w(window)
            ),
        }
    }
}

/// Reads and checks a rules file; a YAML or field error names the file, line and column.
pub(crate) fn load(path: &Path) -> Result<RuleFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the alert rules {}", path.display()))?;
    let file = parse(&text).map_err(|e| located(path, &e))?;
    file.check()
        .with_context(|| format!("invalid alert rules in {}", path.display()))?;
    Ok(file)
}

/// `FILE:LINE:COLUMN: message`, the way compilers say it (the parser's own message ends
/// with " at line L column C", which the prefix replaces).
fn located(path: &Path, e: &serde_norway::Error) -> anyhow::Error {
    let Some(l) = e.location() else {
        return anyhow::anyhow!("{}: {e}", path.display());
    };
    let message = e.to_string();
    let tail = format!(" at line {} column {}", l.line(), l.column());
    let message = message.strip_suffix(&tail).unwrap_or(&message);
    anyhow::anyhow!("{}:{}:{}: {message}", path.display(), l.line(), l.column())
}

/// Parses rules from YAML text (no checks beyond the types).
pub(crate) fn parse(text: &str) -> Result<RuleFile, serde_norway::Error> {
    serde_norway::from_str(text)
}

impl RuleFile {
    /// Checks what the types cannot: unique names, thresholds in range.
    pub fn check(&self) -> Result<()> {
        if self.rules.is_empty() {
            bail!("no rules (`rules:` is empty)");
        }
        let mut names = HashSet::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if !names.insert(rule.name.as_str()) {
                bail!("rule {} repeats the name {:?}", i + 1, rule.name);
            }
            rule.check()
                .with_context(|| format!("rule {} ({:?})", i + 1, rule.name))?;
        }
        Ok(())
    }
}

impl Rule {
    fn check(&self) -> Result<()> {
        let name_ok = self
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !name_ok {
            bail!("the name must be letters, digits and _, starting with a letter");
        }
        if self.summary.trim().is_empty() {
            bail!("the summary is empty");
        }
        self.expr.check()
    }
}

impl Expr {
    fn check(&self) -> Result<()> {
        let finite = |x: f64, what: &str| -> Result<()> {
            if !x.is_finite() {
                bail!("{what} must be a finite number");
            }
            Ok(())
        };
        match self {
            Self::GaugeAbove { metric, threshold } | Self::GaugeBelow { metric, threshold } => {
                check_metric(metric)?;
                finite(*threshold, "threshold")
            }
            Self::LatencyQuantileAbove {
                quantile,
                threshold_ms,
                ..
            } => {
                if !(*quantile > 0.0 && *quantile < 1.0) {
                    bail!("quantile must be between 0 and 1 (exclusive), not {quantile}");
                }
                finite(*threshold_ms, "threshold_ms")
            }
            Self::StatusShareAbove {
                threshold,
                exclude_routes,
                ..
            } => {
                check_routes(exclude_routes)?;
                finite(*threshold, "threshold")
            }
            Self::StatusRateAbove {
                threshold_per_second,
                exclude_routes,
                ..
            } => {
                check_routes(exclude_routes)?;
                finite(*threshold_per_second, "threshold_per_second")
            }
            Self::MeanConfidenceBelow {
                reference,
                max_drop,
                ..
            } => {
                if !(*reference > 0.0 && *reference <= 1.0) {
                    bail!("reference must be a mean confidence in (0, 1], not {reference}");
                }
                finite(*max_drop, "max_drop")
            }
        }?;
        if self.window() < Duration::from_secs(1) && self.window() != Duration::ZERO {
            bail!("window must be at least 1s");
        }
        Ok(())
    }
}

/// Routes as axum matches them (`/v1/embeddings`): they go into a PromQL regex unescaped
/// but for `.`, so nothing else may carry meaning there.
fn check_routes(routes: &[String]) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "/_-.".contains(c);
    match routes
        .iter()
        .find(|r| !r.starts_with('/') || !r.chars().all(ok))
    {
        Some(bad) => bail!("route {bad:?} is not a path like /ready"),
        None => Ok(()),
    }
}

/// A gauge rule may watch any glassbox series, but only those (the server exports no other).
fn check_metric(metric: &str) -> Result<()> {
    let valid = metric.starts_with("glassbox_")
        && metric
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        bail!("metric {metric:?} is not a glassbox_… metric name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "rules:
  - name: Slow
    expr: {latency_quantile_above: {threshold_ms: 250}}
    for: 2m
    summary: slow
  - name: Drift
    expr:
      gauge_below:
        metric: glassbox_drift_embedding_p_value
        threshold: 0.01
    severity: critical
    summary: drift {{ $value }}
";

    #[test]
    fn fields_left_out_take_their_defaults() {
        let f = parse(GOOD).unwrap();
        f.check().unwrap();
        assert_eq!(f.group, "glassbox");
        let slow = &f.rules[0];
        assert_eq!(slow.for_, Duration::from_secs(120));
        assert_eq!(slow.severity, Severity::Warning);
        let want = Expr::LatencyQuantileAbove {
            route: "/predict".into(),
            quantile: 0.99,
            threshold_ms: 250.0,
            window: Duration::from_secs(300),
        };
        assert_eq!(slow.expr, want);
        assert_eq!(f.rules[1].for_, Duration::ZERO);
        assert_eq!(f.rules[1].severity, Severity::Critical);
    }

    #[test]
    fn a_misspelt_field_names_the_file_and_line() {
        let bad = GOOD.replace("threshold: 0.01", "treshold: 0.01");
        let path = std::env::temp_dir().join(format!("glassbox-alerts-{}.yml", std::process::id()));
        std::fs::write(&path, bad).unwrap();
        let err = format!("{:#}", load(&path).unwrap_err());
        std::fs::remove_file(&path).unwrap();
        assert!(
            err.starts_with(&format!("{}:10:9: ", path.display())),
            "{err}"
        );
        assert_eq!(
            err.matches("line").count(),
            0,
            "the location is said once: {err}"
        );
        assert!(err.contains("treshold"), "{err}");
    }

    #[test]
    fn status_matches_codes_and_classes() {
        let five = StatusMatch::try_from("5xx".to_string()).unwrap();
        assert!(five.matches("503") && five.matches("500") && !five.matches("429"));
        assert_eq!(five.promql(), "status=~\"5..\"");
        let busy = StatusMatch::try_from("429".to_string()).unwrap();
        assert!(busy.matches("429") && !busy.matches("4290") && !busy.matches("500"));
        assert_eq!(busy.promql(), "status=\"429\"");
        for bad in ["5XX", "600", "42", "abc", "4x9"] {
            assert!(StatusMatch::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_catch_what_types_cannot() {
        let mut f = parse(GOOD).unwrap();
        f.rules[1].name = "Slow".into();
        assert!(format!("{:#}", f.check().unwrap_err()).contains("repeats the name"));
        let q = GOOD.replace("threshold_ms: 250", "threshold_ms: 250, quantile: 1.5");
        let err = format!("{:#}", parse(&q).unwrap().check().unwrap_err());
        assert!(
            err.contains("rule 1 (\"Slow\")") && err.contains("quantile"),
            "{err}"
        );
        let m = GOOD.replace("glassbox_drift_embedding_p_value", "node_load1");
        assert!(parse(&m).unwrap().check().is_err());
    }
}
