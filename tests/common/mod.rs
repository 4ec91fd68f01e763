//! Shared by the integration tests: where the real assets are, and the sentences that
//! exercise the awkward corners of tokenisation.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs `cmd` (output discarded) and kills it with SIGKILL after `after`: a crash at that
/// point, for the tests that check what a killed command leaves behind.
pub fn kill_after(cmd: &mut Command, after: Duration) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the command starts");
    std::thread::sleep(after);
    let _ = child.kill();
    let _ = child.wait();
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The real base model. Missing assets fail the test loudly: `scripts/test.sh` fetches them.
pub fn minilm_dir() -> PathBuf {
    let dir = root().join("assets/all-MiniLM-L6-v2");
    assert!(
        dir.join("model.safetensors").is_file(),
        "real assets missing at {}: run `cargo run -p glassbox-trainer -- fetch` (scripts/test.sh does)",
        dir.display()
    );
    dir
}

/// A ~300-word paragraph made of varied real sentences (longer than the 256-wordpiece cap,
/// so truncation is exercised too).
pub fn long_paragraph() -> String {
    let sentences = [
        "The committee met on Tuesday to discuss the budget for next year's science festival.",
        "Several members argued that the outreach program had grown too quickly, while others insisted it was finally reaching schools that had never hosted a visiting scientist.",
        "After two hours of debate, they agreed to fund twelve new workshops, including one on how language models read text.",
        "Volunteers from the university will run the sessions, and local libraries have offered their rooms free of charge.",
        "Parents can register online from the first of March; places are limited, so early sign-up is recommended.",
        "Organisers hope to publish the results of a short survey, asking children what surprised them most, before the summer holidays.",
    ];
    let mut words = 0;
    let mut out = String::new();
    let mut i = 0;
    while words < 300 {
        let s = sentences[i % sentences.len()];
        words += s.split_whitespace().count();
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(s);
        i += 1;
    }
    out
}

pub fn parity_sentences() -> Vec<String> {
    vec![
        "A man is eating food.".into(),
        "A man is eating a piece of bread.".into(),
        "Wait... what?! No way -- that's (honestly) the best thing I've seen; 100% agree!!!".into(),
        "Just landed in NYC 🎉🔥 can't wait to see @taylorswift13 tonight! #blessed 😍".into(),
        "Café crème à Zürich: naïve façade, São Paulo, Ångström, coöperate.".into(),
        long_paragraph(),
        "Hello".into(),
        "مرحبا بالعالم and שלום".into(),
    ]
}
