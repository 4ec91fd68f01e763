//! Running the model natively: tokenise, forward, read back (synchronously), split per sentence.

use anyhow::{Context, Result};
use burn::prelude::*;
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::view::{read, ReadBack};
use glassbox_model::Tokenized;

pub mod predict;

use crate::load::Loaded;

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
) -> Result<Vec<SentenceResult>> {
    let mut out = Vec::with_capacity(items.len());
    let mut rest = items;
    while !rest.is_empty() {
        let tail = rest.split_off(batch_size.min(rest.len()));
        let chunk = std::mem::replace(&mut rest, tail);
        let o = loaded
            .model
            .forward_texts(&loaded.tokenizer, &chunk, device);
        let what = if attention {
            ReadBack::WithAttention
        } else {
            ReadBack::Outputs
        };
        let data = read(o, what)?;
        out.extend(data.split(chunk));
    }
    Ok(out)
}
