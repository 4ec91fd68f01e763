//! The A/B log (`--ab-log FILE`): one JSON object per line — a prediction (request id, input
//! index, arm, model version, class, confidence, client key and whether it is sticky) or a
//! feedback (request id, input index, true label). Appended under a lock and flushed per
//! line, so a crash loses at most the line being written and readers skip a torn last line.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::io::now_rfc3339;

/// One line of the log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Prediction {
        at: String,
        request_id: String,
        index: usize,
        /// `champion`, `challenger`, or `shadow` (the challenger's unreturned answer).
        arm: String,
        model_version: String,
        client: String,
        sticky: bool,
        label: String,
        confidence: f64,
    },
    Feedback {
        at: String,
        request_id: String,
        index: usize,
        label: String,
    },
}

/// The open log.
pub struct AbLog {
    file: Mutex<File>,
}

impl AbLog {
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening the A/B log {}", path.display()))?;
        Ok(AbLog {
            file: Mutex::new(file),
        })
    }

    /// Appends one event; a failed write is logged, never fatal to the request.
    pub fn write(&self, event: &Event) {
        let line = match serde_json::to_string(event) {
            Ok(l) => l + "\n",
            Err(_) => return,
        };
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = f.write_all(line.as_bytes()) {
            tracing::warn!(error = %e, "cannot append to the A/B log");
        }
    }
}

/// The prediction events of one request's answers (`items`: the `/predict` JSON objects).
pub fn predictions(
    request_id: &str,
    arm: &str,
    version: &str,
    client: (&str, bool),
    items: &[Value],
) -> Vec<Event> {
    items
        .iter()
        .enumerate()
        .filter_map(|(index, v)| {
            let label = v.pointer("/sentence/label")?.as_str()?.to_string();
            let confidence = v["sentence"]["probs"][&label].as_f64()?;
            Some(Event::Prediction {
                at: now_rfc3339(),
                request_id: request_id.into(),
                index,
                arm: arm.into(),
                model_version: version.into(),
                client: client.0.into(),
                sticky: client.1,
                label,
                confidence,
            })
        })
        .collect()
}

/// Reads a log, skipping a torn last line; a malformed complete line names file and line.
pub fn read(path: &Path) -> Result<Vec<Event>> {
    crate::io::complete_lines(path)?
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}:{}: not an A/B log event", path.display(), n + 1))
        })
        .collect()
}
