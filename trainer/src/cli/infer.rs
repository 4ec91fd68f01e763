//! Commands that run a model on texts: `embed`, `similarity`, `attention`, `predict`. With
//! `--json` they print JSON for programs; without it, a readable text rendering.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::builder::TypedValueParser as _;
use glassbox_model::text::decode::Aggregation;
use glassbox_model::view::readout::{cosine, SentenceResult};
use serde_json::{json, Value};

use crate::backend::BackendKind;
use crate::infer::output::{attention_json, embedding_json};
use crate::infer::{run, tokenize_all};
use crate::load::{load_dir, KernelChoice};
use crate::with_backend;

#[derive(clap::Args)]
pub struct ModelArgs {
    /// Model directory: a glassbox bundle or a Hugging Face BERT checkpoint.
    #[arg(long, default_value = "assets/all-MiniLM-L6-v2")]
    model: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Sentences per forward pass.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// What computes the encoder's linear layers: f32, int8 kernels (cpu backend) or int8
    /// weights on the device (wgpu backend).
    #[arg(long, value_enum, default_value_t = KernelChoice::F32)]
    kernels: KernelChoice,
}

#[derive(clap::Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Print JSON (one array, one object per text) instead of text.
    #[arg(long)]
    json: bool,
    #[arg(required = true)]
    texts: Vec<String>,
}

#[derive(clap::Args)]
pub struct SimilarityArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Print JSON (`texts` and the `cosine` matrix) instead of a table.
    #[arg(long)]
    json: bool,
    #[arg(required = true, num_args = 2..)]
    texts: Vec<String>,
}

#[derive(clap::Args)]
pub struct AttentionArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// 0-based layer.
    #[arg(long)]
    layer: usize,
    /// 0-based head.
    #[arg(long)]
    head: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    text: String,
}

#[derive(clap::Args)]
pub struct PredictArgs {
    #[arg(long)]
    bundle: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// What computes the encoder's linear layers: f32, int8 kernels (cpu backend) or int8
    /// weights on the device (wgpu backend).
    #[arg(long, value_enum, default_value_t = KernelChoice::F32)]
    kernels: KernelChoice,
    /// Print JSON (one array, one object per text) instead of text.
    #[arg(long)]
    json: bool,
    /// How a word's tag is read from its wordpieces: the first piece (as training scores
    /// it), the mean, or the per-tag max.
    #[arg(long, default_value = "first", value_parser = aggregation_parser())]
    aggregate: Aggregation,
    #[arg(required = true)]
    texts: Vec<String>,
}

/// The model crate's aggregation names, listed in `--help` and checked by clap.
fn aggregation_parser() -> impl clap::builder::TypedValueParser<Value = Aggregation> {
    clap::builder::PossibleValuesParser::new(Aggregation::ALL.map(Aggregation::name))
        .try_map(|s| s.parse::<Aggregation>())
}

fn check_batch_size(n: usize) -> Result<()> {
    if n == 0 {
        bail!("--batch-size must be at least 1");
    }
    Ok(())
}

/// Loads the model, runs the texts and reports any truncation on stderr.
fn infer(args: &ModelArgs, texts: &[String], attention: bool) -> Result<Vec<SentenceResult>> {
    check_batch_size(args.batch_size)?;
    let results = with_backend!(args.backend, |B, device| {
        let loaded = load_dir::<B>(&args.model, &device)?.with_kernels(args.kernels);
        let items = tokenize_all(&loaded, texts)?;
        run(&loaded, items, args.batch_size, attention, &device)?
    });
    for (i, r) in results.iter().enumerate() {
        if let Some(t) = &r.tokenized.truncation {
            eprintln!("warning: text #{}: {}", i + 1, t.message());
        }
    }
    Ok(results)
}

pub fn embed(a: EmbedArgs) -> Result<()> {
    let results = infer(&a.model, &a.texts, false)?;
    if !a.json {
        for (i, r) in results.iter().enumerate() {
            print_embedding(i, r);
        }
        return Ok(());
    }
    let json: Vec<_> = results.iter().map(embedding_json).collect();
    println!("{}", serde_json::to_string(&json)?);
    Ok(())
}

fn print_embedding(i: usize, r: &SentenceResult) {
    const SHOWN: usize = 8;
    let head: Vec<String> = r
        .embedding
        .iter()
        .take(SHOWN)
        .map(|v| format!("{v:.4}"))
        .collect();
    println!("[{}] {}", i + 1, r.tokenized.text);
    println!(
        "    wordpieces ({}): {}",
        r.len(),
        r.tokenized.tokens.join(" ")
    );
    println!(
        "    embedding ({} dims, L2-normalised): {} …",
        r.embedding.len(),
        head.join(" ")
    );
}

pub fn similarity(a: SimilarityArgs) -> Result<()> {
    let results = infer(&a.model, &a.texts, false)?;
    let m: Vec<Vec<f32>> = results
        .iter()
        .map(|x| {
            results
                .iter()
                .map(|y| cosine(&x.embedding, &y.embedding))
                .collect()
        })
        .collect();
    if a.json {
        println!("{}", json!({ "texts": a.texts, "cosine": m }));
    } else {
        print_matrix(&a.texts, &a.texts, &m);
    }
    Ok(())
}

pub fn attention(a: AttentionArgs) -> Result<()> {
    let results = infer(&a.model, std::slice::from_ref(&a.text), true)?;
    let r = &results[0];
    let layers = r.attentions.len();
    if a.layer >= layers || a.head >= r.heads() {
        bail!(
            "layer {} / head {} out of range: the model has {layers} layers and {} heads (0-based)",
            a.layer,
            a.head,
            r.heads()
        );
    }
    if !a.json {
        println!("layer {} head {}: {}", a.layer, a.head, a.text);
        let att = r.attention(a.layer, a.head);
        print_matrix(&r.tokenized.tokens, &r.tokenized.tokens, &att);
        return Ok(());
    }
    println!("{}", attention_json(r, a.layer, a.head));
    Ok(())
}

pub fn predict(a: PredictArgs) -> Result<()> {
    check_batch_size(a.batch_size)?;
    let out = with_backend!(a.backend, |B, device| {
        let loaded = load_dir::<B>(&a.bundle, &device)?.with_kernels(a.kernels);
        if !loaded.heads_trained {
            eprintln!(
                "warning: {} has untrained heads; its labels are noise",
                a.bundle.display()
            );
        }
        crate::infer::predict::predict(&loaded, &a.texts, a.batch_size, a.aggregate, &device)?
    });
    for (i, v) in out.iter().enumerate() {
        if let Some(m) = v.pointer("/truncation/message").and_then(|m| m.as_str()) {
            eprintln!("warning: text #{}: {m}", i + 1);
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (i, v) in out.iter().enumerate() {
            print_prediction(i, v);
        }
    }
    Ok(())
}

/// One prediction as text: the class with its probability, then each entity.
fn print_prediction(i: usize, v: &Value) {
    let label = v["sentence"]["label"].as_str().unwrap_or("?");
    let p = v["sentence"]["probs"][label].as_f64().unwrap_or(f64::NAN);
    println!("[{}] {}", i + 1, v["text"].as_str().unwrap_or(""));
    println!("    class: {label} ({p:.3})");
    for e in v["entities"].as_array().into_iter().flatten() {
        println!(
            "    entity: {:?} {} ({:.3}) chars {}..{}",
            e["text"].as_str().unwrap_or(""),
            e["label"].as_str().unwrap_or("?"),
            e["score"].as_f64().unwrap_or(f64::NAN),
            e["start"],
            e["end"]
        );
    }
}

/// A labelled matrix: rows and columns numbered, with a legend of what each number is.
fn print_matrix(rows: &[String], cols: &[String], m: &[Vec<f32>]) {
    let label = |i: usize| format!("[{}]", i + 1);
    for (i, t) in rows.iter().enumerate() {
        println!("{} {}", label(i), t);
    }
    print!("{:>6}", "");
    for j in 0..cols.len() {
        print!("{:>8}", label(j));
    }
    println!();
    for (i, row) in m.iter().enumerate() {
        print!("{:>6}", label(i));
        for v in row {
            print!("{v:>8.4}");
        }
        println!();
    }
}
