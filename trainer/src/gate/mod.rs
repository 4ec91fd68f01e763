//! The champion–challenger gate (`glassbox gate`): before a challenger bundle replaces the
//! champion, both are run over the same fixed gate set — the split the champion's recorded
//! recipe rebuilds — and compared pairwise:
//!
//! 1. **Pairs** ([`pairs`], [`paired`]): each gate item with the gold answer and both models'
//!    predictions.
//! 2. **Statistics** ([`mcnemar`], [`bootstrap`]): McNemar's exact test on sentence
//!    correctness; paired bootstrap intervals for the macro-F1 and span-F1 differences.
//! 3. **Decision** ([`rules`]): configurable minimum improvement and maximum regression per
//!    metric, McNemar's significance level; every check with its verdict and reason.
//! 4. **Report** ([`report`], [`chart`]): `gate.json`, `gate.md` and `gate.svg`, pass or fail.

pub use crate::metrics::bootstrap;
pub mod chart;
#[cfg(test)]
mod decisions;
pub mod mcnemar;
pub mod paired;
pub mod pairs;
#[cfg(test)]
mod reference;
pub mod report;
pub mod rules;

use anyhow::{Context, Result};

use bootstrap::percentile_bootstrap;
pub use paired::{run_gate, GateSet};
use pairs::{PairedSentences, PairedSpans, Side};
pub use rules::GateRules;
use rules::{decide, Decision, GateStats, MetricStat};

/// Both models' predictions on the gate items, per kind of task (a recipe has at most one
/// sentence task and one token task, matching the model's two heads).
#[derive(Debug, Clone, Default)]
pub struct GateItems {
    pub sentences: Option<PairedSentences>,
    pub spans: Option<PairedSpans>,
}

/// The statistics and the decision on paired items: everything but running the models.
pub fn judge(items: &GateItems, rules: &GateRules) -> Result<(GateStats, Decision)> {
    rules.validate()?;
    let r = rules.resampling();
    let macro_f1 = match &items.sentences {
        Some(s) => Some(MetricStat {
            champion: s.macro_f1(Side::Champion, &all(s.len())),
            challenger: s.macro_f1(Side::Challenger, &all(s.len())),
            difference: percentile_bootstrap(s.len(), r, |idx| s.macro_f1_difference(idx))
                .context("bootstrapping macro-F1")?,
        }),
        None => None,
    };
    // The span resamples use the next seed, so the two metrics' draws are independent.
    let r = bootstrap::Resampling {
        seed: r.seed.wrapping_add(1),
        ..r
    };
    let span_f1 = match &items.spans {
        Some(s) => Some(MetricStat {
            champion: s.span_f1(Side::Champion, &all(s.len())),
            challenger: s.span_f1(Side::Challenger, &all(s.len())),
            difference: percentile_bootstrap(s.len(), r, |idx| s.span_f1_difference(idx))
                .context("bootstrapping span F1")?,
        }),
        None => None,
    };
    let stats = GateStats {
        mcnemar: items.sentences.as_ref().map(PairedSentences::mcnemar),
        macro_f1,
        span_f1,
    };
    let decision = decide(rules, &stats);
    Ok((stats, decision))
}

fn all(n: usize) -> Vec<usize> {
    (0..n).collect()
}
