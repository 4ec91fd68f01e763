//! Online drift: a rolling window of the most recent answers the model computed (class,
//! confidence, embedding, wordpiece counts), compared with the bundle's `drift_profile.json`
//! every `--drift-interval-secs` on tokio's blocking pool — never on a request's path — and
//! on `GET /drift?refresh=true`. The statistics are those of `glassbox drift`
//! ([`crate::drift`]); they are exported as the gauges
//! `glassbox_drift_{class_psi,confidence_ks,confidence_ks_p_value,embedding_mmd,embedding_p_value,window_size}`
//! that the alert rules name.
//!
//! The window is fed where the model's answers arrive ([`super::engine`]), so every route
//! that runs the model contributes; cache hits do not (a repeated text is not new evidence).
//! A reload to another bundle empties it: old answers say nothing about the new model.
//! Below 30 inputs the statistics gauges read NaN, so no alert fires on noise.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::weights::bundle::{self, Manifest};
use prometheus::{Gauge, IntGauge, Registry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::errors::{ApiError, ErrorBody};
use super::state::{AppState, Model};
use crate::drift::compare::{compare, DriftReport, Thresholds, MIN_INPUTS};
use crate::drift::observe::Observation;
use crate::drift::profile::{read_profile, Profile};
use crate::io::now_rfc3339;

/// `glassbox serve`'s drift flags.
#[derive(clap::Args, Clone, Debug)]
pub struct DriftArgs {
    /// Most recent computed inputs kept for drift (class, confidence, embedding each).
    #[arg(long, default_value_t = 500)]
    pub drift_window: usize,
    /// Seconds between drift computations; 0: only on `GET /drift?refresh=true`.
    #[arg(long, default_value_t = 60)]
    pub drift_interval_secs: u64,
    /// Permutations of the embedding MMD test (its smallest p-value is 1 / (n + 1)).
    #[arg(long, default_value_t = 200)]
    pub drift_permutations: usize,
}

/// The drift gauges, registered in the server's registry.
pub(crate) struct DriftGauges {
    class_psi: Gauge,
    confidence_ks: Gauge,
    confidence_ks_p: Gauge,
    embedding_mmd: Gauge,
    embedding_p: Gauge,
    window_size: IntGauge,
}

fn gauge(r: &Registry, name: &str, help: &str) -> Result<Gauge> {
    let g = Gauge::new(format!("glassbox_drift_{name}"), help)?;
    g.set(f64::NAN);
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

impl DriftGauges {
    pub fn new(r: &Registry) -> Result<Self> {
        let window_size =
            IntGauge::new("glassbox_drift_window_size", "Inputs in the drift window")?;
        r.register(Box::new(window_size.clone()))?;
        Ok(Self {
            class_psi: gauge(r, "class_psi", "PSI of predicted classes vs the reference")?,
            confidence_ks: gauge(r, "confidence_ks", "KS statistic of top-class confidence")?,
            confidence_ks_p: gauge(r, "confidence_ks_p_value", "KS p-value of confidence")?,
            embedding_mmd: gauge(r, "embedding_mmd", "MMD² of embeddings vs the reference")?,
            embedding_p: gauge(r, "embedding_p_value", "MMD permutation p-value")?,
            window_size,
        })
    }

    /// Publishes a report; with too few inputs the statistics read NaN (no alert on noise).
    fn set(&self, window: usize, report: Option<&DriftReport>) {
        self.window_size.set(window as i64);
        let r = report.filter(|r| r.window_size >= MIN_INPUTS);
        let v = |f: &dyn Fn(&DriftReport) -> f64| r.map_or(f64::NAN, f);
        self.class_psi.set(v(&|r| r.class_psi.psi));
        self.confidence_ks.set(v(&|r| r.confidence_ks.statistic));
        self.confidence_ks_p.set(v(&|r| r.confidence_ks.p_value));
        self.embedding_mmd.set(v(&|r| r.embedding_mmd.mmd2));
        self.embedding_p.set(v(&|r| r.embedding_mmd.p_value));
    }
}

/// The reference of one bundle, decoded once.
struct Reference {
    bundle_hash: Arc<str>,
    profile: Option<(Profile, Vec<Vec<f32>>)>,
}

/// The rolling window (of one bundle) and the last computed status.
pub(crate) struct DriftMonitor {
    capacity: usize,
    permutations: usize,
    window: Mutex<(Arc<str>, VecDeque<Observation>)>,
    reference: Mutex<Option<Arc<Reference>>>,
    last: Mutex<Option<DriftStatus>>,
    gauges: DriftGauges,
}

/// `GET /drift`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = drift_example)]
pub(crate) struct DriftStatus {
    /// `drift`, `no_drift`, `insufficient_data` (fewer than 30 inputs in the window) or
    /// `no_profile` (the bundle has no `drift_profile.json`).
    pub verdict: String,
    pub window_size: usize,
    pub window_capacity: usize,
    /// When these numbers were computed (RFC 3339).
    pub computed_at: String,
    /// SHA-256 of the served bundle's manifest.
    pub bundle_sha256: String,
    /// The statistics, p-values, class shares and reference summary; null below 2 inputs or
    /// without a profile.
    pub report: Option<DriftReport>,
}

/// `GET /drift`'s query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DriftQuery {
    /// Compute now instead of answering the last periodic result.
    #[serde(default)]
    pub refresh: bool,
}

impl DriftMonitor {
    pub fn new(args: &DriftArgs, registry: &Registry) -> Result<Self> {
        Ok(Self {
            capacity: args.drift_window.max(2),
            permutations: args.drift_permutations,
            window: Mutex::new((Arc::from(""), VecDeque::new())),
            reference: Mutex::new(None),
            last: Mutex::new(None),
            gauges: DriftGauges::new(registry)?,
        })
    }

    /// Adds one computed answer of the bundle `bundle_hash` (cheap: a copy of the embedding).
    pub fn observe(&self, bundle_hash: &Arc<str>, r: &SentenceResult) {
        let o = Observation::from_result(r);
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if &w.0 != bundle_hash {
            *w = (bundle_hash.clone(), VecDeque::with_capacity(self.capacity));
        }
        if w.1.len() == self.capacity {
            w.1.pop_front();
        }
        w.1.push_back(o);
    }

    /// The served bundle's reference, read and verified once per bundle.
    fn reference(&self, model: &Model) -> Result<Arc<Reference>> {
        let mut slot = self.reference.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = slot.as_ref().filter(|r| r.bundle_hash == model.bundle_hash) {
            return Ok(r.clone());
        }
        let dir = &model.bundle_dir;
        let path = dir.join(bundle::MANIFEST);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let manifest = Manifest::from_json(&bytes)?;
        let profile = match read_profile(dir, &manifest)? {
            Some(p) => Some((p.clone(), p.embedding_rows()?)),
            None => None,
        };
        let r = Arc::new(Reference {
            bundle_hash: model.bundle_hash.clone(),
            profile,
        });
        *slot = Some(r.clone());
        Ok(r)
    }

    /// Compares the window with the reference (blocking: run it off the async threads),
    /// publishes the gauges and keeps the result for `GET /drift`.
    pub fn compute(&self, model: &Model) -> Result<DriftStatus> {
        let reference = self.reference(model)?;
        let current: Vec<Observation> = {
            let w = self.window.lock().unwrap_or_else(|e| e.into_inner());
            if w.0 == model.bundle_hash {
                w.1.iter().cloned().collect()
            } else {
                Vec::new()
            }
        };
        let thresholds = Thresholds {
            permutations: self.permutations,
            ..Thresholds::default()
        };
        let report = match &reference.profile {
            Some((p, rows)) if current.len() >= 2 => Some(compare(p, rows, &current, &thresholds)),
            _ => None,
        };
        let verdict = match (&reference.profile, &report) {
            (None, _) => "no_profile".to_string(),
            (Some(_), None) => "insufficient_data".to_string(),
            (Some(_), Some(r)) => r.verdict.clone(),
        };
        self.gauges.set(current.len(), report.as_ref());
        let status = DriftStatus {
            verdict,
            window_size: current.len(),
            window_capacity: self.capacity,
            computed_at: now_rfc3339(),
            bundle_sha256: model.bundle_hash.to_string(),
            report,
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(status.clone());
        Ok(status)
    }

    /// The last result, if it was computed for this bundle.
    fn last_for(&self, model: &Model) -> Option<DriftStatus> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        last.clone()
            .filter(|s| s.bundle_sha256 == *model.bundle_hash)
    }
}

fn monitor(s: &AppState) -> Result<Arc<DriftMonitor>, ApiError> {
    s.drift
        .clone()
        .ok_or_else(|| ApiError::internal("drift monitoring was not started"))
}

/// Runs [`DriftMonitor::compute`] for the served model on the blocking pool.
async fn compute_now(s: &AppState) -> Result<DriftStatus, ApiError> {
    let model = s.model()?;
    let monitor = monitor(s)?;
    tokio::task::spawn_blocking(move || monitor.compute(&model))
        .await
        .map_err(|e| ApiError::internal(format!("drift computation stopped: {e}")))?
        .map_err(|e| ApiError::internal(format!("drift: {e:#}")))
}

/// Recomputes every `interval` while the server runs (nothing while no model is loaded).
pub(crate) fn spawn_periodic(s: AppState, interval: Duration) {
    if interval.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            if s.model().is_ok() {
                if let Err(e) = compute_now(&s).await {
                    tracing::warn!(error = %e.message, "drift computation failed");
                }
            }
        }
    });
}

/// Drift of recent traffic against the bundle's reference profile: class PSI, confidence KS
/// and embedding MMD with their p-values and verdicts, the window size and the reference
/// summary. Answers the last periodic result unless `refresh=true` (or none exists yet).
#[utoipa::path(get, path = "/drift", tag = "server", params(DriftQuery),
    responses(
        (status = 200, description = "The drift status of the served bundle.", body = DriftStatus, example = json!(drift_example())),
        (status = 422, description = "The query is not `refresh=true|false`.", body = ErrorBody,
            example = json!({"error": "bad query: Failed to deserialize query string: refresh: provided string was not `true` or `false`", "error_type": "validation"})),
        (status = 503, description = "The model is still loading.", body = ErrorBody,
            example = json!({"error": "the model is still loading; poll GET /ready", "error_type": "not_ready"})),
        (status = 500, description = "The profile could not be read or the computation failed.", body = ErrorBody,
            example = json!({"error": "drift: refusing public/models/default/drift_profile.json: …", "error_type": "internal"}))))]
pub(crate) async fn drift_route(
    State(s): State<AppState>,
    q: Result<Query<DriftQuery>, QueryRejection>,
) -> Result<Json<DriftStatus>, ApiError> {
    // axum's own rejection is a plain-text 400; the API answers every bad input as JSON 422.
    let Query(q) = q.map_err(|e| ApiError::validation(format!("bad query: {}", e.body_text())))?;
    let model = s.model()?;
    match monitor(&s)?.last_for(&model) {
        Some(last) if !q.refresh => Ok(Json(last)),
        _ => Ok(Json(compute_now(&s).await?)),
    }
}

/// The documented example: a window of tweets-like traffic with no drift.
pub(crate) fn drift_example() -> serde_json::Value {
    serde_json::json!({
        "verdict": "no_drift",
        "window_size": 500,
        "window_capacity": 500,
        "computed_at": "2026-12-02T13:00:00Z",
        "bundle_sha256": "3f1c…",
        "report": {
            "verdict": "no_drift",
            "window_size": 500,
            "class_psi": {"psi": 0.0123, "threshold": 0.2, "drift": false},
            "confidence_ks": {"statistic": 0.041, "p_value": 0.42, "alpha": 0.01, "drift": false},
            "embedding_mmd": {"mmd2": 0.0004, "bandwidth": 1.21, "p_value": 0.31, "permutations": 200,
                "alpha": 0.01, "drift": false, "reference_rows": 256, "current_rows": 500},
            "length_psi": 0.02,
            "classes": [
                {"label": "negative", "reference": 0.21, "current": 0.23},
                {"label": "neutral", "reference": 0.45, "current": 0.44},
                {"label": "positive", "reference": 0.34, "current": 0.33}
            ],
            "reference": {"inputs": 2000, "unk_rate": 0.004, "truncation_rate": 0.0, "mean_length": 24.1, "mean_confidence": 0.78},
            "current": {"inputs": 500, "unk_rate": 0.005, "truncation_rate": 0.0, "mean_length": 23.7, "mean_confidence": 0.77},
            "reference_source": {"data": "assets/sentiment/tweets.csv (split train)", "available": 30000, "sampled": 2000, "seed": 42}
        }
    })
}
