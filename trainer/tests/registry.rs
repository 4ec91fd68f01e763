//! `glassbox registry` on the real binary with variants of the committed bundle: versions,
//! aliases, promotion and rollback, diff, refusal of corrupt bundles, two writers at once,
//! crash consistency under `kill -9` at every step of a change, and `serve --registry`
//! following promotions and rollbacks on reload.

#[path = "../../tests/common/mod.rs"]
mod common;
mod serve_client;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use serve_client::{bundle, Server};
use sha2::{Digest, Sha256};

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("registry-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args(args)
        .env("USER", "tester")
        .output()
        .expect("glassbox runs")
}

/// Runs `glassbox registry --registry REG ARGS`, which must succeed; returns stdout.
fn reg_ok(reg: &Path, args: &[&str]) -> String {
    let r = reg.display().to_string();
    let mut all = vec!["registry", "--registry", &r];
    all.extend(args);
    let out = glassbox(&all);
    assert!(
        out.status.success(),
        "glassbox {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs it expecting failure; returns stderr.
fn reg_err(reg: &Path, args: &[&str]) -> String {
    let r = reg.display().to_string();
    let mut all = vec!["registry", "--registry", &r];
    all.extend(args);
    let out = glassbox(&all);
    assert!(!out.status.success(), "glassbox {all:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

/// A copy of the committed bundle as model version `version`, its sentiment macro-F1 moved by
/// `delta` (only the manifest changes, so its hash — the registry address — changes too).
fn variant(dir: &Path, version: &str, delta: f64) -> PathBuf {
    let out = dir.join(format!("bundle-{version}"));
    fs::create_dir_all(&out).unwrap();
    for e in fs::read_dir(bundle()).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), out.join(e.file_name())).unwrap();
    }
    let mut m: Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    m["version"] = json!(version);
    for metric in m["metrics"].as_array_mut().unwrap() {
        if metric["name"] == "macro_f1" && metric["task"] == "sentiment" {
            metric["value"] = json!(metric["value"].as_f64().unwrap() + delta);
        }
    }
    fs::write(
        out.join("manifest.json"),
        serde_json::to_vec_pretty(&m).unwrap(),
    )
    .unwrap();
    out
}

fn sha256_file(path: &Path) -> String {
    Sha256::digest(fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn history(reg: &Path) -> Vec<Value> {
    fs::read_to_string(reg.join("history.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn alias_of(reg: &Path, alias: &str) -> Option<String> {
    let list: Value = serde_json::from_str(&reg_ok(reg, &["--json", "list"])).unwrap();
    list["aliases"][alias].as_str().map(str::to_string)
}

#[test]
fn register_promote_rollback_and_diff() {
    let dir = scratch("cycle");
    let reg = dir.join("reg");
    let (b1, b2) = (variant(&dir, "1.0.0", 0.0), variant(&dir, "1.1.0", 0.02));
    let (s1, s2) = (b1.display().to_string(), b2.display().to_string());
    reg_ok(
        &reg,
        &["--reason", "first", "register", &s1, "--alias", "champion"],
    );
    reg_ok(
        &reg,
        &[
            "--reason",
            "retrained",
            "register",
            &s2,
            "--alias",
            "challenger",
        ],
    );
    assert_eq!(alias_of(&reg, "champion").as_deref(), Some("1.0.0"));
    assert_eq!(alias_of(&reg, "challenger").as_deref(), Some("1.1.0"));
    // Stored under the manifest's own hash, byte for byte.
    let h2 = sha256_file(&b2.join("manifest.json"));
    assert_eq!(
        sha256_file(&reg.join("bundles").join(&h2).join("model.bpk")),
        sha256_file(&b2.join("model.bpk"))
    );

    reg_ok(&reg, &["--reason", "gate passed", "promote", "1.1.0"]);
    assert_eq!(alias_of(&reg, "champion").as_deref(), Some("1.1.0"));
    let out = reg_ok(
        &reg,
        &["--actor", "oncall", "--reason", "bad answers", "rollback"],
    );
    assert!(out.contains("1.1.0 → 1.0.0"), "{out}");
    assert_eq!(alias_of(&reg, "champion").as_deref(), Some("1.0.0"));
    let e = reg_err(&reg, &["rollback"]);
    assert!(e.contains("no earlier version"), "{e}");
    reg_ok(&reg, &["rollback", "--to", &h2[..10]]);
    assert_eq!(alias_of(&reg, "champion").as_deref(), Some("1.1.0"));

    // Every change is one history line, numbered, with who and why.
    let h = history(&reg);
    let ops: Vec<&str> = h.iter().map(|e| e["op"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        ["register", "promote", "register", "promote", "promote", "rollback", "rollback"]
    );
    assert!(h.iter().enumerate().all(|(i, e)| e["seq"] == json!(i + 1)));
    assert_eq!(h[5]["actor"], "oncall");
    assert_eq!(h[5]["reason"], "bad answers");
    assert_eq!(h[0]["actor"], "tester");

    // The diff's change is b − a of the two manifests.
    let d: Value =
        serde_json::from_str(&reg_ok(&reg, &["--json", "diff", "1.0.0", "1.1.0"])).unwrap();
    let row = d["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["task"] == "sentiment" && r["metric"] == "macro_f1")
        .unwrap();
    let change = row["b"].as_f64().unwrap() - row["a"].as_f64().unwrap();
    assert!((row["change"].as_f64().unwrap() - change).abs() < 1e-12);
    assert!((change - 0.02).abs() < 1e-9, "{change}");
    assert!(
        d["config"].as_array().unwrap().is_empty(),
        "same recipe: {}",
        d["config"]
    );
    let md = reg_ok(&reg, &["diff", "champion", "1.0.0"]);
    assert!(md.contains("| sentiment | macro_f1 | test |"), "{md}");

    let show: Value = serde_json::from_str(&reg_ok(&reg, &["--json", "show", "champion"])).unwrap();
    assert_eq!(show["version"]["version"], "1.1.0");
    // Registered, made challenger, promoted, rolled back from, rolled back to.
    assert_eq!(show["history"].as_array().unwrap().len(), 5, "{show}");
    assert_eq!(show["history"][3]["previous"], "1.1.0");
    assert!(reg_ok(&reg, &["check"]).contains("consistent"));
    let index: Value = serde_json::from_slice(&fs::read(reg.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["aliases"]["champion"], "1.1.0");
    assert_eq!(index["versions"][1]["path"], format!("bundles/{h2}"));
}

#[test]
fn bad_registrations_are_refused_and_store_nothing() {
    let dir = scratch("refuse");
    let reg = dir.join("reg");
    let b1 = variant(&dir, "1.0.0", 0.0);
    let s1 = b1.display().to_string();
    reg_ok(&reg, &["register", &s1]);
    // The same bundle again: nothing recorded.
    assert!(reg_ok(&reg, &["register", &s1]).contains("already registered"));
    assert_eq!(history(&reg).len(), 1);
    // Another bundle claiming a used version.
    let other = variant(&dir.join("other"), "1.0.0", 0.01);
    let e = reg_err(&reg, &["register", &other.display().to_string()]);
    assert!(e.contains("version 1.0.0 is already registered"), "{e}");
    // A corrupt bundle (one byte of the tokenizer changed) is refused by hash.
    let bad = variant(&dir.join("bad"), "2.0.0", 0.0);
    let mut tok = fs::read(bad.join("tokenizer.json")).unwrap();
    tok[10] ^= 1;
    fs::write(bad.join("tokenizer.json"), tok).unwrap();
    let e = reg_err(&reg, &["register", &bad.display().to_string()]);
    assert!(e.contains("tokenizer.json") && e.contains("corrupt"), "{e}");
    assert_eq!(history(&reg).len(), 1);
    assert_eq!(fs::read_dir(reg.join("bundles")).unwrap().count(), 1);
    // Unknown names and bad aliases.
    assert!(reg_err(&reg, &["promote", "9.9.9"]).contains("registry list"));
    assert!(reg_err(&reg, &["promote", "1.0.0", "--alias", "1st"]).contains("alias"));
    assert!(reg_err(&reg, &["promote", "1.0.0", "--alias", "v2"]).contains("reserved"));
    let e = reg_err(&dir.join("nothing-here"), &["list"]);
    assert!(e.contains("not a glassbox registry"), "{e}");
}

#[test]
fn two_writers_at_once_both_land() {
    let dir = scratch("writers");
    let reg = dir.join("reg");
    let bundles: Vec<PathBuf> = (0..4)
        .map(|i| variant(&dir, &format!("1.{i}.0"), 0.0))
        .collect();
    reg_ok(&reg, &["register", &bundles[0].display().to_string()]);
    let children: Vec<_> = bundles[1..]
        .iter()
        .map(|b| {
            Command::new(env!("CARGO_BIN_EXE_glassbox"))
                .args([
                    "registry",
                    "--registry",
                    &reg.display().to_string(),
                    "register",
                ])
                .arg(b)
                .arg("--alias")
                .arg("challenger")
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let h = history(&reg);
    assert_eq!(h.len(), 7, "4 registrations + 3 alias moves");
    assert!(h.iter().enumerate().all(|(i, e)| e["seq"] == json!(i + 1)));
    assert!(reg_ok(&reg, &["check"]).contains("consistent"));
}

/// Kills `glassbox registry ARGS` with SIGKILL after `after` (each step of a change pauses
/// 300 ms, so the kill lands between steps or inside one).
fn killed(reg: &Path, args: &[&str], after: Duration) {
    common::kill_after(
        Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args(["registry", "--registry", &reg.display().to_string()])
            .args(args)
            .env("GLASSBOX_REGISTRY_FAULT_PAUSE_MS", "300"),
        after,
    );
}

#[test]
fn a_change_killed_at_any_point_leaves_a_consistent_registry() {
    let dir = scratch("crash");
    let reg = dir.join("reg");
    let b1 = variant(&dir, "1.0.0", 0.0);
    reg_ok(
        &reg,
        &["register", &b1.display().to_string(), "--alias", "champion"],
    );
    let mut seen = String::new();
    for (i, ms) in [100u64, 250, 400, 550, 700, 850, 1000, 1150, 1300]
        .iter()
        .enumerate()
    {
        let b = variant(&dir, &format!("2.{i}.0"), 0.0);
        let s = b.display().to_string();
        killed(
            &reg,
            &["register", &s, "--alias", "champion"],
            Duration::from_millis(*ms),
        );
        // Whatever the kill interrupted, the registry checks out and still serves a champion...
        let check = reg_ok(&reg, &["check"]);
        assert!(
            check.contains("consistent"),
            "after a kill at {ms} ms: {check}"
        );
        seen.push_str(&check);
        let champion = alias_of(&reg, "champion").expect("a champion");
        assert!(
            champion == "1.0.0" || champion.starts_with("2."),
            "{champion}"
        );
        // ...and running the change again completes it exactly once.
        reg_ok(&reg, &["register", &s, "--alias", "champion"]);
        assert_eq!(alias_of(&reg, "champion"), Some(format!("2.{i}.0")));
        let registered = history(&reg)
            .iter()
            .filter(|e| e["op"] == "register" && e["version"] == format!("2.{i}.0"))
            .count();
        assert_eq!(registered, 1, "after a kill at {ms} ms");
    }
    // The kills landed in every step: mid-copy, stored but unrecorded, recorded but unindexed.
    for leftover in [
        "import killed",
        "stored but never recorded",
        "index.json was behind",
    ] {
        assert!(
            seen.contains(leftover),
            "no kill left {leftover:?}:\n{seen}"
        );
    }
    killed(&reg, &["rollback"], Duration::from_millis(80));
    assert!(reg_ok(&reg, &["check"]).contains("consistent"));
    assert!(reg_ok(&reg, &["list"]).contains("champion"));
}

#[test]
fn serve_follows_the_registry_alias_on_reload() {
    let dir = scratch("serve");
    let reg = dir.join("reg");
    let (b1, b2) = (variant(&dir, "1.0.0", 0.0), variant(&dir, "1.1.0", 0.0));
    reg_ok(
        &reg,
        &["register", &b1.display().to_string(), "--alias", "champion"],
    );
    reg_ok(&reg, &["register", &b2.display().to_string()]);
    let port = serve_client::free_port();
    let (r, p) = (reg.display().to_string(), port.to_string());
    let server = Server::spawn(&["serve", "--registry", &r, "--port", &p], port, &[]);
    let info = server.get("/info").json();
    assert_eq!(
        (
            info["model_version"].as_str(),
            info["registry_alias"].as_str()
        ),
        (Some("1.0.0"), Some("champion"))
    );
    assert_eq!(
        info["manifest_sha256"],
        sha256_file(&b1.join("manifest.json"))
    );

    reg_ok(&reg, &["promote", "1.1.0"]);
    assert_eq!(server.post("/admin/reload", &json!({})).status, 200);
    assert_eq!(server.get("/info").json()["model_version"], "1.1.0");
    reg_ok(&reg, &["rollback"]);
    server.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.get("/info").json()["model_version"] != "1.0.0" {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not reload the rolled-back champion"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let p = server.post("/predict", &json!({"inputs": "I love this!"}));
    assert_eq!(p.status, 200, "{}", p.body);
}

#[test]
fn serve_refuses_a_registry_without_the_alias() {
    let dir = scratch("serve-missing");
    let reg = dir.join("reg");
    reg_ok(
        &reg,
        &[
            "register",
            &variant(&dir, "1.0.0", 0.0).display().to_string(),
        ],
    );
    let out = glassbox(&[
        "serve",
        "--registry",
        &reg.display().to_string(),
        "--port",
        &serve_client::free_port().to_string(),
    ]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("champion"), "{e}");
}
