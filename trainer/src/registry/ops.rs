//! The changes: register a bundle, promote a version to an alias, roll an alias back. Each
//! runs under the registry lock, reads the state from the history, appends one event per
//! change and rewrites the index; a process killed at any point leaves a registry whose
//! history is complete up to its last whole line (see [`super::history`]).

use std::path::Path;

use anyhow::{bail, Result};

use super::history::{self, Change, Event};
use super::{index, store, Registry, State, Version};
use crate::io::now_rfc3339;

/// Who makes a change and why, recorded with it.
#[derive(Debug, Clone)]
pub struct Why {
    pub actor: String,
    pub reason: String,
}

/// What a change did, for the command's report.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Something was recorded.
    Done(String),
    /// The registry already was in the asked-for state; nothing was recorded.
    Unchanged(String),
}

impl Outcome {
    pub fn message(&self) -> &str {
        match self {
            Outcome::Done(m) | Outcome::Unchanged(m) => m,
        }
    }
}

/// Stores `bundle` (checked file by file) and records it as the version its manifest names.
/// Registering a bundle that is already stored changes nothing; a version number already used
/// by another bundle is refused.
pub fn register(reg: &Registry, bundle: &Path, why: &Why) -> Result<(Version, Outcome)> {
    let checked = store::check(bundle)?;
    let _lock = reg.lock()?;
    let state = reg.state()?;
    if let Some(v) = state.by_hash(&checked.hash) {
        let msg = format!(
            "already registered as version {} ({})",
            v.version,
            short(&v.manifest_sha256)
        );
        return Ok((v.clone(), Outcome::Unchanged(msg)));
    }
    let version = checked.manifest.version.clone();
    if let Some(other) = state.version(&version) {
        bail!(
            "version {version} is already registered for another bundle ({}); export this one with `--model-version`",
            short(&other.manifest_sha256)
        );
    }
    clear_abandoned(reg);
    store::import(&reg.bundles(), bundle, &checked)?;
    store::fault_pause("after storing, before recording");
    let change = Change::Register {
        version: version.clone(),
        manifest_sha256: checked.hash.clone(),
        name: checked.manifest.name.clone(),
        source: bundle.display().to_string(),
    };
    let state = record(reg, &state, why, change)?;
    let v = state.version(&version).cloned().expect("just registered");
    let msg = format!("registered version {version} ({})", short(&checked.hash));
    Ok((v, Outcome::Done(msg)))
}

/// Points `alias` at the version `target` names (alias, version or hash prefix).
pub fn promote(reg: &Registry, target: &str, alias: &str, why: &Why) -> Result<Outcome> {
    check_alias(alias)?;
    let _lock = reg.lock()?;
    let state = reg.state()?;
    let v = state.resolve(target)?.version.clone();
    if state.alias(alias).map(|c| &c.version) == Some(&v) {
        return Ok(Outcome::Unchanged(format!(
            "{alias} already is version {v}"
        )));
    }
    let from = state.alias(alias).map(|c| c.version.clone());
    let change = Change::Promote {
        alias: alias.into(),
        version: v.clone(),
        previous: from.clone(),
    };
    record(reg, &state, why, change)?;
    Ok(Outcome::Done(match from {
        Some(f) => format!("{alias}: {f} → {v}"),
        None => format!("{alias}: → {v}"),
    }))
}

/// Points `alias` back at the version before its current one, or at `to`.
pub fn rollback(reg: &Registry, alias: &str, to: Option<&str>, why: &Why) -> Result<Outcome> {
    let _lock = reg.lock()?;
    let state = reg.state()?;
    let Some(current) = state.alias(alias).map(|v| v.version.clone()) else {
        bail!("alias {alias:?} points at nothing, so there is nothing to roll back");
    };
    let target = match to {
        Some(t) => state.resolve(t)?.version.clone(),
        None => match state.previous(alias) {
            Some(p) => p.version.clone(),
            None => bail!("{alias} has no earlier version to roll back to (it is {current}); name one with --to"),
        },
    };
    if target == current {
        return Ok(Outcome::Unchanged(format!(
            "{alias} already is version {current}"
        )));
    }
    let change = Change::Rollback {
        alias: alias.into(),
        version: target.clone(),
        previous: Some(current.clone()),
    };
    record(reg, &state, why, change)?;
    Ok(Outcome::Done(format!(
        "{alias}: {current} → {target} (rollback)"
    )))
}

/// Appends one event and rewrites the index; returns the new state.
fn record(reg: &Registry, state: &State, why: &Why, change: Change) -> Result<State> {
    let event = Event {
        seq: state.events + 1,
        at: now_rfc3339(),
        actor: why.actor.clone(),
        reason: why.reason.clone(),
        change,
    };
    history::append(&reg.history_file(), &event)?;
    store::fault_pause("after recording, before the index");
    let state = reg.state()?;
    index::write(reg, &state)?;
    Ok(state)
}

/// Removes scratch folders of imports killed before their rename. They hold no version (the
/// history never named them) and no other import runs while the lock is held.
fn clear_abandoned(reg: &Registry) {
    for dir in store::abandoned_imports(&reg.bundles()) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Alias names: what a file name, a URL and an MLflow alias all accept (MLflow reserves
/// `latest` and `v<number>`).
fn check_alias(alias: &str) -> Result<()> {
    let reserved = alias.eq_ignore_ascii_case("latest")
        || alias
            .strip_prefix(['v', 'V'])
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let ok = !reserved
        && !alias.is_empty()
        && alias.len() <= 64
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !alias.starts_with(|c: char| c.is_ascii_digit());
    if !ok {
        bail!("alias {alias:?}: use letters, digits, - and _ (not starting with a digit), at most 64; `latest` and `v1`, `v2`, … are reserved");
    }
    Ok(())
}

/// The first 12 hex digits of a hash, as reports show it.
pub fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}
