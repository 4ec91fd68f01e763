//! `glassbox ab-report`: per-arm metrics and the test of their difference from a server's
//! A/B log (`serve --ab-log`).

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::io::{write_atomic, write_json};
use crate::serve::ab::{log, report};

#[derive(clap::Args)]
pub struct AbReportArgs {
    /// The A/B log written by `glassbox serve --ab-log`.
    #[arg(long)]
    log: PathBuf,
    /// Significance level of the test.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Also write ab_report.json and ab_report.md here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

pub fn ab_report(a: AbReportArgs) -> Result<()> {
    if !(a.alpha > 0.0 && a.alpha < 1.0) {
        bail!("--alpha must be between 0 and 1");
    }
    let events = log::read(&a.log)?;
    if events.is_empty() {
        bail!("{} holds no A/B events yet", a.log.display());
    }
    let r = report::report(&events, a.alpha);
    let md = report::markdown(&r);
    if let Some(out) = &a.out {
        write_json(&out.join("ab_report.json"), &r)?;
        write_atomic(&out.join("ab_report.md"), md.as_bytes())?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{md}");
    }
    Ok(())
}
