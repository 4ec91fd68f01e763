//! Running the model natively: tokenise, forward, read back (synchronously), split per sentence.

use anyhow::{Context, Result};
use burn::prelude::*;
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::view::{read, ReadBack};
use glassbox_model::Tokenized;

pub mod input;
pub(crate) mod occlusion;
pub(crate) mod output;
pub mod predict;
pub mod sink;
pub mod stream;
pub mod table;

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

/// Runs `items` in batches of `batch_size` and returns the results in the given order.
/// Batches are formed over the texts sorted by length, so a batch pads to a length close to
/// each of its texts rather than to the longest line of the input (a sentence's numbers do
/// not depend on its batch-mates, so only the time changes).
/// With `attention` false the attention maps (layers × heads × n² floats per text, most of
/// what a forward pass could read back) stay on the device and come back empty.
pub fn run<B: Backend>(
    loaded: &Loaded<B>,
    items: Vec<Tokenized>,
    batch_size: usize,
    attention: bool,
    device: &B::Device,
) -> Result<Vec<SentenceResult>> {
    let order = by_length(&items);
    let mut slots: Vec<Option<SentenceResult>> = vec![None; items.len()];
    let mut items: Vec<Option<Tokenized>> = items.into_iter().map(Some).collect();
    for batch in order.chunks(batch_size.max(1)) {
        let chunk: Vec<Tokenized> = batch.iter().filter_map(|&i| items[i].take()).collect();
        let what = if attention {
            ReadBack::all_attention(chunk.len())
        } else {
            ReadBack::Outputs
        };
        for (&i, r) in batch
            .iter()
            .zip(forward_batch(loaded, chunk, &what, device)?)
        {
            slots[i] = Some(r);
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

/// One forward pass over `chunk` as given (padded to its longest item), read back and split
/// per sentence in the same order. [`run`] forms its batches by length; `glassbox serve`'s
/// batcher forms its own across clients and calls this directly.
pub(crate) fn forward_batch<B: Backend>(
    loaded: &Loaded<B>,
    chunk: Vec<Tokenized>,
    what: &ReadBack,
    device: &B::Device,
) -> Result<Vec<SentenceResult>> {
    let o = loaded
        .model
        .forward_texts_with(&loaded.tokenizer, &chunk, &loaded.kernels, device);
    Ok(read(o, what)?.split(chunk))
}

/// Indices of `items`, shortest first (stable, so equal lengths keep their order).
fn by_length(items: &[Tokenized]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].ids.len());
    order
}
