//! The page's benchmark (`?bench=N` or its button): what it runs and what it reports. The
//! session times the runs; this module holds the sentences and turns the times into the
//! JSON the e2e suite saves.

use crate::protocol::LoadInfo;

/// What the benchmark runs: tweets of the kind the page is demonstrated with.
pub const SENTENCES: [&str; 4] = [
    "Just watched the new Star Wars movie with Sarah in London, absolutely loved it!",
    "Apple's customer service kept me on hold for an hour. Never again.",
    "The meeting with Microsoft is moved to Tuesday at 3pm.",
    "@jack is heading to the Lakers game tonight #NBA",
];

/// Sentences in the throughput batch: the size the page sends its lines in.
pub const BATCH: usize = 8;

/// The throughput batch: the sentences repeated to [`BATCH`].
pub fn batch() -> Vec<String> {
    (0..BATCH)
        .map(|i| SENTENCES[i % SENTENCES.len()].to_string())
        .collect()
}

/// The middle value (the upper one of an even count); NaN when there is none.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Measured times, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Times {
    pub first: f64,
    /// One per warm run.
    pub warm: Vec<f64>,
    /// The whole throughput batch.
    pub batch: f64,
}

/// The benchmark as JSON, with the model it ran on.
pub fn report(info: Option<&LoadInfo>, t: Times) -> String {
    let (backend, source, load_ms, bytes) = info
        .map(|i| (i.backend.clone(), i.source.clone(), i.load_ms, i.bytes))
        .unwrap_or_default();
    serde_json::json!({
        "backend": backend,
        "model_source": source,
        "load_ms": load_ms,
        "model_bytes": bytes,
        "first_inference_ms": t.first,
        "warm_runs": t.warm.len(),
        "warm_ms_per_sentence_median": median(t.warm),
        "batch_sentences_per_s": BATCH as f64 / (t.batch / 1000.0),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_upper_middle_value() {
        assert_eq!(median(vec![5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 3.0);
        assert!(median(vec![]).is_nan());
    }

    #[test]
    fn the_batch_cycles_through_the_sentences() {
        let b = batch();
        assert_eq!(b.len(), 8);
        assert_eq!(b[4], SENTENCES[0]);
        assert_eq!(b[7], SENTENCES[3]);
    }

    #[test]
    fn the_report_counts_runs_and_turns_the_batch_time_into_a_rate() {
        let t = Times {
            first: 120.0,
            warm: vec![30.0, 10.0, 20.0],
            batch: 400.0,
        };
        let v: serde_json::Value = serde_json::from_str(&report(None, t)).unwrap();
        assert_eq!(v["warm_runs"], 3);
        assert_eq!(v["warm_ms_per_sentence_median"], 20.0);
        // 8 sentences in 0.4 s.
        assert_eq!(v["batch_sentences_per_s"], 20.0);
        assert_eq!(v["first_inference_ms"], 120.0);
        assert_eq!(v["backend"], "");
    }
}
