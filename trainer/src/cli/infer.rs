//! Commands that run a model on texts: `embed`, `similarity`, `attention`, `predict`. Texts
//! come from the arguments or from `--input FILE` (`-`: stdin), one per line or JSON Lines;
//! answers stream out batch by batch as `--format table|jsonl|json`.

use std::ffi::OsString;
use std::io::{self, BufWriter, IsTerminal};
use std::path::PathBuf;

use anyhow::{bail, Result};
use burn::prelude::Backend;
use clap::builder::TypedValueParser as _;
use glassbox_model::text::decode::Aggregation;
use glassbox_model::view::readout::{cosine, SentenceResult};
use serde_json::json;

use crate::backend::BackendKind;
use crate::infer::input::{self, InputFormat, Item};
use crate::infer::output::{attention_json, embedding_json};
use crate::infer::predict::prediction_json;
use crate::infer::sink::{sink, OutputFormat, Render};
use crate::infer::stream::{stream, Job, Notes, Tally};
use crate::infer::{run, table, tokenize_all};
use crate::load::{load_dir, KernelChoice, Loaded};
use crate::with_backend;

/// Shown under `--help` of the commands that answer many texts.
const EXIT_CODES: &str = "Exit status: 0 when every text was answered; 2 when some items \
failed (each one is an error object `{\"line\": N, \"error\": \"FILE:N: ...\"}` at its place \
in the output, the others are answered); 1 when nothing could run (bundle missing, input \
unreadable, bad flags).";

#[derive(clap::Args)]
pub struct ModelArgs {
    /// Model directory: a glassbox bundle or a Hugging Face BERT checkpoint.
    #[arg(long, default_value = "assets/all-MiniLM-L6-v2")]
    model: PathBuf,
    #[command(flatten)]
    run: RunArgs,
}

/// How the model is run, shared by every command here.
#[derive(clap::Args)]
pub struct RunArgs {
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
    /// Sentences per forward pass (answers are written batch by batch).
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// What computes the encoder's linear layers: f32, int8 kernels (cpu backend) or int8
    /// weights on the device (wgpu backend).
    #[arg(long, value_enum, default_value_t = KernelChoice::F32)]
    kernels: KernelChoice,
}

/// Where the texts come from.
#[derive(clap::Args)]
pub struct InputArgs {
    /// Read the texts from FILE (`-`: standard input) instead of the arguments: one text per
    /// line, or JSON Lines (`{"text": ...}` per line; other fields come back as `id`).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// How --input is read [default: jsonl for a `.jsonl` file, else lines].
    #[arg(long, value_enum, requires = "input")]
    input_format: Option<InputFormat>,
    /// The texts (after `--`, a text may begin with `-`).
    #[arg(required_unless_present = "input", conflicts_with = "input")]
    texts: Vec<OsString>,
}

/// How answers are printed.
#[derive(clap::Args)]
pub struct OutputArgs {
    /// table: readable (the default when stdout is a terminal); jsonl: one object per line,
    /// written as each batch finishes (the default otherwise); json: one array.
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Same as `--format json` (kept for existing scripts).
    #[arg(long, hide = true, conflicts_with = "format")]
    json: bool,
}

impl OutputArgs {
    fn format(&self) -> OutputFormat {
        match (self.format, self.json) {
            (Some(f), _) => f,
            (None, true) => OutputFormat::Json,
            (None, false) if io::stdout().is_terminal() => OutputFormat::Table,
            (None, false) => OutputFormat::Jsonl,
        }
    }
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct EmbedArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(clap::Args)]
pub struct SimilarityArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// table (default on a terminal) or the JSON object `texts` + `cosine` matrix (json and
    /// jsonl print the same single line).
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Same as `--format json`.
    #[arg(long, hide = true, conflicts_with = "format")]
    json: bool,
    /// Read the texts from FILE (`-`: stdin), as for `embed`; every line must be a text.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    #[arg(long, value_enum, requires = "input")]
    input_format: Option<InputFormat>,
    #[arg(required_unless_present = "input", conflicts_with = "input", num_args = 2..)]
    texts: Vec<OsString>,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct AttentionArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// 0-based layer.
    #[arg(long)]
    layer: usize,
    /// 0-based head.
    #[arg(long)]
    head: usize,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    input: InputArgs,
}

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct PredictArgs {
    #[arg(long)]
    bundle: PathBuf,
    #[command(flatten)]
    run: RunArgs,
    /// How a word's tag is read from its wordpieces: the first piece (as training scores
    /// it), the mean, or the per-tag max.
    #[arg(long, default_value = "first", value_parser = aggregation_parser())]
    aggregate: Aggregation,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    input: InputArgs,
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

fn load<B: Backend>(dir: &std::path::Path, r: &RunArgs, device: &B::Device) -> Result<Loaded<B>> {
    check_batch_size(r.batch_size)?;
    Ok(load_dir::<B>(dir, device)?.with_kernels(r.kernels))
}

/// Streams the items of `input` through `job`, printing with `render` in the table format.
fn answer_all<B: Backend>(
    loaded: &Loaded<B>,
    input: InputArgs,
    output: &OutputArgs,
    job: &Job,
    render: Render,
    device: &B::Device,
) -> Result<Tally> {
    let (items, bar) = match input.input {
        Some(path) => input::open(&path, input.input_format, true)?,
        None => (input::from_args(input.texts), None),
    };
    let notes = Notes::new(bar);
    let out = BufWriter::new(io::stdout().lock());
    let mut sink = sink(output.format(), out, render);
    let tally = stream(loaded, items, job, sink.as_mut(), &notes, device);
    notes.finish();
    tally
}

/// Exit status 2 (after the output is complete) when any item failed; see [`EXIT_CODES`].
fn exit_for(t: Tally) -> Result<()> {
    if t.failed > 0 {
        eprintln!(
            "{} of {} items failed (error objects in the output); exit status 2",
            t.failed,
            t.failed + t.answered
        );
        std::process::exit(2);
    }
    Ok(())
}

pub fn embed(a: EmbedArgs) -> Result<()> {
    let m = &a.model;
    let tally = with_backend!(m.run.backend, |B, device| {
        let loaded = load::<B>(&m.model, &m.run, &device)?;
        let job = Job {
            batch_size: m.run.batch_size,
            attention: false,
            answer: &embedding_json,
        };
        answer_all(&loaded, a.input, &a.output, &job, table::embedding, &device)?
    });
    exit_for(tally)
}

pub fn attention(a: AttentionArgs) -> Result<()> {
    let m = &a.model;
    let tally = with_backend!(m.run.backend, |B, device| {
        let loaded = load::<B>(&m.model, &m.run, &device)?;
        check_layer_head(&loaded, a.layer, a.head)?;
        let answer = |r: &SentenceResult| attention_json(r, a.layer, a.head);
        let job = Job {
            batch_size: m.run.batch_size,
            attention: true,
            answer: &answer,
        };
        answer_all(&loaded, a.input, &a.output, &job, table::attention, &device)?
    });
    exit_for(tally)
}

fn check_layer_head<B: Backend>(loaded: &Loaded<B>, layer: usize, head: usize) -> Result<()> {
    let bert = &loaded.config.bert;
    let (layers, heads) = (bert.num_hidden_layers, bert.num_attention_heads);
    if layer >= layers || head >= heads {
        bail!(
            "layer {layer} / head {head} out of range: the model has {layers} layers and {heads} heads (0-based)"
        );
    }
    Ok(())
}

pub fn predict(a: PredictArgs) -> Result<()> {
    let r = &a.run;
    let tally = with_backend!(r.backend, |B, device| {
        let loaded = load::<B>(&a.bundle, r, &device)?;
        if !loaded.heads_trained {
            eprintln!(
                "warning: {} has untrained heads; its labels are noise",
                a.bundle.display()
            );
        }
        let answer = |s: &SentenceResult| prediction_json(&loaded.config, s, a.aggregate);
        let job = Job {
            batch_size: r.batch_size,
            attention: false,
            answer: &answer,
        };
        answer_all(
            &loaded,
            a.input,
            &a.output,
            &job,
            table::prediction,
            &device,
        )?
    });
    exit_for(tally)
}

/// Every text of `similarity`'s input; a matrix needs all of them, so a bad line is fatal.
fn similarity_texts(a: &mut SimilarityArgs) -> Result<Vec<String>> {
    let items = match &a.input {
        Some(path) => input::open(path, a.input_format, false)?.0,
        None => input::from_args(std::mem::take(&mut a.texts)),
    };
    let mut texts = Vec::new();
    for item in items {
        let Item { at, text, .. } = item?;
        match text {
            Ok(t) => texts.push(t),
            Err(e) => bail!("{at}: {e}"),
        }
    }
    if texts.len() < 2 {
        bail!("similarity needs at least two texts, got {}", texts.len());
    }
    Ok(texts)
}

/// Loads the model and runs all `texts` at once; truncation is reported on stderr.
fn infer_all(m: &ModelArgs, texts: &[String]) -> Result<Vec<SentenceResult>> {
    let results = with_backend!(m.run.backend, |B, device| {
        let loaded = load::<B>(&m.model, &m.run, &device)?;
        let items = tokenize_all(&loaded, texts)?;
        run(&loaded, items, m.run.batch_size, false, &device)?
    });
    for (i, r) in results.iter().enumerate() {
        if let Some(t) = &r.tokenized.truncation {
            eprintln!("warning: text #{}: {}", i + 1, t.message());
        }
    }
    Ok(results)
}

pub fn similarity(mut a: SimilarityArgs) -> Result<()> {
    let texts = similarity_texts(&mut a)?;
    let results = infer_all(&a.model, &texts)?;
    let m: Vec<Vec<f32>> = results
        .iter()
        .map(|x| {
            let row = results.iter().map(|y| cosine(&x.embedding, &y.embedding));
            row.collect()
        })
        .collect();
    let format = OutputArgs {
        format: a.format,
        json: a.json,
    }
    .format();
    if format == OutputFormat::Table {
        print!("{}", table::matrix(&texts, &m));
    } else {
        println!("{}", json!({ "texts": texts, "cosine": m }));
    }
    Ok(())
}
