//! Which task each step trains and which examples its batch holds. Both are pure functions
//! of (seed, step) and per-task counters, so a resumed run sees exactly the batches the
//! killed run would have seen.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::Sampling;

fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
    for v in [a, b] {
        h = (h ^ v).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 31;
    }
    h
}

/// Task probabilities for `sizes` (training examples per task).
pub fn task_probs(sampling: Sampling, temperature: f64, sizes: &[usize]) -> Vec<f64> {
    let w: Vec<f64> = match sampling {
        Sampling::Proportional => sizes.iter().map(|&n| n as f64).collect(),
        Sampling::Temperature => sizes
            .iter()
            .map(|&n| (n as f64).powf(1.0 / temperature))
            .collect(),
        Sampling::RoundRobin => sizes.iter().map(|_| 1.0).collect(),
    };
    let total: f64 = w.iter().sum();
    w.iter().map(|x| x / total).collect()
}

pub fn task_for_step(sampling: Sampling, probs: &[f64], seed: u64, step: usize) -> usize {
    if sampling == Sampling::RoundRobin {
        return step % probs.len();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 1, step as u64));
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (i, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    probs.len() - 1
}

/// An endless, epoch-by-epoch reshuffled stream over one task's training indices.
pub struct Stream {
    items: Vec<usize>,
    seed: u64,
    task: u64,
    epoch: Option<(usize, Vec<usize>)>,
}

impl Stream {
    pub fn new(items: Vec<usize>, seed: u64, task: usize) -> Self {
        Self {
            items,
            seed,
            task: task as u64,
            epoch: None,
        }
    }

    fn order(&mut self, epoch: usize) -> &[usize] {
        if self.epoch.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let mut v = self.items.clone();
            let mut rng = ChaCha8Rng::seed_from_u64(mix(self.seed, 2 + self.task, epoch as u64));
            v.shuffle(&mut rng);
            self.epoch = Some((epoch, v));
        }
        &self.epoch.as_ref().unwrap().1
    }

    /// The `k`-th batch of `size` examples (0-based), crossing epoch boundaries seamlessly.
    pub fn batch(&mut self, k: usize, size: usize) -> Vec<usize> {
        let n = self.items.len();
        (k * size..(k + 1) * size)
            .map(|pos| self.order(pos / n)[pos % n])
            .collect()
    }

    /// Epochs completed after `batches` batches of `size`.
    pub fn epochs(&self, batches: usize, size: usize) -> f64 {
        (batches * size) as f64 / self.items.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_flattens_proportions() {
        let p = task_probs(Sampling::Proportional, 1.0, &[900, 100]);
        assert!((p[0] - 0.9).abs() < 1e-12);
        let t = task_probs(Sampling::Temperature, 2.0, &[900, 100]);
        assert!((t[0] - 0.75).abs() < 1e-12, "{t:?}"); // 30 / (30 + 10)
        let r = task_probs(Sampling::RoundRobin, 1.0, &[900, 100]);
        assert_eq!(r, vec![0.5, 0.5]);
    }

    #[test]
    fn sampling_follows_probabilities_and_is_reproducible() {
        let p = [0.75, 0.25];
        let picks: Vec<usize> = (0..4000)
            .map(|s| task_for_step(Sampling::Temperature, &p, 1, s))
            .collect();
        let share = picks.iter().filter(|&&t| t == 0).count() as f64 / 4000.0;
        assert!((share - 0.75).abs() < 0.03, "{share}");
        let again: Vec<usize> = (0..4000)
            .map(|s| task_for_step(Sampling::Temperature, &p, 1, s))
            .collect();
        assert_eq!(picks, again);
        assert_eq!(task_for_step(Sampling::RoundRobin, &p, 1, 5), 1);
    }

    #[test]
    fn stream_visits_every_item_once_per_epoch() {
        let mut s = Stream::new((0..10).collect(), 3, 0);
        let mut first: Vec<usize> = (0..5).flat_map(|k| s.batch(k, 2)).collect();
        first.sort_unstable();
        assert_eq!(first, (0..10).collect::<Vec<_>>());
        // Batch 5 (epoch 2) comes from a different order than batch 0.
        let mut s2 = Stream::new((0..10).collect(), 3, 0);
        assert_eq!(s2.batch(3, 2), s.batch(3, 2));
        let e0: Vec<usize> = (0..5).flat_map(|k| s.batch(k, 2)).collect();
        let e1: Vec<usize> = (5..10).flat_map(|k| s.batch(k, 2)).collect();
        assert_ne!(e0, e1);
    }
}
