//! `glassbox retrain`: one cycle of continuous training, or `--watch` to poll for new data.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::backend::BackendKind;
use crate::gate::GateRules;
use crate::retrain::cycle::Outcome;
use crate::retrain::Retrain;
use crate::with_backend;

#[derive(clap::Args)]
pub struct RetrainArgs {
    /// The model registry; its `champion` is retrained and gated against.
    #[arg(long)]
    registry: PathBuf,
    /// Folder new labelled files arrive in (.csv/.jsonl: sentences, .conll/.txt/.tsv: entities).
    #[arg(long)]
    data: PathBuf,
    /// The loop's folder (ledger, batches, runs, bundles, gate reports); default REGISTRY/retrain.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Train from the recipe's base model instead of fine-tuning the champion's weights.
    #[arg(long)]
    from_scratch: bool,
    /// Training steps per challenger (default: the champion's recipe).
    #[arg(long)]
    steps: Option<usize>,
    /// Gate rules (TOML; see configs/gate.toml). Default: the built-in rules.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Gate on the first N items per task of the test split only (quick checks).
    #[arg(long)]
    gate_limit: Option<usize>,
    /// Keep polling --data every --interval-secs (Ctrl-C stops between cycles).
    #[arg(long)]
    watch: bool,
    #[arg(long, default_value_t = 60)]
    interval_secs: u64,
    /// With --watch: stop after this many polls (for scripts and tests).
    #[arg(long)]
    max_polls: Option<u64>,
    /// Recorded in the registry history as who made the changes.
    #[arg(long, default_value = "glassbox-retrain")]
    actor: String,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

pub fn retrain(a: RetrainArgs) -> Result<()> {
    let rules = match &a.rules {
        Some(p) => GateRules::from_file(p)?,
        None => GateRules::default(),
    };
    let job = Retrain {
        work: a.work.clone().unwrap_or_else(|| a.registry.join("retrain")),
        registry: a.registry.clone(),
        data: a.data.clone(),
        from_champion: !a.from_scratch,
        steps: a.steps,
        rules,
        gate_limit: a.gate_limit,
        actor: a.actor.clone(),
    };
    let mut polls = 0;
    loop {
        let outcome = with_backend!(a.backend, |B, device| job.run_once::<B>(&device)?);
        println!("{}", describe(&outcome));
        polls += 1;
        if !a.watch || a.max_polls.is_some_and(|m| polls >= m) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(a.interval_secs));
    }
}

fn describe(o: &Outcome) -> String {
    match o {
        Outcome::NothingNew => "nothing new: no cycle run".into(),
        Outcome::Promoted { version } => {
            format!("challenger {version} passed the gate and is the champion")
        }
        Outcome::Kept {
            champion,
            challenger,
        } => {
            format!("challenger {challenger} did not pass the gate; champion {champion} stays")
        }
    }
}
