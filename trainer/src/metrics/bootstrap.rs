//! The percentile bootstrap: resample the items with replacement and read a statistic's
//! interval off the resamples. For one model's metric the statistic is the metric on the
//! resampled test examples (the model card); for two models it is their difference on the
//! same resampled indices, so their correlation is kept (the paired bootstrap of the gate).

use anyhow::{bail, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// How many resamples, at which confidence level, from which seed.
#[derive(Debug, Clone, Copy)]
pub struct Resampling {
    pub resamples: usize,
    /// Two-sided confidence level of the percentile interval, in (0, 1).
    pub level: f64,
    pub seed: u64,
}

/// The statistic on all items, and its percentile interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The statistic on all items.
    pub point: f64,
    pub low: f64,
    pub high: f64,
    pub level: f64,
    pub resamples: usize,
}

/// Bootstraps `statistic` (called with the item indices of one resample) over `n` items.
pub fn percentile_bootstrap(
    n: usize,
    r: Resampling,
    statistic: impl Fn(&[usize]) -> f64,
) -> Result<Interval> {
    if n == 0 {
        bail!("no items: nothing to bootstrap");
    }
    if r.resamples == 0 || !(r.level > 0.0 && r.level < 1.0) {
        bail!(
            "bootstrap needs resamples ≥ 1 and a level in (0, 1), got {} and {}",
            r.resamples,
            r.level
        );
    }
    let all: Vec<usize> = (0..n).collect();
    let point = statistic(&all);
    let mut rng = ChaCha8Rng::seed_from_u64(r.seed);
    let mut idx = vec![0usize; n];
    let mut stats: Vec<f64> = (0..r.resamples)
        .map(|_| {
            idx.iter_mut().for_each(|i| *i = rng.random_range(0..n));
            statistic(&idx)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    let tail = (1.0 - r.level) / 2.0;
    Ok(Interval {
        point,
        low: percentile(&stats, tail),
        high: percentile(&stats, 1.0 - tail),
        level: r.level,
        resamples: r.resamples,
    })
}

/// The `q`-quantile of sorted values, interpolating linearly between order statistics
/// (numpy's default `percentile` method), so the interval matches the usual reference.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_of(values: &[f64]) -> impl Fn(&[usize]) -> f64 + '_ {
        move |idx| idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // numpy.percentile([1,2,3,4], [0, 25, 50, 97.5]) = 1, 1.75, 2.5, 3.925
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert!((percentile(&v, 0.25) - 1.75).abs() < 1e-12);
        assert!((percentile(&v, 0.5) - 2.5).abs() < 1e-12);
        assert!((percentile(&v, 0.975) - 3.925).abs() < 1e-12);
    }

    #[test]
    fn seeded_runs_repeat_and_seeds_differ() {
        let d: Vec<f64> = (0..50).map(|i| ((i * 7) % 11) as f64 / 10.0).collect();
        let r = Resampling {
            resamples: 300,
            level: 0.9,
            seed: 5,
        };
        let a = percentile_bootstrap(d.len(), r, mean_of(&d)).unwrap();
        let b = percentile_bootstrap(d.len(), r, mean_of(&d)).unwrap();
        assert_eq!(a, b);
        let c = percentile_bootstrap(d.len(), Resampling { seed: 6, ..r }, mean_of(&d)).unwrap();
        assert_ne!((a.low, a.high), (c.low, c.high));
        assert!(a.low <= a.point && a.point <= a.high);
    }

    #[test]
    fn constant_differences_give_a_degenerate_interval() {
        let d = vec![0.25; 40];
        let r = Resampling {
            resamples: 100,
            level: 0.95,
            seed: 0,
        };
        let i = percentile_bootstrap(d.len(), r, mean_of(&d)).unwrap();
        assert_eq!((i.point, i.low, i.high), (0.25, 0.25, 0.25));
    }

    #[test]
    fn bad_settings_are_errors() {
        let r = Resampling {
            resamples: 10,
            level: 0.95,
            seed: 0,
        };
        assert!(percentile_bootstrap(0, r, |_| 0.0).is_err());
        assert!(percentile_bootstrap(3, Resampling { level: 1.0, ..r }, |_| 0.0).is_err());
        assert!(percentile_bootstrap(3, Resampling { resamples: 0, ..r }, |_| 0.0).is_err());
    }
}
