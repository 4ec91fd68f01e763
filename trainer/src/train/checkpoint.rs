//! Resumable checkpoints. A checkpoint is a directory written next to the live one and
//! swapped in by renames, so a run killed at any instant leaves either the previous or the
//! new checkpoint complete, never a mix.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::io::write_atomic;
pub use crate::run_dir::Best;

pub const DIR: &str = "checkpoint";

/// Everything besides weights and optimizer moments that decides what happens next.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainState {
    /// The next step to run.
    pub step: usize,
    /// Batches drawn so far from each task's stream (the data-order position).
    pub batches: Vec<usize>,
    pub best: Option<Best>,
    pub evals_since_best: usize,
    pub stopped_early: bool,
    /// Training seconds so far (summed over resumed sessions).
    pub elapsed_s: f64,
    /// Sentences trained on so far.
    pub sentences: usize,
    /// Task-weighting state (uncertainty log-variances, DWA/GradNorm weights and history).
    #[serde(default)]
    pub balance: super::balance::BalanceState,
}

pub struct Checkpoint {
    pub state: TrainState,
    pub model: Vec<u8>,
    pub optim: Vec<Vec<u8>>,
}

fn optim_name(i: usize) -> String {
    format!("optim-{i}.bin")
}

/// Writes `ck` beside the live checkpoint and swaps it in. When writing fails (a full disk),
/// the half-written copy is removed and the error says that the previous checkpoint is kept
/// and how to continue from it once there is space.
pub fn save(run: &Path, ck: &Checkpoint) -> Result<()> {
    let tmp = run.join(format!("{DIR}.tmp"));
    if let Err(e) = write_files(&tmp, ck) {
        let _ = fs::remove_dir_all(&tmp);
        let kept = match latest(run) {
            Some(_) => "the previous checkpoint is kept",
            None => "no earlier checkpoint exists",
        };
        return Err(e.context(format!(
            "could not save the checkpoint after {} steps ({kept}); free some space, then continue with `glassbox train --resume --out {}`",
            ck.state.step,
            run.display()
        )));
    }
    install(run, &tmp)
}

/// The checkpoint's files, into a fresh `tmp`.
fn write_files(tmp: &Path, ck: &Checkpoint) -> Result<()> {
    if tmp.exists() {
        fs::remove_dir_all(tmp)?;
    }
    fs::create_dir_all(tmp).with_context(|| format!("creating {}", tmp.display()))?;
    write_atomic(&tmp.join("model.bin"), &ck.model)?;
    for (i, o) in ck.optim.iter().enumerate() {
        write_atomic(&tmp.join(optim_name(i)), o)?;
    }
    write_atomic(
        &tmp.join("state.json"),
        serde_json::to_string_pretty(&ck.state)?.as_bytes(),
    )
}

/// Swaps the complete checkpoint in `tmp` in for the live one, by renames only.
fn install(run: &Path, tmp: &Path) -> Result<()> {
    let live = run.join(DIR);
    let old = run.join(format!("{DIR}.old"));
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    if live.exists() {
        fs::rename(&live, &old)?;
    }
    fs::rename(tmp, &live).with_context(|| format!("installing {}", live.display()))?;
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    Ok(())
}

/// For drivers that own their run folders (cv, ablate): whether `run` can be resumed. A
/// folder a kill left without any checkpoint holds nothing worth keeping and is cleared, so
/// the run starts over instead of refusing to overwrite it.
pub fn resume_or_clear(run: &Path) -> Result<bool> {
    if latest(run).is_some() {
        return Ok(true);
    }
    if run.exists() {
        fs::remove_dir_all(run).with_context(|| format!("clearing {}", run.display()))?;
    }
    Ok(false)
}

/// The newest complete checkpoint of `run`, if any.
pub fn latest(run: &Path) -> Option<PathBuf> {
    [DIR.to_string(), format!("{DIR}.old")]
        .into_iter()
        .map(|d| run.join(d))
        .find(|d| d.join("state.json").is_file())
}

pub fn load(dir: &Path) -> Result<Checkpoint> {
    let read = |p: PathBuf| fs::read(&p).with_context(|| format!("reading {}", p.display()));
    let state: TrainState = serde_json::from_slice(&read(dir.join("state.json"))?)
        .with_context(|| format!("{} is not a glassbox training state", dir.display()))?;
    let model = read(dir.join("model.bin"))?;
    let mut optim = vec![];
    for i in 0.. {
        let p = dir.join(optim_name(i));
        if !p.is_file() {
            break;
        }
        optim.push(read(p)?);
    }
    if optim.is_empty() {
        bail!("{} holds no optimizer state", dir.display());
    }
    Ok(Checkpoint {
        state,
        model,
        optim,
    })
}
