//! How sure one evaluation is: percentile-bootstrap intervals of every metric of a split,
//! resampling its examples with replacement (Efron & Tibshirani 1993). They describe the
//! uncertainty of these weights' score from a finite test set; cross-validation describes how
//! the recipe varies over data, and the card keeps the two apart.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use super::{score, Predictions};
use crate::data::prepare::PreparedTask;
use crate::metrics::bootstrap::{percentile_bootstrap, Interval, Resampling};

impl Predictions {
    /// The predictions of examples `idx` (positions in these predictions, repeats allowed).
    pub fn subset(&self, idx: &[usize]) -> Predictions {
        fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
            idx.iter().map(|&i| v[i].clone()).collect()
        }
        match self {
            Predictions::Sentence { gold, pred, probs } => Predictions::Sentence {
                gold: pick(gold, idx),
                pred: pick(pred, idx),
                probs: pick(probs, idx),
            },
            Predictions::Token {
                gold,
                pred,
                confidence,
            } => Predictions::Token {
                gold: pick(gold, idx),
                pred: pick(pred, idx),
                confidence: pick(confidence, idx),
            },
        }
    }

    /// Examples predicted.
    pub(crate) fn len(&self) -> usize {
        match self {
            Predictions::Sentence { gold, .. } => gold.len(),
            Predictions::Token { gold, .. } => gold.len(),
        }
    }
}

/// Every flat metric of `task` on `preds` (as [`super::TaskScores::flat`] names them) with
/// its bootstrap interval.
pub fn intervals(
    task: &PreparedTask,
    preds: &Predictions,
    r: Resampling,
) -> Result<BTreeMap<String, Interval>> {
    let names: Vec<String> = score(task, "", preds).flat().into_keys().collect();
    names
        .into_iter()
        .map(|name| {
            let metric = |idx: &[usize]| {
                let s = score(task, "", &preds.subset(idx)).flat();
                s.get(&name).copied().unwrap_or(f64::NAN)
            };
            let i = percentile_bootstrap(preds.len(), r, metric)
                .with_context(|| format!("bootstrapping {} {name}", task.name()))?;
            Ok((name, i))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::task::Examples;

    fn sentences(gold: Vec<usize>, pred: Vec<usize>) -> Predictions {
        let probs = vec![vec![0.5, 0.5]; gold.len()];
        Predictions::Sentence { gold, pred, probs }
    }

    #[test]
    fn a_subset_picks_examples_by_position_with_repeats() {
        let p = sentences(vec![0, 1, 1], vec![0, 0, 1]);
        let Predictions::Sentence { gold, pred, probs } = p.subset(&[2, 2, 0]) else {
            panic!("a sentence subset")
        };
        assert_eq!((gold, pred, probs.len()), (vec![1, 1, 0], vec![1, 1, 0], 3));
    }

    #[test]
    fn the_accuracy_interval_matches_the_normal_approximation() {
        // 1,000 examples, 780 right: the binomial standard error is √(0.78·0.22/1000) =
        // 0.0131, so a 95% interval is about 0.78 ± 1.96·0.0131 = 0.754–0.806.
        let gold = vec![0; 1000];
        let pred: Vec<usize> = (0..1000).map(|i| usize::from(i % 50 >= 39)).collect();
        let task = crate::data::prepare::testing::task(Examples::Sentence(vec![]), &["a", "b"]);
        let r = Resampling {
            resamples: 2000,
            level: 0.95,
            seed: 1,
        };
        let i = intervals(&task, &sentences(gold, pred), r).unwrap();
        let acc = &i["accuracy"];
        assert!((acc.point - 0.78).abs() < 1e-12, "{acc:?}");
        let se = (0.78f64 * 0.22 / 1000.0).sqrt();
        for (end, want) in [(acc.low, 0.78 - 1.96 * se), (acc.high, 0.78 + 1.96 * se)] {
            assert!((end - want).abs() < 0.2 * 1.96 * se, "{acc:?} vs {want}");
        }
    }
}
