//! `glassbox gate` end to end on the committed default bundle: gated against itself it is
//! not better (exit 3), the report files exist, and McNemar sees no discordant sentence.
//! Refusals: bundles with different label sets, a missing bundle, unreadable rules.

mod cli_runner;
#[path = "../../tests/common/mod.rs"]
mod common;

use std::fs;
use std::path::{Path, PathBuf};

use cli_runner::glassbox;
use serde_json::Value;

const BUNDLE: &str = "public/models/default";

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-gate-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The default bundle's recipe reads its data from assets/; missing is a failure with the fix.
fn require_assets() {
    for rel in ["assets/sentiment/tweets.csv", "assets/wnut16/train.conll"] {
        let p = common::root().join(rel);
        assert!(
            p.is_file(),
            "asset missing at {}: run `cargo run --release -p glassbox-trainer -- fetch`",
            p.display()
        );
    }
}

fn num(v: &Value, ptr: &str) -> f64 {
    v.pointer(ptr)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{ptr} missing in {v}"))
}

#[test]
fn a_bundle_gated_against_itself_is_not_promoted() {
    require_assets();
    let out = tmp("self");
    let o = out.to_str().unwrap();
    let args = [
        "gate",
        "--champion",
        BUNDLE,
        "--challenger",
        BUNDLE,
        "--rules",
        "configs/gate.toml",
        "--limit",
        "60",
        "--out",
        o,
    ];
    let run = glassbox(&args);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(3),
        "expected exit 3 (not better): {stderr}"
    );
    for f in ["gate.json", "gate.md", "gate.svg"] {
        assert!(out.join(f).is_file(), "{f} missing in {o}");
    }
    let r: Value = serde_json::from_slice(&fs::read(out.join("gate.json")).unwrap()).unwrap();
    assert_eq!(r["passed"], false);
    assert_eq!(r["items"]["sentences"], 60);
    assert_eq!(r["items"]["token_sentences"], 60);
    assert_eq!(num(&r, "/statistics/mcnemar/champion_only"), 0.0);
    assert_eq!(num(&r, "/statistics/mcnemar/challenger_only"), 0.0);
    assert_eq!(num(&r, "/statistics/mcnemar/p_value"), 1.0);
    for m in ["macro_f1", "span_f1"] {
        for end in ["point", "low", "high"] {
            assert_eq!(
                num(&r, &format!("/statistics/{m}/difference/{end}")),
                0.0,
                "{m} {end}"
            );
        }
    }
    let failed: Vec<&str> = r["decision"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["mcnemar"]);
    assert_eq!(
        r["champion"]["manifest_sha256"],
        r["challenger"]["manifest_sha256"]
    );
    assert_eq!(r["rules"]["resamples"], 2000);
    let md = fs::read_to_string(out.join("gate.md")).unwrap();
    assert!(
        md.contains("FAIL") && md.contains("not significantly better"),
        "{md}"
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("FAIL: keep the champion (mcnemar failed)"),
        "{stdout}"
    );
}

/// A copy of the default bundle whose manifest names other sentence classes.
fn relabelled_copy(dir: &Path) {
    let src = common::root().join(BUNDLE);
    for e in fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let path = dir.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    m["config"]["sentence_labels"] = serde_json::json!(["bad", "meh", "good"]);
    fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

#[test]
fn different_label_sets_are_refused() {
    let other = tmp("relabelled");
    relabelled_copy(&other);
    let out = tmp("relabelled-out");
    let run = glassbox(&[
        "gate",
        "--champion",
        BUNDLE,
        "--challenger",
        other.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sentence label sets differ"), "{stderr}");
    assert!(!out.join("gate.json").exists());
}

#[test]
fn missing_bundle_and_bad_rules_are_errors() {
    let out = tmp("errors");
    let o = out.to_str().unwrap();
    let run = glassbox(&[
        "gate",
        "--champion",
        BUNDLE,
        "--challenger",
        "no/such/bundle",
        "--out",
        o,
    ]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("challenger") && stderr.contains("no/such/bundle"),
        "{stderr}"
    );
    let rules = out.join("rules.toml");
    fs::write(&rules, "alpha = 2.0\n").unwrap();
    let run = glassbox(&[
        "gate",
        "--champion",
        BUNDLE,
        "--challenger",
        BUNDLE,
        "--rules",
        rules.to_str().unwrap(),
        "--out",
        o,
    ]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("alpha must be in (0, 1)"), "{stderr}");
}
