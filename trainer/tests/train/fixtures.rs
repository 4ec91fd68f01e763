//! What every training test starts from: the CLI, a tiny random model with the real
//! tokenizer, tiny learnable data, a config over both, and readers for a run's outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::{Backend, Tensor};
use glassbox_model::weights::bundle::{sha256_hex, Manifest, FORMAT_VERSION};
use glassbox_model::{BertConfig, GlassboxConfig};
use serde_json::Value;

use crate::common;

pub fn glassbox(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_glassbox"));
    c.current_dir(common::root()).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("glassbox runs")
}

pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "glassbox failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits (at most 300 s) until `ready` holds while `child` still runs, then kills it with
/// SIGKILL: a run interrupted mid-way, not one that had already finished.
pub fn kill_when(child: &mut std::process::Child, ready: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !ready() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run finished before it could be killed"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(300),
            "no checkpoint appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
}

pub fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("train")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub const SENTENCE_LABELS: [&str; 2] = ["neg", "pos"];
pub const TYPES: [&str; 2] = ["person", "geo-loc"];

/// A 2-layer, hidden-64 random model with the real MiniLM tokenizer, as a bundle whose
/// heads match the tiny tasks.
pub fn tiny_base(dir: &Path) {
    tiny_base_with(dir, 0.1)
}

pub fn tiny_base_with(dir: &Path, dropout: f64) {
    let bert = BertConfig::new(30522, 64, 2, 4, 128, 64, 2)
        .with_hidden_dropout_prob(dropout)
        .with_attention_probs_dropout_prob(dropout);
    let tags = glassbox_model::text::labels::bio_tags(&TYPES);
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
        lineage: None,
    };
    std::fs::write(dir.join("model.bpk"), weights).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer).unwrap();
    std::fs::write(dir.join("manifest.json"), m.to_json()).unwrap();
}

/// Sentences whose label is given away by one word, and tweets whose entities are names and
/// cities from short lists: learnable in a few steps.
pub fn tiny_data(dir: &Path) {
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

pub fn config(dir: &Path, base: &Path, extra: &str) -> PathBuf {
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

pub fn setup(name: &str) -> (PathBuf, PathBuf) {
    let dir = tmp(name);
    let base = dir.join("base");
    std::fs::create_dir_all(&base).unwrap();
    tiny_base(&base);
    tiny_data(&dir);
    let cfg = config(&dir, &base, "");
    (dir, cfg)
}

/// [`setup`]'s folder, base and data, with dropout off so that runs are comparable step by
/// step (across devices or backends, which draw different masks); returns (dir, base).
pub fn setup_without_dropout(name: &str) -> (PathBuf, PathBuf) {
    let dir = tmp(name);
    let base = dir.join("base");
    std::fs::create_dir_all(&base).unwrap();
    tiny_base_with(&base, 0.0);
    tiny_data(&dir);
    (dir, base)
}

pub fn metrics(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn losses(run: &Path, task: &str) -> Vec<f64> {
    metrics(run)
        .iter()
        .filter(|v| v["task"] == task)
        .map(|v| v["loss"].as_f64().unwrap())
        .collect()
}

/// Every weight of a run's final model, in parameter order (Burnpack files also hold random
/// parameter ids, so their bytes differ between identical runs).
pub fn weights(run: &Path) -> Vec<f32> {
    weights_of(run, &run.join("final.bpk"))
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

/// The weights in `bpk`, read with the model config of `run`.
pub fn weights_of(run: &Path, bpk: &Path) -> Vec<f32> {
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

/// Test-split scores of a run, from `glassbox eval --json`, by task.
pub fn test_scores(run: &Path) -> BTreeMap<String, Value> {
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
