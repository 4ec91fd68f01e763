//! TextFooler's semantic constraint (Jin et al. 2020, there with the Universal Sentence
//! Encoder): a candidate text may be taken only when its sentence embedding stays within a
//! cosine similarity of the original text's. WordNet alone offers "love" → "fuck" and
//! "weak" → "light"; the constraint vetoes most such swaps.
//!
//! The judge is a separate sentence encoder (by default the base all-MiniLM-L6-v2, trained
//! for semantic similarity), not the attacked model: the fine-tuned encoder's embedding moves
//! with the class, so it would veto exactly the swaps that flip it.

use anyhow::Result;
use burn::prelude::*;

use crate::infer::{run, tokenize_all};
use crate::load::Loaded;

/// Texts per forward pass of the encoder.
const BATCH: usize = 32;

/// A sentence encoder and the least cosine similarity a candidate may keep.
pub struct Judge<B: Backend> {
    pub encoder: Loaded<B>,
    pub min: f32,
}

impl<B: Backend> Judge<B> {
    /// L2-normalised embeddings of `texts` (the pooling `glassbox embed` prints).
    pub fn embed(&self, texts: &[String], device: &B::Device) -> Result<Vec<Vec<f32>>> {
        let items = tokenize_all(&self.encoder, texts)?;
        Ok(run(&self.encoder, items, BATCH, false, device)?
            .into_iter()
            .map(|r| r.embedding)
            .collect())
    }

    /// Each text's cosine similarity to `original` (an embedding from [`Self::embed`]).
    pub fn similarities(
        &self,
        original: &[f32],
        texts: &[String],
        device: &B::Device,
    ) -> Result<Vec<f32>> {
        Ok(self
            .embed(texts, device)?
            .iter()
            .map(|e| cosine(original, e))
            .collect())
    }
}

/// Cosine similarity; the embeddings are unit length, but dividing keeps it exact anyway.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let n = norm(a) * norm(b);
    if n == 0.0 {
        0.0
    } else {
        dot / n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_hand_made_vectors() {
        assert!((cosine(&[1.0, 0.0], &[0.0, 2.0])).abs() < 1e-7);
        assert!((cosine(&[3.0, 4.0], &[6.0, 8.0]) - 1.0).abs() < 1e-6);
        // (1,1)·(1,0) / (√2 · 1) = 1/√2.
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
