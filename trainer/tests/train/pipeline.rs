//! One trained run shared by the tests of what follows training: the run folder, resuming
//! after SIGKILL, export (fp32 and int8), eval, predict and the hash check. Each test checks
//! one feature; the run and the bundles are made once, on first use.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use crate::common;
use crate::fixtures::*;

/// The tiny setup trained once: its folder, config and finished run.
struct Trained {
    dir: PathBuf,
    cfg: PathBuf,
    run: PathBuf,
}

fn trained() -> &'static Trained {
    static RUN: OnceLock<Trained> = OnceLock::new();
    RUN.get_or_init(|| {
        let (dir, cfg) = setup("pipeline");
        let run = dir.join("run-a");
        ok(&glassbox(
            &[
                "train",
                "--config",
                &cfg.display().to_string(),
                "--out",
                &run.display().to_string(),
            ],
            &[],
        ));
        Trained { dir, cfg, run }
    })
}

/// The trained run exported once as fp32 and once as int8.
struct Bundles {
    fp32: PathBuf,
    int8: PathBuf,
}

fn bundles() -> &'static Bundles {
    static BUNDLES: OnceLock<Bundles> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        let t = trained();
        let ra = t.run.display().to_string();
        let b32 = t.dir.join("bundle-fp32");
        let b8 = t.dir.join("bundle-int8");
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
        Bundles {
            fp32: b32,
            int8: b8,
        }
    })
}

fn manifest(bundle: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap()
}

/// The sentence task's test macro-F1 entry of a manifest.
fn mood_f1(manifest: &Value) -> Value {
    manifest["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["task"] == "mood" && m["name"] == "macro_f1")
        .expect("sentence macro-F1 in the manifest")
        .clone()
}

const TEXT: &str = "alice smith flew to paris, what a great day";

#[test]
fn loss_falls_and_the_run_folder_is_complete() {
    let run_a = &trained().run;
    // Loss falls on both tasks.
    for task in ["mood", "ents"] {
        let l = losses(run_a, task);
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
}

#[test]
fn a_run_killed_mid_way_resumes_to_the_same_weights() {
    let t = trained();
    let (dir, run_a, c) = (&t.dir, &t.run, t.cfg.display().to_string());
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
    kill_when(&mut child, || {
        let state = std::fs::read(run_b.join("checkpoint/state.json")).ok();
        let step = state
            .and_then(|s| serde_json::from_slice::<Value>(&s).ok())
            .and_then(|v| v["step"].as_u64());
        step.unwrap_or(0) >= 12
    });
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "the run was killed, not finished");
    assert!(!run_b.join("final.bpk").exists());
    let resumed = glassbox(&["train", "--out", &rb, "--resume"], &[]);
    ok(&resumed);
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("resuming"));
    let (wa, wb) = (weights(run_a), weights(&run_b));
    assert_eq!(wa.len(), wb.len());
    let differ = wa.iter().zip(&wb).filter(|(a, b)| a != b).count();
    assert_eq!(
        differ,
        0,
        "resumed run ends with {differ} of {} weights different",
        wa.len()
    );
    assert_eq!(losses(run_a, "mood"), losses(&run_b, "mood"));
    assert_eq!(losses(run_a, "ents"), losses(&run_b, "ents"));
    // A new run into an existing folder is refused rather than overwriting it.
    let again = glassbox(&["train", "--config", &c, "--out", &rb], &[]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
}

/// Runs `script` with `sh` in a private mount namespace (root needs no user namespace; another
/// user gets one), so the tmpfs it mounts vanishes with it.
fn in_mount_namespace(script: &str, env: &[(&str, &Path)]) -> std::process::Output {
    let root = uid_is_root();
    let mut c = Command::new("unshare");
    if !root {
        c.arg("--map-root-user");
    }
    c.args(["--mount", "--propagation", "private", "sh", "-euc", script]);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("unshare (util-linux) runs")
}

fn uid_is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Training on a 64 MB tmpfs; once the first checkpoint is written the disk is filled to
/// within 1 MB, so the next checkpoint (24 MB) cannot be written. The run folder is copied
/// out, as the failure left it.
const DISK_FULL: &str = r#"
mount -t tmpfs -o size=64m glassbox-disk-full "$MNT"
GLASSBOX_STEP_DELAY_MS=250 "$BIN" train --config "$CFG" --out "$MNT/run" 2> "$OUT/stderr" &
pid=$!
until [ -f "$MNT/run/checkpoint/state.json" ]; do kill -0 "$pid"; sleep 0.02; done
avail=$(df --output=avail -B 4096 "$MNT" | tail -n 1)
dd if=/dev/zero of="$MNT/filler" bs=4096 count=$((avail - 256)) 2> /dev/null || true
status=0; wait "$pid" || status=$?
echo "$status" > "$OUT/status"
cp -a "$MNT/run" "$OUT/run"
"#;

#[test]
fn a_disk_that_fills_while_checkpointing_stops_clearly_and_resumes() {
    let t = trained();
    let out = t.dir.join("disk-full");
    let mnt = t.dir.join("disk-full-mount");
    for d in [&out, &mnt] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).unwrap();
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_glassbox"));
    let sh = in_mount_namespace(
        DISK_FULL,
        &[("BIN", &bin), ("CFG", &t.cfg), ("MNT", &mnt), ("OUT", &out)],
    );
    assert!(
        sh.status.success(),
        "the disk-full scenario could not run (mounting a tmpfs needs root or user namespaces): {}",
        String::from_utf8_lossy(&sh.stderr)
    );
    let stderr = std::fs::read_to_string(out.join("stderr")).unwrap();
    let status = std::fs::read_to_string(out.join("status")).unwrap();
    // A clear error, not a panic (101) or a kill.
    assert_eq!(status.trim(), "1", "exit status; stderr: {stderr}");
    for needle in [
        "could not save the checkpoint after",
        "the previous checkpoint is kept",
        "No space left on device",
        "glassbox train --resume --out",
    ] {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The failed write left nothing half-written behind, and the last checkpoint is whole.
    let run = out.join("run");
    assert!(
        !run.join("checkpoint.tmp").exists(),
        "half-written checkpoint left behind"
    );
    assert!(!run.join("final.bpk").exists());
    let state: Value = serde_json::from_slice(
        &std::fs::read(run.join("checkpoint/state.json")).expect("the last checkpoint is kept"),
    )
    .unwrap();
    assert!(state["step"].as_u64().unwrap() < 24);
    // With space again, resuming ends exactly where the uninterrupted run did.
    let resumed = glassbox(
        &["train", "--out", &run.display().to_string(), "--resume"],
        &[],
    );
    ok(&resumed);
    assert_eq!(weights(&t.run), weights(&run), "resumed weights differ");
    assert_eq!(losses(&t.run, "mood"), losses(&run, "mood"));
    assert_eq!(losses(&t.run, "ents"), losses(&run, "ents"));
}

#[test]
fn export_writes_int8_smaller_with_the_float_scores_on_its_card() {
    let Bundles {
        fp32: b32,
        int8: b8,
    } = bundles();
    let size = |d: &Path| std::fs::metadata(d.join("model.bpk")).unwrap().len();
    assert!(
        size(b8) * 2 < size(b32),
        "int8 {} vs fp32 {}",
        size(b8),
        size(b32)
    );
    let manifest = manifest(b32);
    assert_eq!(manifest["heads_trained"], true);
    assert!(manifest["files"]["MODEL_CARD.md"].is_string());
    let card = std::fs::read_to_string(b32.join("MODEL_CARD.md")).unwrap();
    assert!(card.contains("## Intended use") && card.contains("## Limitations"));
    let manifest_f1 = mood_f1(&manifest);
    assert_eq!(manifest_f1["split"], "test");
    // The int8 bundle records its float weights' scores: those of the fp32 bundle.
    let m8 = crate::pipeline::manifest(b8);
    let fp32 = &m8["training"]["fp32"];
    assert_eq!(fp32["weights_bytes"].as_u64(), Some(size(b32)));
    assert_eq!(fp32["quantized_bytes"].as_u64(), Some(size(b8)));
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
    let f1_8 = mood_f1(&m8)["value"].as_f64().unwrap();
    let f1_32 = manifest_f1["value"].as_f64().unwrap();
    let row = format!(
        "| mood | macro_f1 | {:.1} | {:.1} | {:+.2} |",
        f1_32 * 100.0,
        f1_8 * 100.0,
        (f1_8 - f1_32) * 100.0
    );
    assert!(card8.contains(&row), "{row} missing from the int8 card");
}

#[test]
fn eval_reproduces_the_manifest_and_writes_the_error_analysis() {
    let (t, b32) = (trained(), &bundles().fp32);
    let (dir, ra) = (&t.dir, t.run.display().to_string());
    let manifest_f1 = mood_f1(&manifest(b32));
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
}

#[test]
fn predict_offsets_index_the_text_under_every_aggregation() {
    let b32s = bundles().fp32.display().to_string();
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
}

#[test]
fn a_corrupted_bundle_is_refused_by_hash() {
    // A copy, so the other tests keep reading an intact bundle.
    let b8 = trained().dir.join("bundle-int8-corrupted");
    copy_dir(&bundles().int8, &b8);
    let text = TEXT;
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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
