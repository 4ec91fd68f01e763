//! What drift looks at in one model answer, and the aggregates of many: the predicted class
//! and its probability, the sentence embedding, and the input's wordpieces ([UNK]s, length,
//! truncation). The reference profile and the current window are both built from these, so
//! the two sides of every statistic are measured the same way.

use anyhow::Result;
use burn::prelude::*;
use glassbox_model::text::decode::argmax;
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::Tokenized;

use crate::infer::run;
use crate::load::Loaded;

/// One input as drift sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Index of the predicted sentence class.
    pub class: usize,
    /// Its probability (the top-class confidence).
    pub confidence: f64,
    /// L2-normalised sentence embedding.
    pub embedding: Vec<f32>,
    /// Wordpieces, [CLS] and [SEP] included.
    pub wordpieces: usize,
    /// [UNK] wordpieces.
    pub unknown: usize,
    pub truncated: bool,
}

impl Observation {
    pub fn from_result(r: &SentenceResult) -> Self {
        let (class, p) = argmax(&r.sentence_probs);
        let t = &r.tokenized;
        Self {
            class,
            confidence: f64::from(p),
            embedding: r.embedding.clone(),
            wordpieces: t.ids.len(),
            unknown: t.tokens.iter().filter(|p| *p == "[UNK]").count(),
            truncated: t.truncation.is_some(),
        }
    }
}

/// Batch size for profiling and offline drift: throughput, not latency, matters there.
const BATCH: usize = 32;

/// Runs the model over tokenized texts (no attention read back) and observes every answer.
pub fn observe_tokenized<B: Backend>(
    loaded: &Loaded<B>,
    items: Vec<Tokenized>,
    device: &B::Device,
) -> Result<Vec<Observation>> {
    let results = run(loaded, items, BATCH, false, device)?;
    Ok(results.iter().map(Observation::from_result).collect())
}

/// Upper edges of the length histogram's bins (wordpieces): tweets fill the first few,
/// reviews the last; the last bin holds everything longer.
pub const LENGTH_EDGES: [usize; 8] = [8, 16, 24, 32, 48, 64, 128, 256];

/// Bin of a length in [`LENGTH_EDGES`] (the last bin also takes anything longer).
pub fn length_bin(len: usize) -> usize {
    LENGTH_EDGES
        .iter()
        .position(|&e| len <= e)
        .unwrap_or(LENGTH_EDGES.len() - 1)
}

/// Counts over a set of observations: what the reference stores and the window reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub inputs: usize,
    pub class_counts: Vec<u64>,
    pub length_counts: Vec<u64>,
    pub wordpieces: u64,
    pub unknown: u64,
    pub truncated: u64,
}

impl Tally {
    pub fn of(obs: &[Observation], classes: usize) -> Self {
        let mut t = Tally {
            inputs: obs.len(),
            class_counts: vec![0; classes],
            length_counts: vec![0; LENGTH_EDGES.len()],
            wordpieces: 0,
            unknown: 0,
            truncated: 0,
        };
        for o in obs {
            if let Some(c) = t.class_counts.get_mut(o.class) {
                *c += 1;
            }
            t.length_counts[length_bin(o.wordpieces)] += 1;
            t.wordpieces += o.wordpieces as u64;
            t.unknown += o.unknown as u64;
            t.truncated += u64::from(o.truncated);
        }
        t
    }

    /// [UNK] wordpieces per wordpiece.
    pub fn unk_rate(&self) -> f64 {
        ratio(self.unknown, self.wordpieces)
    }

    /// Share of inputs cut to the model's maximum length.
    pub fn truncation_rate(&self) -> f64 {
        ratio(self.truncated, self.inputs as u64)
    }

    /// Mean wordpieces per input.
    pub fn mean_length(&self) -> f64 {
        ratio(self.wordpieces, self.inputs as u64)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(class: usize, wordpieces: usize, unknown: usize, truncated: bool) -> Observation {
        Observation {
            class,
            confidence: 0.9,
            embedding: vec![],
            wordpieces,
            unknown,
            truncated,
        }
    }

    #[test]
    fn lengths_fall_in_the_bin_whose_upper_edge_they_reach() {
        assert_eq!(length_bin(3), 0);
        assert_eq!(length_bin(8), 0);
        assert_eq!(length_bin(9), 1);
        assert_eq!(length_bin(256), 7);
        assert_eq!(length_bin(1000), 7);
    }

    #[test]
    fn tally_counts_classes_unk_and_truncation() {
        let t = Tally::of(
            &[
                obs(0, 10, 1, false),
                obs(2, 30, 0, true),
                obs(2, 20, 1, false),
            ],
            3,
        );
        assert_eq!(t.class_counts, vec![1, 0, 2]);
        assert_eq!(t.length_counts, vec![0, 1, 1, 1, 0, 0, 0, 0]);
        assert!((t.unk_rate() - 2.0 / 60.0).abs() < 1e-12);
        assert!((t.truncation_rate() - 1.0 / 3.0).abs() < 1e-12);
        assert!((t.mean_length() - 20.0).abs() < 1e-12);
    }
}
