//! The registry's append-only history: one JSON object per line, and the only record of what
//! the registry holds. Versions and aliases are whatever replaying it says, so switching an
//! alias is one appended line — it has happened or it has not. A process killed while writing
//! can leave at most a torn last line (no newline): readers ignore it and the next writer
//! cuts it off before appending.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::io::{append_line, complete_lines};

/// One line of `history.jsonl`: who did what, when and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Position in the history, from 1.
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who (`--actor`, else the user name).
    pub actor: String,
    /// Why (`--reason`).
    pub reason: String,
    /// What.
    #[serde(flatten)]
    pub change: Change,
}

/// What an event changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// A bundle was stored under `bundles/<manifest_sha256>` as `version`.
    Register {
        version: String,
        manifest_sha256: String,
        name: String,
        /// Where it was registered from.
        source: String,
    },
    /// An alias was pointed at a version (a promotion); `previous` is what it pointed at.
    Promote {
        alias: String,
        version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<String>,
    },
    /// An alias was pointed back at an earlier version.
    Rollback {
        alias: String,
        version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<String>,
    },
}

impl Event {
    /// Whether the event registered `version` or pointed an alias at it or away from it.
    pub fn mentions(&self, version: &str) -> bool {
        match &self.change {
            Change::Register { version: v, .. } => v == version,
            Change::Promote {
                version: v,
                previous,
                ..
            }
            | Change::Rollback {
                version: v,
                previous,
                ..
            } => v == version || previous.as_deref() == Some(version),
        }
    }
}

/// The events of `path` in order; a missing file is an empty history.
pub fn read(path: &Path) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    for (n, line) in complete_lines(path)?.iter().enumerate() {
        let event: Event = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a history event", path.display(), n + 1))?;
        if event.seq != n as u64 + 1 {
            bail!(
                "{}:{}: event number {} out of order (expected {})",
                path.display(),
                n + 1,
                event.seq,
                n + 1
            );
        }
        events.push(event);
    }
    Ok(events)
}

/// Appends `event` durably. Callers hold the registry lock.
pub fn append(path: &Path, event: &Event) -> Result<()> {
    append_line(path, &serde_json::to_string(event)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn event(seq: u64, version: &str) -> Event {
        Event {
            seq,
            at: "2026-12-02T00:00:00Z".into(),
            actor: "ci".into(),
            reason: "test".into(),
            change: Change::Promote {
                alias: "champion".into(),
                version: version.into(),
                previous: None,
            },
        }
    }

    #[test]
    fn a_torn_last_line_is_ignored_then_cut() {
        let dir = tempdir();
        let path = dir.join("history.jsonl");
        append(&path, &event(1, "1.0.0")).unwrap();
        let mut torn = fs::read(&path).unwrap();
        torn.extend_from_slice(br#"{"seq":2,"at":"2026"#);
        fs::write(&path, &torn).unwrap();
        assert_eq!(read(&path).unwrap(), vec![event(1, "1.0.0")]);
        append(&path, &event(2, "1.1.0")).unwrap();
        assert_eq!(
            read(&path).unwrap(),
            vec![event(1, "1.0.0"), event(2, "1.1.0")]
        );
    }

    #[test]
    fn a_corrupt_complete_line_names_file_and_line() {
        let dir = tempdir();
        let path = dir.join("history.jsonl");
        append(&path, &event(1, "1.0.0")).unwrap();
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("not json\n");
        fs::write(&path, text).unwrap();
        let e = format!("{:#}", read(&path).unwrap_err());
        assert!(e.contains("history.jsonl:2"), "{e}");
    }

    #[test]
    fn the_wire_format_is_flat() {
        let v = serde_json::to_value(event(1, "1.0.0")).unwrap();
        assert_eq!(v["op"], "promote");
        assert_eq!(v["alias"], "champion");
        assert_eq!(v["version"], "1.0.0");
    }

    fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "glassbox-history-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
