//! Getting weights in and out: Hugging Face safetensors checkpoints and burn's Burnpack.
//!
//! HF BERT names differ from this crate's module tree (and PyTorch stores Linear weights
//! transposed), so keys are rewritten by regex before loading. Anything left over on either
//! side is reported by name rather than ignored: a checkpoint that silently half-loads gives
//! plausible-looking garbage, the worst failure for a teaching tool.

use burn::prelude::*;
use burn::tensor::Bytes;
use burn_store::{BurnpackStore, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

use crate::{Glassbox, ModelError};

/// HF name → glassbox name, applied in order.
const HF_RENAMES: &[(&str, &str)] = &[
    (r"^bert\.", ""),
    (r"^encoder\.layer\.(\d+)\.", "encoder.layers.$1."),
    (r"\.attention\.self\.(query|key|value)\.", ".attention.$1."),
    (r"\.attention\.output\.dense\.", ".attention.output."),
    (r"\.attention\.output\.LayerNorm\.", ".attention.LayerNorm."),
    (r"\.intermediate\.dense\.", ".intermediate."),
    (r"\.output\.dense\.", ".output."),
    (r"\.output\.LayerNorm\.", ".LayerNorm."),
    (r"LayerNorm\.(weight|gamma)$", "norm.gamma"),
    (r"LayerNorm\.(bias|beta)$", "norm.beta"),
];

/// Keys a sentence-transformers BERT checkpoint carries that glassbox has no use for.
fn ignorable(key: &str) -> bool {
    key.starts_with("pooler.") || key.ends_with("position_ids")
}

fn is_head(path: &str) -> bool {
    path.starts_with("sentence_head.") || path.starts_with("token_head.")
}

/// What loading a base checkpoint did.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Parameters loaded from the checkpoint.
    pub applied: usize,
    /// Head parameters absent from the checkpoint (left at their random initialisation).
    pub heads_missing: Vec<String>,
    /// Checkpoint keys that were known to be unused (pooler, position ids).
    pub ignored: Vec<String>,
}

impl<B: Backend> Glassbox<B> {
    /// Loads the encoder from an HF `model.safetensors` (keys with or without `bert.`).
    /// The heads stay as initialised; every other missing or unexpected key is an error.
    pub fn load_hf_safetensors(mut self, bytes: Vec<u8>) -> Result<(Self, LoadReport), ModelError> {
        let mut store = SafetensorsStore::from_bytes(Some(bytes))
            .with_from_adapter(PyTorchToBurnAdapter)
            .allow_partial(true);
        for (from, to) in HF_RENAMES {
            store = store.with_key_remapping(*from, *to);
        }
        let result = self
            .load_from(&mut store)
            .map_err(|e| ModelError::Weights(e.to_string()))?;
        if !result.errors.is_empty() {
            let msgs: Vec<String> = result.errors.iter().map(|e| format!("{e:?}")).collect();
            return Err(ModelError::Weights(msgs.join("; ")));
        }
        let (heads_missing, missing): (Vec<String>, Vec<String>) = result
            .missing
            .iter()
            .map(|(path, _)| path.clone())
            .partition(|p| is_head(p));
        let (ignored, unexpected): (Vec<String>, Vec<String>) =
            result.unused.iter().cloned().partition(|k| ignorable(k));
        if !missing.is_empty() || !unexpected.is_empty() {
            return Err(ModelError::CheckpointMismatch {
                missing,
                unexpected,
            });
        }
        let report = LoadReport {
            applied: result.applied.len(),
            heads_missing,
            ignored,
        };
        Ok((self, report))
    }

    /// Serialises every parameter into Burnpack bytes (the bundle's `model.bpk`).
    pub fn to_burnpack(&self) -> Result<Vec<u8>, ModelError> {
        let mut store = BurnpackStore::from_bytes(None);
        self.save_into(&mut store)
            .map_err(|e| ModelError::Weights(e.to_string()))?;
        let bytes = store
            .get_bytes()
            .map_err(|e| ModelError::Weights(e.to_string()))?;
        Ok(bytes.to_vec())
    }

    /// Loads Burnpack bytes written by [`Self::to_burnpack`] for the same config; the file
    /// must cover every parameter exactly.
    pub fn load_burnpack(mut self, bytes: Vec<u8>) -> Result<Self, ModelError> {
        let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes)));
        let result = self
            .load_from(&mut store)
            .map_err(|e| ModelError::Weights(e.to_string()))?;
        if !result.errors.is_empty() {
            let msgs: Vec<String> = result.errors.iter().map(|e| format!("{e:?}")).collect();
            return Err(ModelError::Weights(msgs.join("; ")));
        }
        if !result.missing.is_empty() || !result.unused.is_empty() {
            return Err(ModelError::CheckpointMismatch {
                missing: result.missing.iter().map(|(p, _)| p.clone()).collect(),
                unexpected: result.unused.clone(),
            });
        }
        Ok(self)
    }
}
