//! The evaluator: every interval it copies the server's registry, evaluates each rule on
//! its window, and on a transition logs a warning (target `glassbox::alerts`), flips the
//! `glassbox_alert_firing{alert}` gauge and POSTs the webhook.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use prometheus::{IntGaugeVec, Opts, Registry};

use super::history::History;
use super::notify::{self, Alert};
use super::rules::{Rule, RuleFile};
use super::snapshot::Snapshot;
use super::state::{Phase, RuleState, Transition};

/// How long a webhook may take to answer before the POST counts as failed.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// The rules and where each stands; shared by the evaluation task and `GET /alerts`.
pub(crate) struct Alerting {
    pub rules: Vec<Rule>,
    pub states: Mutex<Vec<RuleState>>,
    pub interval: Duration,
    firing: IntGaugeVec,
    webhook: Option<String>,
    /// The server's own URL: `externalURL` and `generatorURL` of notifications.
    base_url: String,
}

impl Alerting {
    /// Registers `glassbox_alert_firing{alert}` (0 for every rule) in the server's registry.
    pub fn new(
        file: RuleFile,
        registry: &Registry,
        webhook: Option<String>,
        interval: Duration,
        base_url: String,
    ) -> Result<Self> {
        let opts = Opts::new(
            "glassbox_alert_firing",
            "1 while the in-process alert fires",
        );
        let firing = IntGaugeVec::new(opts, &["alert"])?;
        registry.register(Box::new(firing.clone()))?;
        for rule in &file.rules {
            firing.with_label_values(&[rule.name.as_str()]).set(0);
        }
        Ok(Self {
            states: Mutex::new(vec![RuleState::default(); file.rules.len()]),
            rules: file.rules,
            interval,
            firing,
            webhook,
            base_url,
        })
    }

    /// The longest window any rule needs kept.
    fn longest_window(&self) -> Duration {
        let windows = self.rules.iter().map(|r| r.expr.window());
        windows.max().unwrap_or_default()
    }

    /// Evaluates every rule on the history's newest snapshot; returns the alerts that fired
    /// or resolved, as the webhook sends them.
    pub fn evaluate(&self, history: &History, now: SystemTime) -> Vec<Alert> {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = Vec::new();
        for (rule, state) in self.rules.iter().zip(states.iter_mut()) {
            let window = history.window(rule.expr.window());
            let seen = window.and_then(|w| rule.expr.evaluate(&w));
            let Some(t) = state.step(seen, rule.for_, now) else {
                continue;
            };
            let on = i64::from(state.phase == Phase::Firing);
            self.firing.with_label_values(&[rule.name.as_str()]).set(on);
            log(rule, state, t);
            changed.push(notify::alert(rule, state, &self.base_url));
        }
        changed
    }

    /// Sends one notification for `alerts`; a failure is logged, never raised.
    async fn notify(&self, alerts: Vec<Alert>) {
        let Some(url) = self.webhook.clone() else {
            return;
        };
        let payload = notify::payload(alerts, &self.base_url);
        let sent =
            tokio::task::spawn_blocking(move || notify::post(&url, &payload, WEBHOOK_TIMEOUT))
                .await;
        let failed = match sent {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!("{e:#}"),
            Err(e) => format!("the webhook task failed: {e}"),
        };
        tracing::warn!(target: "glassbox::alerts", error = %failed, "alert webhook failed");
    }
}

/// One structured warning per transition.
fn log(rule: &Rule, state: &RuleState, t: Transition) {
    let what = match t {
        Transition::Fired => "firing",
        Transition::Resolved => "resolved",
    };
    let notes = notify::annotations(rule, state.value);
    tracing::warn!(
        target: "glassbox::alerts",
        alert = %rule.name,
        state = what,
        severity = %rule.severity,
        value = state.value,
        condition = %notes["description"],
        summary = %notes["summary"],
        "alert {what}"
    );
}

/// Evaluates every `interval`, for as long as the server runs.
pub(crate) async fn run(alerting: Arc<Alerting>, registry: Registry) {
    let mut history = History::new(alerting.longest_window());
    let mut tick = tokio::time::interval(alerting.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    loop {
        tick.tick().await;
        history.push(
            started.elapsed(),
            Snapshot::from_families(&registry.gather()),
        );
        let changed = alerting.evaluate(&history, SystemTime::now());
        if !changed.is_empty() {
            alerting.notify(changed).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rules::parse;
    use super::super::snapshot::Sample;
    use super::*;

    /// The engine on hand-made snapshots: the drift gauge fires, the gauge turns on, the
    /// latency rule with no request stays quiet, and both resolve-paths are exercised.
    #[test]
    fn transitions_drive_the_gauge_and_the_notifications() {
        let file = parse(
            "rules:
  - {name: Drift, expr: {gauge_above: {metric: glassbox_drift_class_psi, threshold: 0.2}}, summary: psi}
  - {name: Slow, expr: {latency_quantile_above: {threshold_ms: 0, window: 1m}}, summary: slow}
",
        )
        .unwrap();
        let registry = Registry::new();
        let a = Alerting::new(
            file,
            &registry,
            None,
            Duration::from_secs(1),
            "http://x".into(),
        )
        .unwrap();
        let gauge = |name: &str| a.firing.with_label_values(&[name]).get();
        let mut h = History::new(Duration::from_secs(60));
        let psi = |v: f64| {
            let mut s = Snapshot::default();
            s.insert("glassbox_drift_class_psi", &[], Sample::Scalar(v));
            s
        };
        h.push(Duration::ZERO, psi(0.1));
        assert!(a.evaluate(&h, SystemTime::UNIX_EPOCH).is_empty());
        h.push(Duration::from_secs(1), psi(0.3));
        let fired = a.evaluate(&h, SystemTime::UNIX_EPOCH);
        assert_eq!(fired.len(), 1);
        assert_eq!(
            (fired[0].labels["alertname"].as_str(), fired[0].status),
            ("Drift", "firing")
        );
        assert_eq!((gauge("Drift"), gauge("Slow")), (1, 0));
        h.push(Duration::from_secs(2), psi(0.05));
        let resolved = a.evaluate(&h, SystemTime::UNIX_EPOCH);
        assert_eq!(resolved[0].status, "resolved");
        assert_eq!(gauge("Drift"), 0);
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap();
        assert!(
            text.contains("glassbox_alert_firing{alert=\"Slow\"} 0"),
            "{text}"
        );
    }
}
