//! The training pipeline end to end on tiny generated data and a tiny random model:
//! train (loss falls), kill with SIGKILL and resume to the same weights, export fp32 and
//! int8, predict, eval (reproducing the manifest), cross-validate, and fail clearly on NaN
//! and malformed data.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::{Backend, Tensor};
use glassbox_model::bundle::{sha256_hex, Manifest, FORMAT_VERSION};
use glassbox_model::{BertConfig, GlassboxConfig};
use serde_json::Value;

fn glassbox(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glassbox"));
    c.current_dir(common::root()).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("glassbox runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "glassbox failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("train")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SENTENCE_LABELS: [&str; 2] = ["neg", "pos"];
const TYPES: [&str; 2] = ["person", "geo-loc"];

/// A 2-layer, hidden-64 random model with the real MiniLM tokenizer, as a bundle whose
/// heads match the tiny tasks.
fn tiny_base(dir: &Path) {
    tiny_base_with(dir, 0.1)
}

fn tiny_base_with(dir: &Path, dropout: f64) {
    let bert = BertConfig::new(30522, 64, 2, 4, 128, 64, 2)
        .with_hidden_dropout_prob(dropout)
        .with_attention_probs_dropout_prob(dropout);
    let mut tags = vec!["O".to_string()];
    for t in TYPES {
        tags.push(format!("B-{t}"));
        tags.push(format!("I-{t}"));
    }
    let config = GlassboxConfig::new(
        bert,
        SENTENCE_LABELS.iter().map(|s| s.to_string()).collect(),
        tags,
    )
    .with_head_dropout(dropout);
    let device = Default::default();
    Flex::seed(&device, 1);
    let weights = config.init::<Flex>(&device).to_burnpack().unwrap();
    let tokenizer = std::fs::read(common::minilm_dir().join("tokenizer.json")).unwrap();
    let mut files = BTreeMap::new();
    files.insert("model.bpk".to_string(), sha256_hex(&weights));
    files.insert("tokenizer.json".to_string(), sha256_hex(&tokenizer));
    let m = Manifest {
        format_version: FORMAT_VERSION,
        name: "tiny".into(),
        version: "0".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        base_checkpoint: "random".into(),
        config,
        max_seq_len: 64,
        quantization: "none".into(),
        heads_trained: false,
        files,
        metrics: vec![],
        data: vec![],
        training: None,
    };
    std::fs::write(dir.join("model.bpk"), weights).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer).unwrap();
    std::fs::write(dir.join("manifest.json"), m.to_json()).unwrap();
}

/// Sentences whose label is given away by one word, and tweets whose entities are names and
/// cities from short lists: learnable in a few steps.
fn tiny_data(dir: &Path) {
    let good = ["great", "lovely", "happy", "wonderful"];
    let bad = ["awful", "terrible", "sad", "horrible"];
    let things = ["day", "movie", "flight", "meal", "song", "game"];
    let mut csv = String::from("text,label\n");
    for i in 0..48 {
        let (w, l) = if i % 2 == 0 {
            (good[i / 2 % 4], "pos")
        } else {
            (bad[i / 2 % 4], "neg")
        };
        csv.push_str(&format!("\"{w} {}\",{l}\n", things[i % 6]));
    }
    std::fs::write(dir.join("mood.csv"), csv).unwrap();
    let people = [("alice", "smith"), ("bob", "jones"), ("carol", "white")];
    let cities = ["paris", "london", "berlin", "madrid"];
    let mut conll = String::new();
    for i in 0..40 {
        let (f, l) = people[i % 3];
        let c = cities[i % 4];
        let rows: Vec<(&str, &str)> = if i % 5 == 0 {
            vec![("nothing", "O"), ("to", "O"), ("see", "O"), ("here", "O")]
        } else {
            vec![
                (f, "B-person"),
                (l, "I-person"),
                ("flew", "O"),
                ("to", "O"),
                (c, "B-geo-loc"),
                ("today", "O"),
            ]
        };
        for (t, tag) in rows {
            conll.push_str(&format!("{t}\t{tag}\n"));
        }
        conll.push('\n');
    }
    std::fs::write(dir.join("ents.conll"), conll).unwrap();
}

fn config(dir: &Path, base: &Path, extra: &str) -> PathBuf {
    let text = format!(
        r#"
seed = 7
base_model = "{base}"
max_seq_len = 32
[split]
dev = 0.2
test = 0.2
[[tasks]]
name = "mood"
kind = "sentence"
file = "{dir}/mood.csv"
labels = ["neg", "pos"]
[[tasks]]
name = "ents"
kind = "token"
file = "{dir}/ents.conll"
labels = ["person", "geo-loc"]
[train]
steps = 24
batch_size = 8
lr = 1e-2
warmup_ratio = 0.1
eval_every = 12
checkpoint_every = 4
patience = 0
sampling = "round_robin"
{extra}
"#,
        base = base.display(),
        dir = dir.display()
    );
    let p = dir.join(format!(
        "config-{}.toml",
        sha256_hex(extra.as_bytes()).get(..8).unwrap()
    ));
    std::fs::write(&p, text).unwrap();
    p
}

fn setup(name: &str) -> (PathBuf, PathBuf) {
    let dir = tmp(name);
    let base = dir.join("base");
    std::fs::create_dir_all(&base).unwrap();
    tiny_base(&base);
    tiny_data(&dir);
    let cfg = config(&dir, &base, "");
    (dir, cfg)
}

fn metrics(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn losses(run: &Path, task: &str) -> Vec<f64> {
    metrics(run)
        .iter()
        .filter(|v| v["task"] == task)
        .map(|v| v["loss"].as_f64().unwrap())
        .collect()
}

/// Every weight of a run's final model, in parameter order (Burnpack files also hold random
/// parameter ids, so their bytes differ between identical runs).
fn weights(run: &Path) -> Vec<f32> {
    weights_of(run, &run.join("final.bpk"))
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

/// The weights in `bpk`, read with the model config of `run`.
fn weights_of(run: &Path, bpk: &Path) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor<Flex> for Collect {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<Flex, D>>) {
            self.0.extend(p.val().into_data().to_vec::<f32>().unwrap());
        }
    }
    let cfg: GlassboxConfig =
        serde_json::from_slice(&std::fs::read(run.join("model_config.json")).unwrap()).unwrap();
    let model = cfg
        .init::<Flex>(&Default::default())
        .load_burnpack(std::fs::read(bpk).unwrap())
        .unwrap();
    let mut c = Collect(vec![]);
    model.visit(&mut c);
    c.0
}

#[test]
fn train_kill_resume_export_predict_eval() {
    let (dir, cfg) = setup("pipeline");
    let c = cfg.display().to_string();
    let run_a = dir.join("run-a");
    ok(&glassbox(
        &[
            "train",
            "--config",
            &c,
            "--out",
            &run_a.display().to_string(),
        ],
        &[],
    ));

    // Loss falls on both tasks.
    for task in ["mood", "ents"] {
        let l = losses(&run_a, task);
        assert_eq!(l.len(), 12, "round robin gives each task half of 24 steps");
        let first: f64 = l[..3].iter().sum::<f64>() / 3.0;
        let last: f64 = l[9..].iter().sum::<f64>() / 3.0;
        assert!(last < first * 0.8, "{task} loss did not fall: {l:?}");
    }
    for f in [
        "config.toml",
        "data_report.json",
        "splits.json",
        "final.bpk",
        "best/model.bpk",
        "train_summary.json",
        "plot_loss.png",
        "plot_loss.svg",
        "plot_lr.svg",
        "plot_dev.png",
    ] {
        assert!(run_a.join(f).is_file(), "{f} missing from the run folder");
    }
    let report: Value =
        serde_json::from_slice(&std::fs::read(run_a.join("data_report.json")).unwrap()).unwrap();
    let counts = &report[0]["counts"];
    let total: u64 = ["train", "dev", "test"]
        .iter()
        .flat_map(|s| counts[s].as_object().unwrap().values())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 48, "every example lands in exactly one split");
    assert_eq!(
        counts["test"]["pos"], 5,
        "stratified: 20% of 24 positives, rounded"
    );

    // A second run killed with SIGKILL mid-way and resumed ends with the same weights.
    let run_b = dir.join("run-b");
    let rb = run_b.display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args(["train", "--config", &c, "--out", &rb])
        .env("GLASSBOX_STEP_DELAY_MS", "250")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let state = std::fs::read(run_b.join("checkpoint/state.json")).ok();
        let step = state
            .and_then(|s| serde_json::from_slice::<Value>(&s).ok())
            .and_then(|v| v["step"].as_u64())
            .unwrap_or(0);
        if step >= 12 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "run finished before it could be killed"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no checkpoint appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "the run was killed, not finished");
    assert!(!run_b.join("final.bpk").exists());
    let resumed = glassbox(&["train", "--out", &rb, "--resume"], &[]);
    ok(&resumed);
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("resuming"));
    let (wa, wb) = (weights(&run_a), weights(&run_b));
    assert_eq!(wa.len(), wb.len());
    let differ = wa.iter().zip(&wb).filter(|(a, b)| a != b).count();
    assert_eq!(
        differ,
        0,
        "resumed run ends with {differ} of {} weights different",
        wa.len()
    );
    assert_eq!(losses(&run_a, "mood"), losses(&run_b, "mood"));
    assert_eq!(losses(&run_a, "ents"), losses(&run_b, "ents"));
    // A new run into an existing folder is refused rather than overwriting it.
    let again = glassbox(&["train", "--config", &c, "--out", &rb], &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));

    // Export fp32 and int8; the manifest carries test metrics; int8 is smaller.
    let ra = run_a.display().to_string();
    let b32 = dir.join("bundle-fp32");
    let b8 = dir.join("bundle-int8");
    ok(&glassbox(
        &["export", "--run", &ra, "--out", &b32.display().to_string()],
        &[],
    ));
    ok(&glassbox(
        &[
            "export",
            "--run",
            &ra,
            "--quantize",
            "int8",
            "--out",
            &b8.display().to_string(),
        ],
        &[],
    ));
    let size = |d: &Path| std::fs::metadata(d.join("model.bpk")).unwrap().len();
    assert!(
        size(&b8) * 2 < size(&b32),
        "int8 {} vs fp32 {}",
        size(&b8),
        size(&b32)
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(b32.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["heads_trained"], true);
    assert!(manifest["files"]["MODEL_CARD.md"].is_string());
    let card = std::fs::read_to_string(b32.join("MODEL_CARD.md")).unwrap();
    assert!(card.contains("## Intended use") && card.contains("## Limitations"));
    let manifest_f1 = manifest["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["task"] == "mood" && m["name"] == "macro_f1")
        .expect("sentence macro-F1 in the manifest");
    assert_eq!(manifest_f1["split"], "test");
    // The int8 bundle records its float weights' scores: those of the fp32 bundle.
    let m8: Value =
        serde_json::from_slice(&std::fs::read(b8.join("manifest.json")).unwrap()).unwrap();
    let fp32 = &m8["training"]["fp32"];
    assert_eq!(fp32["weights_bytes"].as_u64(), Some(size(&b32)));
    assert_eq!(fp32["quantized_bytes"].as_u64(), Some(size(&b8)));
    let values = |metrics: &Value| -> Vec<(String, String, f64)> {
        metrics
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let s = |k: &str| m[k].as_str().unwrap().to_string();
                (s("task"), s("name"), m["value"].as_f64().unwrap())
            })
            .collect()
    };
    assert_eq!(values(&fp32["test"]), values(&manifest["metrics"]));
    assert!(
        manifest["training"]["fp32"].is_null(),
        "fp32 is its own reference"
    );
    let card8 = std::fs::read_to_string(b8.join("MODEL_CARD.md")).unwrap();
    let f1_8 = m8["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["task"] == "mood" && m["name"] == "macro_f1")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    let f1_32 = manifest_f1["value"].as_f64().unwrap();
    let row = format!(
        "| mood | macro_f1 | {:.1} | {:.1} | {:+.2} |",
        f1_32 * 100.0,
        f1_8 * 100.0,
        (f1_8 - f1_32) * 100.0
    );
    assert!(card8.contains(&row), "{row} missing from the int8 card");

    // eval --bundle reproduces the manifest's number.
    let b32s = b32.display().to_string();
    let scores: Value = serde_json::from_str(&ok(&glassbox(
        &["eval", "--bundle", &b32s, "--split", "test", "--json"],
        &[],
    )))
    .unwrap();
    let mood = scores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["task"] == "mood")
        .unwrap();
    assert_eq!(
        mood["classification"]["macro_avg"]["f1"],
        manifest_f1["value"]
    );
    let ents = scores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["task"] == "ents")
        .unwrap();
    assert!(
        ents["spans"]["micro"]["f1"].as_f64().unwrap() > 0.0,
        "entities learned"
    );

    // eval --run writes the error analysis and charts.
    let ev = dir.join("eval");
    ok(&glassbox(
        &[
            "eval",
            "--run",
            &ra,
            "--split",
            "dev",
            "--out",
            &ev.display().to_string(),
        ],
        &[],
    ));
    for f in [
        "scores.json",
        "errors.jsonl",
        "errors_summary.md",
        "confusion_mood.png",
        "confusion_ents.svg",
        "f1_per_type_ents.png",
    ] {
        assert!(ev.join(f).is_file(), "{f} missing from eval output");
    }

    // predict: offsets index the original text, distributions sum to one.
    let text = "alice smith flew to paris, what a great day";
    let p: Value = serde_json::from_str(&ok(&glassbox(
        &["predict", "--bundle", &b32s, "--json", text],
        &[],
    )))
    .unwrap();
    let r = &p[0];
    assert_eq!(r["text"], text);
    let probs: f64 = r["sentence"]["probs"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((probs - 1.0).abs() < 1e-4);
    assert!(SENTENCE_LABELS.contains(&r["sentence"]["label"].as_str().unwrap()));
    let chars: Vec<char> = text.chars().collect();
    // Every entity's `text` is the characters start..end of the input.
    let spans_index_text = |r: &Value| {
        for e in r["entities"].as_array().unwrap() {
            let (s, t) = (
                e["start"].as_u64().unwrap() as usize,
                e["end"].as_u64().unwrap() as usize,
            );
            assert_eq!(
                e["text"].as_str().unwrap(),
                chars[s..t].iter().collect::<String>()
            );
        }
    };
    spans_index_text(r);
    let pieces: Vec<&str> = r["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["piece"].as_str().unwrap())
        .collect();
    assert_eq!(pieces[..3], ["alice", "smith", "flew"]);
    // Word aggregation: `first` is the default; every mode yields spans that index the text.
    let with = |agg: &str| -> Value {
        serde_json::from_str(&ok(&glassbox(
            &[
                "predict",
                "--bundle",
                &b32s,
                "--json",
                "--aggregate",
                agg,
                text,
            ],
            &[],
        )))
        .unwrap()
    };
    assert_eq!(with("first"), p);
    for agg in ["mean", "max"] {
        let q = with(agg);
        assert_eq!(
            q[0]["tokens"], r["tokens"],
            "pieces do not depend on aggregation"
        );
        spans_index_text(&q[0]);
    }

    // A corrupted bundle is refused by hash.
    let mut card = std::fs::read(b8.join("MODEL_CARD.md")).unwrap();
    card.push(b'!');
    std::fs::write(b8.join("MODEL_CARD.md"), card).unwrap();
    let refused = glassbox(
        &[
            "predict",
            "--bundle",
            &b8.display().to_string(),
            "--json",
            text,
        ],
        &[],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("MODEL_CARD.md"));
}

/// Test-split scores of a run, from `glassbox eval --json`, by task.
fn test_scores(run: &Path) -> BTreeMap<String, Value> {
    let v: Value = serde_json::from_str(&ok(&glassbox(
        &[
            "eval",
            "--run",
            &run.display().to_string(),
            "--split",
            "test",
            "--json",
        ],
        &[],
    )))
    .unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| (s["task"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

#[test]
fn single_task_comparison_matches_independent_runs() {
    let (dir, cfg) = setup("single");
    let train = |cfg: &Path, out: &Path| {
        ok(&glassbox(
            &[
                "train",
                "--config",
                &cfg.display().to_string(),
                "--out",
                &out.display().to_string(),
            ],
            &[],
        ))
    };
    let run = dir.join("run");
    train(&cfg, &run);
    let table = ok(&glassbox(
        &["single-task", "--run", &run.display().to_string()],
        &[],
    ));
    assert!(table.contains("| mood | macro_f1 |"), "{table}");
    assert!(table.contains("| ents | span_micro_f1 |"), "{table}");
    let cmp: Value =
        serde_json::from_slice(&std::fs::read(run.join("single_task.json")).unwrap()).unwrap();
    let row = |task: &str, metric: &str| -> Value {
        cmp["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["task"] == task && r["metric"] == metric)
            .unwrap_or_else(|| panic!("no {task} {metric} row in {cmp}"))
            .clone()
    };

    // The multi-task column is the run itself, scored on test by `glassbox eval`.
    let multi = test_scores(&run);
    let mood = row("mood", "macro_f1");
    assert_eq!(
        mood["multi_task"],
        multi["mood"]["classification"]["macro_avg"]["f1"]
    );
    assert_eq!(
        row("ents", "span_micro_f1")["multi_task"],
        multi["ents"]["spans"]["micro"]["f1"]
    );

    // The single-task column equals a run trained by hand from the same config with the other
    // task deleted: same seed, splits and budget, nothing else changed.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let (head, rest) = text.split_once("[[tasks]]\nname = \"ents\"").unwrap();
    let mood_only_cfg = dir.join("mood-only.toml");
    std::fs::write(
        &mood_only_cfg,
        format!("{head}{}", &rest[rest.find("[train]").unwrap()..]),
    )
    .unwrap();
    let mood_only = dir.join("mood-only");
    train(&mood_only_cfg, &mood_only);
    let alone = test_scores(&mood_only);
    assert!(!alone.contains_key("ents"));
    assert_eq!(
        mood["single_task"],
        alone["mood"]["classification"]["macro_avg"]["f1"]
    );
    let d = mood["difference"].as_f64().unwrap();
    let (a, b) = (
        mood["multi_task"].as_f64().unwrap(),
        mood["single_task"].as_f64().unwrap(),
    );
    assert!((d - (a - b)).abs() < 1e-12);
    assert!(run.join("single_task.png").is_file() && run.join("single-task/ents/best").is_dir());

    // Rerunning trains nothing new and gives the same table; a single-task run is refused.
    let again = ok(&glassbox(
        &["single-task", "--run", &run.display().to_string()],
        &[],
    ));
    assert_eq!(again, table);
    let refused = glassbox(
        &["single-task", "--run", &mood_only.display().to_string()],
        &[],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("trains a single task"));
}

#[test]
fn data_parallel_replicas_train_the_full_batch_gradient() {
    // Without dropout, two replicas that each see half of every batch must follow the same
    // trajectory as one device seeing it whole: the shard losses are weighted by their share
    // of the batch's normaliser, so the summed gradient is the full-batch gradient.
    let dir = tmp("parallel");
    let base = dir.join("base");
    std::fs::create_dir_all(&base).unwrap();
    tiny_base_with(&base, 0.0);
    tiny_data(&dir);
    // DWA exercises the per-task weights on the parallel path too.
    let cfg = config(&dir, &base, "balance = \"dwa\"\ndwa_window = 4");
    let c = cfg.display().to_string();
    let train = |name: &str, devices: &str| {
        let out = dir.join(name);
        let o = glassbox(
            &[
                "train",
                "--config",
                &c,
                "--out",
                &out.display().to_string(),
                "--devices",
                devices,
            ],
            &[],
        );
        (out, o)
    };
    let (one, o) = train("one", "0");
    ok(&o);
    let (two, o) = train("two", "0,0");
    ok(&o);
    // Step by step, the loss and the gradient norm agree to float rounding (1e-8 relative at
    // the first step). Token shards hold different numbers of labelled wordpieces, so a plain
    // mean of shard means drifts from the full-batch loss (by step 7 here, 5e-3 relative).
    let (m1, m2) = (metrics(&one), metrics(&two));
    let steps = |m: &[Value]| {
        m.iter()
            .filter(|v| v.get("loss").is_some())
            .cloned()
            .collect::<Vec<_>>()
    };
    let (s1, s2) = (steps(&m1), steps(&m2));
    assert_eq!(s1.len(), 24);
    assert_eq!(s1.len(), s2.len());
    for (x, y) in s1.iter().zip(&s2) {
        assert_eq!(x["task"], y["task"]);
        for k in ["loss", "grad_norm", "weight"] {
            let (p, q) = (x[k].as_f64().unwrap(), y[k].as_f64().unwrap());
            assert!(
                (p - q).abs() <= 1e-5 * p.abs().max(1e-3),
                "step {}: {k} {p} (one device) vs {q} (two replicas)",
                x["step"]
            );
        }
    }
    // Weights: Adam divides by the root of tiny second moments for near-idle parameters, so
    // rounding grows there; the drift must stay far below how far training moved them.
    let (a, b) = (weights(&one), weights(&two));
    assert_eq!(a.len(), b.len());
    let diff = max_abs_diff(&a, &b);
    let moved = max_abs_diff(&a, &weights_of(&one, &base.join("model.bpk")));
    assert!(
        diff < 0.01 * moved,
        "replicas drifted by {diff}, training moved weights by {moved}"
    );

    // A device the backend does not have, and options that cannot be split, are refused.
    let (_, o) = train("bad-device", "0,3");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("one device (0), not 3"));
    let mix = config(&dir, &base, "mixup_alpha = 0.4");
    let o = glassbox(
        &[
            "train",
            "--config",
            &mix.display().to_string(),
            "--out",
            &dir.join("mix").display().to_string(),
            "--devices",
            "0,0",
        ],
        &[],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("train it on one device"));
}

#[test]
fn cross_validation_folds_cover_train_and_dev() {
    let (dir, cfg) = setup("cv");
    let out = dir.join("cv");
    let stdout = ok(&glassbox(
        &[
            "cv",
            "--config",
            &cfg.display().to_string(),
            "--folds",
            "3",
            "--out",
            &out.display().to_string(),
        ],
        &[],
    ));
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let f1 = &summary["mood"]["macro_f1"];
    assert_eq!(f1["values"].as_array().unwrap().len(), 3);
    let (lo, hi, mean) = (
        f1["ci95"][0].as_f64().unwrap(),
        f1["ci95"][1].as_f64().unwrap(),
        f1["mean"].as_f64().unwrap(),
    );
    assert!(lo <= mean && mean <= hi);
    let cv: Value = serde_json::from_slice(&std::fs::read(out.join("cv.json")).unwrap()).unwrap();
    // 48 sentences, 20% test → 38 pooled (24·0.8 rounded per class) → 13 + 13 + 12.
    let sizes: Vec<u64> = cv["fold_sizes"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 38);
    assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
    assert!(out.join("cv_spread.png").is_file() && out.join("fold-2/final.bpk").is_file());
    // Folds are disjoint: no example is held out twice.
    let mut held: Vec<u64> = vec![];
    for f in 0..3 {
        let s: Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("fold-{f}/splits.json"))).unwrap(),
        )
        .unwrap();
        held.extend(
            s[0]["dev"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap()),
        );
    }
    let n = held.len();
    held.sort_unstable();
    held.dedup();
    assert_eq!(held.len(), n);

    // The same CV one fold per call (as separate processes or machines would run it) gives
    // the same summary; the call without --fold only summarises.
    let split = dir.join("cv-split");
    let cv_args = |extra: &[&str]| {
        let mut args = vec![
            "cv".to_string(),
            "--config".into(),
            cfg.display().to_string(),
            "--folds".into(),
            "3".into(),
            "--out".into(),
            split.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let run = |extra: &[&str]| {
        let args = cv_args(extra);
        glassbox(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    };
    let bad = run(&["--fold", "3"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("the folds are 0 to 2"));
    for f in ["2", "0"] {
        let out = run(&["--fold", f]);
        ok(&out);
        assert!(
            !split.join("cv.json").exists(),
            "no summary before every fold is done"
        );
        assert!(split.join(format!("fold-{f}/train_summary.json")).is_file());
    }
    assert!(
        !split.join("fold-1").exists(),
        "--fold trains that fold only"
    );
    let rest = run(&[]);
    let rest_log = String::from_utf8_lossy(&rest.stderr).to_string();
    let again: Value = serde_json::from_str(&ok(&rest)).unwrap();
    assert!(rest_log.contains("fold 2/3"));
    assert!(!rest_log.contains("fold 1/3") && !rest_log.contains("fold 3/3"));
    assert_eq!(again, summary, "fold-by-fold CV differs from the one-go CV");
}

#[test]
fn nan_loss_stops_with_step_and_task_and_bad_data_names_the_line() {
    let (dir, base_cfg) = setup("failures");
    let base = dir.join("base");
    let cfg = config(&dir, &base, "clip_norm = 0.0").display().to_string();
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("lr = 1e-2", "lr = 1e30");
    std::fs::write(&cfg, text).unwrap();
    let out = glassbox(
        &[
            "train",
            "--config",
            &cfg,
            "--out",
            &dir.join("nan").display().to_string(),
        ],
        &[],
    );
    assert!(!out.status.success(), "a 1e30 learning rate must blow up");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("step ") && (err.contains("\"mood\"") || err.contains("\"ents\"")),
        "{err}"
    );
    assert!(err.contains("checkpoint"), "{err}");

    std::fs::write(dir.join("ents.conll"), "alice\tB-person\nsmith\n").unwrap();
    let out = glassbox(
        &[
            "train",
            "--config",
            &base_cfg.display().to_string(),
            "--out",
            &dir.join("bad").display().to_string(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ents.conll:2"), "{err}");
    assert!(
        !dir.join("bad/config.toml").exists(),
        "a failed start leaves no half-made run"
    );
}

#[test]
fn ablation_runs_every_method_and_tabulates_seeds() {
    let (dir, cfg) = setup("ablate");
    let file = dir.join("ablate.toml");
    std::fs::write(
        &file,
        format!(
            r#"
base = "{cfg}"
seeds = [1, 2]
[budget]
"train.steps" = 12
"train.checkpoint_every" = 6
[[variants]]
name = "default"
[[variants]]
name = "uncertainty"
set = {{ "train.balance" = "uncertainty" }}
[[variants]]
name = "dwa"
set = {{ "train.balance" = "dwa", "train.dwa_window" = 2 }}
[[variants]]
name = "gradnorm"
set = {{ "train.balance" = "gradnorm" }}
[[variants]]
name = "pcgrad"
set = {{ "train.balance" = "pcgrad" }}
[[variants]]
name = "eda mixup llrd cosine unfreeze"
set = {{ "augment.tasks" = ["mood", "ents"], "train.mixup_alpha" = 0.4, "train.layer_decay" = 0.8, "train.schedule" = "cosine", "train.unfreeze_every" = 3, "tasks.ents.head_lr_factor" = 3.0 }}
[[variants]]
name = "mood only"
drop_tasks = ["ents"]
"#,
            cfg = cfg.display()
        ),
    )
    .unwrap();
    let out = dir.join("ablation");
    let ablate = |extra: &[&str]| {
        let (f, o) = (file.display().to_string(), out.display().to_string());
        let mut args = vec!["ablate", "--config", &f, "--out", &o];
        args.extend(extra);
        glassbox(&args, &[])
    };
    let nothing = ablate(&["--report-only"]);
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no finished ablation runs"));
    let table = ok(&ablate(&[]));
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("ablation.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    for r in rows {
        assert_eq!(r["score"]["values"].as_array().unwrap().len(), 2, "{r}");
    }
    assert!(rows[6]["delta"].is_null() && rows[6]["metrics"].get("ents").is_none());
    assert!(table.contains("| mood only |") && out.join("ablation.png").is_file());
    let run = |v: &str, s: u32| out.join(v).join(format!("seed-{s}"));

    // Uncertainty: the log-variances are trained, so the effective weights leave 1.
    let w: Vec<f64> = metrics(&run("uncertainty", 1))
        .iter()
        .filter_map(|v| v["weight"].as_f64())
        .collect();
    assert_eq!(w[0], 1.0);
    assert!(w[2..].iter().all(|&x| (x - 1.0).abs() > 1e-4), "{w:?}");
    // Joint methods train both tasks at every step.
    for v in ["gradnorm", "pcgrad"] {
        let m = metrics(&run(v, 1));
        for step in 0..12 {
            let tasks: Vec<&str> = m
                .iter()
                .filter(|x| x["step"] == step && x.get("loss").is_some())
                .map(|x| x["task"].as_str().unwrap())
                .collect();
            assert_eq!(tasks, ["mood", "ents"], "{v} step {step}");
        }
    }
    // GradNorm weights move and keep summing to the number of tasks.
    let gw: Vec<f64> = metrics(&run("gradnorm", 1))
        .iter()
        .filter(|x| x["step"] == 11 && x.get("weight").is_some())
        .map(|x| x["weight"].as_f64().unwrap())
        .collect();
    assert!(
        (gw.iter().sum::<f64>() - 2.0).abs() < 1e-6 && (gw[0] - 1.0).abs() > 1e-3,
        "{gw:?}"
    );
    // EDA adds training examples only: dev and test are those of the plain run.
    let aug = run("eda-mixup-llrd-cosine-unfreeze", 1);
    let report: Value =
        serde_json::from_slice(&std::fs::read(aug.join("augment.json")).unwrap()).unwrap();
    let splits = |r: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(r.join("splits.json")).unwrap()).unwrap()
    };
    let (plain, augmented) = (splits(&run("default", 1)), splits(&aug));
    for t in 0..2 {
        let added = report[t]["added"].as_u64().unwrap() as usize;
        assert!(added > 0, "{report}");
        assert_eq!(plain[t]["dev"], augmented[t]["dev"]);
        assert_eq!(plain[t]["test"], augmented[t]["test"]);
        assert_eq!(
            augmented[t]["train"].as_array().unwrap().len(),
            plain[t]["train"].as_array().unwrap().len() + added
        );
    }
    // A second invocation finds every run finished and only rewrites the table.
    assert_eq!(ok(&ablate(&[])), table);
    assert_eq!(ok(&ablate(&["--report-only"])), table);
}
