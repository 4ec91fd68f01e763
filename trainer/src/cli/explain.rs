//! `glassbox explain`: for one sentence, three answers to "which words mattered?" side by side,
//! as the page's inspect view shows them: occlusion (how much p(predicted class) drops when the
//! word is left out), attention rollout from [CLS] over all layers, and the last layer's
//! head-mean attention from [CLS]; with the rank correlation between occlusion and each
//! attention score, because attention weights are not, by themselves, an explanation.

use std::path::PathBuf;

use anyhow::{bail, Result};
use burn::prelude::*;
use glassbox_model::text::decode::{argmax, words, Word};
use glassbox_model::view::explain::{head_mean, rollout};
use glassbox_model::view::readout::SentenceResult;
use glassbox_model::view::ReadBack;
use glassbox_model::Tokenized;
use serde::Serialize;

use crate::backend::BackendKind;
use crate::infer::forward_batch;
use crate::infer::occlusion::occluded_probs;
use crate::load::{load_dir, Loaded};
use crate::with_backend;

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// A glassbox bundle with a trained sentence head.
    #[arg(long)]
    bundle: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The sentence (after `--` when it starts with `-`).
    text: String,
}

/// One word's three scores.
#[derive(Serialize)]
struct WordScore {
    word: String,
    start: usize,
    end: usize,
    /// p(predicted class) with the word minus p(predicted class) without it.
    occlusion: f32,
    /// Rollout weight from [CLS] at the top, summed over the word's pieces.
    rollout: f32,
    /// Last layer's head-mean attention from [CLS], summed over the word's pieces.
    last_layer: f32,
}

#[derive(Serialize)]
struct Explanation {
    text: String,
    label: String,
    probability: f32,
    words: Vec<WordScore>,
    /// Spearman rank correlation of occlusion with rollout and with last-layer attention.
    spearman_occlusion_rollout: f32,
    spearman_occlusion_last_layer: f32,
}

pub fn explain(a: ExplainArgs) -> Result<()> {
    let e = with_backend!(a.backend, |B, device| {
        let loaded = load_dir::<B>(&a.bundle, &device)?;
        if !loaded.heads_trained {
            bail!(
                "{} has untrained heads: explain needs a fine-tuned bundle",
                a.bundle.display()
            );
        }
        explanation(&loaded, &a.text, &device)?
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        print_table(&e);
    }
    Ok(())
}

fn explanation<B: Backend>(
    loaded: &Loaded<B>,
    text: &str,
    device: &B::Device,
) -> Result<Explanation> {
    let t = loaded.tokenizer.encode(text)?;
    if let Some(tr) = &t.truncation {
        eprintln!("note: {}", tr.message());
    }
    let full =
        forward_batch(loaded, vec![t.clone()], &ReadBack::all_attention(1), device)?.remove(0);
    let ws = words(&t);
    if ws.is_empty() {
        bail!("the text has no words to explain");
    }
    let (best, p) = argmax(&full.sentence_probs);
    let dropped = occluded_probs(loaded, &t, &ws, best, device)?;
    let scores = word_scores(&t, &ws, &full, p, &dropped);
    let occ: Vec<f32> = scores.iter().map(|s| s.occlusion).collect();
    let roll: Vec<f32> = scores.iter().map(|s| s.rollout).collect();
    let last: Vec<f32> = scores.iter().map(|s| s.last_layer).collect();
    Ok(Explanation {
        text: text.to_string(),
        label: loaded.config.sentence_labels[best].clone(),
        probability: p,
        spearman_occlusion_rollout: spearman(&occ, &roll),
        spearman_occlusion_last_layer: spearman(&occ, &last),
        words: scores,
    })
}

fn word_scores(
    t: &Tokenized,
    ws: &[Word],
    full: &SentenceResult,
    p: f32,
    dropped: &[f32],
) -> Vec<WordScore> {
    let n = t.ids.len();
    let roll = rollout(&full.attentions, n);
    let last = full.attentions.last().map(head_mean).unwrap_or_default();
    let from_cls = |m: &[f32], w: &Word| {
        (w.first..=w.last)
            .map(|j| m.get(j).copied().unwrap_or(0.0))
            .sum()
    };
    let chars: Vec<char> = t.text.chars().collect();
    ws.iter()
        .zip(dropped)
        .map(|(w, d)| WordScore {
            word: chars[w.start..w.end].iter().collect(),
            start: w.start,
            end: w.end,
            occlusion: p - d,
            rollout: from_cls(&roll, w),
            last_layer: from_cls(&last, w),
        })
        .collect()
}

/// Ranks with ties averaged (1-based).
fn ranks(x: &[f32]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        idx[i..=j].iter().for_each(|&k| r[k] = avg);
        i = j + 1;
    }
    r
}

/// Spearman's ρ: Pearson correlation of the ranks (NaN when either side is constant).
fn spearman(a: &[f32], b: &[f32]) -> f32 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    (cov / (va * vb).sqrt()) as f32
}

fn print_table(e: &Explanation) {
    println!("{}\n  class: {} ({:.3})\n", e.text, e.label, e.probability);
    println!(
        "  {:<18} {:>10} {:>10} {:>10}",
        "word", "occlusion", "rollout", "last layer"
    );
    for w in &e.words {
        println!(
            "  {:<18} {:>+10.3} {:>10.3} {:>10.3}",
            w.word, w.occlusion, w.rollout, w.last_layer
        );
    }
    println!(
        "\n  Spearman ρ with occlusion: rollout {:.2}, last layer {:.2}",
        e.spearman_occlusion_rollout, e.spearman_occlusion_last_layer
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 30.0, 20.0, 20.0]), vec![1.0, 4.0, 2.5, 2.5]);
    }

    #[test]
    fn spearman_matches_hand_computed_values() {
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-6);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-6);
        // ranks (1,2,3,4) vs (2,1,4,3): d² = 1+1+1+1 = 4, ρ = 1 − 6·4/(4·15) = 0.6
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 4.0, 3.0]) - 0.6).abs() < 1e-6);
    }
}
