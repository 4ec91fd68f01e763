//! Alerts as an operator meets them: the real `glassbox serve` with a rules file, a webhook
//! receiver that is a bare TCP listener in this test, and `glassbox alerts` checked against the
//! server's real `/metrics` and Prometheus' own `promtool`.

/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../tests/common/mod.rs"]
mod common;
mod serve_client;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serve_client::{bundle, free_port, Server};

/// The drift gauges the server's drift monitor exports (rules may name them before a drift
/// window has filled and the series appear in `/metrics`).
const DRIFT_GAUGES: &[&str] = &[
    "glassbox_drift_class_psi",
    "glassbox_drift_confidence_ks",
    "glassbox_drift_confidence_ks_p_value",
    "glassbox_drift_embedding_mmd",
    "glassbox_drift_embedding_p_value",
    "glassbox_drift_window_size",
];

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-alerts-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What these tests read from a server besides the shared client's calls.
trait AlertsView {
    fn alerts(&self) -> Value;
    fn rule(&self, name: &str) -> Value;
    fn wait_state(&self, name: &str, state: &str, within: Duration) -> Value;
}

impl AlertsView for Server {
    fn alerts(&self) -> Value {
        let r = self.get("/alerts");
        assert_eq!(r.status, 200, "GET /alerts: {}", r.body);
        r.json()
    }

    /// One rule's entry in `GET /alerts`.
    fn rule(&self, name: &str) -> Value {
        let all = self.alerts();
        let rules = all["rules"].as_array().unwrap();
        let found = rules.iter().find(|r| r["name"] == name);
        found
            .unwrap_or_else(|| panic!("{name} not in {all}"))
            .clone()
    }

    /// Polls `GET /alerts` until `name` is in `state`.
    fn wait_state(&self, name: &str, state: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let rule = self.rule(name);
            if rule["state"] == state {
                return rule;
            }
            assert!(
                Instant::now() < deadline,
                "{name} never became {state}: {rule}\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A webhook receiver: answers 200 to every request and passes each JSON body on.
struct Hook {
    url: String,
    bodies: Receiver<Value>,
}

fn hook() -> Hook {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, bodies) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let body = answer(stream.unwrap());
            if tx
                .send(serde_json::from_str(&body).expect("the webhook body is JSON"))
                .is_err()
            {
                return;
            }
        }
    });
    Hook { url, bodies }
}

/// Reads one HTTP/1.1 POST (content-length framed) and answers 200; returns the body.
fn answer(mut stream: TcpStream) -> String {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let (mut request_line, mut length) = (String::new(), None);
    reader.read_line(&mut request_line).unwrap();
    assert!(request_line.starts_with("POST /hook "), "{request_line}");
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.trim().parse::<usize>().unwrap());
        }
    }
    let mut body = vec![0; length.expect("the webhook POST has a content-length")];
    reader.read_exact(&mut body).unwrap();
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .unwrap();
    String::from_utf8(body).unwrap()
}

/// `glassbox ARGS`: (success, stdout, stderr).
fn glassbox(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args(args)
        .output()
        .expect("glassbox runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Rules that must and must not fire within seconds of a few /predict calls.
const QUICK_RULES: &str = "rules:
  - name: AnyPredictLatency
    expr: {latency_quantile_above: {route: /predict, threshold_ms: 0, window: 3s}}
    for: 0s
    summary: 'p99 of /predict is {{ $value }} s'
  - name: MinuteLongPredict
    expr: {latency_quantile_above: {route: /predict, threshold_ms: 60000, window: 1m}}
    summary: never
  - name: AnyServerError
    expr: {status_share_above: {status: 5xx, threshold: 0, window: 1m}}
    severity: critical
    summary: never
";

fn quick_rules(dir: &Path) -> String {
    let path = dir.join("rules.yml");
    std::fs::write(&path, QUICK_RULES).unwrap();
    path.display().to_string()
}

fn predict(s: &Server, n: usize) {
    for i in 0..n {
        let body = json!({"inputs": format!("Alert test number {i}: the service is fine today")});
        assert_eq!(s.post("/predict", &body).status, 200);
    }
}

#[test]
fn the_webhook_hears_the_rule_that_fires_and_resolves_and_nothing_else() {
    let (dir, hook) = (scratch("webhook"), hook());
    let rules = quick_rules(&dir);
    let flags = [
        "--alert-rules",
        &rules,
        "--alert-webhook",
        &hook.url,
        "--alert-interval-secs",
        "1",
    ];
    let s = Server::start(&flags);
    assert_eq!(s.rule("AnyPredictLatency")["state"], "inactive");
    // A bad input is a 4xx: the 5xx rule must stay quiet.
    assert_eq!(s.post("/predict", &json!({"inputs": []})).status, 422);
    predict(&s, 3);

    let fired = hook
        .bodies
        .recv_timeout(Duration::from_secs(30))
        .expect("a firing notification");
    assert_eq!(
        (&fired["version"], &fired["status"]),
        (&json!("4"), &json!("firing"))
    );
    let alerts = fired["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "only the quick rule fires: {fired}");
    let a = &alerts[0];
    assert_eq!(
        a["labels"],
        json!({"alertname": "AnyPredictLatency", "severity": "warning", "service": "glassbox"})
    );
    let summary = a["annotations"]["summary"].as_str().unwrap();
    let p99: f64 = summary
        .strip_prefix("p99 of /predict is ")
        .unwrap()
        .trim_end_matches(" s")
        .parse()
        .unwrap();
    assert!(p99 > 0.0 && p99 <= 30.0, "{summary}");
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");

    let state = s.rule("AnyPredictLatency");
    assert!(
        state["state"] == "firing" || state["state"] == "inactive",
        "{state}"
    );
    let slow = s.rule("MinuteLongPredict");
    assert_eq!(slow["state"], "inactive", "{slow}");
    assert!(slow["value"].as_f64().unwrap() < 60.0, "{slow}");
    let errors = s.rule("AnyServerError");
    assert_eq!(
        (&errors["state"], errors["value"].as_f64()),
        (&json!("inactive"), Some(0.0))
    );
    assert_eq!(
        s.metric_opt("glassbox_alert_firing{alert=\"MinuteLongPredict\"}"),
        Some(0.0)
    );

    // Three seconds without /predict: no data in the window, so the alert resolves.
    let resolved = hook
        .bodies
        .recv_timeout(Duration::from_secs(30))
        .expect("a resolved notification");
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(
        resolved["alerts"][0]["labels"]["alertname"],
        "AnyPredictLatency"
    );
    assert_ne!(resolved["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(
        s.metric_opt("glassbox_alert_firing{alert=\"AnyPredictLatency\"}"),
        Some(0.0)
    );
    assert!(
        hook.bodies.recv_timeout(Duration::from_secs(3)).is_err(),
        "no other notification"
    );
    let log = s.log();
    let transitions: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("glassbox::alerts") && l.contains("AnyPredictLatency"))
        .collect();
    assert_eq!(
        transitions.len(),
        2,
        "one warning when firing, one when resolved:\n{log}"
    );
    assert!(
        transitions.iter().all(|l| l.contains("WARN")),
        "{transitions:?}"
    );
}

#[test]
fn the_firing_gauge_and_alerts_route_follow_the_rule() {
    let dir = scratch("gauge");
    let rules = quick_rules(&dir);
    let s = Server::start(&["--alert-rules", &rules, "--alert-interval-secs", "1"]);
    assert_eq!(
        s.metric_opt("glassbox_alert_firing{alert=\"AnyPredictLatency\"}"),
        Some(0.0)
    );
    predict(&s, 2);
    let firing = s.wait_state("AnyPredictLatency", "firing", Duration::from_secs(20));
    assert!(firing["value"].as_f64().unwrap() > 0.0, "{firing}");
    assert!(
        firing["promql"]
            .as_str()
            .unwrap()
            .starts_with("histogram_quantile(0.99, "),
        "{firing}"
    );
    // The gauge may already have dropped back if the window emptied between the two reads.
    let gauge = s.metric_opt("glassbox_alert_firing{alert=\"AnyPredictLatency\"}");
    let now = s.rule("AnyPredictLatency")["state"].clone();
    assert!(
        gauge == Some(1.0) || now == "inactive",
        "{gauge:?} while {now}"
    );
}

#[test]
fn a_failing_webhook_is_logged_and_the_server_keeps_serving() {
    let dir = scratch("deadhook");
    let rules = quick_rules(&dir);
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let flags = [
        "--alert-rules",
        &rules,
        "--alert-webhook",
        &dead,
        "--alert-interval-secs",
        "1",
    ];
    let s = Server::start(&flags);
    predict(&s, 2);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !s.log().contains("alert webhook failed") {
        assert!(
            Instant::now() < deadline,
            "no webhook failure logged:\n{}",
            s.log()
        );
        thread::sleep(Duration::from_millis(200));
    }
    predict(&s, 1);
    assert_eq!(s.get("/health").status, 200);
    let mut s = s;
    assert!(s.is_running(), "the server is still running");
}

#[test]
fn a_malformed_rules_file_is_refused_with_its_file_and_line() {
    let dir = scratch("bad");
    let bad = dir.join("bad.yml");
    std::fs::write(
        &bad,
        QUICK_RULES.replace("threshold_ms: 60000", "threshold_msec: 60000"),
    )
    .unwrap();
    let bad = bad.display().to_string();
    let out = dir.join("out.yml").display().to_string();
    let (ok, _, err) = glassbox(&["alerts", "--rules", &bad, "--out", &out]);
    assert!(
        !ok && err.contains(&format!("{bad}:7:")) && err.contains("threshold_msec"),
        "{err}"
    );
    let port = free_port().to_string();
    let b = bundle().display().to_string();
    let serve = [
        "serve",
        "--bundle",
        &b,
        "--port",
        &port,
        "--alert-rules",
        &bad,
    ];
    let (ok, _, err) = glassbox(&serve);
    assert!(
        !ok && err.contains(&format!("{bad}:7:")),
        "serve must refuse it: {err}"
    );
    let good = quick_rules(&dir);
    let https = [
        "serve",
        "--bundle",
        &b,
        "--port",
        &port,
        "--alert-rules",
        &good,
        "--alert-webhook",
        "https://example.com/x",
    ];
    let (ok, _, err) = glassbox(&https);
    assert!(!ok && err.contains("only http://"), "{err}");
}

/// Every `glassbox_…` name in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("glassbox_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

/// The sample names `/metrics` prints (`_bucket`, `_sum`, `_count` included).
fn exported_names(text: &str) -> Vec<String> {
    let names = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    names
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect()
}

#[test]
fn prometheus_rules_name_only_metrics_the_server_exports_and_promtool_accepts_them() {
    let dir = scratch("promrules");
    let out = dir.join("rules.yml");
    let out_s = out.display().to_string();
    let (ok, stdout, err) = glassbox(&["alerts", "--rules", "configs/alerts.yml", "--out", &out_s]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("wrote 6 Prometheus alerting rules"),
        "{stdout}"
    );

    let written: Value = serde_norway::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let source: Value = serde_norway::from_str(
        &std::fs::read_to_string(common::root().join("configs/alerts.yml")).unwrap(),
    )
    .unwrap();
    let (groups, src) = (
        written["groups"].as_array().unwrap(),
        source["rules"].as_array().unwrap(),
    );
    assert_eq!(groups.len(), 1);
    let rules = groups[0]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), src.len());
    for (r, s) in rules.iter().zip(src) {
        assert_eq!(r["alert"], s["name"]);
        assert_eq!(
            (&r["for"], &r["labels"]["severity"]),
            (&s["for"], &s["severity"]),
            "{r}"
        );
        assert_eq!(r["annotations"]["summary"], s["summary"]);
    }

    let s = Server::start(&["--alert-rules", "configs/alerts.yml"]);
    predict(&s, 1);
    let exported = exported_names(&s.get("/metrics").body);
    for r in rules {
        let expr = r["expr"].as_str().unwrap();
        let names = metric_names(expr);
        assert!(!names.is_empty(), "{expr}");
        for name in names {
            let known = exported.contains(&name) || DRIFT_GAUGES.contains(&name.as_str());
            assert!(
                known,
                "{} uses {name}, which /metrics does not export",
                r["alert"]
            );
        }
    }

    let promtool = Command::new("promtool")
        .args(["check", "rules", &out_s])
        .output();
    let promtool = promtool.expect(
        "promtool is installed (Debian package `prometheus`; scripts/setup.sh installs it)",
    );
    let said = String::from_utf8_lossy(&promtool.stdout).into_owned()
        + &String::from_utf8_lossy(&promtool.stderr);
    assert!(promtool.status.success(), "promtool check rules: {said}");
    assert!(said.contains("SUCCESS: 6 rules found"), "{said}");
}

/// The same hand-built numbers as the evaluator's unit tests (`alerts::eval`), as series
/// Prometheus scrapes once a minute: each rule pair has one that must fire on them and one
/// that must not.
const PROMTOOL_RULES: &str = "rules:
  - {name: ShareFires, expr: {status_share_above: {status: 5xx, threshold: 0.04}}, summary: s}
  - {name: ShareQuiet, expr: {status_share_above: {status: 5xx, threshold: 0.06}}, summary: s}
  - {name: RateFires, expr: {status_rate_above: {status: '429', threshold_per_second: 0.1}}, summary: s}
  - {name: RateQuiet, expr: {status_rate_above: {status: '429', threshold_per_second: 0.3}}, summary: s}
  - {name: P99Fires, expr: {latency_quantile_above: {threshold_ms: 96}}, summary: s}
  - {name: P99Quiet, expr: {latency_quantile_above: {threshold_ms: 98}}, summary: s}
  - {name: ConfidenceFires, expr: {mean_confidence_below: {reference: 0.9, max_drop: 0.2}}, summary: s}
  - {name: ConfidenceQuiet, expr: {mean_confidence_below: {reference: 0.7, max_drop: 0.2}}, summary: s}
";

/// Per minute: /predict 200 ×90, 503 ×6, /health 200 ×24, /embed 429 ×12 (5xx share
/// 6/108 without the probe /health, 429s 0.2/s); /predict latency 10, 40, 10 in (0, 10 ms], (10, 50], (50, 100]
/// (p99 97 ms); confidences summing to 30 over 50 answers (mean 0.6).
const PROMTOOL_SERIES: &str = "
      - {series: 'glassbox_requests_total{route=\"/predict\",status=\"200\"}', values: '0+90x10'}
      - {series: 'glassbox_requests_total{route=\"/predict\",status=\"503\"}', values: '0+6x10'}
      - {series: 'glassbox_requests_total{route=\"/health\",status=\"200\"}', values: '0+24x10'}
      - {series: 'glassbox_requests_total{route=\"/embed\",status=\"429\"}', values: '0+12x10'}
      - {series: 'glassbox_request_duration_seconds_bucket{route=\"/predict\",le=\"0.01\"}', values: '0+10x10'}
      - {series: 'glassbox_request_duration_seconds_bucket{route=\"/predict\",le=\"0.05\"}', values: '0+50x10'}
      - {series: 'glassbox_request_duration_seconds_bucket{route=\"/predict\",le=\"0.1\"}', values: '0+60x10'}
      - {series: 'glassbox_request_duration_seconds_bucket{route=\"/predict\",le=\"+Inf\"}', values: '0+60x10'}
      - {series: 'glassbox_confidence_sum', values: '0+30x10'}
      - {series: 'glassbox_confidence_count', values: '0+50x10'}";

#[test]
fn prometheus_fires_the_written_rules_on_the_numbers_the_evaluator_is_tested_on() {
    let dir = scratch("promtest");
    std::fs::write(dir.join("source.yml"), PROMTOOL_RULES).unwrap();
    let (src, out) = (dir.join("source.yml"), dir.join("rules.yml"));
    let (src, out_s) = (src.display().to_string(), out.display().to_string());
    let (ok, _, err) = glassbox(&["alerts", "--rules", &src, "--out", &out_s]);
    assert!(ok, "{err}");
    let written: Value = serde_norway::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let mut cases = String::new();
    for rule in written["groups"][0]["rules"].as_array().unwrap() {
        let name = rule["alert"].as_str().unwrap();
        let expected = if name.ends_with("Fires") {
            let labels = serde_json::to_string(&rule["labels"]).unwrap();
            let notes = serde_json::to_string(&rule["annotations"]).unwrap();
            format!("[{{exp_labels: {labels}, exp_annotations: {notes}}}]")
        } else {
            "[]".to_string()
        };
        cases += &format!("      - {{eval_time: 5m, alertname: {name}, exp_alerts: {expected}}}\n");
    }
    let test = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:{PROMTOOL_SERIES}\n    alert_rule_test:\n{cases}"
    );
    std::fs::write(dir.join("test.yml"), &test).unwrap();
    let run = Command::new("promtool")
        .current_dir(&dir)
        .args(["test", "rules", "test.yml"])
        .output()
        .expect(
            "promtool is installed (Debian package `prometheus`; scripts/setup.sh installs it)",
        );
    let said =
        String::from_utf8_lossy(&run.stdout).into_owned() + &String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "promtool test rules:\n{said}\n{test}");
    assert!(said.contains("SUCCESS"), "{said}");
}
