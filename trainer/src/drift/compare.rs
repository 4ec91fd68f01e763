//! Current answers against the reference profile: the three statistics with a verdict each,
//! and the descriptive numbers (class shares, [UNK], length, truncation) beside them. The
//! same report is `glassbox drift`'s `drift.json` and the server's `GET /drift`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::observe::{Observation, Tally};
use super::profile::Profile;
use super::stats::{ks_test, mmd_test, psi};
use super::texts::sample_indices;

/// When each statistic counts as drift, and how the MMD p-value is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// PSI above this is drift (0.2: the usual "significant shift" line).
    pub psi: f64,
    /// KS p-value below this is drift.
    pub ks_alpha: f64,
    /// MMD permutation p-value below this is drift.
    pub mmd_alpha: f64,
    /// Permutations for the MMD p-value (its floor is 1 / (permutations + 1)).
    pub permutations: usize,
    /// Most current embeddings MMD compares (a seeded sample beyond it: the cost is
    /// quadratic in reference + current rows).
    pub mmd_rows: usize,
    pub seed: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            psi: 0.2,
            ks_alpha: 0.01,
            mmd_alpha: 0.01,
            permutations: 500,
            mmd_rows: 500,
            seed: 0,
        }
    }
}

/// Fewer current inputs than this and the verdict is `insufficient_data`: with a handful of
/// answers every statistic is noise.
pub const MIN_INPUTS: usize = 30;

/// PSI on predicted classes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct PsiResult {
    pub psi: f64,
    pub threshold: f64,
    pub drift: bool,
}

/// Two-sample KS on top-class confidence.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct KsResult {
    pub statistic: f64,
    pub p_value: f64,
    pub alpha: f64,
    pub drift: bool,
}

/// MMD² between reference and current embeddings, with its permutation p-value.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct MmdResult {
    pub mmd2: f64,
    pub bandwidth: f64,
    pub p_value: f64,
    pub permutations: usize,
    pub alpha: f64,
    pub drift: bool,
    pub reference_rows: usize,
    pub current_rows: usize,
}

/// One class's share of the reference and of the current answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ClassShare {
    pub label: String,
    pub reference: f64,
    pub current: f64,
}

/// Descriptive input statistics of one side.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct InputSummary {
    pub inputs: usize,
    /// [UNK] wordpieces per wordpiece.
    pub unk_rate: f64,
    pub truncation_rate: f64,
    /// Mean wordpieces per input, specials included.
    pub mean_length: f64,
    pub mean_confidence: f64,
}

/// What the reference was computed from.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ReferenceSource {
    pub data: String,
    pub available: usize,
    pub sampled: usize,
    pub seed: u64,
}

/// The drift report: `drift.json` and `GET /drift`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct DriftReport {
    /// `drift` when any statistic crosses its threshold, `no_drift`, or
    /// `insufficient_data` below 30 current inputs (the statistics are then still shown).
    pub verdict: String,
    /// Current inputs compared.
    pub window_size: usize,
    pub class_psi: PsiResult,
    pub confidence_ks: KsResult,
    pub embedding_mmd: MmdResult,
    /// PSI of the wordpiece-length histogram (descriptive; no verdict).
    pub length_psi: f64,
    pub classes: Vec<ClassShare>,
    pub reference: InputSummary,
    pub current: InputSummary,
    pub reference_source: ReferenceSource,
}

fn summary(t: &Tally, confidences: &[f64]) -> InputSummary {
    let n = confidences.len().max(1) as f64;
    InputSummary {
        inputs: t.inputs,
        unk_rate: t.unk_rate(),
        truncation_rate: t.truncation_rate(),
        mean_length: t.mean_length(),
        mean_confidence: confidences.iter().sum::<f64>() / n,
    }
}

/// The reference side's tally, rebuilt from the profile's stored counts.
fn reference_tally(p: &Profile) -> Tally {
    let inputs = p.source.sampled;
    let wordpieces = (p.tokens.mean_length * inputs as f64).round() as u64;
    Tally {
        inputs,
        class_counts: p.class_counts.clone(),
        length_counts: p.tokens.length_histogram.clone(),
        wordpieces,
        unknown: (p.tokens.unk_rate * wordpieces as f64).round() as u64,
        truncated: (p.tokens.truncation_rate * inputs as f64).round() as u64,
    }
}

fn shares(p: &Profile, current: &Tally) -> Vec<ClassShare> {
    let share = |c: &[u64], i: usize| c[i] as f64 / c.iter().sum::<u64>().max(1) as f64;
    (0..p.labels.len())
        .map(|i| ClassShare {
            label: p.labels[i].clone(),
            reference: share(&p.class_counts, i),
            current: share(&current.class_counts, i),
        })
        .collect()
}

/// Compares `current` (at least 2 observations) with the profile; `reference_rows` are the
/// profile's decoded embeddings.
pub fn compare(
    profile: &Profile,
    reference_rows: &[Vec<f32>],
    current: &[Observation],
    t: &Thresholds,
) -> DriftReport {
    let tally = Tally::of(current, profile.labels.len());
    let reference = reference_tally(profile);
    let conf: Vec<f64> = current.iter().map(|o| o.confidence).collect();
    let class_psi = psi(&profile.class_counts, &tally.class_counts);
    let ks = ks_test(&profile.confidence.sample, &conf);
    let picked = sample_indices(current.len(), t.mmd_rows, t.seed);
    let rows: Vec<Vec<f32>> = picked
        .iter()
        .map(|&i| current[i].embedding.clone())
        .collect();
    let mmd = mmd_test(reference_rows, &rows, t.permutations, t.seed);
    let class_psi = PsiResult {
        psi: class_psi,
        threshold: t.psi,
        drift: class_psi > t.psi,
    };
    let confidence_ks = KsResult {
        statistic: ks.statistic,
        p_value: ks.p_value,
        alpha: t.ks_alpha,
        drift: ks.p_value < t.ks_alpha,
    };
    let embedding_mmd = MmdResult {
        mmd2: mmd.mmd2,
        bandwidth: mmd.bandwidth,
        p_value: mmd.p_value,
        permutations: mmd.permutations,
        alpha: t.mmd_alpha,
        drift: mmd.p_value < t.mmd_alpha,
        reference_rows: reference_rows.len(),
        current_rows: rows.len(),
    };
    let any = class_psi.drift || confidence_ks.drift || embedding_mmd.drift;
    let verdict = match (current.len() < MIN_INPUTS, any) {
        (true, _) => "insufficient_data",
        (false, true) => "drift",
        (false, false) => "no_drift",
    };
    DriftReport {
        verdict: verdict.into(),
        window_size: current.len(),
        length_psi: psi(&reference.length_counts, &tally.length_counts),
        classes: shares(profile, &tally),
        reference: summary(&reference, &profile.confidence.sample),
        current: summary(&tally, &conf),
        reference_source: ReferenceSource {
            data: profile.source.data.clone(),
            available: profile.source.available,
            sampled: profile.source.sampled,
            seed: profile.source.seed,
        },
        class_psi,
        confidence_ks,
        embedding_mmd,
    }
}

impl DriftReport {
    /// One line per statistic with its verdict, for the terminal and `drift.md`.
    pub fn summary_lines(&self) -> Vec<String> {
        let flag = |d: bool| if d { "DRIFT" } else { "ok" };
        vec![
            format!(
                "class PSI        {:.4} (threshold {}): {}",
                self.class_psi.psi,
                self.class_psi.threshold,
                flag(self.class_psi.drift)
            ),
            format!(
                "confidence KS    D = {:.4}, p = {:.3e} (alpha {}): {}",
                self.confidence_ks.statistic,
                self.confidence_ks.p_value,
                self.confidence_ks.alpha,
                flag(self.confidence_ks.drift)
            ),
            format!(
                "embedding MMD²   {:.5}, p = {:.4} ({} permutations, alpha {}): {}",
                self.embedding_mmd.mmd2,
                self.embedding_mmd.p_value,
                self.embedding_mmd.permutations,
                self.embedding_mmd.alpha,
                flag(self.embedding_mmd.drift)
            ),
            format!("verdict: {} ({} inputs)", self.verdict, self.window_size),
        ]
    }
}
