//! One layer's attention for one sentence, `[heads, n, n]` row-major, held either as the f32
//! probabilities a forward pass reads back or quantised to one byte each.
//!
//! Why two encodings in one type: the page's worker sends every layer of every sentence to
//! the UI thread and keeps them in its result cache. MiniLM-L6 at 64 wordpieces is
//! 6 layers × 12 heads × 64² = 295k weights per sentence: 1.2 MB as f32, 295 kB as bytes.
//! round(p·255) is off by at most 1/510 ≈ 0.002, finer than any colour scale can show, and
//! the explanations (head means, rollout) tolerate it. Callers read weights through
//! [`Attention::get`] / [`Attention::to_f32`] and never care which encoding they hold.
//!
//! The enum is externally tagged with struct variants so that bincode (gloo-worker's codec)
//! can decode it as well as JSON.

use serde::{Deserialize, Serialize};

/// One layer's attention weights of one sentence, `[heads, n, n]` row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Attention {
    /// Probabilities as computed.
    F32 {
        /// Attention heads in the layer.
        heads: usize,
        /// Tokens per side of each head's map.
        n: usize,
        /// `heads · n · n` probabilities.
        weights: Vec<f32>,
    },
    /// Probabilities quantised to round(p·255): a quarter of the bytes.
    U8 {
        /// Attention heads in the layer.
        heads: usize,
        /// Tokens per side of each head's map.
        n: usize,
        /// `heads · n · n` quantised probabilities.
        weights: Vec<u8>,
    },
}

/// p in [0, 1] to its byte: round(p·255), clamped so rounding noise above 1 stays 255.
pub fn quantize(p: f32) -> u8 {
    (p * 255.0).round().clamp(0.0, 255.0) as u8
}

/// A byte back to a probability.
pub fn dequantize(b: u8) -> f32 {
    f32::from(b) / 255.0
}

impl Attention {
    /// Wraps f32 weights. Panics when `weights` is not `heads · n · n` long, which would be a
    /// slicing bug in the caller, not bad input.
    pub fn from_f32(heads: usize, n: usize, weights: Vec<f32>) -> Self {
        assert_eq!(weights.len(), heads * n * n, "attention must be heads·n·n");
        Attention::F32 { heads, n, weights }
    }

    /// The same weights quantised to bytes (a copy when already quantised).
    pub fn quantized(&self) -> Self {
        match self {
            Attention::F32 { heads, n, weights } => Attention::U8 {
                heads: *heads,
                n: *n,
                weights: weights.iter().copied().map(quantize).collect(),
            },
            Attention::U8 { .. } => self.clone(),
        }
    }

    /// Attention heads in this layer.
    pub fn heads(&self) -> usize {
        match self {
            Attention::F32 { heads, .. } | Attention::U8 { heads, .. } => *heads,
        }
    }

    /// Tokens per side of each head's map.
    pub fn n(&self) -> usize {
        match self {
            Attention::F32 { n, .. } | Attention::U8 { n, .. } => *n,
        }
    }

    /// How much token `i` attends to token `j` in head `head`.
    pub fn get(&self, head: usize, i: usize, j: usize) -> f32 {
        let n = self.n();
        let k = (head * n + i) * n + j;
        match self {
            Attention::F32 { weights, .. } => weights[k],
            Attention::U8 { weights, .. } => dequantize(weights[k]),
        }
    }

    /// Every weight as f32, `[heads, n, n]` row-major (what the explanations take).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Attention::F32 { weights, .. } => weights.clone(),
            Attention::U8 { weights, .. } => weights.iter().copied().map(dequantize).collect(),
        }
    }

    /// Bytes the weights occupy (for cache budgets).
    pub fn byte_len(&self) -> usize {
        match self {
            Attention::F32 { weights, .. } => 4 * weights.len(),
            Attention::U8 { weights, .. } => weights.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two heads over two tokens; head 1 row 0 is [0.25, 0.75].
    fn two_by_two() -> Attention {
        Attention::from_f32(2, 2, vec![1.0, 0.0, 0.6, 0.4, 0.25, 0.75, 0.2, 0.8])
    }

    #[test]
    fn get_indexes_head_then_row_then_column() {
        let a = two_by_two();
        assert_eq!(a.get(0, 0, 0), 1.0);
        assert_eq!(a.get(0, 1, 0), 0.6);
        assert_eq!(a.get(1, 0, 1), 0.75);
        assert_eq!(a.get(1, 1, 0), 0.2);
        assert_eq!((a.heads(), a.n()), (2, 2));
    }

    #[test]
    fn quantising_stores_round_p_times_255() {
        // 0.6·255 = 153; 0.4·255 = 102; 0.25·255 = 63.75 → 64; 0.75·255 = 191.25 → 191;
        // 0.2·255 = 51; 0.8·255 = 204.
        let q = two_by_two().quantized();
        let Attention::U8 { weights, .. } = &q else {
            panic!("quantized() must give bytes")
        };
        assert_eq!(weights, &vec![255, 0, 153, 102, 64, 191, 51, 204]);
        assert_eq!(q.get(1, 0, 0), 64.0 / 255.0);
        assert_eq!(q.byte_len(), 8);
        assert_eq!(two_by_two().byte_len(), 32);
    }

    #[test]
    fn out_of_range_probabilities_clamp_to_the_byte_range() {
        // 0.5·255 = 127.5 exactly: halves round away from zero.
        assert_eq!(quantize(0.5), 128);
        assert_eq!(quantize(1.000_001), 255);
        assert_eq!(quantize(-0.001), 0);
        assert_eq!(dequantize(255), 1.0);
    }

    #[test]
    fn round_trip_error_is_at_most_half_a_step() {
        let a = two_by_two();
        let back = a.quantized().to_f32();
        for (x, y) in a.to_f32().iter().zip(&back) {
            assert!((x - y).abs() <= 0.5 / 255.0 + 1e-7, "{x} vs {y}");
        }
    }

    #[test]
    fn survives_a_json_round_trip_in_both_encodings() {
        for a in [two_by_two(), two_by_two().quantized()] {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(serde_json::from_str::<Attention>(&json).unwrap(), a);
        }
    }

    #[test]
    #[should_panic(expected = "heads·n·n")]
    fn a_wrongly_sized_buffer_is_a_bug() {
        Attention::from_f32(2, 2, vec![0.0; 7]);
    }
}
