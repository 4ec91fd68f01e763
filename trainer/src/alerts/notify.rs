//! Telling someone: the JSON an alert webhook receives, shaped like Alertmanager's webhook
//! payload (version 4) so receivers written for Alertmanager take it unchanged, and the POST
//! that sends it (bounded by a timeout; its failure is the caller's to log).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::rules::Rule;
use super::state::RuleState;

/// What Alertmanager puts in `endsAt` of an alert still firing.
const NOT_ENDED: &str = "0001-01-01T00:00:00Z";

/// Label or annotation name → value.
pub(crate) type Pairs = BTreeMap<String, String>;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Payload {
    pub version: &'static str,
    /// `firing` if any alert in the payload fires, else `resolved`.
    pub status: &'static str,
    pub receiver: &'static str,
    pub group_labels: Pairs,
    pub common_labels: Pairs,
    pub common_annotations: Pairs,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Alert {
    pub status: &'static str,
    pub labels: Pairs,
    pub annotations: Pairs,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
}

/// The labels every notification and Prometheus rule of `rule` carries.
pub(crate) fn labels(rule: &Rule) -> Pairs {
    Pairs::from([
        ("alertname".to_string(), rule.name.clone()),
        ("severity".to_string(), rule.severity.to_string()),
        ("service".to_string(), "glassbox".to_string()),
    ])
}

/// The summary with `{{ $value }}` filled in (as Prometheus' template would) and the condition.
pub(crate) fn annotations(rule: &Rule, value: Option<f64>) -> Pairs {
    let shown = value.map_or_else(|| "no data".to_string(), |v| format!("{v:.4}"));
    let summary = rule.summary.replace("{{ $value }}", &shown);
    Pairs::from([
        ("summary".to_string(), summary),
        ("description".to_string(), rule.expr.describe()),
    ])
}

fn time(t: Option<SystemTime>) -> String {
    t.map_or_else(
        || NOT_ENDED.to_string(),
        |t| humantime::format_rfc3339_seconds(t).to_string(),
    )
}

/// One alert of a notification, from the rule and its state right after a transition.
pub(crate) fn alert(rule: &Rule, state: &RuleState, base_url: &str) -> Alert {
    let firing = state.resolved_at.is_none();
    Alert {
        status: if firing { "firing" } else { "resolved" },
        labels: labels(rule),
        annotations: annotations(rule, state.value),
        starts_at: time(state.fired_at),
        ends_at: time(state.resolved_at),
        generator_url: format!("{base_url}/alerts"),
    }
}

/// The notification for the alerts that changed in one evaluation.
pub(crate) fn payload(alerts: Vec<Alert>, base_url: &str) -> Payload {
    let any_firing = alerts.iter().any(|a| a.status == "firing");
    Payload {
        version: "4",
        status: if any_firing { "firing" } else { "resolved" },
        receiver: "glassbox",
        group_labels: Pairs::new(),
        common_labels: common(alerts.iter().map(|a| &a.labels)),
        common_annotations: common(alerts.iter().map(|a| &a.annotations)),
        external_url: base_url.to_string(),
        alerts,
    }
}

/// The pairs all maps share.
fn common<'a>(mut maps: impl Iterator<Item = &'a Pairs>) -> Pairs {
    let mut shared = maps.next().cloned().unwrap_or_default();
    for m in maps {
        shared.retain(|k, v| m.get(k) == Some(v));
    }
    shared
}

/// POSTs the payload as JSON; an error for no answer within `timeout` or a non-2xx status.
/// Blocking (ureq): call it from tokio's blocking pool.
pub(crate) fn post(url: &str, payload: &Payload, timeout: Duration) -> Result<()> {
    let body = serde_json::to_vec(payload).context("cannot encode the alert payload")?;
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build();
    let agent = ureq::Agent::new_with_config(config);
    let reply = agent
        .post(url)
        .header("content-type", "application/json")
        .send(&body[..])
        .with_context(|| format!("no answer from the alert webhook {url}"))?;
    if !reply.status().is_success() {
        bail!("the alert webhook {url} answered {}", reply.status());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::rules::parse;
    use super::super::state::Phase;
    use super::*;

    #[test]
    fn payload_has_alertmanagers_shape() {
        let rules = parse(
            "rules:
  - {name: A, expr: {gauge_above: {metric: glassbox_x, threshold: 1}}, summary: 'x is {{ $value }}'}
  - {name: B, expr: {gauge_above: {metric: glassbox_y, threshold: 1}}, summary: y, severity: critical}
",
        )
        .unwrap();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400);
        let firing = RuleState {
            phase: Phase::Firing,
            active_since: Some(t),
            fired_at: Some(t),
            resolved_at: None,
            value: Some(2.5),
        };
        let resolved = RuleState {
            resolved_at: Some(t + Duration::from_secs(60)),
            phase: Phase::Inactive,
            ..firing.clone()
        };
        let alerts = vec![
            alert(&rules.rules[0], &firing, "http://h:1"),
            alert(&rules.rules[1], &resolved, "http://h:1"),
        ];
        let p = serde_json::to_value(payload(alerts, "http://h:1")).unwrap();
        assert_eq!(p["version"], "4");
        assert_eq!(p["status"], "firing");
        assert_eq!(
            p["commonLabels"],
            serde_json::json!({"service": "glassbox"})
        );
        let a = &p["alerts"][0];
        assert_eq!(a["labels"]["alertname"], "A");
        assert_eq!(a["annotations"]["summary"], "x is 2.5000");
        assert_eq!(a["startsAt"], "1970-01-02T00:00:00Z");
        assert_eq!(a["endsAt"], NOT_ENDED);
        let b = &p["alerts"][1];
        assert_eq!(
            (&b["status"], &b["labels"]["severity"]),
            (&"resolved".into(), &"critical".into())
        );
        assert_eq!(b["endsAt"], "1970-01-02T00:01:00Z");
        assert_eq!(b["generatorURL"], "http://h:1/alerts");
    }
}
