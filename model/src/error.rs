//! One error type for the crate, phrased so the user knows what to do next.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("config.json is not a BERT config this model understands: {0}")]
    Config(String),

    #[error("tokenizer.json could not be loaded: {0}")]
    Tokenizer(String),

    #[error("{what} is empty (or holds only whitespace/control characters): nothing to encode")]
    EmptyText { what: String },

    #[error(
        "checkpoint does not fit the architecture: {} missing key(s) [{}], {} unexpected key(s) [{}]",
        missing.len(), preview(missing), unexpected.len(), preview(unexpected)
    )]
    CheckpointMismatch {
        missing: Vec<String>,
        unexpected: Vec<String>,
    },

    #[error("weights could not be read: {0}")]
    Weights(String),

    #[error("bundle is invalid: {0}")]
    Bundle(String),

    #[error(
        "bundle file `{file}` is corrupt or was modified: SHA-256 is {actual}, manifest says {expected}; re-export or re-download the bundle"
    )]
    HashMismatch {
        file: String,
        expected: String,
        actual: String,
    },
}

fn preview(keys: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut s = keys
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > SHOWN {
        s.push_str(&format!(", … {} more", keys.len() - SHOWN));
    }
    s
}
