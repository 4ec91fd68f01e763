//! The model bundle: the contract between the trainer that writes it and the page that reads it.
//!
//! A bundle is a directory of static files: `manifest.json`, the burn weights (`model.bpk`)
//! and `tokenizer.json`. The manifest carries the SHA-256 of every other file; nothing is
//! used before every hash has been checked, so a truncated download or an edited file is
//! refused with a message instead of producing quietly wrong numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{GlassboxConfig, ModelError};

pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const WEIGHTS: &str = "model.bpk";
pub const TOKENIZER: &str = "tokenizer.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metric {
    pub task: String,
    pub name: String,
    pub value: f64,
    pub split: String,
    pub date: String,
    /// 95% confidence interval, when the metric was cross-validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    pub name: String,
    pub source: String,
    pub sha256: String,
    pub licence: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub name: String,
    pub version: String,
    pub created_at: String,
    pub base_checkpoint: String,
    pub config: GlassboxConfig,
    /// Longest input (special tokens included) the model is run on.
    pub max_seq_len: usize,
    /// `none`, or the quantization scheme applied to the weights.
    pub quantization: String,
    /// Whether the heads carry trained weights; an untrained head's outputs are noise.
    pub heads_trained: bool,
    /// File name → lowercase hex SHA-256, for every file of the bundle but the manifest.
    pub files: BTreeMap<String, String>,
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub data: Vec<Provenance>,
    #[serde(default)]
    pub training: Option<serde_json::Value>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| ModelError::Bundle(format!("manifest.json does not parse: {e}")))?;
        if m.format_version != FORMAT_VERSION {
            return Err(ModelError::Bundle(format!(
                "manifest format_version is {}, this build reads {FORMAT_VERSION}",
                m.format_version
            )));
        }
        for required in [WEIGHTS, TOKENIZER] {
            if !m.files.contains_key(required) {
                return Err(ModelError::Bundle(format!(
                    "manifest lists no hash for `{required}`"
                )));
            }
        }
        Ok(m)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serialises")
    }

    /// Checks `bytes` against the manifest's hash for `file`.
    pub fn verify(&self, file: &str, bytes: &[u8]) -> Result<(), ModelError> {
        let expected = self
            .files
            .get(file)
            .ok_or_else(|| ModelError::Bundle(format!("`{file}` is not listed in the manifest")))?;
        let actual = sha256_hex(bytes);
        if &actual != expected {
            return Err(ModelError::HashMismatch {
                file: file.to_string(),
                expected: expected.clone(),
                actual,
            });
        }
        Ok(())
    }
}

/// A bundle whose every file has been checked and loaded.
pub struct LoadedBundle<B: burn::prelude::Backend> {
    pub model: crate::Glassbox<B>,
    pub tokenizer: crate::TextTokenizer,
    pub manifest: Manifest,
}

/// Verifies every hash, then builds the model. Bytes in, model out: the page and the CLI
/// fetch the files their own way.
pub fn load_bundle<B: burn::prelude::Backend>(
    manifest: &[u8],
    weights: Vec<u8>,
    tokenizer: &[u8],
    device: &B::Device,
) -> Result<LoadedBundle<B>, ModelError> {
    let manifest = Manifest::from_json(manifest)?;
    manifest.verify(WEIGHTS, &weights)?;
    manifest.verify(TOKENIZER, tokenizer)?;
    let tokenizer = crate::TextTokenizer::from_bytes(tokenizer, manifest.max_seq_len)?;
    let weights = if manifest.quantization == "none" {
        weights
    } else {
        crate::quantize::dequantized_burnpack(&manifest.config, weights)?
    };
    let model = manifest.config.init::<B>(device).load_burnpack(weights)?;
    Ok(LoadedBundle {
        model,
        tokenizer,
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        // FIPS 180-2 test vector.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
