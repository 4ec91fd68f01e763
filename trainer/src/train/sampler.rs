//! Which task each step trains and which examples its batch holds. Both are pure functions
//! of (seed, step) and per-task counters, so a resumed run sees exactly the batches the
//! killed run would have seen.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::Sampling;
use crate::seeds::mix;

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
///
/// With length bucketing, each epoch's shuffled examples are cut into pools of `pool`
/// batches, each pool is sorted by length and cut into batches, and the batches are shuffled:
/// a batch then pads to nearly one length instead of the longest of a random draw, which is
/// most of the compute a random batch wastes, while every epoch still visits each example once
/// in a seeded random batch order.
pub struct Stream {
    items: Vec<usize>,
    seed: u64,
    task: u64,
    /// Wordpiece length of each item (in `items` order) and batches per pool, when bucketed.
    buckets: Option<(Vec<usize>, usize)>,
    epoch: Option<(usize, Vec<usize>)>,
    bucketed: Option<(usize, Vec<Vec<usize>>)>,
}

impl Stream {
    pub fn new(items: Vec<usize>, seed: u64, task: usize) -> Self {
        Self {
            items,
            seed,
            task: task as u64,
            buckets: None,
            epoch: None,
            bucketed: None,
        }
    }

    /// Buckets batches by length: `lengths[k]` is the length of `items[k]`, `pool` the batches
    /// per sorted pool (0 keeps plain shuffled batches).
    pub fn bucketed(mut self, lengths: Vec<usize>, pool: usize) -> Self {
        assert_eq!(lengths.len(), self.items.len(), "one length per item");
        self.buckets = (pool > 0).then_some((lengths, pool));
        self
    }

    fn shuffled(&self, epoch: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.items.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.seed, 2 + self.task, epoch as u64));
        v.shuffle(&mut rng);
        v
    }

    fn order(&mut self, epoch: usize) -> &[usize] {
        if self.epoch.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let v = self
                .shuffled(epoch)
                .iter()
                .map(|&k| self.items[k])
                .collect();
            self.epoch = Some((epoch, v));
        }
        &self.epoch.as_ref().unwrap().1
    }

    /// One epoch's batches: pools of the shuffled order sorted by length, cut into batches
    /// of `size` (the epoch's last one may be smaller), in a seeded random order.
    fn bucket_epoch(
        &self,
        epoch: usize,
        size: usize,
        lengths: &[usize],
        pool: usize,
    ) -> Vec<Vec<usize>> {
        let mut batches = Vec::new();
        for chunk in self.shuffled(epoch).chunks(size * pool) {
            let mut chunk = chunk.to_vec();
            chunk.sort_by_key(|&k| lengths[k]);
            batches.extend(
                chunk
                    .chunks(size)
                    .map(|b| b.iter().map(|&k| self.items[k]).collect()),
            );
        }
        let mut rng = ChaCha8Rng::seed_from_u64(mix(self.seed, 0x100 + self.task, epoch as u64));
        batches.shuffle(&mut rng);
        batches
    }

    /// Batches per epoch when bucketed (the last one of an epoch may be short).
    fn batches_per_epoch(&self, size: usize) -> usize {
        self.items.len().div_ceil(size.max(1))
    }

    /// The `k`-th batch of `size` examples (0-based). Plain batches cross epoch boundaries
    /// seamlessly; bucketed ones stay within their epoch.
    pub fn batch(&mut self, k: usize, size: usize) -> Vec<usize> {
        let Some((lengths, pool)) = self.buckets.take() else {
            let n = self.items.len();
            return (k * size..(k + 1) * size)
                .map(|pos| self.order(pos / n)[pos % n])
                .collect();
        };
        let m = self.batches_per_epoch(size);
        let epoch = k / m;
        if self.bucketed.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let batches = self.bucket_epoch(epoch, size, &lengths, pool);
            self.bucketed = Some((epoch, batches));
        }
        self.buckets = Some((lengths, pool));
        self.bucketed.as_ref().unwrap().1[k % m].clone()
    }

    /// Epochs completed after `batches` batches of `size`.
    pub fn epochs(&self, batches: usize, size: usize) -> f64 {
        match self.buckets {
            Some(_) => batches as f64 / self.batches_per_epoch(size) as f64,
            None => (batches * size) as f64 / self.items.len() as f64,
        }
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

    /// Sum over batches of (longest length × batch size): the wordpieces a batch computes.
    fn padded(
        s: &mut Stream,
        lengths: &[usize],
        batches: std::ops::Range<usize>,
        size: usize,
    ) -> usize {
        batches
            .map(|k| {
                let b = s.batch(k, size);
                b.iter().map(|&i| lengths[i]).max().unwrap() * b.len()
            })
            .sum()
    }

    #[test]
    fn bucketed_epochs_visit_every_item_once_and_pad_less() {
        let n = 103;
        let lengths: Vec<usize> = (0..n).map(|i| 5 + (i * 37) % 60).collect();
        let bucketed = || Stream::new((0..n).collect(), 9, 1).bucketed(lengths.clone(), 4);
        let mut s = bucketed();
        let m = n.div_ceil(8); // 13 batches, the last one of 7
        for epoch in 0..2 {
            let mut seen: Vec<usize> = (epoch * m..(epoch + 1) * m)
                .flat_map(|k| s.batch(k, 8))
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "epoch {epoch}");
        }
        assert!((s.epochs(2 * m, 8) - 2.0).abs() < 1e-12);
        // Reproducible from the seed, and each epoch in another order.
        assert_eq!(bucketed().batch(m + 3, 8), s.batch(m + 3, 8));
        assert_ne!(s.batch(3, 8), s.batch(m + 3, 8));
        // Within a pool of 4 batches sorted by length, batches waste under half the padding
        // of random ones (here a third).
        let mut plain = Stream::new((0..n).collect(), 9, 1);
        let (b, p) = (
            padded(&mut s, &lengths, 0..m, 8),
            padded(&mut plain, &lengths, 0..m, 8),
        );
        let real: usize = lengths.iter().sum();
        assert!(
            b < p && (b - real) * 2 < p - real,
            "bucketed {b}, plain {p}, real {real}"
        );
    }
}
