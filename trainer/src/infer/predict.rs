//! `glassbox predict`: per text, the sentence class with its distribution, the entities with
//! character offsets, and every wordpiece's tag, computed by the same decoder the page uses.

use glassbox_model::text::decode::Aggregation;
use glassbox_model::view::answer;
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::GlassboxConfig;
use serde_json::Value;

/// One text's prediction as `glassbox predict` prints it (and `glassbox serve`'s
/// `/predict` answers): the model crate's [`answer::prediction_json`].
pub(crate) fn prediction_json(
    cfg: &GlassboxConfig,
    r: &SentenceResult,
    aggregation: Aggregation,
) -> Value {
    answer::prediction_json(
        cfg,
        &r.tokenized,
        &r.sentence_probs,
        &r.token_probs,
        aggregation,
    )
}
