//! The data ledger (`WORK/ledger.jsonl`): every file the retrain loop has looked at, by
//! SHA-256, with what became of it — accepted into a batch (with how many items were new),
//! or rejected with the error naming file and line. A file already in the ledger is never
//! read again, so no data is used twice by accident; a fixed file has a new hash and is
//! looked at afresh.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::io::{append_line, complete_lines};

/// One file's fate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// The file as found in the data folder.
    pub file: String,
    pub sha256: String,
    /// The task it feeds (by file type), when it could be assigned one.
    pub task: Option<String>,
    /// `accepted` or `rejected`.
    pub status: String,
    /// Items read, items new (kept), items already seen (dropped as duplicates).
    pub items: usize,
    pub kept: usize,
    pub duplicates: usize,
    /// The batch folder its new items were written to (accepted files).
    pub batch: Option<String>,
    /// Why it was rejected.
    pub error: Option<String>,
    pub at: String,
}

/// The ledger's entries in order.
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    complete_lines(path)?
        .iter()
        .enumerate()
        .map(|(n, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not a ledger entry", path.display(), n + 1))
        })
        .collect()
}

/// Records `entry` durably.
pub fn append(path: &Path, entry: &Entry) -> Result<()> {
    append_line(path, &serde_json::to_string(entry)?)
}

/// Whether a file with this hash was looked at before.
pub fn seen(entries: &[Entry], sha256: &str) -> bool {
    entries.iter().any(|e| e.sha256 == sha256)
}
