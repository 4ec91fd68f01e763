//! `glassbox gate`: may the challenger bundle replace the champion?

use std::path::PathBuf;

use anyhow::Result;

use crate::backend::BackendKind;
use crate::gate::report::{verdict, write_report};
use crate::gate::{run_gate, GateRules, GateSet};
use crate::load::KernelChoice;
use crate::with_backend;

/// Exit status of the command that decides a promotion, for scripts and CI.
pub const EXIT_FAILED: i32 = 3;

const EXIT_CODES: &str = "Exit status: 0 when the challenger passes every check (promote it); \
3 when it fails any (keep the champion; the report says which and why); 1 on errors (a bundle \
missing or corrupt, different label sets, unreadable rules). The report is written either way.";

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct GateArgs {
    /// The bundle in production; its recorded training recipe defines the gate set.
    #[arg(long)]
    champion: PathBuf,
    /// The bundle that wants to replace it (same label sets).
    #[arg(long)]
    challenger: PathBuf,
    /// Gate rules (TOML; see configs/gate.toml). Default: the built-in rules, which are
    /// the ones configs/gate.toml spells out.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// The split of the champion's recipe to gate on.
    #[arg(long, default_value = "test", value_parser = ["train", "dev", "test"])]
    split: String,
    /// Only N items per task, evenly spaced over the split (a quick look; the full split
    /// decides).
    #[arg(long)]
    limit: Option<usize>,
    /// Folder for gate.json, gate.md and gate.svg.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// What computes the encoder's linear layers: f32, or int8 kernels (CPU backend).
    #[arg(long, value_enum, default_value_t = KernelChoice::F32)]
    kernels: KernelChoice,
}

pub fn gate(a: GateArgs) -> Result<()> {
    let rules = match &a.rules {
        Some(path) => GateRules::from_file(path)?,
        None => GateRules::default(),
    };
    let set = GateSet {
        limit: a.limit,
        kernels: a.kernels,
        ..GateSet::split(&a.split)
    };
    let report = with_backend!(a.backend, |B, device| {
        run_gate::<B>(&a.champion, &a.challenger, &rules, &set, &device)?
    });
    write_report(&a.out, &report)?;
    for c in &report.decision.checks {
        println!(
            "{} {}: {}",
            if c.passed { "pass" } else { "FAIL" },
            c.name,
            c.reason
        );
    }
    println!("{}", verdict(&report));
    eprintln!("report written to {}", a.out.display());
    if !report.passed() {
        std::process::exit(EXIT_FAILED);
    }
    Ok(())
}
