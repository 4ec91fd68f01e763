//! `glassbox serve`: the model behind an HTTP API (axum on tokio), built like
//! text-embeddings-inference's router and queue, plus what it lacks: entities, a result cache.
//!
//! A request goes through these steps, and the modules follow them:
//!
//! 1. **Route** ([`routes`]): axum handlers with request ids, JSON trace logs ([`logging`]),
//!    CORS, per-route metrics; bodies and answers typed in [`api`], documented by utoipa
//!    ([`openapi`]); every failure one JSON [`errors::ErrorBody`].
//! 2. **Admit** ([`state`], [`input`]): 503 until the model is warmed, 429 beyond
//!    `--max-concurrent-requests`, 413 beyond `--max-client-batch-size`, 422 naming the input.
//! 3. **Tokenize, look up** ([`engine`], [`cache`]): each text is tokenized on the handler's
//!    thread and looked up by (manifest hash, task + options, text).
//! 4. **Queue, batch, run** ([`batcher`], [`worker`]): misses wait in one queue; the model
//!    thread forms token- and request-bounded batches of similar lengths across clients and
//!    answers each input through its own oneshot channel.
//! 5. **Answer** ([`engine`], [`timing`], [`metrics`]): the CLI's JSON per input, in input
//!    order, cached; stage timings as `x-*-time` headers and Prometheus histograms; a seeded
//!    sample of requests logged with their texts redacted ([`io_log`], [`redact`]).
//!
//! Around them: the optional bearer API key on the inference and admin routes ([`auth`]),
//! Swagger UI at `/docs` (vendored, offline), hot reload of a bundle by `POST /admin/reload`
//! or SIGHUP ([`reload`]), and a graceful stop on SIGTERM that answers the requests in flight.

pub(crate) mod ab;
mod api;
mod auth;
mod batcher;
mod cache;
mod drift;
mod engine;
mod errors;
mod examples;
mod input;
mod io_log;
mod logging;
mod metrics;
mod openapi;
mod redact;
mod reload;
mod routes;
mod source;
mod state;
mod timing;
mod worker;

use std::future::IntoFuture;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use clap::ValueEnum;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::backend::BackendKind;
use crate::load::KernelChoice;
use crate::with_backend;
use api::Info;
use auth::ApiKey;
use batcher::{BatchLimits, Queue};
use cache::ResultCache;
use io_log::IoLog;
use metrics::Metrics;
use reload::{Loading, Reloader};
use state::{Limits, Model, Shared};
use worker::{Job, Started};

#[derive(clap::Args, Clone)]
pub struct ServeArgs {
    /// The glassbox bundle to serve (every file's SHA-256 is checked before serving).
    #[arg(
        long,
        required_unless_present = "registry",
        conflicts_with = "registry"
    )]
    bundle: Option<PathBuf>,
    /// Serve a model registry's alias instead of --bundle; a reload without a named bundle
    /// (POST /admin/reload, SIGHUP) looks the alias up again.
    #[arg(long)]
    registry: Option<PathBuf>,
    /// The registry alias to serve.
    #[arg(long, default_value = "champion", requires = "registry")]
    registry_alias: String,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// What computes the encoder's linear layers: f32, or int8 kernels (CPU backend).
    #[arg(long, value_enum, default_value_t = KernelChoice::F32)]
    kernels: KernelChoice,
    /// Most padded wordpieces (inputs × longest input) in one forward pass; at least the
    /// model's maximum input length.
    #[arg(long, default_value_t = 8192)]
    max_batch_tokens: usize,
    /// Most inputs in one forward pass.
    #[arg(long, default_value_t = 32)]
    max_batch_requests: usize,
    /// Requests answered at once; more are refused with 429.
    #[arg(long, default_value_t = 512)]
    max_concurrent_requests: usize,
    /// Most inputs in one request; more are refused with 413.
    #[arg(long, default_value_t = 32)]
    max_client_batch_size: usize,
    /// Bytes of answers the result cache keeps (0: no cache).
    #[arg(long, default_value_t = 64 << 20)]
    cache_bytes: u64,
    /// Switch on POST /attention (n² floats per input, every layer read back).
    #[arg(long)]
    enable_attention: bool,
    /// Origins allowed by CORS (repeat the flag; `*` for any). None: no CORS headers.
    #[arg(long)]
    cors_allow_origin: Vec<String>,
    /// A file holding the API key the inference and admin routes require as
    /// `Authorization: Bearer KEY` (default: the GLASSBOX_API_KEY environment variable; neither:
    /// no auth). Probes, /metrics, /info and the docs stay open.
    #[arg(long)]
    api_key_file: Option<PathBuf>,
    /// Fraction of requests (0 to 1) whose redacted inputs and outputs are logged (target
    /// `glassbox::io`); 0, the default, logs none.
    #[arg(long, default_value_t = 0.0)]
    log_io_sample: f64,
    /// Seed of the sampling of `--log-io-sample`.
    #[arg(long, default_value_t = 0)]
    log_io_seed: u64,
    /// Also replace the predicted entities' text by their type in the sampled I/O log.
    #[arg(long)]
    redact_entities: bool,
    /// In-process alerting: `--alert-rules`, `--alert-webhook`, `--alert-interval-secs`.
    #[command(flatten)]
    alerts: crate::alerts::AlertArgs,
    /// Online drift: `--drift-window`, `--drift-interval-secs`, `--drift-permutations`.
    #[command(flatten)]
    drift: drift::DriftArgs,
    /// A/B and shadow tests: `--ab-weight`, `--shadow`, `--ab-challenger`, `--ab-log`, …
    #[command(flatten)]
    ab: ab::AbArgs,
}

impl ServeArgs {
    fn check(&self) -> Result<()> {
        let limits = [
            ("--max-batch-tokens", self.max_batch_tokens),
            ("--max-batch-requests", self.max_batch_requests),
            ("--max-concurrent-requests", self.max_concurrent_requests),
            ("--max-client-batch-size", self.max_client_batch_size),
        ];
        for (flag, n) in limits {
            if n == 0 {
                bail!("{flag} must be at least 1");
            }
        }
        self.ab.check(self.registry.is_some())
    }

    /// Where the challenger comes from, when there is one.
    fn challenger_source(&self) -> Option<source::Source> {
        if !self.ab.enabled() {
            return None;
        }
        Some(match (&self.registry, &self.ab.ab_challenger) {
            (Some(root), _) => source::Source::Registry {
                root: root.clone(),
                alias: self.ab.ab_challenger_alias.clone(),
            },
            (None, dir) => source::Source::Bundle(dir.clone().unwrap_or_default()),
        })
    }

    /// Where the bundle comes from.
    fn source(&self) -> source::Source {
        match (&self.registry, &self.bundle) {
            (Some(root), _) => source::Source::Registry {
                root: root.clone(),
                alias: self.registry_alias.clone(),
            },
            (None, dir) => source::Source::Bundle(dir.clone().unwrap_or_default()),
        }
    }

    fn limits(&self) -> Limits {
        Limits {
            max_concurrent_requests: self.max_concurrent_requests,
            max_client_batch_size: self.max_client_batch_size,
            attention_enabled: self.enable_attention,
        }
    }
}

/// Runs the server until Ctrl-C or SIGTERM, then drains the requests in flight.
pub fn serve(args: ServeArgs) -> Result<()> {
    args.check()?;
    logging::init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    with_backend!(args.backend, |B, device| runtime
        .block_on(run::<B>(args, device)))
}

/// Listens at once (so `/health` answers while loading), loads the model on its thread, and
/// turns `/ready` on when it is warm. A bundle that fails to load stops the server with the
/// loader's message.
async fn run<B: Backend>(args: ServeArgs, device: B::Device) -> Result<()> {
    let api_key = ApiKey::configured(args.api_key_file.as_deref())?.map(Arc::new);
    let shared = shared_state::<B>(&args, device)?;
    reload::on_sighup(shared.clone()).context("cannot listen for SIGHUP")?;
    drift::spawn_periodic(
        shared.clone(),
        Duration::from_secs(args.drift.drift_interval_secs),
    );
    let auth = if api_key.is_some() { "required" } else { "off" };
    let app = routes::router(shared.clone(), &args.cors_allow_origin, api_key)?;
    let addr = format!("{}:{}", args.host, args.port);
    let app = app.merge(crate::alerts::start(
        &args.alerts,
        shared.metrics.registry(),
        &addr,
    )?);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(address = %listener.local_addr()?, api_key = auth, "listening; loading the model");
    let (stop, stopped) = watch::channel(false);
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown(stopped))
            .into_future(),
    );
    if let Err(e) = load_first(&shared, &args).await {
        let _ = stop.send(true);
        let _ = server.await;
        return Err(e);
    }
    tracing::info!("ready");
    server.await.context("server task failed")??;
    tracing::info!("stopped");
    Ok(())
}

/// What the handlers share, before any model is loaded.
fn shared_state<B: Backend>(args: &ServeArgs, device: B::Device) -> Result<Arc<Shared>> {
    let metrics = Arc::new(Metrics::new()?);
    let mut shared = Shared::new(
        args.limits(),
        metrics.clone(),
        ResultCache::new(args.cache_bytes),
    );
    shared.io_log = IoLog::new(args.log_io_sample, args.log_io_seed, args.redact_entities)?;
    shared.reloader = Some(reloader::<B>(args, device, metrics));
    // A log alone (no challenger) still records every prediction and /feedback: a one-arm
    // report of the model in production.
    if args.ab.enabled() || args.ab.ab_log.is_some() {
        shared.ab = Some(Arc::new(ab::Ab::new(&args.ab)?));
    }
    shared.drift = Some(Arc::new(drift::DriftMonitor::new(
        &args.drift,
        shared.metrics.registry(),
    )?));
    Ok(Arc::new(shared))
}

/// Loads the model (and the A/B challenger) and starts serving them; `/ready` turns 200.
async fn load_first(shared: &Shared, args: &ServeArgs) -> Result<()> {
    let loader = shared.reloader.as_ref().context("no loader")?;
    let model = loader.load(args.source().resolve()?).await?;
    if let Some(source) = args.challenger_source() {
        let dir = source.resolve().context("the A/B challenger")?;
        let c = loader.load(dir).await?;
        tracing::info!(version = %c.info.model_version, weight = args.ab.ab_weight, shadow = args.ab.shadow, "challenger loaded");
        shared.set_challenger(c);
    }
    shared.set_model(model);
    Ok(())
}

/// Resolves on Ctrl-C, SIGTERM (Kubernetes' stop signal) or a startup failure.
async fn shutdown(mut stopped: watch::Receiver<bool>) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
        _ = stopped.wait_for(|s| *s) => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

/// Loads bundles for this backend and these flags: the first one and every reload, each on a
/// new model thread with its own queue.
fn reloader<B: Backend>(args: &ServeArgs, device: B::Device, metrics: Arc<Metrics>) -> Reloader {
    let (source, challenger) = (args.source(), args.challenger_source());
    let args = Arc::new(args.clone());
    let reloader = Reloader::new(source, move |dir: PathBuf| {
        let (args, device, metrics) = (args.clone(), device.clone(), metrics.clone());
        let loading: Loading = Box::pin(async move {
            let (queue, rx) = Queue::new(metrics.clone());
            let job = Job::<B> {
                bundle: dir.clone(),
                kernels: args.kernels,
                limits: BatchLimits {
                    max_tokens: args.max_batch_tokens,
                    max_requests: args.max_batch_requests,
                },
                device,
                metrics,
            };
            let started = worker::start(job, rx).await?;
            Ok(model(&args, started, queue, dir))
        });
        loading
    });
    reloader.with_challenger(challenger)
}

fn model(args: &ServeArgs, s: Started, queue: Queue, dir: PathBuf) -> Model {
    let name = |v: &dyn Fn() -> Option<clap::builder::PossibleValue>| {
        v().map_or_else(String::new, |p| p.get_name().to_string())
    };
    let lineage = s.manifest.lineage.as_ref();
    let info = Info {
        model_name: s.manifest.name.clone(),
        model_version: s.manifest.version.clone(),
        parent_version: lineage.and_then(|l| l.parent_version.clone()),
        code_commit: lineage.and_then(|l| l.code_commit.clone()),
        registry_alias: args.source().alias().map(str::to_string),
        manifest_sha256: s.manifest_sha256.clone(),
        quantization: s.manifest.quantization.clone(),
        heads_trained: s.manifest.heads_trained,
        sentence_labels: s.config.sentence_labels.clone(),
        token_labels: s.config.token_labels.clone(),
        max_input_length: s.max_seq_len,
        kernels: name(&|| args.kernels.to_possible_value()),
        backend: name(&|| args.backend.to_possible_value()),
        attention_enabled: args.enable_attention,
        max_batch_tokens: args.max_batch_tokens,
        max_batch_requests: args.max_batch_requests,
        max_concurrent_requests: args.max_concurrent_requests,
        max_client_batch_size: args.max_client_batch_size,
        cache_bytes: args.cache_bytes,
        glassbox_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    Model {
        tokenizer: s.tokenizer,
        config: s.config,
        info,
        bundle_hash: s.manifest_sha256.into(),
        bundle_dir: dir,
        queue,
    }
}
