//! `GET /alerts`: every rule with its state, last value and PromQL, as JSON — what an operator
//! looks at when a notification arrives, without a Prometheus at hand.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::engine::Alerting;
use super::promql;
use super::state::Phase;

#[derive(Serialize)]
struct AlertsReply {
    /// False when the server runs without `--alert-rules`.
    enabled: bool,
    interval_seconds: Option<f64>,
    rules: Vec<RuleReply>,
}

#[derive(Serialize)]
struct RuleReply {
    name: String,
    state: Phase,
    severity: String,
    summary: String,
    condition: String,
    promql: String,
    for_seconds: f64,
    /// The last value computed; null without data (e.g. no request in the window).
    value: Option<f64>,
    active_since: Option<String>,
    fired_at: Option<String>,
    resolved_at: Option<String>,
}

/// The route, to merge into the server's router; `None`: alerting is off.
pub(crate) fn router(alerting: Option<Arc<Alerting>>) -> Router {
    Router::new()
        .route("/alerts", get(alerts))
        .with_state(alerting)
}

async fn alerts(State(alerting): State<Option<Arc<Alerting>>>) -> Json<AlertsReply> {
    let Some(a) = alerting else {
        return Json(AlertsReply {
            enabled: false,
            interval_seconds: None,
            rules: Vec::new(),
        });
    };
    let states = a.states.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let time = |t: Option<SystemTime>| t.map(|t| humantime::format_rfc3339_seconds(t).to_string());
    let rules = a.rules.iter().zip(states).map(|(rule, s)| RuleReply {
        name: rule.name.clone(),
        state: s.phase,
        severity: rule.severity.to_string(),
        summary: rule.summary.clone(),
        condition: rule.expr.describe(),
        promql: promql::expr(&rule.expr),
        for_seconds: rule.for_.as_secs_f64(),
        value: s.value,
        active_since: time(s.active_since),
        fired_at: time(s.fired_at),
        resolved_at: time(s.resolved_at),
    });
    Json(AlertsReply {
        enabled: true,
        interval_seconds: Some(a.interval.as_secs_f64()),
        rules: rules.collect(),
    })
}
