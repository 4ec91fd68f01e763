//! `glassbox registry …`: list, show, register, promote, rollback, diff, check, sync.

use std::path::PathBuf;

use anyhow::{bail, Result};
use glassbox_model::weights::bundle::Manifest;

use crate::registry::ops::{self, short, Outcome, Why};
use crate::registry::{check, diff, mirror, Registry};

#[derive(clap::Args)]
pub struct RegistryArgs {
    /// The registry folder (created by the first `register`).
    #[arg(long, global = true, default_value = "registry")]
    registry: PathBuf,
    /// Who makes the change, recorded in the history (default: $USER).
    #[arg(long, global = true)]
    actor: Option<String>,
    /// Why, recorded in the history.
    #[arg(long, global = true, default_value = "")]
    reason: String,
    /// Mirror versions and aliases to the MLflow tracking server at this URL after the change.
    #[arg(long, global = true)]
    mlflow: Option<String>,
    /// The MLflow registered model to mirror into.
    #[arg(long, global = true, default_value = "glassbox")]
    mlflow_model: String,
    /// Print JSON instead of text (list, show, diff, check).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: RegistryCommand,
}

#[derive(clap::Subcommand)]
enum RegistryCommand {
    /// Every version with its aliases and headline metrics.
    List,
    /// One version (an alias, a version or a manifest-hash prefix): manifest facts and history.
    Show { name: String },
    /// Store a bundle (every file checked) as the version its manifest names.
    Register {
        bundle: PathBuf,
        /// Also point this alias at it (e.g. challenger).
        #[arg(long)]
        alias: Option<String>,
    },
    /// Point an alias at a version.
    Promote {
        name: String,
        #[arg(long, default_value = "champion")]
        alias: String,
    },
    /// Point an alias back at the version before its current one (or --to one).
    Rollback {
        #[arg(long, default_value = "champion")]
        alias: String,
        #[arg(long)]
        to: Option<String>,
    },
    /// Metrics, config and data differences between two versions.
    Diff { a: String, b: String },
    /// Check the history, every stored bundle's hashes and every alias.
    Check,
    /// Bring the MLflow mirror (--mlflow) level with the registry.
    Sync,
}

pub fn registry(a: RegistryArgs) -> Result<()> {
    let why = Why {
        actor: a.actor.clone().unwrap_or_else(default_actor),
        reason: a.reason.clone(),
    };
    let changed = match &a.command {
        RegistryCommand::Register { bundle, alias } => {
            register(&a, bundle, alias.as_deref(), &why)?
        }
        RegistryCommand::Promote { name, alias } => report(ops::promote(
            &Registry::open(&a.registry)?,
            name,
            alias,
            &why,
        )?),
        RegistryCommand::Rollback { alias, to } => report(ops::rollback(
            &Registry::open(&a.registry)?,
            alias,
            to.as_deref(),
            &why,
        )?),
        RegistryCommand::List => list(&a)?,
        RegistryCommand::Show { name } => show(&a, name)?,
        RegistryCommand::Diff { a: x, b: y } => print_diff(&a, x, y)?,
        RegistryCommand::Check => run_check(&a)?,
        RegistryCommand::Sync if a.mlflow.is_none() => bail!("`registry sync` needs --mlflow URL"),
        RegistryCommand::Sync => true,
    };
    if let (true, Some(url)) = (changed, &a.mlflow) {
        let reg = Registry::open(&a.registry)?;
        let s = mirror::sync(&reg, &reg.state()?, url, &a.mlflow_model)?;
        eprintln!(
            "MLflow {url}: {} versions and {} aliases in step",
            s.versions, s.aliases
        );
    }
    Ok(())
}

fn default_actor() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// Prints what a change did; true when something was recorded.
fn report(outcome: Outcome) -> bool {
    println!("{}", outcome.message());
    matches!(outcome, Outcome::Done(_))
}

fn register(
    a: &RegistryArgs,
    bundle: &std::path::Path,
    alias: Option<&str>,
    why: &Why,
) -> Result<bool> {
    let reg = Registry::open_or_create(&a.registry)?;
    let (v, outcome) = ops::register(&reg, bundle, why)?;
    let mut changed = report(outcome);
    if let Some(alias) = alias {
        changed |= report(ops::promote(&reg, &v.version, alias, why)?);
    }
    Ok(changed)
}

fn list(a: &RegistryArgs) -> Result<bool> {
    let reg = Registry::open(&a.registry)?;
    let state = reg.state()?;
    let index = crate::registry::index::build(&reg, &state);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&index)?);
        return Ok(false);
    }
    println!(
        "{:<14} {:<14} {:<24} {:<22} headline",
        "version", "manifest", "aliases", "registered"
    );
    for v in index["versions"].as_array().into_iter().flatten() {
        let aliases: Vec<&str> = v["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str())
            .collect();
        println!(
            "{:<14} {:<14} {:<24} {:<22} {}",
            v["version"].as_str().unwrap_or(""),
            short(v["manifest_sha256"].as_str().unwrap_or("")),
            aliases.join(","),
            v["registered_at"].as_str().unwrap_or(""),
            headline(&v["metrics"]),
        );
    }
    Ok(false)
}

/// `task metric=value` for each test metric a model card leads with.
fn headline(metrics: &serde_json::Value) -> String {
    metrics
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| matches!(m["name"].as_str(), Some("macro_f1" | "span_micro_f1")))
        .map(|m| {
            format!(
                "{} {}={:.3}",
                m["task"].as_str().unwrap_or(""),
                m["name"].as_str().unwrap_or(""),
                m["value"].as_f64().unwrap_or(f64::NAN)
            )
        })
        .collect::<Vec<_>>()
        .join("  ")
}

fn show(a: &RegistryArgs, name: &str) -> Result<bool> {
    let reg = Registry::open(&a.registry)?;
    let state = reg.state()?;
    let v = state.resolve(name)?;
    let dir = reg.bundle_dir(v);
    let manifest = Manifest::from_json(&std::fs::read(dir.join("manifest.json"))?)?;
    let history: Vec<_> = crate::registry::history::read(&reg.history_file())?
        .into_iter()
        .filter(|e| e.mentions(&v.version))
        .collect();
    let out = serde_json::json!({
        "version": v, "aliases": state.aliases_of(&v.version), "bundle": dir,
        "lineage": manifest.lineage, "metrics": manifest.metrics, "data": manifest.data,
        "history": history,
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{}", show_text(&out));
    }
    Ok(false)
}

fn print_diff(a: &RegistryArgs, x: &str, y: &str) -> Result<bool> {
    let reg = Registry::open(&a.registry)?;
    let state = reg.state()?;
    let (vx, vy) = (state.resolve(x)?, state.resolve(y)?);
    let read = |v| -> Result<Manifest> {
        Ok(Manifest::from_json(&std::fs::read(
            reg.bundle_dir(v).join("manifest.json"),
        )?)?)
    };
    let d = diff::diff(&vx.version, &read(vx)?, &vy.version, &read(vy)?);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&d.json)?);
    } else {
        print!("{}", d.markdown);
    }
    Ok(false)
}

fn run_check(a: &RegistryArgs) -> Result<bool> {
    let reg = Registry::open(&a.registry)?;
    let findings = check::check(&reg)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&findings)?);
    } else {
        println!("{}", findings.summary());
    }
    if !findings.problems.is_empty() {
        bail!("the registry has {} problem(s)", findings.problems.len());
    }
    Ok(false)
}

/// `show` for people: the facts first, then the history lines.
fn show_text(out: &serde_json::Value) -> String {
    let v = &out["version"];
    let mut s = format!(
        "version {}  ({})\nmanifest {}\nbundle   {}\naliases  {}\nparent   {}\ncommit   {}\n",
        v["version"].as_str().unwrap_or(""),
        v["name"].as_str().unwrap_or(""),
        v["manifest_sha256"].as_str().unwrap_or(""),
        out["bundle"].as_str().unwrap_or(""),
        out["aliases"],
        out["lineage"]["parent_version"]
            .as_str()
            .unwrap_or("none (pretrained checkpoint)"),
        out["lineage"]["code_commit"].as_str().unwrap_or("unknown"),
    );
    s.push_str(&format!(
        "metrics  {}\nhistory:\n",
        headline(&out["metrics"])
    ));
    for e in out["history"].as_array().into_iter().flatten() {
        s.push_str(&format!(
            "  #{} {} {} {} {}{} by {}: {}\n",
            e["seq"],
            e["at"].as_str().unwrap_or(""),
            e["op"].as_str().unwrap_or(""),
            e["alias"].as_str().unwrap_or(""),
            e["version"].as_str().unwrap_or(""),
            e["previous"]
                .as_str()
                .map(|p| format!(" (was {p})"))
                .unwrap_or_default(),
            e["actor"].as_str().unwrap_or(""),
            e["reason"].as_str().unwrap_or(""),
        ));
    }
    s
}
