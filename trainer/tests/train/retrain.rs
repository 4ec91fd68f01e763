//! `glassbox retrain` end to end on the tiny model: new files ledgered, validated (a bad file
//! rejected with its line, the others used) and de-duplicated; a challenger trained from the
//! champion, killed with SIGKILL mid-training and resumed; registered, gated and promoted when
//! the gate passes, kept out when it fails; a second run on the same data does nothing.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::common;
use crate::fixtures::{glassbox, kill_when, ok, setup};

/// The objects of a JSONL file.
fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn history(reg: &Path) -> Vec<Value> {
    jsonl(&reg.join("history.jsonl"))
}

fn ledger(work: &Path) -> Vec<Value> {
    jsonl(&work.join("ledger.jsonl"))
}

fn alias(reg: &Path, name: &str) -> String {
    let index: Value =
        serde_json::from_slice(&std::fs::read(reg.join("index.json")).unwrap()).unwrap();
    index["aliases"][name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A trained champion, exported and promoted in a fresh registry; returns (dir, registry).
fn champion(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (dir, cfg) = setup(name);
    let (run, bundle, reg) = (dir.join("run"), dir.join("v1"), dir.join("reg"));
    let s = |p: &Path| p.display().to_string();
    ok(&glassbox(
        &["train", "--config", &s(&cfg), "--out", &s(&run)],
        &[],
    ));
    ok(&glassbox(
        &["export", "--run", &s(&run), "--out", &s(&bundle)],
        &[],
    ));
    ok(&glassbox(
        &[
            "registry",
            "--registry",
            &s(&reg),
            "register",
            &s(&bundle),
            "--alias",
            "champion",
        ],
        &[],
    ));
    (dir, reg)
}

fn rules(dir: &Path, min_improvement: f64) -> String {
    let p = dir.join(format!("rules-{min_improvement}.toml"));
    let text = format!(
        "require_mcnemar = false\nresamples = 200\n[macro_f1]\nmin_improvement = {min_improvement}\nmax_regression = 1.0\n[span_f1]\nmin_improvement = {min_improvement}\nmax_regression = 1.0\n"
    );
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn retrain_ledgers_gates_promotes_resumes_and_is_idempotent() {
    let (dir, reg) = champion("retrain");
    let data = dir.join("incoming");
    std::fs::create_dir_all(&data).unwrap();
    // 4 new sentences and 2 already in the champion's data; 2 new tweets; one bad file.
    std::fs::write(data.join("a.csv"), "text,label\n\"joyful morning\",pos\n\"grim morning\",neg\n\"great day\",pos\n\"joyful evening\",pos\n\"awful movie\",neg\n\"dreadful evening\",neg\n").unwrap();
    std::fs::write(data.join("b.conll"), "dave\tB-person\nflew\tO\nto\tO\nrome\tB-geo-loc\n\nerin\tB-person\nlikes\tO\noslo\tB-geo-loc\n\n").unwrap();
    std::fs::write(
        data.join("bad.csv"),
        "text,label\n\"fine\",pos\n\"meh\",meh\n",
    )
    .unwrap();
    let (r, d) = (reg.display().to_string(), data.display().to_string());
    let pass = rules(&dir, -1.0);
    let args = [
        "retrain",
        "--registry",
        &r,
        "--data",
        &d,
        "--rules",
        &pass,
        "--steps",
        "24",
        "--gate-limit",
        "8",
    ];

    // Killed mid-training, then resumed to the end.
    let work = reg.join("retrain");
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args(args)
        .env("GLASSBOX_STEP_DELAY_MS", "250")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_when(&mut child, || {
        work.join("runs/b0001/checkpoint/state.json").is_file()
    });
    child.wait().unwrap();
    let resumed = glassbox(&args, &[]);
    let out = ok(&resumed);
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(err.contains("resuming batch b0001"), "{err}");
    assert!(out.contains("passed the gate"), "{out}");

    // The ledger: both good files accepted with their duplicates counted; the bad one
    // rejected with file and line.
    let l = ledger(&work);
    assert_eq!(l.len(), 3, "{l:?}");
    let by = |f: &str| {
        l.iter()
            .find(|e| e["file"].as_str().unwrap().ends_with(f))
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            by("a.csv")["kept"].as_u64(),
            by("a.csv")["duplicates"].as_u64()
        ),
        (Some(4), Some(2))
    );
    assert_eq!(by("b.conll")["kept"].as_u64(), Some(2));
    assert_eq!(by("bad.csv")["status"], "rejected");
    assert!(
        by("bad.csv")["error"]
            .as_str()
            .unwrap()
            .contains("bad.csv:3"),
        "{:?}",
        by("bad.csv")
    );
    // The challenger trained on the champion's split plus the new items, from its weights.
    let cfg = std::fs::read_to_string(work.join("runs/b0001/config.toml")).unwrap();
    assert!(
        cfg.contains("extra_train") && cfg.contains("batches/b0001/mood.csv"),
        "{cfg}"
    );
    assert!(
        cfg.contains(&format!("{}/bundles/", reg.display())),
        "fine-tuned from the champion: {cfg}"
    );
    // Registered, gated, promoted.
    assert_eq!(alias(&reg, "champion"), "1.1.0");
    let ops: Vec<String> = history(&reg)
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["op"].as_str().unwrap(),
                e["alias"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            "register ",
            "promote champion",
            "register ",
            "promote challenger",
            "promote champion"
        ]
    );
    let gate: Value =
        serde_json::from_slice(&std::fs::read(work.join("gates/b0001/gate.json")).unwrap())
            .unwrap();
    assert_eq!(gate["passed"], true);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(work.join("bundles/b0001/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["lineage"]["parent_version"], "1.0.0");

    // The same data again: nothing happens.
    let again = ok(&glassbox(&args, &[]));
    assert!(again.contains("nothing new"), "{again}");
    assert_eq!(history(&reg).len(), 5);
    assert_eq!(ledger(&work).len(), 3);
    // --watch polls the same loop (bounded here).
    let mut watch = args.to_vec();
    watch.extend(["--watch", "--interval-secs", "0", "--max-polls", "2"]);
    let polled = ok(&glassbox(&watch, &[]));
    assert_eq!(polled.matches("nothing new").count(), 2, "{polled}");

    // New data and a gate the challenger cannot pass: registered as challenger, not promoted.
    std::fs::write(
        data.join("c.csv"),
        "text,label\n\"marvellous lunch\",pos\n\"miserable lunch\",neg\n",
    )
    .unwrap();
    let strict = rules(&dir, 0.5);
    let out = ok(&glassbox(
        &[
            "retrain",
            "--registry",
            &r,
            "--data",
            &d,
            "--rules",
            &strict,
            "--steps",
            "4",
            "--gate-limit",
            "8",
        ],
        &[],
    ));
    assert!(out.contains("did not pass"), "{out}");
    assert_eq!(alias(&reg, "champion"), "1.1.0");
    assert_eq!(alias(&reg, "challenger"), "1.2.0");
    let gate: Value =
        serde_json::from_slice(&std::fs::read(work.join("gates/b0002/gate.json")).unwrap())
            .unwrap();
    assert_eq!(gate["passed"], false);
    assert!(
        std::fs::read_to_string(work.join("gates/b0002/gate.md"))
            .unwrap()
            .len()
            > 100
    );
}

#[test]
fn retrain_without_a_champion_says_what_to_do() {
    let (dir, _) = setup("retrain-empty");
    let reg = dir.join("reg");
    let s = reg.display().to_string();
    // An empty registry: create it by registering nothing is impossible, so point at a folder.
    let out = glassbox(
        &[
            "retrain",
            "--registry",
            &s,
            "--data",
            &dir.display().to_string(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("not a glassbox registry"), "{e}");
}
