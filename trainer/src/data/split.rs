//! Reproducible splits. Every example gets a stratum (its label, or for NER whether it holds
//! an entity); each stratum is shuffled with a seeded ChaCha RNG (portable across platforms
//! and versions) and dealt out, so every split and every fold has the corpus's label mix.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Split {
    pub train: Vec<usize>,
    pub dev: Vec<usize>,
    pub test: Vec<usize>,
}

fn strata(keys: &[String]) -> BTreeMap<&str, Vec<usize>> {
    let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        by.entry(k.as_str()).or_default().push(i);
    }
    by
}

/// Train/dev/test split of `keys.len()` examples; `dev` and `test` are fractions.
pub fn stratified_split(keys: &[String], dev: f64, test: f64, seed: u64) -> Split {
    assert!(
        dev >= 0.0 && test >= 0.0 && dev + test < 1.0,
        "split fractions"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = Split {
        train: vec![],
        dev: vec![],
        test: vec![],
    };
    for (_, mut idx) in strata(keys) {
        idx.shuffle(&mut rng);
        let n = idx.len() as f64;
        let n_test = (n * test).round() as usize;
        let n_dev = (n * dev).round() as usize;
        s.test.extend(&idx[..n_test]);
        s.dev.extend(&idx[n_test..n_test + n_dev]);
        s.train.extend(&idx[n_test + n_dev..]);
    }
    for v in [&mut s.train, &mut s.dev, &mut s.test] {
        v.sort_unstable();
    }
    s
}

/// K disjoint, covering, stratified folds: fold `f` is the held-out part of run `f`.
pub fn stratified_folds(keys: &[String], k: usize, seed: u64) -> Vec<Vec<usize>> {
    assert!(k >= 2, "cross-validation needs at least 2 folds");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut folds = vec![Vec::new(); k];
    let mut next = 0;
    for (_, mut idx) in strata(keys) {
        idx.shuffle(&mut rng);
        // Continue dealing where the previous stratum stopped, so fold sizes differ by ≤ 1.
        for i in idx {
            folds[next % k].push(i);
            next += 1;
        }
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        (0..100)
            .map(|i| if i % 4 == 0 { "a" } else { "b" }.to_string())
            .collect()
    }

    #[test]
    fn split_is_disjoint_covering_stratified_and_reproducible() {
        let k = keys();
        let s = stratified_split(&k, 0.2, 0.2, 7);
        let mut all: Vec<usize> = s
            .train
            .iter()
            .chain(&s.dev)
            .chain(&s.test)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        // 25 a's → 5 dev, 5 test; 75 b's → 15 dev, 15 test.
        let count_a = |v: &[usize]| v.iter().filter(|&&i| k[i] == "a").count();
        assert_eq!((count_a(&s.dev), count_a(&s.test)), (5, 5));
        assert_eq!((s.dev.len(), s.test.len(), s.train.len()), (20, 20, 60));
        assert_eq!(s, stratified_split(&k, 0.2, 0.2, 7));
        assert_ne!(s, stratified_split(&k, 0.2, 0.2, 8));
    }

    #[test]
    fn folds_are_disjoint_covering_and_balanced() {
        let k = keys();
        let folds = stratified_folds(&k, 5, 3);
        let mut all: Vec<usize> = folds.concat();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        for f in &folds {
            assert_eq!(f.len(), 20);
            assert_eq!(f.iter().filter(|&&i| k[i] == "a").count(), 5);
        }
    }
}
