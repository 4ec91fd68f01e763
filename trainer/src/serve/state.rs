//! What every handler shares: the limits, the metrics, the cache, and — once loaded and
//! warmed — the model's tokenizer, labels and queue.

use std::sync::{Arc, OnceLock};

use glassbox_model::{GlassboxConfig, TextTokenizer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::api::Info;
use super::batcher::Queue;
use super::cache::ResultCache;
use super::errors::ApiError;
use super::metrics::Metrics;

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
    model: OnceLock<Model>,
    pub limits: Limits,
    pub metrics: Arc<Metrics>,
    pub cache: ResultCache,
    /// One permit per request being answered: none left means 429.
    permits: Arc<Semaphore>,
}

/// The loaded model as the handlers see it; the weights stay on the model thread.
pub(crate) struct Model {
    pub tokenizer: TextTokenizer,
    pub config: GlassboxConfig,
    pub info: Info,
    /// SHA-256 of the manifest: part of every cache key.
    pub bundle_hash: Arc<str>,
    pub queue: Queue,
}

impl Shared {
    pub fn new(limits: Limits, metrics: Arc<Metrics>, cache: ResultCache) -> Self {
        Self {
            model: OnceLock::new(),
            permits: Arc::new(Semaphore::new(limits.max_concurrent_requests)),
            limits,
            metrics,
            cache,
        }
    }

    /// Called once, when the model is loaded and warmed; `/ready` turns 200.
    pub fn set_model(&self, model: Model) {
        // A second call cannot happen: the model thread reports ready once.
        let _ = self.model.set(model);
    }

    /// The model, or 503 while it is loading.
    pub fn model(&self) -> Result<&Model, ApiError> {
        self.model.get().ok_or_else(ApiError::not_ready)
    }

    /// What every inference route checks first, in this order: the model is loaded (503), a
    /// slot is free (429), the client sent at most `--max-client-batch-size` inputs (413).
    pub fn admit(&self, inputs: usize) -> Result<(&Model, OwnedSemaphorePermit), ApiError> {
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
