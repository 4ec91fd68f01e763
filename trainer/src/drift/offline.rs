//! `glassbox profile` and `glassbox drift` without the CLI: build a bundle's reference
//! profile from texts, and compare texts with it, writing `drift.json`, `drift.md` and two
//! charts (confidence CDFs, class shares) into an output folder.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use burn::prelude::*;
use glassbox_model::weights::bundle::Manifest;

use super::compare::{compare, DriftReport, Thresholds};
use super::observe::{observe_tokenized, Observation};
use super::profile::{install_profile, read_profile, Profile, ProfileSource, PROFILE_FILE};
use super::texts::{sample_texts, Text};
use crate::data::prepare::PreparedTask;
use crate::data::task::Examples;
use crate::io::{write_atomic, write_json};
use crate::load::{load_dir, Loaded};
use crate::plots;

/// How many texts a profile is built from, and from which seed.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    pub max_texts: usize,
    pub seed: u64,
    /// Embedding rows stored in the profile.
    pub rows: usize,
}

/// Runs the model of the bundle in `dir` over a seeded sample of `texts` and writes the
/// profile into the bundle (profile, then manifest, each renamed into place).
pub fn profile_bundle<B: Backend>(
    dir: &Path,
    texts: Vec<Text>,
    data: &str,
    sampling: Sampling,
    device: &B::Device,
) -> Result<(Profile, Manifest)> {
    let loaded = load_dir::<B>(dir, device)?;
    let available = texts.len();
    let picked = sample_texts(texts, sampling.max_texts, sampling.seed);
    let obs = observe(&loaded, &picked, data, device)?;
    let source = ProfileSource {
        data: data.to_string(),
        available,
        sampled: obs.len(),
        seed: sampling.seed,
    };
    let profile = Profile::build(&loaded.config.sentence_labels, &obs, source, sampling.rows)?;
    let manifest = install_profile(dir, &profile)?;
    Ok((profile, manifest))
}

/// Tokenizes every text (one that cannot be encoded is named by `data` and its line), then
/// runs the model and observes the answers.
fn observe<B: Backend>(
    loaded: &Loaded<B>,
    texts: &[Text],
    data: &str,
    device: &B::Device,
) -> Result<Vec<Observation>> {
    let items = texts
        .iter()
        .map(|t| {
            loaded
                .tokenizer
                .encode(&t.text)
                .with_context(|| format!("{data}: line {}", t.line))
        })
        .collect::<Result<Vec<_>>>()?;
    observe_tokenized(loaded, items, device)
}

/// The training split of a run's sentence task (none without one): what `glassbox export`
/// profiles.
pub fn training_texts(tasks: &[PreparedTask]) -> Option<Vec<Text>> {
    tasks.iter().find_map(|t| match &t.data.examples {
        Examples::Sentence(ex) => Some(
            t.split
                .train
                .iter()
                .map(|&i| Text {
                    text: ex[i].text.clone(),
                    line: ex[i].line,
                })
                .collect(),
        ),
        Examples::Token(_) => None,
    })
}

/// Compares a seeded sample of `texts` with the profile of the bundle in `dir`.
pub fn drift_report<B: Backend>(
    dir: &Path,
    texts: Vec<Text>,
    data: &str,
    max_texts: usize,
    thresholds: &Thresholds,
    device: &B::Device,
) -> Result<(DriftReport, Profile, Vec<Observation>)> {
    let loaded = load_dir::<B>(dir, device)?;
    let manifest = loaded
        .manifest
        .as_ref()
        .with_context(|| format!("{} is not a bundle (no manifest.json)", dir.display()))?;
    let profile = read_profile(dir, manifest)?.with_context(|| {
        format!(
            "bundle {} has no {PROFILE_FILE}; add one with `glassbox profile --bundle {} --data FILE`",
            dir.display(),
            dir.display()
        )
    })?;
    let picked = sample_texts(texts, max_texts, thresholds.seed);
    let obs = observe(&loaded, &picked, data, device)?;
    anyhow::ensure!(obs.len() >= 2, "drift needs at least 2 texts");
    let rows = profile.embedding_rows()?;
    let report = compare(&profile, &rows, &obs, thresholds);
    Ok((report, profile, obs))
}

/// Writes `drift.json`, `drift.md`, `drift_confidence.{png,svg}` and
/// `drift_classes.{png,svg}` into `out`.
pub fn write_report(
    out: &Path,
    report: &DriftReport,
    profile: &Profile,
    obs: &[Observation],
    data: &str,
) -> Result<()> {
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_json(&out.join("drift.json"), report)?;
    write_atomic(&out.join("drift.md"), markdown(report, data).as_bytes())?;
    let current: Vec<f64> = obs.iter().map(|o| o.confidence).collect();
    plots::lines(
        &out.join("drift_confidence"),
        "Top-class confidence: empirical CDFs",
        "confidence",
        "share of inputs ≤ x",
        &[
            ("reference".into(), cdf(&profile.confidence.sample)),
            ("current".into(), cdf(&current)),
        ],
    )?;
    let bars: Vec<(String, f64)> = report
        .classes
        .iter()
        .flat_map(|c| {
            [
                (format!("{} ref", c.label), c.reference),
                (format!("{} now", c.label), c.current),
            ]
        })
        .collect();
    plots::bar_chart(
        &out.join("drift_classes"),
        "Predicted classes: reference vs current",
        "share",
        &bars,
    )
}

/// Step points of the empirical CDF of `values`.
fn cdf(values: &[f64]) -> Vec<(f64, f64)> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let mut pts = vec![(0.0, 0.0)];
    for (i, x) in v.iter().enumerate() {
        pts.push((*x, i as f64 / n));
        pts.push((*x, (i + 1) as f64 / n));
    }
    pts.push((1.0, 1.0));
    pts
}

fn markdown(r: &DriftReport, data: &str) -> String {
    let mut s = format!(
        "# Drift report\n\nCurrent data: `{data}` ({} inputs). ",
        r.window_size
    );
    let src = &r.reference_source;
    let _ = writeln!(
        s,
        "Reference: `{}` ({} of {} texts, seed {}).\n\n**Verdict: {}**\n",
        src.data, src.sampled, src.available, src.seed, r.verdict
    );
    s.push_str("| statistic | value | p-value | threshold | drift |\n|---|---|---|---|---|\n");
    let _ = writeln!(
        s,
        "| class PSI | {:.4} | – | > {} | {} |",
        r.class_psi.psi, r.class_psi.threshold, r.class_psi.drift
    );
    let ks = &r.confidence_ks;
    let _ = writeln!(
        s,
        "| confidence KS D | {:.4} | {:.3e} | p < {} | {} |",
        ks.statistic, ks.p_value, ks.alpha, ks.drift
    );
    let m = &r.embedding_mmd;
    let _ = writeln!(
        s,
        "| embedding MMD² (σ = {:.3}, {} × {} rows) | {:.5} | {:.4} | p < {} | {} |",
        m.bandwidth, m.reference_rows, m.current_rows, m.mmd2, m.p_value, m.alpha, m.drift
    );
    s.push_str("\n| class | reference share | current share |\n|---|---|---|\n");
    for c in &r.classes {
        let _ = writeln!(s, "| {} | {:.3} | {:.3} |", c.label, c.reference, c.current);
    }
    s.push_str("\n| input | reference | current |\n|---|---|---|\n");
    let (a, b) = (&r.reference, &r.current);
    let _ = writeln!(s, "| [UNK] rate | {:.4} | {:.4} |", a.unk_rate, b.unk_rate);
    let _ = writeln!(
        s,
        "| truncation rate | {:.4} | {:.4} |",
        a.truncation_rate, b.truncation_rate
    );
    let _ = writeln!(
        s,
        "| mean wordpieces | {:.1} | {:.1} |",
        a.mean_length, b.mean_length
    );
    let _ = writeln!(
        s,
        "| mean confidence | {:.3} | {:.3} |",
        a.mean_confidence, b.mean_confidence
    );
    let _ = writeln!(s, "\nLength PSI (descriptive): {:.3}\n", r.length_psi);
    s.push_str("Charts: `drift_confidence.png`, `drift_classes.png`.\n");
    s
}
