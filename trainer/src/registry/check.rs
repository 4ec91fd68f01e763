//! `glassbox registry check`: the history replays, every recorded version's bundle is stored
//! complete with the hashes its manifest lists, and every alias names a version. Leftovers of
//! interrupted changes are reported as notes: they hold no version and change nothing.

use std::fs;

use anyhow::Result;
use serde::Serialize;

use super::{index, store, Registry};

/// What the check found.
#[derive(Debug, Serialize)]
pub struct Findings {
    pub versions: usize,
    pub aliases: usize,
    pub events: u64,
    /// Things that are wrong (the command fails).
    pub problems: Vec<String>,
    /// Harmless leftovers of interrupted changes.
    pub notes: Vec<String>,
}

impl Findings {
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} versions, {} aliases, {} events: {}",
            self.versions,
            self.aliases,
            self.events,
            if self.problems.is_empty() {
                "consistent"
            } else {
                "PROBLEMS"
            }
        );
        for p in &self.problems {
            s.push_str(&format!("\n  problem: {p}"));
        }
        for n in &self.notes {
            s.push_str(&format!("\n  note: {n}"));
        }
        s
    }
}

/// Checks the registry; a stale index (a change killed before rewriting it) is rewritten.
pub fn check(reg: &Registry) -> Result<Findings> {
    let _lock = reg.lock()?;
    let state = match reg.state() {
        Ok(s) => s,
        Err(e) => {
            return Ok(Findings {
                versions: 0,
                aliases: 0,
                events: 0,
                problems: vec![format!("{e:#}")],
                notes: vec![],
            })
        }
    };
    let mut problems = Vec::new();
    for v in &state.versions {
        match store::check(&reg.bundle_dir(v)) {
            Ok(c) if c.hash == v.manifest_sha256 => {}
            Ok(c) => problems.push(format!(
                "version {}: stored manifest hashes to {}",
                v.version, c.hash
            )),
            Err(e) => problems.push(format!("version {}: {e:#}", v.version)),
        }
    }
    let mut notes = unrecorded(reg, &state);
    let fresh = index::build(reg, &state);
    let on_disk: Option<serde_json::Value> =
        crate::io::read_json(&reg.root().join(index::INDEX)).ok();
    if on_disk.as_ref() != Some(&fresh) && !state.versions.is_empty() {
        index::write(reg, &state)?;
        notes
            .push("index.json was behind the history (a change was interrupted); rewritten".into());
    }
    Ok(Findings {
        versions: state.versions.len(),
        aliases: state.aliases.values().filter(|s| !s.is_empty()).count(),
        events: state.events,
        problems,
        notes,
    })
}

/// Stored bundles the history never recorded, and abandoned import folders.
fn unrecorded(reg: &Registry, state: &super::State) -> Vec<String> {
    let mut notes: Vec<String> = store::abandoned_imports(&reg.bundles())
        .into_iter()
        .map(|p| {
            format!(
                "{}: an import killed before it finished (removed by the next register)",
                p.display()
            )
        })
        .collect();
    let Ok(entries) = fs::read_dir(reg.bundles()) else {
        return notes;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with(store::INCOMING) && state.by_hash(&name).is_none() {
            notes.push(format!(
                "bundles/{name}: stored but never recorded (a register was interrupted; registering the bundle again records it)"
            ));
        }
    }
    notes
}
