//! Faults on the CLI's writes: `glassbox export` killed with SIGKILL at points spread over its
//! run, into a fresh folder and over another bundle. Whatever the kill interrupted, the folder
//! is either a complete bundle that answers exactly as a finished export does, or one that
//! `predict` refuses with a message naming what is missing or corrupt — never a panic, never
//! the answers of a mixture.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const TEXT: &str = "Just watched the new Star Wars movie with Sarah in London!";

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("faults-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn glassbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args(args)
        .output()
        .expect("glassbox runs")
}

fn export_args(out: &Path) -> Vec<String> {
    let model = common::minilm_dir().display().to_string();
    [
        "export",
        "--model",
        &model,
        "--out",
        &out.display().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// `glassbox export` into `out`, killed after `after`.
fn killed_export(out: &Path, after: Duration) {
    common::kill_after(
        Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .current_dir(common::root())
            .args(export_args(out)),
        after,
    );
}

/// What `predict` makes of a folder: its answer, or its refusal.
fn predict(dir: &Path) -> Result<String, String> {
    let out = glassbox(&[
        "predict",
        "--format",
        "json",
        "--bundle",
        &dir.display().to_string(),
        TEXT,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "predict panicked on {}: {stderr}",
        dir.display()
    );
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(stderr)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn an_export_killed_at_any_point_leaves_a_complete_bundle_or_a_refused_one() {
    let done = scratch("complete");
    let t0 = Instant::now();
    let full = glassbox(
        &export_args(&done)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    let took = t0.elapsed();
    let want = predict(&done).expect("a finished export predicts");
    let default = common::root().join("public/models/default");
    let old = predict(&default).expect("the committed bundle predicts");
    let mut outcomes = Vec::new();
    for (k, frac) in [0.1, 0.3, 0.5, 0.7, 0.9, 1.05].into_iter().enumerate() {
        let after = took.mul_f64(frac);
        for over_another in [false, true] {
            let out = scratch(&format!("killed-{k}-{over_another}"));
            if over_another {
                copy_dir(&default, &out);
            }
            killed_export(&out, after);
            let got = predict(&out);
            match &got {
                // Complete: the new bundle, or (killed before it touched anything) the old one.
                Ok(answer) => assert!(
                    answer == &want || (over_another && answer == &old),
                    "a complete folder after a kill at {after:?} answers as one of the two bundles"
                ),
                Err(why) => assert!(
                    why.contains("manifest")
                        || why.contains("corrupt")
                        || why.contains("does not exist"),
                    "a refusal says what is wrong (kill at {after:?}, over another bundle: {over_another}): {why}"
                ),
            }
            outcomes.push((after, over_another, got.is_ok()));
            let _ = fs::remove_dir_all(&out);
        }
    }
    let _ = fs::remove_dir_all(&done);
    eprintln!("kills (after, over another bundle, complete): {outcomes:?}");
    assert!(
        outcomes.iter().any(|o| !o.2),
        "some kill landed before the manifest: {outcomes:?}"
    );
}
