//! `glassbox predict`/`embed` on real files: texts from `--input FILE` or stdin, one per line
//! or JSONL; bad lines answered as error items in place (exit status 2) while every other
//! item is answered exactly as the same text given as an argument; `--format` variants; and
//! a 10,000-line input that streams.

mod cli_runner;
/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../tests/common/mod.rs"]
mod common;
/// The tiny random bundle the training tests use (fast enough for 10,000 lines).
#[allow(dead_code)]
#[path = "train/fixtures.rs"]
mod fixtures;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cli_runner::glassbox;
use serde_json::Value;

/// `glassbox ARGS` with `stdin` as its standard input. A command that exits before reading
/// it (a usage error) closes the pipe: that write error is the command's answer, not the
/// test's failure, so only the exit status and output are checked.
fn glassbox_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("glassbox runs");
    match child.stdin.take().unwrap().write_all(stdin) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        written => written.unwrap(),
    }
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn jsonl(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "glassbox failed: {}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

/// The committed default bundle (real MiniLM encoder, trained heads).
fn bundle() -> String {
    let dir = common::root().join("public/models/default");
    assert!(
        dir.join("manifest.json").is_file(),
        "{} missing",
        dir.display()
    );
    dir.display().to_string()
}

fn tmp(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli_input");
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

/// Equal JSON, numbers within 1e-5 (the same text in a different batch may move in the last
/// float bits), keys compared exactly.
fn assert_close(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-5, "{at}: {x} vs {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths differ");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_close(x, y, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(x), keys(y), "{at}: keys differ");
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

/// Checks an error item: its line, and a message naming `file:line` and saying `what`.
fn assert_error(v: &Value, file: &str, line: usize, what: &str) {
    assert_eq!(v["line"], line, "{v}");
    let e = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {v}"));
    assert!(e.starts_with(&format!("{file}:{line}: ")), "{e}");
    assert!(e.contains(what), "{e} should say {what:?}");
    assert!(
        v.get("sentence").is_none(),
        "an error item has no answer: {v}"
    );
}

const GOOD: [&str; 3] = [
    "Justin Bieber played Madison Square Garden",
    "-leading dash is a text, not a flag",
    "what a lovely day in Paris",
];

#[test]
fn a_file_with_bad_lines_answers_every_good_line_like_the_arguments() {
    let path = tmp("mixed.txt");
    let mut bytes = Vec::new();
    for line in [GOOD[0], "", GOOD[1], "  \t ", "bad \u{1}"] {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(b"caf\xe9 latin-1\r\n");
    bytes.extend_from_slice(GOOD[2].as_bytes()); // last line without a newline
    std::fs::write(&path, &bytes).unwrap();
    let p = path.display().to_string();
    let b = bundle();
    let out = glassbox(&[
        "predict", "--bundle", &b, "--input", &p, "--format", "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let items = jsonl(&out);
    assert_eq!(items.len(), 7, "one output line per input line");
    assert_error(&items[1], &p, 2, "empty");
    assert_error(&items[3], &p, 4, "empty");
    assert_error(&items[5], &p, 6, "not valid UTF-8");
    // "bad \u{1}" has a word, so it is answered.
    assert_eq!(items[4]["text"], "bad \u{1}");
    let mut args = vec!["predict", "--bundle", &b, "--format", "json", "--"];
    args.extend(GOOD);
    let want = json(&glassbox(&args));
    let got: Vec<Value> = [0, 2, 6].iter().map(|&i| items[i].clone()).collect();
    assert_close(&Value::Array(got), &want, "file vs arguments");
    assert_eq!(want[1]["text"], GOOD[1], "`--` lets a text begin with `-`");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{p}:2:")) && err.contains("3 of 7 items failed"),
        "{err}"
    );
}

#[test]
fn jsonl_lines_pass_ids_through_and_bad_lines_are_items() {
    let path = tmp("texts.jsonl");
    let lines = [
        r#"{"text": "Justin Bieber played Madison Square Garden", "id": 17}"#,
        r#"{"text": "what a lovely day", "id": "b", "lang": "en"}"#,
        r#"{"text": "unterminated"#,
        r#"{"text": "", "id": 4}"#,
        r#"{"id": 5}"#,
        r#"{"text": "-dash"}"#,
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let p = path.display().to_string();
    let m = bundle();
    // `.jsonl` is detected by its extension.
    let out = glassbox(&["embed", "--model", &m, "--input", &p, "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let items = jsonl(&out);
    assert_eq!(items.len(), 6);
    assert_eq!(items[0]["id"], 17);
    assert_eq!(items[1]["id"], serde_json::json!({"id": "b", "lang": "en"}));
    assert_error(&items[2], &p, 3, "malformed JSON");
    assert_error(&items[3], &p, 4, "empty");
    assert_eq!(items[3]["id"], 4, "an error item keeps its id");
    assert_error(&items[4], &p, 5, "no `text` field");
    assert!(items[5].get("id").is_none());
    let want = json(&glassbox(&[
        "embed",
        "--model",
        &m,
        "--format",
        "json",
        "--",
        "Justin Bieber played Madison Square Garden",
        "what a lovely day",
        "-dash",
    ]));
    for (i, w) in [0, 1, 5].into_iter().zip(want.as_array().unwrap()) {
        let mut got = items[i].clone();
        got.as_object_mut().unwrap().remove("id");
        assert_close(&got, w, &format!("line {}", i + 1));
    }
    // The same file read as plain lines: every line is a text, all answered.
    let plain = glassbox(&[
        "embed",
        "--model",
        &m,
        "--input",
        &p,
        "--input-format",
        "lines",
        "--format",
        "jsonl",
    ]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert_eq!(jsonl(&plain)[2]["text"], lines[2]);
}

#[test]
fn stdin_input_and_every_format() {
    let b = bundle();
    let input = format!("{}\n{}\n", GOOD[0], GOOD[2]);
    let base = ["predict", "--bundle", b.as_str(), "--input", "-"];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend(extra);
        glassbox_stdin(&args, input.as_bytes())
    };
    let arr = json(&with(&["--format", "json"]));
    assert_eq!(arr.as_array().unwrap().len(), 2);
    assert_eq!(arr[1]["text"], GOOD[2]);
    assert_eq!(
        arr[0]["truncated"], false,
        "answers say `truncated` like the server's"
    );
    let lines = with(&["--format", "jsonl"]);
    assert_eq!(lines.status.code(), Some(0));
    assert_close(&Value::Array(jsonl(&lines)), &arr, "jsonl vs json");
    // Not a terminal: jsonl is the default; `--json` is still `--format json`.
    assert_close(
        &Value::Array(jsonl(&with(&[]))),
        &arr,
        "default off a terminal",
    );
    assert_close(&json(&with(&["--json"])), &arr, "--json alias");
    let table = with(&["--format", "table"]);
    let text = String::from_utf8_lossy(&table.stdout);
    let label = arr[0]["sentence"]["label"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("[1] {}\n    class: {label} (", GOOD[0])),
        "{text}"
    );
    assert!(text.contains(&format!("[2] {}", GOOD[2])), "{text}");
    // Conflicting flags are a usage error: exit 1, not the "some items failed" 2.
    assert_eq!(
        with(&["--json", "--format", "jsonl"]).status.code(),
        Some(1)
    );
    let empty = glassbox_stdin(&base, b"");
    assert_eq!(empty.status.code(), Some(0), "{}", stderr(&empty));
    assert!(empty.stdout.is_empty());
}

#[test]
fn arguments_with_an_empty_text_answer_the_rest_with_status_2() {
    let b = bundle();
    let out = glassbox(&[
        "predict", "--bundle", &b, "--format", "json", GOOD[0], "", GOOD[2],
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["text"], GOOD[0]);
    assert_eq!(v[1]["line"], 2, "arguments are counted like lines");
    let e = v[1]["error"].as_str().unwrap();
    assert!(e.starts_with("text #2: ") && e.contains("empty"), "{e}");
    assert_eq!(v[2]["text"], GOOD[2]);
    let missing = glassbox(&["predict", "--bundle", "/nonexistent", "--input", "-"]);
    assert_eq!(missing.status.code(), Some(1), "a missing bundle is fatal");
    let no_file = glassbox(&["predict", "--bundle", &b, "--input", "/nonexistent.txt"]);
    assert_eq!(no_file.status.code(), Some(1));
    assert!(
        stderr(&no_file).contains("/nonexistent.txt"),
        "{}",
        stderr(&no_file)
    );
}

/// 10,000 lines on a pipe: the first answers arrive while most of the input is still unsent
/// (the writer waits for them), and every line is answered in order.
#[test]
fn ten_thousand_lines_stream() {
    let dir = fixtures::tmp("cli-stream");
    fixtures::tiny_base(&dir);
    let d = dir.display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args([
            "embed",
            "--model",
            &d,
            "--input",
            "-",
            "--format",
            "jsonl",
            "--batch-size",
            "32",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (first_seen, wait_first) = mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let line = |i: usize| format!("line {i} of the streaming test\n");
        for i in 0..1000 {
            stdin.write_all(line(i).as_bytes()).unwrap();
        }
        stdin.flush().unwrap();
        // Hold the rest back until an answer has come out.
        wait_first
            .recv_timeout(Duration::from_secs(60))
            .expect("an answer before the input ended");
        for i in 1000..10_000 {
            stdin.write_all(line(i).as_bytes()).unwrap();
        }
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let start = Instant::now();
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let v: Value = serde_json::from_str(&first).expect("first answer is a JSON line");
    assert_eq!(v["text"], "line 0 of the streaming test");
    first_seen.send(()).unwrap();
    let rest: Vec<String> = out.lines().map(Result::unwrap).collect();
    writer.join().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(rest.len(), 9_999);
    let last: Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    assert_eq!(last["text"], "line 9999 of the streaming test");
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "{:?}",
        start.elapsed()
    );
}
