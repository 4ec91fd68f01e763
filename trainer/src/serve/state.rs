//! What every handler shares: the limits, the metrics, the cache, the sampled I/O log, the
//! reloader, and — once loaded and warmed — the model's tokenizer, labels and queue.
//!
//! The model sits behind a lock as an `Arc`: a handler clones the `Arc` once and keeps it for
//! the whole request, so a hot reload swaps in the new model for the next requests while the
//! ones in flight finish on the old one (whose thread stops when its last request is done).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use glassbox_model::{GlassboxConfig, TextTokenizer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::api::Info;
use super::batcher::Queue;
use super::cache::ResultCache;
use super::errors::ApiError;
use super::io_log::IoLog;
use super::metrics::Metrics;
use super::reload::Reloader;

/// The handlers' state (`axum::extract::State`).
pub(crate) type AppState = Arc<Shared>;

/// Request limits from the command line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_concurrent_requests: usize,
    pub max_client_batch_size: usize,
    pub attention_enabled: bool,
}

pub(crate) struct Shared {
    model: RwLock<Option<Arc<Model>>>,
    /// The A/B or shadow challenger (`--ab-weight`, `--shadow`), once loaded.
    challenger: RwLock<Option<Arc<Model>>>,
    /// How requests are split between the arms; `None` without a challenger.
    pub ab: Option<Arc<super::ab::Ab>>,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    pub cache: ResultCache,
    /// One permit per request being answered: none left means 429.
    permits: Arc<Semaphore>,
    /// Sampled, redacted input/output logging (`--log-io-sample`); off by default.
    pub io_log: IoLog,
    /// Loads a bundle on a new model thread for `POST /admin/reload` and SIGHUP; set at start.
    pub reloader: Option<Reloader>,
    /// The rolling drift window and its last result (`--drift-window`); set at start.
    pub drift: Option<Arc<super::drift::DriftMonitor>>,
}

/// The loaded model as the handlers see it; the weights stay on the model thread.
pub(crate) struct Model {
    pub tokenizer: TextTokenizer,
    pub config: GlassboxConfig,
    pub info: Info,
    /// SHA-256 of the manifest: part of every cache key.
    pub bundle_hash: Arc<str>,
    /// The directory it was loaded from: what a reload without a path re-reads.
    pub bundle_dir: PathBuf,
    pub queue: Queue,
}

impl Shared {
    pub fn new(limits: Limits, metrics: Arc<Metrics>, cache: ResultCache) -> Self {
        Self {
            model: RwLock::new(None),
            challenger: RwLock::new(None),
            ab: None,
            permits: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
            limits,
            metrics,
            cache,
            io_log: IoLog::off(),
            reloader: None,
            drift: None,
        }
    }

    /// Serves `model` from the next request on (`/ready` turns 200 the first time) and
    /// returns the one it replaces; requests holding the old one finish on it.
    pub fn set_model(&self, model: Model) -> Option<Arc<Model>> {
        let mut slot = self.model.write().unwrap_or_else(|e| e.into_inner());
        slot.replace(Arc::new(model))
    }

    /// Serves `model` as the challenger from the next request on.
    pub fn set_challenger(&self, model: Model) -> Option<Arc<Model>> {
        let mut slot = self.challenger.write().unwrap_or_else(|e| e.into_inner());
        slot.replace(Arc::new(model))
    }

    /// The challenger, or 503 while it is loading.
    pub fn challenger(&self) -> Result<Arc<Model>, ApiError> {
        let slot = self.challenger.read().unwrap_or_else(|e| e.into_inner());
        slot.clone().ok_or_else(ApiError::not_ready)
    }

    /// The model, or 503 while it is loading.
    pub fn model(&self) -> Result<Arc<Model>, ApiError> {
        let slot = self.model.read().unwrap_or_else(|e| e.into_inner());
        slot.clone().ok_or_else(ApiError::not_ready)
    }

    /// What every inference route checks first, in this order: the model is loaded (503), a
    /// slot is free (429), the client sent at most `--max-client-batch-size` inputs (413).
    pub fn admit(&self, inputs: usize) -> Result<(Arc<Model>, OwnedSemaphorePermit), ApiError> {
        let (model, permit) = (self.model()?, self.permit()?);
        super::input::check_count(inputs, self.limits.max_client_batch_size)?;
        Ok((model, permit))
    }

    /// A slot among `--max-concurrent-requests`, held until the response is built; 429 when
    /// none is free (the request is refused at once, not queued).
    pub fn permit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::overloaded(self.limits.max_concurrent_requests))
    }
}
