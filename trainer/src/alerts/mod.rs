//! Alerts on what `glassbox serve` measures: drift statistics above a threshold, p99 latency,
//! error and 429 rates, a drop in mean confidence.
//!
//! One rules file ([`rules`], `configs/alerts.yml`) has two uses:
//!
//! - **in-process** (`glassbox serve --alert-rules FILE`): [`engine`] copies the server's own
//!   Prometheus registry every `--alert-interval-secs` ([`snapshot`], kept in [`history`]),
//!   computes each rule on its window the way Prometheus would ([`eval`]: quantiles from
//!   histogram buckets, rates from counter increases), tracks pending → firing → resolved
//!   ([`state`]), logs each transition, sets `glassbox_alert_firing{alert}`, and POSTs an
//!   Alertmanager-style payload to `--alert-webhook` ([`notify`]); `GET /alerts` ([`route`])
//!   lists the rules' states. Nothing else is needed: no Prometheus, no Alertmanager.
//! - **in Prometheus** (`glassbox alerts --out rules.yml`): [`promql`] writes the same rules
//!   as Prometheus alerting rules over the same series, for a deployment that has both.

mod engine;
mod eval;
mod history;
mod notify;
mod promql;
mod route;
mod rules;
mod snapshot;
mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use axum::Router;
use prometheus::Registry;

use engine::Alerting;

/// The alerting flags of `glassbox serve`.
#[derive(clap::Args, Clone, Debug)]
pub struct AlertArgs {
    /// Alert rules (YAML, like configs/alerts.yml) evaluated in-process on the server's own
    /// metrics; their states at GET /alerts and in `glassbox_alert_firing`.
    #[arg(long, value_name = "FILE")]
    alert_rules: Option<PathBuf>,
    /// POST an Alertmanager-style JSON payload (version 4) here whenever an alert fires or
    /// resolves (plain http://; a failed POST is logged).
    #[arg(long, value_name = "URL", requires = "alert_rules")]
    alert_webhook: Option<String>,
    /// Seconds between two evaluations of the rules.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..))]
    alert_interval_secs: u64,
}

/// Checks the rules, starts their evaluation on the server's runtime (with `--alert-rules`)
/// and returns the `GET /alerts` route to merge into the server's router. `address` is the
/// server's `host:port`, which notifications link back to. Call it inside the runtime.
pub(crate) fn start(args: &AlertArgs, registry: &Registry, address: &str) -> Result<Router> {
    let Some(path) = &args.alert_rules else {
        return Ok(route::router(None));
    };
    let file = rules::load(path)?;
    if let Some(url) = &args.alert_webhook {
        check_webhook(url)?;
    }
    let interval = Duration::from_secs(args.alert_interval_secs);
    let base_url = format!("http://{address}");
    let (n, webhook) = (file.rules.len(), args.alert_webhook.clone());
    let alerting = Arc::new(Alerting::new(file, registry, webhook, interval, base_url)?);
    tokio::spawn(engine::run(alerting.clone(), registry.clone()));
    tracing::info!(target: "glassbox::alerts", rules = n, file = %path.display(), interval_s = args.alert_interval_secs, "evaluating alert rules");
    Ok(route::router(Some(alerting)))
}

/// Only plain HTTP can be posted to (the build has no TLS client); say so before serving.
fn check_webhook(url: &str) -> Result<()> {
    let Some(rest) = url.strip_prefix("http://") else {
        bail!("--alert-webhook {url:?}: only http:// URLs are supported (e.g. an Alertmanager or relay inside the cluster)");
    };
    if rest.is_empty() || rest.starts_with('/') {
        bail!("--alert-webhook {url:?} names no host");
    }
    Ok(())
}

/// `glassbox alerts`: writes the rules file's rules as Prometheus alerting rules to `out`;
/// returns how many.
pub fn write_prometheus_rules(rules_path: &Path, out: &Path) -> Result<usize> {
    let file = rules::load(rules_path)?;
    let yaml = promql::to_yaml(&file, &rules_path.display().to_string())?;
    std::fs::write(out, yaml).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(file.rules.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_must_be_plain_http_with_a_host() {
        assert!(check_webhook("http://127.0.0.1:9093/api/v2/alerts").is_ok());
        for bad in [
            "https://hooks.example.com/x",
            "http://",
            "http:///x",
            "127.0.0.1:80",
        ] {
            assert!(check_webhook(bad).is_err(), "{bad}");
        }
    }
}
