//! One error type for the crate, phrased so the user knows what to do next.

use thiserror::Error;

/// Everything that can go wrong between reading files and reading results back.
#[derive(Debug, Error)]
pub enum ModelError {
    /// `config.json` is missing fields or describes another architecture.
    #[error("config.json is not a BERT config this model understands: {0}")]
    Config(String),

    /// `tokenizer.json` did not parse.
    #[error("tokenizer.json could not be loaded: {0}")]
    Tokenizer(String),

    /// A text with nothing to encode.
    #[error("{what} is empty (or holds only whitespace/control characters): nothing to encode")]
    EmptyText {
        /// How the caller names the text ("line 3", "the query").
        what: String,
    },

    /// Checkpoint keys and model parameters disagree.
    #[error(
        "checkpoint does not fit the architecture: {} missing key(s) [{}], {} unexpected key(s) [{}]",
        missing.len(), preview(missing), unexpected.len(), preview(unexpected)
    )]
    CheckpointMismatch {
        /// Parameters the checkpoint lacks.
        missing: Vec<String>,
        /// Checkpoint keys the model has no parameter for.
        unexpected: Vec<String>,
    },

    /// The weight file could not be read or decoded.
    #[error("weights could not be read: {0}")]
    Weights(String),

    /// A tensor could not be copied back from the device.
    #[error("reading results back from the device failed: {0}")]
    ReadBack(String),

    /// A read-back asked for the attention of a sentence the batch does not hold.
    #[error(
        "attention was asked for batch row {row}, but the batch holds {batch} sentence(s) (rows 0..{batch})"
    )]
    NoSuchRow {
        /// The row asked for.
        row: usize,
        /// Sentences in the batch.
        batch: usize,
    },

    /// The manifest or the set of files is not a valid bundle.
    #[error("bundle is invalid: {0}")]
    Bundle(String),

    /// A file's bytes do not hash to what the manifest lists.
    #[error(
        "bundle file `{file}` is corrupt or was modified: SHA-256 is {actual}, manifest says {expected}; re-export or re-download the bundle"
    )]
    HashMismatch {
        /// The file's name in the bundle.
        file: String,
        /// SHA-256 the manifest lists.
        expected: String,
        /// SHA-256 of the bytes found.
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
