//! Runs a numpy/scipy reference script of `tests/reference/` on JSON cases (stdin) and reads
//! its JSON answer (stdout), for the unit tests that check statistics against an independent
//! implementation. Python comes from the project's `.venv` when it exists, else `python3`; a
//! missing package is a failure, not a skip.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    let venv = root().join(".venv/bin/python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// The answer of `tests/reference/<script>` to `cases`.
pub fn run(script: &str, cases: &Value) -> Value {
    let script = root().join("tests/reference").join(script);
    let mut child = Command::new(python())
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python().display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cases.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} failed (pip install -r tests/reference/requirements.txt): {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
