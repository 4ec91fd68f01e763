//! Prometheus metrics for `GET /metrics`, held in one registry owned by the server (no
//! process-global recorder), each series a typed field so a misspelt name cannot compile.
//!
//! Series (all prefixed `glassbox_`): requests by route and status, latency per route and per
//! stage (tokenization, queue, inference), batch sizes in inputs and padded tokens, the queue
//! size, cache hits/misses/bytes, predicted classes, top-class confidence, entities per type,
//! wordpieces and [UNK] wordpieces (their ratio is the [UNK] rate), inputs and truncated inputs,
//! requests in flight, and bundle reloads by result.

use anyhow::Result;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};

/// Every series the server exports.
pub(crate) struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub stage_seconds: HistogramVec,
    pub batch_size: Histogram,
    pub batch_tokens: Histogram,
    pub queue_size: IntGauge,
    pub cache_hits: IntCounterVec,
    pub cache_misses: IntCounterVec,
    pub cache_bytes: IntGauge,
    pub predicted_class: IntCounterVec,
    pub confidence: Histogram,
    pub entities: IntCounterVec,
    pub inputs: IntCounter,
    pub wordpieces: IntCounter,
    pub unknown_wordpieces: IntCounter,
    pub truncated_inputs: IntCounter,
    /// Requests being answered right now (a scrape counts itself).
    pub in_flight: IntGauge,
    /// Hot reloads by `result` (`ok`, `failed`).
    pub reloads: IntCounterVec,
    /// A/B and shadow: `/predict` inputs answered per `arm` (`champion`, `challenger`, `shadow`).
    pub ab_inputs: IntCounterVec,
    /// A/B and shadow: predicted classes per `arm` and `label`.
    pub ab_predicted_class: IntCounterVec,
    /// `POST /feedback` labels recorded.
    pub feedback: IntCounter,
    /// Shadow copies dropped because `SHADOW_IN_FLIGHT` were already running.
    pub ab_shadow_dropped: IntCounter,
}

/// Latency buckets from 0.5 ms to 30 s: a cache hit and an overloaded queue both fall inside.
const SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Every series' name starts with this.
const PREFIX: &str = "glassbox_";

fn counter(r: &Registry, name: &str, help: &str) -> Result<IntCounter> {
    let c = IntCounter::new(format!("{PREFIX}{name}"), help)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn counters(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(format!("{PREFIX}{name}"), help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge(r: &Registry, name: &str, help: &str) -> Result<IntGauge> {
    let g = IntGauge::new(format!("{PREFIX}{name}"), help)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn histogram(r: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> Result<Histogram> {
    let opts = HistogramOpts::new(format!("{PREFIX}{name}"), help).buckets(buckets);
    let h = Histogram::with_opts(opts)?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

fn histograms(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<HistogramVec> {
    let opts = HistogramOpts::new(format!("{PREFIX}{name}"), help).buckets(SECONDS.to_vec());
    let h = HistogramVec::new(opts, labels)?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

impl Metrics {
    pub fn new() -> Result<Self> {
        let r = Registry::new();
        let powers = |top: u32| (0..=top).map(|i| f64::from(1u32 << i)).collect::<Vec<_>>();
        let twentieths = (1..=20).map(|i| f64::from(i) * 0.05).collect();
        let (route_status, route) = (&["route", "status"][..], &["route"][..]);
        let (stage, task) = (&["stage"][..], &["task"][..]);
        Ok(Self {
            requests: counters(&r, "requests_total", "HTTP requests", route_status)?,
            request_seconds: histograms(&r, "request_duration_seconds", "Answer time", route)?,
            stage_seconds: histograms(&r, "stage_duration_seconds", "Time per stage", stage)?,
            batch_size: histogram(&r, "batch_size", "Inputs per forward pass", powers(8))?,
            batch_tokens: histogram(&r, "batch_padded_tokens", "Padded wordpieces", powers(16))?,
            queue_size: gauge(&r, "queue_size", "Inputs waiting for the model")?,
            cache_hits: counters(&r, "cache_hits_total", "Inputs answered by the cache", task)?,
            cache_misses: counters(&r, "cache_misses_total", "Inputs not in the cache", task)?,
            cache_bytes: gauge(&r, "cache_bytes", "Bytes held by the result cache")?,
            predicted_class: counters(&r, "predicted_class_total", "Classes", &["label"])?,
            confidence: histogram(&r, "confidence", "Top-class probability", twentieths)?,
            entities: counters(&r, "entities_total", "Entities by type", &["type"])?,
            inputs: counter(&r, "inputs_total", "Texts tokenized")?,
            wordpieces: counter(&r, "wordpieces_total", "Wordpieces, specials included")?,
            unknown_wordpieces: counter(&r, "unknown_wordpieces_total", "[UNK] wordpieces")?,
            truncated_inputs: counter(&r, "truncated_inputs_total", "Texts cut to max length")?,
            in_flight: gauge(&r, "requests_in_flight", "Requests being answered")?,
            reloads: counters(&r, "reloads_total", "Bundle reloads", &["result"])?,
            ab_inputs: counters(&r, "ab_inputs_total", "/predict inputs per arm", &["arm"])?,
            ab_predicted_class: counters(
                &r,
                "ab_predicted_class_total",
                "Classes per arm",
                &["arm", "label"],
            )?,
            feedback: counter(&r, "feedback_total", "True labels received by /feedback")?,
            ab_shadow_dropped: counter(
                &r,
                "ab_shadow_dropped_total",
                "Shadow copies dropped under load",
            )?,
            registry: r,
        })
    }

    /// The registry itself, for the in-process alert evaluator (`crate::alerts`), which reads
    /// the same families `/metrics` renders and registers `glassbox_alert_firing`.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The text exposition format Prometheus scrapes.
    pub fn render(&self) -> Result<String> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}
