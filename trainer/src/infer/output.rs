//! The JSON objects `glassbox embed` and `glassbox attention` print, built in one
//! place so that `glassbox serve`'s `/embed` and `/attention` answer with the same objects.

use glassbox_model::view::readout::SentenceResult;
use serde_json::{json, Value};

/// One text's wordpieces, truncation (or null) and L2-normalised embedding.
pub(crate) fn embedding_json(r: &SentenceResult) -> Value {
    json!({
        "text": r.tokenized.text,
        "tokens": r.tokenized.tokens,
        "truncation": r.tokenized.truncation,
        "embedding": r.embedding,
    })
}

/// One text's attention of one layer and head as `n` rows of `n` probabilities. The caller
/// checks the range and that the pass read attention back.
pub(crate) fn attention_json(r: &SentenceResult, layer: usize, head: usize) -> Value {
    json!({
        "text": r.tokenized.text,
        "layer": layer,
        "head": head,
        "tokens": r.tokenized.tokens,
        "truncation": r.tokenized.truncation,
        "attention": r.attention(layer, head),
    })
}

/// Adds `truncated` (whether the text was cut to the model's maximum), the flag `glassbox
/// serve` puts on every answer, so the CLI's objects and the server's are the same.
pub(crate) fn mark_truncated(v: &mut Value, r: &SentenceResult) {
    v["truncated"] = json!(r.tokenized.truncation.is_some());
}
