//! The reference profile, `drift_profile.json` in a bundle: what the model's answers looked
//! like on its training data, so traffic can be compared with it later without the data.
//!
//! It holds the predicted-class counts, the confidence histogram and a sorted confidence
//! sample (for KS), a seeded sample of sentence embeddings as base64 little-endian f16 (256 ×
//! 384 × 2 bytes ≈ 260 KB of base64, where JSON numbers would take ~800 KB; f16 keeps ~3
//! significant digits, far below the spread MMD measures) with their f32 mean, and the
//! [UNK], length and truncation statistics. No timestamp: the same data and seed give the
//! same bytes.

use std::fs;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use glassbox_model::weights::bundle::{self, sha256_hex, Manifest};
use half::f16;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::observe::{Observation, Tally, LENGTH_EDGES};
use crate::io::write_atomic;

/// The profile's file name inside a bundle.
pub const PROFILE_FILE: &str = "drift_profile.json";
/// The layout this build reads and writes.
pub const PROFILE_VERSION: u32 = 1;
/// Embedding rows kept by default.
pub const EMBEDDING_ROWS: usize = 256;
/// Confidence histogram: 20 bins of width 0.05 over [0, 1].
pub const CONFIDENCE_BINS: usize = 20;

/// Where the profile's texts came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProfileSource {
    /// The data file or `CONFIG (split S)`.
    pub data: String,
    /// Texts available before sampling.
    pub available: usize,
    /// Texts the model was run on.
    pub sampled: usize,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConfidenceProfile {
    /// Counts per bin of width 1 / `CONFIDENCE_BINS` (the last bin includes 1.0).
    pub histogram: Vec<u64>,
    /// Every profiled input's top-class probability, sorted, rounded to 6 decimals.
    pub sample: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingProfile {
    pub dim: usize,
    pub rows: usize,
    /// Mean of every profiled embedding (not just the sample), rounded to 6 decimals.
    pub mean: Vec<f64>,
    /// `rows × dim` little-endian f16, row-major, base64 (standard alphabet, padded).
    pub sample_f16_base64: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenProfile {
    /// [UNK] wordpieces per wordpiece.
    pub unk_rate: f64,
    /// Share of inputs cut to the model's maximum length.
    pub truncation_rate: f64,
    pub mean_length: f64,
    /// Upper edges (wordpieces) of the length bins; the last also takes longer inputs.
    pub length_edges: Vec<usize>,
    pub length_histogram: Vec<u64>,
}

/// `drift_profile.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub format_version: u32,
    pub source: ProfileSource,
    /// The sentence head's labels, in logit order (`class_counts` follows it).
    pub labels: Vec<String>,
    pub class_counts: Vec<u64>,
    pub confidence: ConfidenceProfile,
    pub embedding: EmbeddingProfile,
    pub tokens: TokenProfile,
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Bin of a probability in the confidence histogram.
pub fn confidence_bin(p: f64) -> usize {
    ((p * CONFIDENCE_BINS as f64) as usize).min(CONFIDENCE_BINS - 1)
}

impl Profile {
    /// Builds the profile of `obs` (answers to `source.sampled` texts); the embedding sample
    /// is `rows` observations drawn with `source.seed`.
    pub fn build(
        labels: &[String],
        obs: &[Observation],
        source: ProfileSource,
        rows: usize,
    ) -> Result<Self> {
        ensure!(obs.len() >= 2, "a profile needs at least 2 texts");
        let tally = Tally::of(obs, labels.len());
        let mut histogram = vec![0u64; CONFIDENCE_BINS];
        for o in obs {
            histogram[confidence_bin(o.confidence)] += 1;
        }
        let mut sample: Vec<f64> = obs.iter().map(|o| round6(o.confidence)).collect();
        sample.sort_by(f64::total_cmp);
        let embedding = embedding_profile(obs, rows, source.seed)?;
        Ok(Profile {
            format_version: PROFILE_VERSION,
            labels: labels.to_vec(),
            class_counts: tally.class_counts.clone(),
            confidence: ConfidenceProfile { histogram, sample },
            embedding,
            tokens: TokenProfile {
                unk_rate: round6(tally.unk_rate()),
                truncation_rate: round6(tally.truncation_rate()),
                mean_length: round6(tally.mean_length()),
                length_edges: LENGTH_EDGES.to_vec(),
                length_histogram: tally.length_counts,
            },
            source,
        })
    }

    /// The embedding sample as f32 rows.
    pub fn embedding_rows(&self) -> Result<Vec<Vec<f32>>> {
        let e = &self.embedding;
        let bytes = STANDARD
            .decode(&e.sample_f16_base64)
            .context("drift profile: embedding sample is not base64")?;
        ensure!(
            bytes.len() == e.rows * e.dim * 2,
            "drift profile: embedding sample has {} bytes, expected {} × {} × 2",
            bytes.len(),
            e.rows,
            e.dim
        );
        let values: Vec<f32> = bytes
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect();
        Ok(values.chunks(e.dim.max(1)).map(<[f32]>::to_vec).collect())
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("profile serialises")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let p: Profile = serde_json::from_slice(bytes).context("drift profile does not parse")?;
        if p.format_version != PROFILE_VERSION {
            bail!(
                "drift profile format_version is {}, this build reads {PROFILE_VERSION}",
                p.format_version
            );
        }
        ensure!(
            p.class_counts.len() == p.labels.len(),
            "drift profile: {} class counts for {} labels",
            p.class_counts.len(),
            p.labels.len()
        );
        Ok(p)
    }
}

fn embedding_profile(obs: &[Observation], rows: usize, seed: u64) -> Result<EmbeddingProfile> {
    let dim = obs[0].embedding.len();
    ensure!(
        obs.iter().all(|o| o.embedding.len() == dim),
        "embeddings of different sizes"
    );
    let mut mean = vec![0f64; dim];
    for o in obs {
        for (m, v) in mean.iter_mut().zip(&o.embedding) {
            *m += f64::from(*v);
        }
    }
    let mean = mean.iter().map(|m| round6(m / obs.len() as f64)).collect();
    let mut order: Vec<usize> = (0..obs.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0xe3b0_c442));
    order.truncate(rows.min(obs.len()));
    let mut bytes = Vec::with_capacity(order.len() * dim * 2);
    for &i in &order {
        for v in &obs[i].embedding {
            bytes.extend_from_slice(&f16::from_f32(*v).to_le_bytes());
        }
    }
    Ok(EmbeddingProfile {
        dim,
        rows: order.len(),
        mean,
        sample_f16_base64: STANDARD.encode(bytes),
    })
}

/// Reads a bundle's profile, checked against the manifest's hash; `None` when the manifest
/// lists none (bundles exported before profiles existed).
pub fn read_profile(dir: &Path, manifest: &Manifest) -> Result<Option<Profile>> {
    if !manifest.files.contains_key(PROFILE_FILE) {
        return Ok(None);
    }
    let path = dir.join(PROFILE_FILE);
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    manifest
        .verify(PROFILE_FILE, &bytes)
        .with_context(|| format!("refusing {}", path.display()))?;
    Profile::from_json(&bytes).map(Some)
}

/// Adds or replaces the profile of the bundle in `dir`: the profile is written first, then
/// the manifest with its hash, each to a temporary file renamed into place, so a reader never
/// sees a half-written file. Every other field of the manifest is kept as it was.
pub fn install_profile(dir: &Path, profile: &Profile) -> Result<Manifest> {
    let manifest_path = dir.join(bundle::MANIFEST);
    let bytes =
        fs::read(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?;
    let mut manifest = Manifest::from_json(&bytes)
        .with_context(|| format!("refusing bundle {}", dir.display()))?;
    let json = profile.to_json();
    manifest
        .files
        .insert(PROFILE_FILE.to_string(), sha256_hex(json.as_bytes()));
    write_atomic(&dir.join(PROFILE_FILE), json.as_bytes())?;
    write_atomic(&manifest_path, manifest.to_json().as_bytes())?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(i: usize) -> Observation {
        Observation {
            class: i % 3,
            confidence: 0.4 + (i as f64) * 0.01,
            embedding: vec![i as f32 * 0.001, -0.5, 0.25 + i as f32 * 1e-4],
            wordpieces: 10 + i,
            unknown: usize::from(i == 3),
            truncated: false,
        }
    }

    fn source() -> ProfileSource {
        ProfileSource {
            data: "d.csv".into(),
            available: 10,
            sampled: 10,
            seed: 9,
        }
    }

    #[test]
    fn a_profile_round_trips_and_keeps_embeddings_to_f16_precision() {
        let o: Vec<Observation> = (0..10).map(obs).collect();
        let labels = vec!["a".to_string(), "b".into(), "c".into()];
        let p = Profile::build(&labels, &o, source(), 4).unwrap();
        assert_eq!(p.class_counts, vec![4, 3, 3]);
        assert_eq!(p.confidence.histogram.iter().sum::<u64>(), 10);
        // 0.40–0.44 fall in [0.40, 0.45), bin 8; 0.45–0.49 in bin 9.
        assert_eq!(p.confidence.histogram[8], 5);
        assert_eq!(p.confidence.histogram[9], 5);
        assert!(p.confidence.sample.windows(2).all(|w| w[0] <= w[1]));
        assert!((p.tokens.unk_rate - 1.0 / 145.0).abs() < 1e-6);
        assert!((p.embedding.mean[1] + 0.5).abs() < 1e-9);
        let back = Profile::from_json(p.to_json().as_bytes()).unwrap();
        assert_eq!(back, p);
        let rows = back.embedding_rows().unwrap();
        assert_eq!((rows.len(), rows[0].len()), (4, 3));
        let original = o
            .iter()
            .find(|x| (x.embedding[0] - rows[0][0]).abs() < 1e-3);
        let original = original.expect("a sampled row is one of the embeddings");
        for (a, b) in original.embedding.iter().zip(&rows[0]) {
            assert!((a - b).abs() <= a.abs() * 1e-3 + 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let o: Vec<Observation> = (0..10).map(obs).collect();
        let labels = vec!["a".to_string(), "b".into(), "c".into()];
        let a = Profile::build(&labels, &o, source(), 4).unwrap().to_json();
        let b = Profile::build(&labels, &o, source(), 4).unwrap().to_json();
        assert_eq!(a, b);
        let mut other = source();
        other.seed = 10;
        let c = Profile::build(&labels, &o, other, 4).unwrap();
        assert_ne!(
            c.embedding.sample_f16_base64,
            Profile::from_json(a.as_bytes())
                .unwrap()
                .embedding
                .sample_f16_base64
        );
    }

    #[test]
    fn confidence_one_falls_in_the_last_bin() {
        assert_eq!(confidence_bin(1.0), CONFIDENCE_BINS - 1);
        assert_eq!(confidence_bin(0.0), 0);
        assert_eq!(confidence_bin(0.05), 1);
    }
}
