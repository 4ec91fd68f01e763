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

/// The manifest layout this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's file name; it lists every other file with its hash.
pub const MANIFEST: &str = "manifest.json";
/// The weights' file name (burnpack).
pub const WEIGHTS: &str = "model.bpk";
/// The tokenizer's file name.
pub const TOKENIZER: &str = "tokenizer.json";

/// One evaluation score recorded in the manifest and the model card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Metric {
    /// Task the score is for.
    pub task: String,
    /// Metric name (`span_micro_f1`, `macro_f1`, …).
    pub name: String,
    /// The score.
    pub value: f64,
    /// Data split it was measured on.
    pub split: String,
    /// When it was measured (RFC 3339).
    pub date: String,
    /// 95% confidence interval, when the metric was cross-validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci95: Option<(f64, f64)>,
}

/// Where one training dataset came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// Dataset name.
    pub name: String,
    /// Where it was downloaded from.
    pub source: String,
    /// SHA-256 of the downloaded file.
    pub sha256: String,
    /// Its licence.
    pub licence: String,
}

/// `manifest.json`: what the bundle is and the hash of every file in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Must equal [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The model's name.
    pub name: String,
    /// The model's version.
    pub version: String,
    /// When the bundle was exported (RFC 3339).
    pub created_at: String,
    /// The pretrained checkpoint training started from.
    pub base_checkpoint: String,
    /// Architecture and label sets.
    pub config: GlassboxConfig,
    /// Longest input (special tokens included) the model is run on.
    pub max_seq_len: usize,
    /// `none`, or the quantization scheme applied to the weights.
    pub quantization: String,
    /// Whether the heads carry trained weights; an untrained head's outputs are noise.
    pub heads_trained: bool,
    /// File name → lowercase hex SHA-256, for every file of the bundle but the manifest.
    pub files: BTreeMap<String, String>,
    /// Evaluation scores.
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// Training data provenance.
    #[serde(default)]
    pub data: Vec<Provenance>,
    /// The training run's settings, as the trainer recorded them.
    #[serde(default)]
    pub training: Option<serde_json::Value>,
    /// Where this version comes from: its parent, the code and the config that made it.
    /// Absent in bundles written before versions were tracked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
}

/// A model version's ancestry, so a registry can say what changed between two versions and
/// a rollback target can be traced back to the code and recipe that produced it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Lineage {
    /// Version of the bundle training started from; `None` for a pretrained checkpoint.
    #[serde(default)]
    pub parent_version: Option<String>,
    /// SHA-256 of that parent bundle's `manifest.json`.
    #[serde(default)]
    pub parent_manifest_sha256: Option<String>,
    /// Git commit of the code that trained the model (`-dirty` when tracked files differed
    /// from it); `None` when training ran outside a git checkout.
    #[serde(default)]
    pub code_commit: Option<String>,
    /// SHA-256 of the training config as the run recorded it.
    #[serde(default)]
    pub config_sha256: Option<String>,
    /// The glassbox release that exported the bundle.
    pub exporter: String,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    /// Parses and checks a manifest: format version and the two required files.
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

    /// Pretty JSON, as written into a bundle.
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
    /// The model with the bundle's weights.
    pub model: crate::Glassbox<B>,
    /// The bundle's tokenizer, truncating at `max_seq_len`.
    pub tokenizer: crate::TextTokenizer,
    /// The manifest the files were checked against.
    pub manifest: Manifest,
}

/// Verifies every hash, then builds the model. Bytes in, model out: the page and the CLI
/// fetch the files their own way.
///
/// Loading the committed default bundle and predicting one sentence: the class, then the
/// entities decoded from the token head, with character offsets into the text.
///
/// ```
/// use burn::backend::Flex;
/// use glassbox_model::text::decode::{argmax, entities};
/// use glassbox_model::view::{read, ReadBack};
/// use glassbox_model::weights::bundle::{load_bundle, MANIFEST, TOKENIZER, WEIGHTS};
///
/// let dir = std::path::Path::new("../public/models/default");
/// let file = |name: &str| std::fs::read(dir.join(name)).unwrap();
/// let device = Default::default();
/// let bundle = load_bundle::<Flex>(&file(MANIFEST), file(WEIGHTS), &file(TOKENIZER), &device)?;
///
/// let text = "Barack Obama visited Paris yesterday";
/// let items = vec![bundle.tokenizer.encode(text)?];
/// let batch = bundle.tokenizer.batch::<Flex>(&items, &device);
/// let output = bundle.model.forward(batch.input_ids, batch.pad_mask);
/// let result = read(output, &ReadBack::Outputs)?.split(items).remove(0);
///
/// let labels = &bundle.manifest.config;
/// let (class, p) = argmax(&result.sentence_probs);
/// assert!(class < labels.sentence_labels.len() && p > 0.0 && p <= 1.0);
/// let sum: f32 = result.sentence_probs.iter().sum();
/// assert!((sum - 1.0).abs() < 1e-4);
/// for e in entities(&result.tokenized, &result.token_probs, &labels.token_labels) {
///     let chars: Vec<char> = text.chars().collect();
///     assert_eq!(e.text, chars[e.start..e.end].iter().collect::<String>());
/// }
/// # Ok::<(), glassbox_model::ModelError>(())
/// ```
///
/// A file whose bytes differ from the manifest's hash is refused before anything is built:
///
/// ```
/// use burn::backend::Flex;
/// use glassbox_model::weights::bundle::{load_bundle, MANIFEST, TOKENIZER, WEIGHTS};
///
/// let dir = std::path::Path::new("../public/models/default");
/// let file = |name: &str| std::fs::read(dir.join(name)).unwrap();
/// let mut weights = file(WEIGHTS);
/// weights[1000] ^= 1;
/// let err = load_bundle::<Flex>(&file(MANIFEST), weights, &file(TOKENIZER), &Default::default());
/// assert!(err.is_err());
/// ```
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
        crate::weights::quantize::dequantized_burnpack(&manifest.config, weights)?
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
