//! `glassbox serve` with a challenger: the A/B split follows the weight and sticks to a
//! client (checked against SHA-256 computed here), answers name their arm and version, shadow
//! mode answers with the champion and logs the challenger, `/feedback` records true labels,
//! and `glassbox ab-report` counts what the log holds.

#[path = "../../tests/common/mod.rs"]
mod common;
mod serve_client;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serve_client::{bundle, Server};
use sha2::{Digest, Sha256};

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("serve-ab-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The committed bundle re-labelled as version 1.1.0: a challenger with its own manifest hash.
fn challenger(dir: &Path) -> PathBuf {
    let out = dir.join("challenger");
    std::fs::create_dir_all(&out).unwrap();
    for e in std::fs::read_dir(bundle()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), out.join(e.file_name())).unwrap();
    }
    let mut m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    m["version"] = json!("1.1.0");
    std::fs::write(out.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    out
}

/// The arm the server must pick: SHA-256(seed as 8 little-endian bytes ‖ key), top 53 bits of
/// the first 8 bytes as a fraction, below the weight → challenger.
fn expected_arm(seed: u64, key: &str, weight: f64) -> &'static str {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(key.as_bytes());
    let d = h.finalize();
    let u = (u64::from_be_bytes(d[..8].try_into().unwrap()) >> 11) as f64 / 2f64.powi(53);
    if u < weight {
        "challenger"
    } else {
        "champion"
    }
}

fn log_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn ab_split_is_sticky_logged_and_reported() {
    let dir = scratch("split");
    let (chall, log) = (challenger(&dir), dir.join("ab.jsonl"));
    let (c, l) = (chall.display().to_string(), log.display().to_string());
    let server = Server::start(&[
        "--ab-weight",
        "0.5",
        "--ab-seed",
        "7",
        "--ab-challenger",
        &c,
        "--ab-log",
        &l,
    ]);
    let champion_version = server.get("/info").json()["model_version"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    let mut judged = vec![];
    for i in 0..24 {
        let client = format!("client-{i}");
        let want = expected_arm(7, &client, 0.5);
        for _ in 0..2 {
            let r = server.post_with(
                "/predict",
                &json!({"inputs": format!("what a day number {i}")}),
                &[("x-client-id", &client)],
            );
            assert_eq!(r.status, 200, "{}", r.body);
            assert_eq!(r.header("x-glassbox-arm"), Some(want), "client {client}");
            let version = if want == "challenger" {
                "1.1.0"
            } else {
                champion_version.as_str()
            };
            assert_eq!(r.header("x-glassbox-model-version"), Some(version));
            *tally.entry(want).or_default() += 1;
            let label = r.json()[0]["sentence"]["label"]
                .as_str()
                .unwrap()
                .to_string();
            judged.push((r.header("x-request-id").unwrap().to_string(), want, label));
        }
    }
    assert!(tally.len() == 2, "both arms served: {tally:?}");
    // Feedback: the true label is the predicted one for even requests, another for odd ones.
    let labels: Vec<String> =
        serde_json::from_value(server.get("/info").json()["sentence_labels"].clone()).unwrap();
    let mut correct = std::collections::BTreeMap::<&str, usize>::new();
    for (k, (id, arm, predicted)) in judged.iter().enumerate() {
        let truth = if k % 2 == 0 {
            predicted.clone()
        } else {
            labels.iter().find(|l| *l != predicted).unwrap().clone()
        };
        *correct.entry(arm).or_default() += usize::from(&truth == predicted);
        let r = server.post("/feedback", &json!({"request_id": id, "label": truth}));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let bad = server.post("/feedback", &json!({"request_id": "x", "label": "great"}));
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("not one of the model's classes"));
    assert_eq!(
        server.metric("glassbox_feedback_total"),
        judged.len() as f64
    );
    assert_eq!(
        server.metric("glassbox_ab_inputs_total{arm=\"challenger\"}"),
        tally["challenger"] as f64
    );

    let lines = log_lines(&log);
    assert_eq!(
        lines.iter().filter(|e| e["kind"] == "prediction").count(),
        48
    );
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["ab-report", "--log", &l, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    for arm in report["arms"].as_array().unwrap() {
        let name = arm["arm"].as_str().unwrap();
        assert_eq!(
            arm["predictions"].as_u64().unwrap() as usize,
            tally[name],
            "{name}"
        );
        assert_eq!(
            arm["correct"].as_u64().unwrap() as usize,
            correct[name],
            "{name}"
        );
    }
    assert_eq!(report["comparison"]["design"], "ab");
    assert!(report["comparison"]["p_value"].as_f64().is_some());
}

#[test]
fn shadow_answers_with_the_champion_and_logs_the_challenger() {
    let dir = scratch("shadow");
    let (chall, log) = (challenger(&dir), dir.join("ab.jsonl"));
    let (c, l) = (chall.display().to_string(), log.display().to_string());
    let server = Server::start(&["--shadow", "--ab-challenger", &c, "--ab-log", &l]);
    let r = server.post_with(
        "/predict",
        &json!({"inputs": ["I love it", "I hate it"]}),
        &[("x-client-id", "k")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-glassbox-arm"), Some("champion"));
    let id = r.header("x-request-id").unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines = log_lines(&log);
        let shadow: Vec<&Value> = lines
            .iter()
            .filter(|e| e["arm"] == "shadow" && e["request_id"] == id.as_str())
            .collect();
        if shadow.len() == 2 {
            assert!(shadow.iter().all(|e| e["model_version"] == "1.1.0"));
            // Same weights, same answers: the shadow agrees with the champion on both inputs.
            let champ: Vec<&Value> = lines.iter().filter(|e| e["arm"] == "champion").collect();
            assert_eq!(champ.len(), 2);
            for (a, b) in champ.iter().zip(&shadow) {
                assert_eq!(a["label"], b["label"]);
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no shadow answers logged: {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn feedback_without_a_log_and_bad_flags_are_refused() {
    let server = Server::start(&[]);
    let r = server.post(
        "/feedback",
        &json!({"request_id": "x", "label": "positive"}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args([
            "serve",
            "--bundle",
            &bundle().display().to_string(),
            "--ab-weight",
            "0.3",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--ab-challenger"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_log_without_a_challenger_records_the_one_arm_and_feedback() {
    let dir = scratch("one-arm");
    let log = dir.join("ab.jsonl");
    let server = Server::start(&["--ab-log", log.to_str().unwrap()]);
    let r = server.post("/predict", &json!({"inputs": "I love it"}));
    assert_eq!(
        (r.status, r.header("x-glassbox-arm")),
        (200, Some("champion"))
    );
    let id = r.header("x-request-id").unwrap().to_string();
    let fb = server.post("/feedback", &json!({"request_id": id, "label": "positive"}));
    assert_eq!(fb.status, 202, "{}", fb.body);
    let kinds: Vec<Value> = log_lines(&log).iter().map(|e| e["kind"].clone()).collect();
    assert_eq!(kinds, [json!("prediction"), json!("feedback")]);
}
