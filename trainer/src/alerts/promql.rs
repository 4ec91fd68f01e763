//! The rules as a Prometheus alerting-rules file (`glassbox alerts --out rules.yml`), for a
//! deployment where Prometheus scrapes `/metrics` and Alertmanager pages: each rule's PromQL
//! computes what `eval` computes in-process, from the same series.

use serde::Serialize;

use super::eval::{CONFIDENCE, REQUESTS, REQUEST_SECONDS};
use super::notify::{self, Pairs};
use super::rules::{confidence_floor, seconds, Expr, Rule, RuleFile, StatusMatch};

#[derive(Debug, Serialize)]
pub(crate) struct PromFile {
    pub groups: Vec<Group>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Group {
    pub name: String,
    pub rules: Vec<PromRule>,
}

#[derive(Debug, Serialize)]
pub(crate) struct PromRule {
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: String,
    pub labels: Pairs,
    pub annotations: Pairs,
}

/// The whole file, one group.
pub(crate) fn prometheus_rules(file: &RuleFile) -> PromFile {
    let rules = file.rules.iter().map(prometheus_rule).collect();
    PromFile {
        groups: vec![Group {
            name: file.group.clone(),
            rules,
        }],
    }
}

fn prometheus_rule(rule: &Rule) -> PromRule {
    let mut labels = notify::labels(rule);
    labels.remove("alertname");
    let mut annotations = notify::annotations(rule, None);
    annotations.insert("summary".into(), rule.summary.clone());
    PromRule {
        alert: rule.name.clone(),
        expr: expr(&rule.expr),
        for_: duration(rule.for_),
        labels,
        annotations,
    }
}

/// The PromQL of one expression.
pub(crate) fn expr(e: &Expr) -> String {
    match e {
        Expr::GaugeAbove { metric, threshold } => format!("{metric} > {threshold}"),
        Expr::GaugeBelow { metric, threshold } => format!("{metric} < {threshold}"),
        Expr::LatencyQuantileAbove { route, quantile, threshold_ms, window } => format!(
            "histogram_quantile({quantile}, sum by (le) (rate({REQUEST_SECONDS}_bucket{{route=\"{route}\"}}[{}]))) > {}",
            duration(*window),
            seconds(*threshold_ms)
        ),
        Expr::StatusShareAbove {
            status,
            route,
            exclude_routes,
            threshold,
            window,
        } => {
            let w = duration(*window);
            let all = matchers(route, exclude_routes, None);
            let bad = matchers(route, exclude_routes, Some(status));
            format!(
                "sum(rate({REQUESTS}{bad}[{w}])) / sum(rate({REQUESTS}{all}[{w}])) > {threshold}"
            )
        }
        Expr::StatusRateAbove {
            status,
            route,
            exclude_routes,
            threshold_per_second,
            window,
        } => format!(
            "sum(rate({REQUESTS}{}[{}])) > {threshold_per_second}",
            matchers(route, exclude_routes, Some(status)),
            duration(*window)
        ),
        Expr::MeanConfidenceBelow { reference, max_drop, window } => {
            let w = duration(*window);
            format!(
                "sum(rate({CONFIDENCE}_sum[{w}])) / sum(rate({CONFIDENCE}_count[{w}])) < {}",
                confidence_floor(*reference, *max_drop)
            )
        }
    }
}

/// The label matchers of `glassbox_requests_total`: one route, or all but the excluded
/// ones (a regex, `.` escaped), and the status if given; empty when nothing is matched on.
fn matchers(route: &Option<String>, exclude: &[String], status: Option<&StatusMatch>) -> String {
    let mut m = Vec::new();
    match route {
        Some(r) => m.push(format!("route=\"{r}\"")),
        None if !exclude.is_empty() => {
            let routes: Vec<String> = exclude.iter().map(|r| r.replace('.', "\\\\.")).collect();
            m.push(format!("route!~\"{}\"", routes.join("|")));
        }
        None => {}
    }
    m.extend(status.map(StatusMatch::promql));
    if m.is_empty() {
        return String::new();
    }
    format!("{{{}}}", m.join(","))
}

/// A Prometheus duration in the largest unit that divides it: `5m`, `90s`, `1500ms`, `0s`.
pub(crate) fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match s {
        0 => "0s".into(),
        s if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        s if s.is_multiple_of(60) => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The file as YAML, with a header naming where it came from.
pub(crate) fn to_yaml(file: &RuleFile, source: &str) -> anyhow::Result<String> {
    let body = serde_norway::to_string(&prometheus_rules(file))?;
    Ok(format!(
        "# Prometheus alerting rules for `glassbox serve`, written by `glassbox alerts` from {source}.\n\
         # The same rules run in-process with `glassbox serve --alert-rules {source}`.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::rules::parse;
    use super::*;

    #[test]
    fn durations_use_the_largest_whole_unit() {
        let d = |ms: u64| duration(Duration::from_millis(ms));
        assert_eq!(
            [d(0), d(1500), d(90_000), d(300_000), d(7_200_000)],
            ["0s", "1500ms", "90s", "5m", "2h"]
        );
    }

    #[test]
    fn every_kind_becomes_the_expected_promql() {
        let f = parse(
            "rules:
  - {name: P, expr: {latency_quantile_above: {threshold_ms: 250, window: 2m}}, summary: s}
  - {name: E, expr: {status_share_above: {status: 5xx, threshold: 0.05}}, summary: s}
  - {name: R, expr: {status_rate_above: {status: '429', route: /embed, threshold_per_second: 2}}, summary: s}
  - {name: C, expr: {mean_confidence_below: {reference: 0.9, max_drop: 0.25, window: 10m}}, summary: s}
  - {name: G, expr: {gauge_below: {metric: glassbox_drift_embedding_p_value, threshold: 0.01}}, summary: s}
  - {name: X, expr: {status_rate_above: {status: '500', exclude_routes: [/openapi.json], threshold_per_second: 1}}, summary: s}
",
        )
        .unwrap();
        let got: Vec<String> = f.rules.iter().map(|r| expr(&r.expr)).collect();
        let want = [
            "histogram_quantile(0.99, sum by (le) (rate(glassbox_request_duration_seconds_bucket{route=\"/predict\"}[2m]))) > 0.25",
            "sum(rate(glassbox_requests_total{route!~\"/health|/ready\",status=~\"5..\"}[5m])) / sum(rate(glassbox_requests_total{route!~\"/health|/ready\"}[5m])) > 0.05",
            "sum(rate(glassbox_requests_total{route=\"/embed\",status=\"429\"}[5m])) > 2",
            "sum(rate(glassbox_confidence_sum[10m])) / sum(rate(glassbox_confidence_count[10m])) < 0.65",
            "glassbox_drift_embedding_p_value < 0.01",
            "sum(rate(glassbox_requests_total{route!~\"/openapi\\\\.json\",status=\"500\"}[5m])) > 1",
        ];
        assert_eq!(got, want);
    }
}
