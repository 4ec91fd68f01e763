//! `glassbox alerts`: the rules that `glassbox serve --alert-rules` evaluates in-process,
//! written as Prometheus alerting rules over the same metric names, for a deployment where
//! Prometheus scrapes `/metrics` and Alertmanager pages.

use std::path::PathBuf;

use anyhow::Result;

#[derive(clap::Args)]
pub struct AlertsArgs {
    /// The alert rules file (YAML), the one given to `glassbox serve --alert-rules`.
    #[arg(long, default_value = "configs/alerts.yml")]
    rules: PathBuf,
    /// Where to write the Prometheus rules file (`promtool check rules` accepts it).
    #[arg(long)]
    out: PathBuf,
}

/// Writes the Prometheus rules and says how many.
pub fn alerts(args: AlertsArgs) -> Result<()> {
    let n = crate::alerts::write_prometheus_rules(&args.rules, &args.out)?;
    println!(
        "wrote {n} Prometheus alerting rules to {}",
        args.out.display()
    );
    Ok(())
}
