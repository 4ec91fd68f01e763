//! Turning a batch's output tensors (read back as flat vectors) into per-sentence results.
//!
//! Reading tensors back is sync natively but must be async on WebGPU, so the callers do the
//! reading and this module, shared by both, does the slicing: what the page shows and what the
//! CLI prints come out of the same code.

use serde::Serialize;

use crate::view::attention::Attention;
use crate::Tokenized;

/// The flat contents of one batch's outputs, row-major as burn lays them out.
pub struct BatchData {
    /// Sentences in the batch.
    pub batch: usize,
    /// Padded length of every row.
    pub len: usize,
    /// Attention heads per layer.
    pub heads: usize,
    /// Width of the embedding.
    pub hidden: usize,
    /// `[batch, hidden]`
    pub embedding: Vec<f32>,
    /// Batch rows whose attention was read, ascending (empty when none was).
    pub attention_rows: Vec<usize>,
    /// Per layer `[attention_rows.len(), heads, len, len]`: only the rows asked for.
    pub attentions: Vec<Vec<f32>>,
    /// `[batch, classes]`
    pub sentence_logits: Vec<f32>,
    /// `[batch, len, tags]`
    pub token_logits: Vec<f32>,
}

/// One sentence's view of a forward pass, padding removed.
#[derive(Debug, Clone, Serialize)]
pub struct SentenceResult {
    /// The sentence's encoding: wordpieces, offsets, truncation.
    pub tokenized: Tokenized,
    /// L2-normalised sentence embedding.
    pub embedding: Vec<f32>,
    /// One per layer, `[heads, n, n]` with `n = tokenized.ids.len()` (empty when the pass
    /// did not read attention back).
    pub attentions: Vec<Attention>,
    /// Softmaxed sentence-class distribution.
    pub sentence_probs: Vec<f32>,
    /// `[n, tags]`
    pub token_probs: Vec<f32>,
}

impl SentenceResult {
    /// Wordpieces in the sentence, specials included.
    pub fn len(&self) -> usize {
        self.tokenized.ids.len()
    }

    /// True for a sentence without wordpieces (never produced by the tokenizer).
    pub fn is_empty(&self) -> bool {
        self.tokenized.ids.is_empty()
    }

    /// Attention heads per layer (0 when attention was not read back).
    pub fn heads(&self) -> usize {
        self.attentions.first().map_or(0, Attention::heads)
    }

    /// Attention of one layer and head as `n` rows of `n` probabilities.
    pub fn attention(&self, layer: usize, head: usize) -> Vec<Vec<f32>> {
        let (n, a) = (self.len(), &self.attentions[layer]);
        (0..n)
            .map(|i| (0..n).map(|j| a.get(head, i, j)).collect())
            .collect()
    }
}

/// Numerically stable softmax of one row.
pub fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = row.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Cosine similarity; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

impl BatchData {
    /// Every layer's attention of batch row `s` (`n` real tokens), padding cut away; empty
    /// when that row's attention was not read back.
    fn attention_of(&self, s: usize, n: usize) -> Vec<Attention> {
        let Some(k) = self.attention_rows.iter().position(|&r| r == s) else {
            return vec![];
        };
        let (l, h) = (self.len, self.heads);
        self.attentions
            .iter()
            .map(|layer| {
                let mut out = Vec::with_capacity(h * n * n);
                for head in 0..h {
                    for i in 0..n {
                        let row = ((k * h + head) * l + i) * l;
                        out.extend_from_slice(&layer[row..row + n]);
                    }
                }
                Attention::from_f32(h, n, out)
            })
            .collect()
    }

    /// One [`SentenceResult`] per item, in order, with the padding cut away. Sentences whose
    /// attention was not read back get an empty `attentions`.
    pub fn split(self, items: Vec<Tokenized>) -> Vec<SentenceResult> {
        let (b, l) = (self.batch, self.len);
        let classes = self.sentence_logits.len() / b.max(1);
        let tags = self.token_logits.len() / (b * l).max(1);
        items
            .into_iter()
            .enumerate()
            .map(|(s, tokenized)| {
                let n = tokenized.ids.len();
                let token_probs = (0..n)
                    .flat_map(|i| {
                        let at = (s * l + i) * tags;
                        softmax(&self.token_logits[at..at + tags])
                    })
                    .collect();
                SentenceResult {
                    embedding: self.embedding[s * self.hidden..(s + 1) * self.hidden].to_vec(),
                    attentions: self.attention_of(s, n),
                    sentence_probs: softmax(&self.sentence_logits[s * classes..(s + 1) * classes]),
                    token_probs,
                    tokenized,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_orders() {
        let p = softmax(&[1.0, 2.0, 3.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        // e^1 / (e^1 + e^2 + e^3) by hand.
        assert!((p[0] - 0.090_030_57).abs() < 1e-6);
    }

    #[test]
    fn cosine_of_orthogonal_and_parallel() {
        assert!(cosine(&[1.0, 0.0], &[0.0, 2.0]).abs() < 1e-7);
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
    }
}
