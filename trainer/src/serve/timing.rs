//! Where an inference request's time went, sent back as headers on every inference answer
//! (milliseconds, as text-embeddings-inference does) and recorded per stage in the metrics.
//!
//! For a request of several inputs, queue and inference times are those of the input that
//! waited (ran) longest: the request's own critical path. Cache hits add neither.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::metrics::Metrics;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Timings {
    pub start: Instant,
    pub tokenization: Duration,
    pub queue: Duration,
    pub inference: Duration,
}

impl Timings {
    pub fn start() -> Self {
        Self {
            start: Instant::now(),
            tokenization: Duration::ZERO,
            queue: Duration::ZERO,
            inference: Duration::ZERO,
        }
    }

    /// Records the stages and returns the headers; `truncated` (0-based input indices) adds
    /// `x-truncated-inputs` for routes whose body cannot say it per input.
    pub fn finish(&self, metrics: &Metrics, truncated: &[usize]) -> HeaderMap {
        let stages = [
            ("tokenization", self.tokenization),
            ("queue", self.queue),
            ("inference", self.inference),
        ];
        for (stage, d) in stages {
            metrics
                .stage_seconds
                .with_label_values(&[stage])
                .observe(d.as_secs_f64());
        }
        let mut h = HeaderMap::new();
        let mut put = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(HeaderName::from_static(name), v);
            }
        };
        put("x-total-time", ms(self.start.elapsed()));
        put("x-tokenization-time", ms(self.tokenization));
        put("x-queue-time", ms(self.queue));
        put("x-inference-time", ms(self.inference));
        if !truncated.is_empty() {
            let list: Vec<String> = truncated.iter().map(usize::to_string).collect();
            put("x-truncated-inputs", list.join(","));
        }
        h
    }
}

/// Milliseconds with three decimals.
fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}
