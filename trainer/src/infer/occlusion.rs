//! Occlusion: the sentence's class probability with each word left out in turn. `glassbox
//! explain` shows it as one of its three word scores and `glassbox attack` ranks the words it
//! substitutes by it, so both read the same numbers from the same forward passes.

use anyhow::Result;
use burn::prelude::*;
use glassbox_model::text::decode::Word;
use glassbox_model::view::explain::drop_word;
use glassbox_model::view::ReadBack;
use glassbox_model::Tokenized;

use super::forward_batch;
use crate::load::Loaded;

/// Sentences per occlusion forward pass.
const OCCLUSION_BATCH: usize = 16;

/// p(class `class`) for `t` with each of `ws` left out in turn (every wordpiece of the word
/// removed, `[CLS]`/`[SEP]` kept), in the order of `ws`.
pub(crate) fn occluded_probs<B: Backend>(
    loaded: &Loaded<B>,
    t: &Tokenized,
    ws: &[Word],
    class: usize,
    device: &B::Device,
) -> Result<Vec<f32>> {
    let variants: Vec<Tokenized> = ws.iter().map(|w| drop_word(t, w.id)).collect();
    let mut out = Vec::with_capacity(variants.len());
    for chunk in variants.chunks(OCCLUSION_BATCH) {
        let rs = forward_batch(loaded, chunk.to_vec(), &ReadBack::Outputs, device)?;
        out.extend(rs.iter().map(|r| r.sentence_probs[class]));
    }
    Ok(out)
}
