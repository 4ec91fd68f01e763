//! Turning a batch's output tensors (read back as flat vectors) into per-sentence results.
//!
//! Reading tensors back is sync natively but must be async on WebGPU, so the callers do the
//! reading and this module, shared by both, does the slicing: what the page shows and what the
//! CLI prints come out of the same code.

use serde::Serialize;

use crate::Tokenized;

/// The flat contents of one batch's outputs, row-major as burn lays them out.
pub struct BatchData {
    pub batch: usize,
    pub len: usize,
    pub heads: usize,
    pub hidden: usize,
    /// `[batch, hidden]`
    pub embedding: Vec<f32>,
    /// Per layer `[batch, heads, len, len]`.
    pub attentions: Vec<Vec<f32>>,
    /// `[batch, classes]`
    pub sentence_logits: Vec<f32>,
    /// `[batch, len, tags]`
    pub token_logits: Vec<f32>,
}

/// One sentence's view of a forward pass, padding removed.
#[derive(Debug, Clone, Serialize)]
pub struct SentenceResult {
    pub tokenized: Tokenized,
    pub embedding: Vec<f32>,
    pub heads: usize,
    /// Per layer `[heads, n, n]` with `n = tokenized.ids.len()`.
    pub attentions: Vec<Vec<f32>>,
    pub sentence_probs: Vec<f32>,
    /// `[n, tags]`
    pub token_probs: Vec<f32>,
}

impl SentenceResult {
    pub fn len(&self) -> usize {
        self.tokenized.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokenized.ids.is_empty()
    }

    /// Attention of one layer and head as `n` rows of `n` probabilities.
    pub fn attention(&self, layer: usize, head: usize) -> Vec<Vec<f32>> {
        let n = self.len();
        let a = &self.attentions[layer];
        (0..n)
            .map(|i| a[(head * n + i) * n..(head * n + i + 1) * n].to_vec())
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

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

impl BatchData {
    pub fn split(self, items: Vec<Tokenized>) -> Vec<SentenceResult> {
        let (b, l, h) = (self.batch, self.len, self.heads);
        let classes = self.sentence_logits.len() / b.max(1);
        let tags = self.token_logits.len() / (b * l).max(1);
        items
            .into_iter()
            .enumerate()
            .map(|(s, tokenized)| {
                let n = tokenized.ids.len();
                let attentions = self
                    .attentions
                    .iter()
                    .map(|layer| {
                        let mut out = Vec::with_capacity(h * n * n);
                        for head in 0..h {
                            for i in 0..n {
                                let row = ((s * h + head) * l + i) * l;
                                out.extend_from_slice(&layer[row..row + n]);
                            }
                        }
                        out
                    })
                    .collect();
                let token_probs = (0..n)
                    .flat_map(|i| {
                        let at = (s * l + i) * tags;
                        softmax(&self.token_logits[at..at + tags])
                    })
                    .collect();
                SentenceResult {
                    embedding: self.embedding[s * self.hidden..(s + 1) * self.hidden].to_vec(),
                    heads: h,
                    attentions,
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
