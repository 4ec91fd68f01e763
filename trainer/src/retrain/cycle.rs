//! One retrain cycle as a resumable sequence of stages (see the module above).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use glassbox_model::weights::bundle::Manifest;
use serde::{Deserialize, Serialize};

use super::intake::{take_in, write_batch_file};
use super::ledger;
use super::Retrain;
use crate::config::TrainConfig;
use crate::export::{export_run, lineage, Quantize};
use crate::gate::{report::write_report, run_gate, GateSet};
use crate::io::{read_json, write_json};
use crate::registry::ops::{self, Why};
use crate::registry::{Registry, State};
use crate::run_dir::RunDir;

/// The stage a cycle has reached.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Train,
    Export,
    Register,
    Gate,
    Done,
}

/// `WORK/cycle.json`: the cycle in progress (or the last one, when done).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cycle {
    pub batch: String,
    pub stage: Stage,
    /// The champion the challenger is trained from and gated against.
    pub champion: String,
    pub champion_sha256: String,
    /// The challenger's version.
    pub version: String,
    /// Every batch file so far (this one's included), per task: the training split's additions.
    pub batch_files: Vec<(String, PathBuf)>,
    pub new_items: usize,
    /// Set once the gate has run.
    pub passed: Option<bool>,
    /// The ledger entries of the files this batch came from.
    pub entries: Vec<ledger::Entry>,
}

/// What a call did.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    NothingNew,
    Promoted {
        version: String,
    },
    Kept {
        champion: String,
        challenger: String,
    },
}

const CYCLE: &str = "cycle.json";
const LEDGER: &str = "ledger.jsonl";

impl Retrain {
    fn cycle_file(&self) -> PathBuf {
        self.work.join(CYCLE)
    }
    fn ledger_file(&self) -> PathBuf {
        self.work.join(LEDGER)
    }
    fn run_dir(&self, batch: &str) -> PathBuf {
        self.work.join("runs").join(batch)
    }
    fn bundle_dir(&self, batch: &str) -> PathBuf {
        self.work.join("bundles").join(batch)
    }
    fn gate_dir(&self, batch: &str) -> PathBuf {
        self.work.join("gates").join(batch)
    }

    /// Resumes an unfinished cycle, or starts one if new data arrived.
    pub fn run_once<B: Backend>(&self, device: &B::Device) -> Result<Outcome> {
        fs::create_dir_all(&self.work)
            .with_context(|| format!("creating {}", self.work.display()))?;
        let reg = Registry::open(&self.registry)?;
        let mut cycle = match self.unfinished()? {
            Some(c) => {
                eprintln!("resuming batch {} at stage {:?}", c.batch, c.stage);
                self.ledger(&c.entries)?;
                c
            }
            None => match self.start(&reg)? {
                Some(c) => c,
                None => return Ok(Outcome::NothingNew),
            },
        };
        while cycle.stage != Stage::Done {
            self.advance::<B>(&reg, &mut cycle, device)?;
            write_json(&self.cycle_file(), &cycle)?;
        }
        Ok(outcome(&cycle))
    }

    fn unfinished(&self) -> Result<Option<Cycle>> {
        if !self.cycle_file().is_file() {
            return Ok(None);
        }
        let c: Cycle = read_json(&self.cycle_file())?;
        Ok((c.stage != Stage::Done).then_some(c))
    }

    /// Takes in new data; `None` when there is none.
    fn start(&self, reg: &Registry) -> Result<Option<Cycle>> {
        let state = reg.state()?;
        let champion = state
            .alias("champion")
            .context("the registry has no champion: register a bundle and `glassbox registry promote` it first")?
            .clone();
        let recipe = recipe_of(&reg.bundle_dir(&champion))?;
        let entries = ledger::read(&self.ledger_file())?;
        let earlier = batch_files(&entries, &self.work);
        let intake = take_in(&self.data, &recipe, &entries, &earlier)?;
        report_intake(&intake.entries);
        let batch = next_batch(&entries);
        let new_items: usize = intake.entries.iter().map(|e| e.kept).sum();
        let mut entries = intake.entries;
        if new_items == 0 {
            self.ledger(&entries)?;
            eprintln!("nothing new in {}", self.data.display());
            return Ok(None);
        }
        let mut files = earlier;
        let dir = self.work.join("batches").join(&batch);
        for items in &intake.items {
            files.push((items.task.clone(), write_items(&dir, &recipe, items)?));
        }
        for e in entries.iter_mut().filter(|e| e.kept > 0) {
            e.batch = Some(batch.clone());
        }
        let cycle = Cycle {
            batch,
            stage: Stage::Train,
            champion: champion.version.clone(),
            champion_sha256: champion.manifest_sha256.clone(),
            version: next_version(&state)?,
            batch_files: files,
            new_items,
            passed: None,
            entries,
        };
        // The cycle first, then the ledger: a kill in between resumes the cycle, which
        // ledgers its files (see `run_once`); the other order would lose the batch.
        write_json(&self.cycle_file(), &cycle)?;
        self.ledger(&cycle.entries)?;
        Ok(Some(cycle))
    }

    /// Appends the entries the ledger lacks (by file hash).
    fn ledger(&self, entries: &[ledger::Entry]) -> Result<()> {
        let have = ledger::read(&self.ledger_file())?;
        for e in entries.iter().filter(|e| !ledger::seen(&have, &e.sha256)) {
            ledger::append(&self.ledger_file(), e)?;
        }
        Ok(())
    }

    /// Runs the cycle's current stage and moves it on.
    fn advance<B: Backend>(&self, reg: &Registry, c: &mut Cycle, device: &B::Device) -> Result<()> {
        let state = reg.state()?;
        let champion = state
            .by_hash(&c.champion_sha256)
            .context("the cycle's champion left the registry")?;
        let champion_dir = reg.bundle_dir(champion);
        let why = |reason: String| Why {
            actor: self.actor.clone(),
            reason,
        };
        c.stage = match c.stage {
            Stage::Train => {
                self.train::<B>(c, &champion_dir, device)?;
                Stage::Export
            }
            Stage::Export => {
                let quantize = quantization_of(&champion_dir)?;
                export_run::<B>(
                    &self.run_dir(&c.batch),
                    &self.bundle_dir(&c.batch),
                    quantize,
                    Some(&c.version),
                    device,
                )?;
                Stage::Register
            }
            Stage::Register => {
                let reason = format!("retrain {}: {} new items", c.batch, c.new_items);
                let (v, _) = ops::register(reg, &self.bundle_dir(&c.batch), &why(reason.clone()))?;
                ops::promote(reg, &v.version, "challenger", &why(reason))?;
                Stage::Gate
            }
            Stage::Gate => {
                let passed = self.gate::<B>(reg, c, &champion_dir, device)?;
                c.passed = Some(passed);
                if passed {
                    let reason = format!(
                        "gate passed ({}): see {}",
                        c.batch,
                        self.gate_dir(&c.batch).join("gate.md").display()
                    );
                    ops::promote(reg, &c.version, "champion", &why(reason))?;
                }
                Stage::Done
            }
            Stage::Done => Stage::Done,
        };
        Ok(())
    }

    /// Trains the challenger (resuming a killed run; a finished run is kept).
    fn train<B: Backend>(&self, c: &Cycle, champion_dir: &Path, device: &B::Device) -> Result<()> {
        let run = self.run_dir(&c.batch);
        if RunDir::new(&run).is_finished() {
            return Ok(());
        }
        let mut cfg = recipe_of(champion_dir)?;
        if self.from_champion {
            cfg.base_model = champion_dir.to_path_buf();
        }
        if let Some(steps) = self.steps {
            cfg.train.steps = steps;
        }
        for task in cfg.tasks.iter_mut() {
            task.extra_train = c
                .batch_files
                .iter()
                .filter(|f| f.0 == task.name)
                .map(|f| f.1.clone())
                .collect();
        }
        cfg.validate()?;
        let resume = crate::train::checkpoint::latest(&run).is_some();
        eprintln!(
            "training challenger {} ({}){}",
            c.version,
            run.display(),
            if resume { ", resuming" } else { "" }
        );
        crate::train::train_on::<burn::backend::Autodiff<B>>(
            &cfg,
            &run,
            resume,
            None,
            std::slice::from_ref(device),
        )?;
        Ok(())
    }

    /// Runs the gate, writes its report, and says whether it passed.
    fn gate<B: Backend>(
        &self,
        reg: &Registry,
        c: &Cycle,
        champion_dir: &Path,
        device: &B::Device,
    ) -> Result<bool> {
        let state = reg.state()?;
        let challenger = state
            .version(&c.version)
            .context("the challenger is not registered")?;
        let set = GateSet {
            limit: self.gate_limit,
            ..GateSet::split("test")
        };
        let report = run_gate::<B>(
            champion_dir,
            &reg.bundle_dir(challenger),
            &self.rules,
            &set,
            device,
        )?;
        write_report(&self.gate_dir(&c.batch), &report)?;
        let kept = crate::registry::gate_report(reg, &c.version);
        std::fs::create_dir_all(kept.parent().expect("gates folder"))?;
        std::fs::copy(self.gate_dir(&c.batch).join("gate.json"), &kept)
            .with_context(|| format!("keeping the gate report as {}", kept.display()))?;
        {
            let _lock = reg.lock()?;
            crate::registry::index::write(reg, &reg.state()?)?;
        }
        eprintln!("{}", crate::gate::report::verdict(&report));
        Ok(report.passed())
    }
}

fn outcome(c: &Cycle) -> Outcome {
    if c.passed == Some(true) {
        Outcome::Promoted {
            version: c.version.clone(),
        }
    } else {
        Outcome::Kept {
            champion: c.champion.clone(),
            challenger: c.version.clone(),
        }
    }
}

/// The training recipe a bundle was exported with.
fn recipe_of(bundle: &Path) -> Result<TrainConfig> {
    let m = Manifest::from_json(&fs::read(bundle.join("manifest.json"))?)?;
    let Some(cfg) = m.training.as_ref().and_then(|t| t.get("config")) else {
        bail!(
            "{} records no training recipe, so there is nothing to retrain from",
            bundle.display()
        );
    };
    serde_json::from_value(cfg.clone())
        .with_context(|| format!("{}: the recorded recipe does not parse", bundle.display()))
}

fn quantization_of(bundle: &Path) -> Result<Quantize> {
    let m = Manifest::from_json(&fs::read(bundle.join("manifest.json"))?)?;
    Ok(if m.quantization == "none" {
        Quantize::None
    } else {
        Quantize::Int8
    })
}

/// Batch files of accepted ledger entries, per task, oldest first.
fn batch_files(entries: &[ledger::Entry], work: &Path) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for e in entries {
        if let (Some(task), Some(batch)) = (&e.task, &e.batch) {
            let dir = work.join("batches").join(batch);
            for ext in ["csv", "conll"] {
                let f = dir.join(format!("{task}.{ext}"));
                if f.is_file() && !out.iter().any(|(_, p)| p == &f) {
                    out.push((task.clone(), f));
                }
            }
        }
    }
    out
}

/// The name of the next batch: one more than the batches the ledger names.
fn next_batch(entries: &[ledger::Entry]) -> String {
    let batches: std::collections::BTreeSet<_> =
        entries.iter().filter_map(|e| e.batch.as_ref()).collect();
    format!("b{:04}", batches.len() + 1)
}

/// Writes one task's new items into the batch folder.
fn write_items(
    dir: &Path,
    recipe: &TrainConfig,
    items: &super::intake::NewItems,
) -> Result<PathBuf> {
    let tc = recipe
        .tasks
        .iter()
        .find(|t| t.name == items.task)
        .context("intake named a task the recipe lacks")?;
    write_batch_file(dir, tc, &items.examples)
}

/// The next minor version above every registered one.
fn next_version(state: &State) -> Result<String> {
    let mut top = (0, 0);
    for v in &state.versions {
        if let Ok((major, minor, _)) = lineage::parse(&v.version) {
            top = top.max((major, minor));
        }
    }
    Ok(format!(
        "{}.{}.0",
        top.0.max(1),
        if top.0 == 0 { 0 } else { top.1 + 1 }
    ))
}

fn report_intake(entries: &[ledger::Entry]) {
    for e in entries {
        match &e.error {
            Some(err) => eprintln!("rejected {}: {err}", e.file),
            None => eprintln!(
                "{}: {} items, {} new, {} already seen",
                e.file, e.items, e.kept, e.duplicates
            ),
        }
    }
}
