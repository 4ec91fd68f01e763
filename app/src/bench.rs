//! The page's benchmark (`?bench=N` or its button): what it runs and what it reports. The
//! session reads the sentences and times the runs; this module holds the built-in sentences,
//! reads a `?sentences=` list, and turns the times into the JSON that scripts save (the e2e
//! suite, `bench/page-bench.mjs`).
//!
//! The statistics are the ones `bench/page-bench.mjs` computes for transformers.js, so the
//! numbers compare like for like: first inference (cold), warm batch-1 latency per sentence
//! (each sentence's median over the rounds, averaged over the sentences) and batch-16
//! throughput (the sentences in chunks of [`BATCH`], each chunk padded on its own). Like the
//! peers (transformers.js returns no attention), every round reads back embeddings and
//! logits only: no attention map leaves the device, and the report says so.

use std::fmt;

use crate::protocol::{LoadInfo, WorkerError};

/// What the benchmark runs without `?sentences=`: tweets of the kind the page is
/// demonstrated with.
pub const SENTENCES: [&str; 4] = [
    "Just watched the new Star Wars movie with Sarah in London, absolutely loved it!",
    "Apple's customer service kept me on hold for an hour. Never again.",
    "The meeting with Microsoft is moved to Tuesday at 3pm.",
    "@jack is heading to the Lakers game tonight #NBA",
];

/// What the timed rounds read back of the attention maps: none, as the peers.
pub const ATTENTION: &str = "none";

/// Sentences per forward pass in the throughput rounds.
pub const BATCH: usize = 16;

/// Most sentences a `?sentences=` list may hold: every one is run 2×N times.
pub const MAX_SENTENCES: usize = 1000;

/// The built-in sentences, owned.
pub fn builtin() -> Vec<String> {
    SENTENCES.iter().map(|s| s.to_string()).collect()
}

/// Why the benchmark did not run.
#[derive(Clone, Debug, PartialEq)]
pub enum BenchError {
    /// The `?sentences=` list could not be fetched or read: from where, and why.
    Sentences { from: String, why: String },
    /// The worker failed to load or run the model.
    Worker(WorkerError),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Sentences { from, why } => {
                write!(f, "the benchmark sentences from {from} are unusable: {why}")
            }
            BenchError::Worker(e) => e.fmt(f),
        }
    }
}

impl From<WorkerError> for BenchError {
    fn from(e: WorkerError) -> Self {
        BenchError::Worker(e)
    }
}

/// JSON's name for the kind of `v`, for messages.
fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A JSON list of sentences: non-empty, every item a string that is not blank (the model
/// refuses empty text, and one bad item would fail the whole benchmark later, less clearly).
pub fn parse_sentences(json: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not valid JSON ({e})"))?;
    let items = match v {
        serde_json::Value::Array(items) => items,
        other => {
            return Err(format!(
                "expected a JSON list of strings, got {}",
                kind(&other)
            ))
        }
    };
    if items.is_empty() {
        return Err("the list is empty".into());
    }
    if items.len() > MAX_SENTENCES {
        return Err(format!(
            "{} sentences; at most {MAX_SENTENCES} can be timed",
            items.len()
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            serde_json::Value::String(s) if s.trim().is_empty() => {
                Err(format!("item {} is blank", i + 1))
            }
            serde_json::Value::String(s) => Ok(s),
            other => Err(format!("item {} is {}, not a string", i + 1, kind(&other))),
        })
        .collect()
}

/// The median (the mean of the two middle values of an even count); NaN when empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The arithmetic mean; NaN when empty.
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Each sentence's median over the rounds: `rounds[r][i]` is sentence `i` in round `r`.
pub fn median_by_sentence(rounds: &[Vec<f64>]) -> Vec<f64> {
    let n = rounds.iter().map(Vec::len).min().unwrap_or(0);
    (0..n)
        .map(|i| median(rounds.iter().map(|r| r[i]).collect()))
        .collect()
}

/// Measured times, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Times {
    /// The first sentence, the first time after the load.
    pub first: f64,
    /// Page to worker and back, one sentence per request: `batch1[round][sentence]`.
    pub batch1: Vec<Vec<f64>>,
    /// The worker's own forward pass and read-back for the same requests, without the
    /// messages between page and worker.
    pub batch1_forward: Vec<Vec<f64>>,
    /// One per round: every chunk of [`BATCH`] sentences, one after the other.
    pub batch16: Vec<f64>,
    /// The first sentence's L2-normalised embedding, so a script can compare it with
    /// another implementation's.
    pub first_embedding: Vec<f32>,
    /// Memory after the first run and every [`MEMORY_EVERY`] rounds after it.
    pub memory: Vec<MemorySample>,
}

/// Rounds between two memory samples.
pub const MEMORY_EVERY: usize = 10;

/// Memory after a number of runs: flat once warm, or something leaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct MemorySample {
    /// Runs (requests to the worker) so far.
    pub runs: usize,
    pub page_wasm_bytes: u64,
    pub worker_wasm_bytes: u64,
    /// 0 where the browser does not say.
    pub page_js_heap_bytes: u64,
}

/// What was timed: where the sentences came from and how many there were.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// "built-in", "inline" (the parameter itself) or the URL they were fetched from.
    pub source: String,
    pub n_sentences: usize,
}

/// The benchmark as JSON, with the model it ran on.
pub fn report(info: Option<&LoadInfo>, w: &Workload, t: Times) -> String {
    let (backend, source, load_ms, bytes) = info
        .map(|i| (i.backend.clone(), i.source.clone(), i.load_ms, i.bytes))
        .unwrap_or_default();
    let by_sentence = median_by_sentence(&t.batch1);
    let b16 = median(t.batch16.clone()) / w.n_sentences as f64;
    serde_json::json!({
        "backend": backend,
        "model_source": source,
        "load_ms": load_ms,
        "model_bytes": bytes,
        "sentences": w.source,
        "n_sentences": w.n_sentences,
        "runs": t.batch1.len(),
        "attention": ATTENTION,
        "first_ms": t.first,
        "batch1_ms_per_sentence": mean(&by_sentence),
        "batch1_forward_ms_per_sentence": mean(&median_by_sentence(&t.batch1_forward)),
        "batch1_ms_median_by_sentence": by_sentence,
        "batch_size": BATCH,
        "batch16_ms_per_sentence": b16,
        "sentences_per_s_b16": 1000.0 / b16,
        "first_embedding": t.first_embedding,
        "memory": t.memory,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(vec![5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![7.0]), 7.0);
        assert!(median(vec![]).is_nan());
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
        assert!(mean(&[]).is_nan());
    }

    #[test]
    fn each_sentence_gets_its_median_over_the_rounds() {
        // Three rounds of two sentences: sentence 1 took 10, 30, 20; sentence 2 took 5, 1, 3.
        let rounds = vec![vec![10.0, 5.0], vec![30.0, 1.0], vec![20.0, 3.0]];
        assert_eq!(median_by_sentence(&rounds), vec![20.0, 3.0]);
        assert!(median_by_sentence(&[]).is_empty());
    }

    #[test]
    fn a_list_of_strings_is_read_as_it_is() {
        assert_eq!(
            parse_sentences(r#"["a b", " ünïcode 🎉 ", "x"]"#).unwrap(),
            vec!["a b", " ünïcode 🎉 ", "x"]
        );
    }

    #[test]
    fn anything_but_a_list_of_non_blank_strings_is_refused_with_the_reason() {
        let why = |s: &str| parse_sentences(s).unwrap_err();
        assert!(
            why("[\"a\",").starts_with("not valid JSON"),
            "{}",
            why("[\"a\",")
        );
        assert_eq!(
            why(r#"{"a": 1}"#),
            "expected a JSON list of strings, got an object"
        );
        assert_eq!(why("[]"), "the list is empty");
        assert_eq!(why(r#"["a", 2]"#), "item 2 is a number, not a string");
        assert_eq!(why(r#"["a", "b", " \n"]"#), "item 3 is blank");
        let many = serde_json::to_string(&vec!["s"; MAX_SENTENCES + 1]).unwrap();
        assert_eq!(why(&many), "1001 sentences; at most 1000 can be timed");
    }

    #[test]
    fn a_sentences_error_names_where_they_came_from() {
        let e = BenchError::Sentences {
            from: "http://127.0.0.1/s.json".into(),
            why: "HTTP 404".into(),
        };
        assert_eq!(
            e.to_string(),
            "the benchmark sentences from http://127.0.0.1/s.json are unusable: HTTP 404"
        );
        assert_eq!(
            BenchError::from(WorkerError::NotLoaded).to_string(),
            "no model is loaded"
        );
    }

    #[test]
    fn the_report_turns_times_into_per_sentence_latency_and_throughput() {
        // Two sentences, three rounds.
        let t = Times {
            first: 120.0,
            batch1: vec![vec![30.0, 12.0], vec![10.0, 14.0], vec![20.0, 40.0]],
            batch1_forward: vec![vec![25.0, 10.0], vec![8.0, 12.0], vec![15.0, 30.0]],
            batch16: vec![50.0, 40.0, 60.0],
            first_embedding: vec![0.6, 0.8],
            memory: vec![MemorySample {
                runs: 1,
                page_wasm_bytes: 65536,
                worker_wasm_bytes: 131072,
                page_js_heap_bytes: 0,
            }],
        };
        let w = Workload {
            source: "inline".into(),
            n_sentences: 2,
        };
        let v: serde_json::Value = serde_json::from_str(&report(None, &w, t)).unwrap();
        assert_eq!(v["runs"], 3);
        assert_eq!(v["n_sentences"], 2);
        assert_eq!(v["sentences"], "inline");
        assert_eq!(v["first_ms"], 120.0);
        // Medians 20 and 14, averaged.
        assert_eq!(
            v["batch1_ms_median_by_sentence"],
            serde_json::json!([20.0, 14.0])
        );
        assert_eq!(v["batch1_ms_per_sentence"], 17.0);
        // Medians 15 and 12.
        assert_eq!(v["batch1_forward_ms_per_sentence"], 13.5);
        // The median round took 50 ms for 2 sentences: 25 ms each, 40 per second.
        assert_eq!(v["batch16_ms_per_sentence"], 25.0);
        assert_eq!(v["sentences_per_s_b16"], 40.0);
        assert_eq!(v["batch_size"], 16);
        assert_eq!(v["attention"], "none", "the rounds read no attention back");
        assert_eq!(v["backend"], "");
        let e = v["first_embedding"].as_array().unwrap();
        assert_eq!(e.len(), 2);
        assert!((e[1].as_f64().unwrap() - 0.8).abs() < 1e-6);
        assert_eq!(
            v["memory"],
            serde_json::json!([{"runs": 1, "page_wasm_bytes": 65536, "worker_wasm_bytes": 131072, "page_js_heap_bytes": 0}])
        );
    }
}
