//! `glassbox bench`: times the native model on a file of sentences the way a peer benchmark
//! times ONNX Runtime on the same file (`scripts/bench-peers.sh`): model load, first
//! prediction, warm latency per sentence at batch 1 and at batch 16. It prints JSON and
//! asserts nothing; ratios against the peer are computed by the caller from one run.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use serde::Serialize;

use crate::backend::BackendKind;
use crate::infer::{run, tokenize_all};
use crate::load::{load_dir, KernelChoice, Loaded};
use crate::with_backend;

/// Sentences per forward pass in the batched measurement (the peers' usual serving batch).
const BATCH: usize = 16;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Model directory: a glassbox bundle or a Hugging Face BERT checkpoint.
    #[arg(long)]
    bundle: PathBuf,
    /// JSON file holding a list of sentences to time.
    #[arg(long)]
    sentences: PathBuf,
    /// Warm rounds over all sentences (the median round is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// What computes the encoder's linear layers: f32, int8 kernels (cpu backend) or int8
    /// weights on the device (wgpu backend).
    #[arg(long, value_enum, default_value_t = KernelChoice::F32)]
    kernels: KernelChoice,
    /// Also read back every attention map (what the page's inspector shows).
    #[arg(long)]
    attention: bool,
}

/// What one `glassbox bench` run measured, in milliseconds unless named otherwise.
#[derive(Debug, Serialize)]
struct Report {
    engine: String,
    sentences: usize,
    runs: usize,
    load_ms: f64,
    first_ms: f64,
    batch1_ms_per_sentence: f64,
    batch16_ms_per_sentence: f64,
    sentences_per_s_b1: f64,
    sentences_per_s_b16: f64,
}

pub fn bench(a: BenchArgs) -> Result<()> {
    if a.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let texts = read_sentences(&a.sentences)?;
    let report = with_backend!(a.backend, |B, device| {
        measure::<B>(&a, &texts, &device)?
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The sentences file: a non-empty JSON list of strings.
fn read_sentences(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let texts: Vec<String> = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a JSON list of strings", path.display()))?;
    if texts.is_empty() {
        bail!("{} holds no sentences", path.display());
    }
    Ok(texts)
}

fn measure<B: Backend>(a: &BenchArgs, texts: &[String], device: &B::Device) -> Result<Report> {
    let (loaded, load_ms) =
        timed(|| load_dir::<B>(&a.bundle, device).map(|l| l.with_kernels(a.kernels)));
    let loaded = loaded?;
    let items = tokenize_all(&loaded, texts)?;
    let forward = |chunk: &[glassbox_model::Tokenized], size: usize| {
        run(&loaded, chunk.to_vec(), size, a.attention, device).map(|_| ())
    };
    let (first, first_ms) = timed(|| forward(&items[..1], 1));
    first?;
    let b1 = median_round(a.runs, || forward(&items, 1))? / texts.len() as f64;
    let b16 = median_round(a.runs, || forward(&items, BATCH))? / texts.len() as f64;
    Ok(Report {
        engine: engine_name(&loaded, device),
        sentences: texts.len(),
        runs: a.runs,
        load_ms,
        first_ms,
        batch1_ms_per_sentence: b1,
        batch16_ms_per_sentence: b16,
        sentences_per_s_b1: 1000.0 / b1,
        sentences_per_s_b16: 1000.0 / b16,
    })
}

fn engine_name<B: Backend>(loaded: &Loaded<B>, device: &B::Device) -> String {
    let weights = loaded
        .manifest
        .as_ref()
        .map_or("f32 (checkpoint)", |m| m.quantization.as_str());
    format!(
        "glassbox {} (burn {}, {} kernels, weights {weights})",
        env!("CARGO_PKG_VERSION"),
        B::name(device),
        loaded.kernels.name()
    )
}

/// The result of `f` and how long it took in milliseconds.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t0 = Instant::now();
    let out = f();
    (out, t0.elapsed().as_secs_f64() * 1e3)
}

/// Median wall time of `runs` calls of `round`, in milliseconds.
fn median_round(runs: usize, mut round: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (r, ms) = timed(&mut round);
        r?;
        times.push(ms);
    }
    Ok(median(&mut times))
}

/// The middle value (mean of the middle two for an even count).
pub(crate) fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn a_sentences_file_that_is_not_a_list_is_named() {
        let dir = std::env::temp_dir().join(format!("gb-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("s.json");
        std::fs::write(&bad, "{\"a\": 1}").unwrap();
        let err = format!("{:#}", read_sentences(&bad).unwrap_err());
        assert!(
            err.contains("s.json") && err.contains("list of strings"),
            "{err}"
        );
        std::fs::write(&bad, "[]").unwrap();
        let err = format!("{:#}", read_sentences(&bad).unwrap_err());
        assert!(err.contains("no sentences"), "{err}");
    }
}
