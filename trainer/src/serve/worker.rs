//! The model thread: the one place the weights live. It loads and verifies the bundle, packs
//! the kernels, warms the model with one forward pass, reports what the handlers need, and
//! then serves the queue until the server stops.
//!
//! Why a plain thread and not a tokio task: a forward pass is seconds of CPU work on burn's own
//! thread pool; on the async runtime it would stall every connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use glassbox_model::view::ReadBack;
use glassbox_model::weights::bundle::{self, sha256_hex, Manifest};
use glassbox_model::{GlassboxConfig, TextTokenizer};
use tokio::sync::{mpsc, oneshot};

use super::batcher::{serve_queue, BatchLimits, Entry};
use super::metrics::Metrics;
use crate::infer::forward_batch;
use crate::load::{load_dir, KernelChoice, Loaded};

/// What the handlers need from the loaded bundle.
pub(crate) struct Started {
    pub tokenizer: TextTokenizer,
    pub config: GlassboxConfig,
    pub manifest: Manifest,
    pub manifest_sha256: String,
    pub max_seq_len: usize,
}

/// Everything the model thread is started with.
pub(crate) struct Job<B: Backend> {
    pub bundle: PathBuf,
    pub kernels: KernelChoice,
    pub limits: BatchLimits,
    pub device: B::Device,
    pub metrics: Arc<Metrics>,
}

/// Starts the model thread and waits until the model is loaded and warmed (or failed).
pub(crate) async fn start<B: Backend>(
    job: Job<B>,
    rx: mpsc::UnboundedReceiver<Entry>,
) -> Result<Started> {
    let (ready_tx, ready_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("glassbox-model".into())
        .spawn(move || model_thread(job, rx, ready_tx))
        .context("cannot start the model thread")?;
    ready_rx
        .await
        .context("the model thread ended while loading")?
}

fn model_thread<B: Backend>(
    job: Job<B>,
    rx: mpsc::UnboundedReceiver<Entry>,
    ready: oneshot::Sender<Result<Started>>,
) {
    let loaded = match load::<B>(&job) {
        Ok((loaded, started)) => {
            let _ = ready.send(Ok(started));
            loaded
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let device = job.device;
    serve_queue(rx, job.limits, &job.metrics, |items, what| {
        forward_batch(&loaded, items, what, &device)
    });
    tracing::info!("model thread stopped: the queue closed");
}

/// Loads and checks the bundle, packs the kernels and runs one warm-up pass.
fn load<B: Backend>(job: &Job<B>) -> Result<(Loaded<B>, Started)> {
    let loaded = load_dir::<B>(&job.bundle, &job.device)?.with_kernels(job.kernels);
    let Some(manifest) = loaded.manifest.clone() else {
        bail!(
            "{} is a Hugging Face checkpoint, not a glassbox bundle: `glassbox serve` needs a bundle (make one with `glassbox export`)",
            job.bundle.display()
        );
    };
    if job.limits.max_tokens < loaded.max_seq_len {
        bail!(
            "--max-batch-tokens {} is below the model's maximum input of {} wordpieces: a long text could never be run",
            job.limits.max_tokens,
            loaded.max_seq_len
        );
    }
    if !loaded.heads_trained {
        tracing::warn!(bundle = %job.bundle.display(), "the bundle's heads are untrained: its labels are noise");
    }
    let warm = loaded
        .tokenizer
        .encode("glassbox warms up before it says it is ready.")?;
    forward_batch(&loaded, vec![warm], &ReadBack::Outputs, &job.device)
        .context("warm-up forward pass failed")?;
    let started = Started {
        tokenizer: loaded.tokenizer.clone(),
        config: loaded.config.clone(),
        manifest_sha256: manifest_sha256(&job.bundle)?,
        max_seq_len: loaded.max_seq_len,
        manifest,
    };
    Ok((loaded, started))
}

/// SHA-256 of `manifest.json`: the manifest lists every other file's hash, so this one hash
/// names the whole bundle (the cache keys and `/info` use it).
fn manifest_sha256(dir: &Path) -> Result<String> {
    let path = dir.join(bundle::MANIFEST);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(sha256_hex(&bytes))
}
