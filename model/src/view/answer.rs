//! One sentence's prediction as JSON: the object `glassbox predict`, `glassbox serve`'s
//! `/predict` and the page's JavaScript API all answer with, built here once so that the three
//! cannot drift apart.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::text::decode::{argmax, entities_by, piece_tags, Aggregation};
use crate::{GlassboxConfig, Tokenized};

/// `text`, `sentence` (label and distribution), `entities` (decoded with `aggregation`),
/// `tokens` (each wordpiece's tag) and, when the text was cut, `truncation`.
pub fn prediction_json(
    cfg: &GlassboxConfig,
    t: &Tokenized,
    sentence_probs: &[f32],
    token_probs: &[f32],
    aggregation: Aggregation,
) -> Value {
    let (best, _) = argmax(sentence_probs);
    let probs: BTreeMap<&str, f32> = cfg
        .sentence_labels
        .iter()
        .map(String::as_str)
        .zip(sentence_probs.iter().copied())
        .collect();
    let mut v = json!({
        "text": t.text,
        "sentence": {"label": cfg.sentence_labels[best], "probs": probs},
        "entities": entities_by(t, token_probs, &cfg.token_labels, aggregation),
        "tokens": piece_tags(t, token_probs, &cfg.token_labels),
    });
    if let Some(tr) = &t.truncation {
        v["truncation"] = json!({"message": tr.message(), "detail": tr});
    }
    v
}
