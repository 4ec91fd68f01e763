//! What the registry holds, as replaying its history says: the versions in registration order
//! and, per alias, the stack of versions it pointed at (a promotion pushes, a rollback pops,
//! so rolling back twice walks back two promotions).

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use serde::Serialize;

use super::history::{Change, Event};

/// One registered version.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Version {
    pub version: String,
    pub manifest_sha256: String,
    pub name: String,
    pub registered_at: String,
    pub actor: String,
    pub reason: String,
    pub source: String,
}

/// The registry after replaying its history.
#[derive(Debug, Default, Clone)]
pub struct State {
    pub versions: Vec<Version>,
    /// Alias → versions it was pointed at, the current one last.
    pub aliases: BTreeMap<String, Vec<String>>,
    /// Events replayed (the next event's number is this plus one).
    pub events: u64,
}

impl State {
    /// Replays `events` (already in order).
    pub fn replay(events: &[Event]) -> Result<Self> {
        let mut state = State::default();
        for e in events {
            state.apply(e)?;
        }
        Ok(state)
    }

    fn apply(&mut self, e: &Event) -> Result<()> {
        match &e.change {
            Change::Register {
                version,
                manifest_sha256,
                name,
                source,
            } => self.versions.push(Version {
                version: version.clone(),
                manifest_sha256: manifest_sha256.clone(),
                name: name.clone(),
                registered_at: e.at.clone(),
                actor: e.actor.clone(),
                reason: e.reason.clone(),
                source: source.clone(),
            }),
            Change::Promote { alias, version, .. } => {
                self.require(version, e.seq)?;
                self.aliases
                    .entry(alias.clone())
                    .or_default()
                    .push(version.clone());
            }
            Change::Rollback { alias, version, .. } => self.roll_back(alias, version, e.seq)?,
        }
        self.events = e.seq;
        Ok(())
    }

    /// A rollback to the version under the top pops; to any other version pushes it.
    fn roll_back(&mut self, alias: &str, version: &str, seq: u64) -> Result<()> {
        self.require(version, seq)?;
        let stack = self.aliases.entry(alias.to_string()).or_default();
        if stack.len() >= 2 && stack[stack.len() - 2] == version {
            stack.pop();
        } else {
            stack.push(version.to_string());
        }
        Ok(())
    }

    fn require(&self, version: &str, seq: u64) -> Result<()> {
        if self.version(version).is_none() {
            bail!("history event {seq} names version {version}, which was never registered");
        }
        Ok(())
    }

    /// The registered version named `version`.
    pub fn version(&self, version: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The version stored with manifest hash `hash`.
    pub fn by_hash(&self, hash: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.manifest_sha256 == hash)
    }

    /// The version `alias` points at now.
    pub fn alias(&self, alias: &str) -> Option<&Version> {
        let v = self.aliases.get(alias)?.last()?;
        self.version(v)
    }

    /// The version `alias` pointed at before its current one (what a rollback restores).
    pub fn previous(&self, alias: &str) -> Option<&Version> {
        let stack = self.aliases.get(alias)?;
        let v = stack.len().checked_sub(2).map(|i| &stack[i])?;
        self.version(v)
    }

    /// Aliases pointing at `version` now.
    pub fn aliases_of(&self, version: &str) -> Vec<String> {
        self.aliases
            .iter()
            .filter(|(_, s)| s.last().map(String::as_str) == Some(version))
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// Looks `name` up as an alias, a version, or a manifest-hash prefix (≥ 8 hex digits).
    pub fn resolve(&self, name: &str) -> Result<&Version> {
        if let Some(v) = self.alias(name).or_else(|| self.version(name)) {
            return Ok(v);
        }
        let hits: Vec<&Version> = if name.len() >= 8 {
            let p = name.to_ascii_lowercase();
            self.versions
                .iter()
                .filter(|v| v.manifest_sha256.starts_with(&p))
                .collect()
        } else {
            vec![]
        };
        match hits.as_slice() {
            [one] => Ok(one),
            [] => bail!("no alias, version or manifest hash {name:?} in the registry (see `glassbox registry list`)"),
            _ => bail!("{name:?} is the start of {} manifest hashes; give more digits", hits.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: u64, change: Change) -> Event {
        Event {
            seq,
            at: format!("t{seq}"),
            actor: "a".into(),
            reason: "r".into(),
            change,
        }
    }
    fn reg(seq: u64, v: &str, h: &str) -> Event {
        ev(
            seq,
            Change::Register {
                version: v.into(),
                manifest_sha256: h.into(),
                name: "m".into(),
                source: "s".into(),
            },
        )
    }
    fn promote(seq: u64, v: &str) -> Event {
        ev(
            seq,
            Change::Promote {
                alias: "champion".into(),
                version: v.into(),
                previous: None,
            },
        )
    }
    fn rollback(seq: u64, v: &str) -> Event {
        ev(
            seq,
            Change::Rollback {
                alias: "champion".into(),
                version: v.into(),
                previous: None,
            },
        )
    }

    #[test]
    fn promotions_stack_and_rollbacks_walk_back() {
        let mut events = vec![
            reg(1, "1.0.0", "aaaaaaaa11"),
            reg(2, "1.1.0", "bbbbbbbb22"),
            reg(3, "1.2.0", "cccccccc33"),
            promote(4, "1.0.0"),
            promote(5, "1.1.0"),
            promote(6, "1.2.0"),
        ];
        let s = State::replay(&events).unwrap();
        assert_eq!(s.alias("champion").unwrap().version, "1.2.0");
        assert_eq!(s.previous("champion").unwrap().version, "1.1.0");
        events.push(rollback(7, "1.1.0"));
        events.push(rollback(8, "1.0.0"));
        let s = State::replay(&events).unwrap();
        assert_eq!(s.alias("champion").unwrap().version, "1.0.0");
        assert!(s.previous("champion").is_none());
        // A rollback --to a version that is not the previous one is pushed like a promotion.
        events.push(rollback(9, "1.2.0"));
        let s = State::replay(&events).unwrap();
        assert_eq!(s.alias("champion").unwrap().version, "1.2.0");
        assert_eq!(s.previous("champion").unwrap().version, "1.0.0");
        assert_eq!(s.events, 9);
    }

    #[test]
    fn names_resolve_as_alias_version_or_hash_prefix() {
        let s = State::replay(&[
            reg(1, "1.0.0", "aaaaaaaa11"),
            reg(2, "1.1.0", "aaaaaaaa22"),
            promote(3, "1.1.0"),
        ])
        .unwrap();
        assert_eq!(s.resolve("champion").unwrap().version, "1.1.0");
        assert_eq!(s.resolve("1.0.0").unwrap().manifest_sha256, "aaaaaaaa11");
        assert_eq!(s.resolve("AAAAAAAA2").unwrap().version, "1.1.0");
        assert!(format!("{}", s.resolve("aaaaaaaa").unwrap_err()).contains("2 manifest hashes"));
        assert!(format!("{}", s.resolve("2.0.0").unwrap_err()).contains("registry list"));
        assert_eq!(s.aliases_of("1.1.0"), vec!["champion".to_string()]);
    }

    #[test]
    fn an_alias_to_an_unknown_version_is_refused() {
        let e = State::replay(&[promote(1, "9.9.9")]).unwrap_err();
        assert!(format!("{e}").contains("never registered"), "{e}");
    }
}
