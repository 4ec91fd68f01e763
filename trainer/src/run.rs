//! Running the model natively: tokenise, forward, read back (synchronously), split per sentence.

use anyhow::{Context, Result};
use burn::prelude::*;
use glassbox_model::readout::{BatchData, SentenceResult};
use glassbox_model::Tokenized;

use crate::load::Loaded;

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("float tensor reads back as f32")
}

/// Tokenises every text, naming the offending one when a text cannot be encoded.
pub fn tokenize_all<B: Backend>(loaded: &Loaded<B>, texts: &[String]) -> Result<Vec<Tokenized>> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            loaded
                .tokenizer
                .encode(t)
                .with_context(|| format!("text #{} ({:?})", i + 1, preview(t)))
        })
        .collect()
}

fn preview(t: &str) -> String {
    let s: String = t.chars().take(40).collect();
    if t.chars().count() > 40 {
        format!("{s}…")
    } else {
        s
    }
}

/// Runs `items` in batches of `batch_size` (padding only within a batch).
/// With `attention` false the attention maps (layers × heads × n² floats per text, most of
/// what a forward pass could read back) stay on the device and come back empty.
pub fn run<B: Backend>(
    loaded: &Loaded<B>,
    items: Vec<Tokenized>,
    batch_size: usize,
    attention: bool,
    device: &B::Device,
) -> Vec<SentenceResult> {
    let mut out = Vec::with_capacity(items.len());
    let mut rest = items;
    while !rest.is_empty() {
        let tail = rest.split_off(batch_size.min(rest.len()));
        let chunk = std::mem::replace(&mut rest, tail);
        let o = loaded
            .model
            .forward_texts(&loaded.tokenizer, &chunk, device);
        let [batch, len, hidden] = o.hidden.dims();
        let heads = o.attentions.first().map(|a| a.dims()[1]).unwrap_or(0);
        let data = BatchData {
            batch,
            len,
            heads,
            hidden,
            embedding: to_vec(o.embedding),
            attentions: if attention {
                o.attentions.into_iter().map(to_vec).collect()
            } else {
                vec![]
            },
            sentence_logits: to_vec(o.sentence_logits),
            token_logits: to_vec(o.token_logits),
        };
        out.extend(data.split(chunk));
    }
    out
}
