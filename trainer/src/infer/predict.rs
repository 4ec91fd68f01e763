//! `glassbox predict`: per text, the sentence class with its distribution, the entities with
//! character offsets, and every wordpiece's tag, computed by the same decoder the page uses.

use std::collections::BTreeMap;

use glassbox_model::text::decode::{argmax, entities_by, piece_tags, Aggregation};
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::GlassboxConfig;
use serde_json::{json, Value};

/// One text's prediction as `glassbox predict` prints it (and `glassbox serve`'s
/// `/predict` answers): class with its distribution, entities, per-wordpiece tags, and the
/// truncation when the text was cut.
pub(crate) fn prediction_json(
    cfg: &GlassboxConfig,
    r: &SentenceResult,
    aggregation: Aggregation,
) -> Value {
    let t = &r.tokenized;
    let (best, _) = argmax(&r.sentence_probs);
    let probs: BTreeMap<&str, f32> = cfg
        .sentence_labels
        .iter()
        .map(String::as_str)
        .zip(r.sentence_probs.iter().copied())
        .collect();
    let mut v = json!({
        "text": t.text,
        "sentence": {"label": cfg.sentence_labels[best], "probs": probs},
        "entities": entities_by(t, &r.token_probs, &cfg.token_labels, aggregation),
        "tokens": piece_tags(t, &r.token_probs, &cfg.token_labels),
    });
    if let Some(tr) = &t.truncation {
        v["truncation"] = json!({"message": tr.message(), "detail": tr});
    }
    v
}
