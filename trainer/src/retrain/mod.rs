//! `glassbox retrain`: continuous training behind the champion–challenger gate.
//!
//! One cycle: take in new labelled files (ledgered, validated, de-duplicated) as a batch; train
//! a challenger from the champion's recipe with every batch so far added to the training split
//! (fine-tuned from the champion's weights, or from the recipe's base model); export it as the
//! next version; register it as `challenger`; run the gate against the champion on the
//! champion's test split (which new data never enters); promote it to `champion` only if the
//! gate passes. A report is written either way.
//!
//! The cycle's progress is kept in `WORK/cycle.json` and every stage can run twice without
//! harm (training resumes from its checkpoint, registering a stored bundle records nothing),
//! so a killed cycle resumes where it stopped, and a run with no new data does nothing.

pub mod cycle;
pub mod intake;
pub mod ledger;

use std::path::PathBuf;

use crate::gate::GateRules;

/// Where the loop reads and writes, and how it trains.
#[derive(Debug, Clone)]
pub struct Retrain {
    pub registry: PathBuf,
    /// The folder new labelled files arrive in.
    pub data: PathBuf,
    /// The loop's own folder: ledger, batches, runs, bundles, gate reports.
    pub work: PathBuf,
    /// Fine-tune from the champion's weights (true) or train from the recipe's base model.
    pub from_champion: bool,
    /// Training steps of each challenger (default: the recipe's).
    pub steps: Option<usize>,
    pub rules: GateRules,
    /// Only the first N gate items per task (quick checks); None: the whole split.
    pub gate_limit: Option<usize>,
    /// Who the registry records as making the changes.
    pub actor: String,
}
