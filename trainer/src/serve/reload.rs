//! Hot reload (`POST /admin/reload`, SIGHUP): a bundle is checked (every file's SHA-256),
//! loaded and warmed on a new model thread while the old model keeps serving; only then is
//! it swapped in, in one step ([`Shared::set_model`]). Requests already running keep the old
//! model to their end; its thread stops when the last of them is done. A bundle that fails
//! to load changes nothing: the old one goes on serving and the caller gets the loader's
//! message. The result cache needs no flush: its keys hold the manifest hash.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Mutex;

use super::errors::ApiError;
use super::source::Source;
use super::state::{Model, Shared};

/// A model being loaded and warmed on its own thread.
pub(crate) type Loading = Pin<Box<dyn Future<Output = anyhow::Result<Model>> + Send>>;

/// Starts loading the bundle at a path; built by `serve` for its backend, device and flags.
pub(crate) type LoadFn = dyn Fn(PathBuf) -> Loading + Send + Sync;

/// Loads bundles, one reload at a time.
pub(crate) struct Reloader {
    load: Box<LoadFn>,
    /// What a reload without a named bundle loads again.
    source: Source,
    /// The A/B challenger's source: every reload loads it again too.
    challenger: Option<Source>,
    /// Held for a whole reload: a second one waits rather than loading a third model at once.
    busy: Mutex<()>,
}

/// What a successful reload did.
pub(crate) struct Reloaded {
    pub bundle: PathBuf,
    pub previous_sha256: Arc<str>,
    pub model: Arc<Model>,
    pub seconds: f64,
}

impl Reloader {
    pub fn new(source: Source, load: impl Fn(PathBuf) -> Loading + Send + Sync + 'static) -> Self {
        Self {
            load: Box::new(load),
            source,
            challenger: None,
            busy: Mutex::new(()),
        }
    }

    /// Also reloads the A/B challenger from `source` on every reload.
    pub fn with_challenger(mut self, source: Option<Source>) -> Self {
        self.challenger = source;
        self
    }

    /// Loads the bundle at `path`: the first model at startup, or any later one.
    pub fn load(&self, path: PathBuf) -> Loading {
        (self.load)(path)
    }
}

/// Loads `bundle` (default: the directory the current model came from, or with `--registry`
/// the folder the alias points at now) and swaps it in;
/// 503 while the first model is still loading, 422 with the loader's message when the
/// bundle is refused.
pub(crate) async fn reload(shared: &Shared, bundle: Option<PathBuf>) -> Result<Reloaded, ApiError> {
    let reloader = shared
        .reloader
        .as_ref()
        .ok_or_else(|| ApiError::internal("this server cannot reload"))?;
    let _one_at_a_time = reloader.busy.lock().await;
    // 503 while the first model is loading: that load is not replaced halfway.
    let current_dir = shared.model()?.bundle_dir.clone();
    let dir = match (bundle, &reloader.source) {
        (Some(dir), _) => dir,
        (None, Source::Registry { .. }) => reloader
            .source
            .resolve()
            .map_err(|e| ApiError::validation(format!("{e:#}")))?,
        (None, Source::Bundle(_)) => current_dir,
    };
    let started = Instant::now();
    tracing::info!(bundle = %dir.display(), "reloading");
    let outcome = reloader.load(dir.clone()).await;
    let result = if outcome.is_ok() { "ok" } else { "failed" };
    shared.metrics.reloads.with_label_values(&[result]).inc();
    let model = outcome.map_err(|e| {
        tracing::warn!(bundle = %dir.display(), error = %format!("{e:#}"), "reload refused; the old model keeps serving");
        ApiError::validation(format!("{e:#}"))
    })?;
    let previous = shared.set_model(model).ok_or_else(ApiError::not_ready)?;
    reload_challenger(shared, reloader).await;
    let previous_sha256 = previous.bundle_hash.clone();
    drop(previous); // its thread stops once the requests still holding it are answered
    let model = shared.model()?;
    tracing::info!(bundle = %dir.display(), manifest_sha256 = %model.bundle_hash, previous = %previous_sha256, "reloaded");
    Ok(Reloaded {
        bundle: dir,
        previous_sha256,
        model,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Loads the A/B challenger again (with a registry: whatever its alias names now); a failure
/// keeps the old challenger and is logged.
async fn reload_challenger(shared: &Shared, reloader: &Reloader) {
    let Some(source) = &reloader.challenger else {
        return;
    };
    let loaded = match source.resolve() {
        Ok(dir) => reloader.load(dir).await,
        Err(e) => Err(e),
    };
    match loaded {
        Ok(model) => {
            tracing::info!(version = %model.info.model_version, "challenger reloaded");
            shared.set_challenger(model);
        }
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "challenger reload refused; the old one keeps running")
        }
    }
}

/// Reloads the current bundle on every SIGHUP (the Unix convention for "re-read your
/// configuration"); failures are logged, and the old model keeps serving.
#[cfg(unix)]
pub(crate) fn on_sighup(shared: Arc<Shared>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    // Installed before the first model loads: SIGHUP's default action would end the process.
    let mut hangups = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            if let Err(e) = reload(&shared, None).await {
                tracing::warn!(error = %e.message, "SIGHUP reload failed");
            }
        }
    });
    Ok(())
}

/// No SIGHUP off Unix: `POST /admin/reload` only.
#[cfg(not(unix))]
pub(crate) fn on_sighup(_: Arc<Shared>) -> anyhow::Result<()> {
    Ok(())
}
