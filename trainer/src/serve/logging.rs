//! Structured logs: one JSON object per line on stderr, each request's lines carrying its
//! `request_id` (from the `x-request-id` header, or a fresh UUID). Request bodies — the
//! users' texts — are not logged, except redacted for the sampled requests of
//! `--log-io-sample` ([`super::io_log`]); headers never are (an `Authorization` header stays
//! out).
//! `RUST_LOG` sets the level (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber; a second call (tests) is a no-op.
pub(crate) fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
