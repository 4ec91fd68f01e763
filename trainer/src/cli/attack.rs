//! `glassbox attack`: greedy adversarial word substitution against a bundle's sentence head.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use burn::prelude::*;
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::attack::candidates::{Candidates, Method};
use crate::attack::report::{summary_table, write, Report, Settings, Summary};
use crate::attack::run::{Attack, AttackResult, Target};
use crate::attack::similarity::Judge;
use crate::backend::BackendKind;
use crate::config::TaskKind;
use crate::data::prepare::prepare;
use crate::data::task::Examples;
use crate::data::wordnet::Lexicon;
use crate::infer::input;
use crate::load::{load_dir, Loaded};
use crate::with_backend;

const EXIT_CODES: &str = "Exit status: 0 when every text was attacked or skipped, whatever \
the success rate; 1 on errors (a bundle missing or without a sentence head, no WordNet for \
--method synonym/both) and when any text could not be attacked (its result says why; the \
others are in the report).";

#[derive(clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct AttackArgs {
    /// A glassbox bundle with a trained sentence head.
    #[arg(long)]
    bundle: PathBuf,
    /// Texts to attack (`-`: stdin), one per line or JSON Lines; a JSONL `label` is the true
    /// class, and a text the model already gets wrong is skipped. Default: the bundle's own
    /// test split, whose labels are known.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// At most this many texts: the first of a file, a seeded sample of the test split.
    #[arg(long, default_value_t = 200)]
    limit: usize,
    /// Which substitutions: WordNet synonyms, one-character edits, or both.
    #[arg(long, value_enum, default_value_t = Method::Both)]
    method: Method,
    /// Words the search may change per text.
    #[arg(long, default_value_t = 3)]
    max_changes: usize,
    /// Candidates tried per word (a seeded sample when there are more).
    #[arg(long, default_value_t = 20)]
    candidates: usize,
    /// WordNet database directory (Debian's wordnet-base).
    #[arg(long, default_value = "/usr/share/wordnet")]
    wordnet: PathBuf,
    /// Semantic constraint (TextFooler's): a candidate text is taken only when its cosine
    /// similarity to the original, by --similarity-model's sentence embeddings, is at least
    /// this (TextFooler's 0.84 angular similarity is a cosine of about 0.88 by its encoder).
    /// 0 turns the constraint off.
    #[arg(long, default_value_t = 0.85)]
    min_similarity: f32,
    /// The sentence encoder that judges similarity (a Hugging Face BERT checkpoint or a
    /// bundle): by default the base all-MiniLM-L6-v2, independent of the attacked model.
    #[arg(long, default_value = "assets/all-MiniLM-L6-v2")]
    similarity_model: PathBuf,
    /// Seeds the test-split sample and every candidate draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder for attack.json and attack.md.
    #[arg(long, default_value = "attack-report")]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    backend: BackendKind,
}

pub fn attack(a: AttackArgs) -> Result<()> {
    let lexicon = match a.method {
        Method::Char => None,
        _ => Some(Lexicon::load(&a.wordnet)?),
    };
    let attack = Attack {
        candidates: Candidates {
            method: a.method,
            lexicon: lexicon.as_ref(),
            per_word: a.candidates,
        },
        max_changes: a.max_changes,
        seed: a.seed,
    };
    let (source, results) = with_backend!(a.backend, |B, device| {
        let loaded = load_dir::<B>(&a.bundle, &device)?;
        if !loaded.heads_trained {
            bail!(
                "{} has untrained heads: attack needs a fine-tuned bundle",
                a.bundle.display()
            );
        }
        let judge = judge::<B>(&a, &device)?;
        let (source, targets) = targets(&loaded, &a)?;
        let judged = Judged {
            loaded: &loaded,
            judge: judge.as_ref(),
        };
        (source, attack_all(&attack, &judged, &targets, &device))
    });
    let report = Report {
        settings: settings(&a, source),
        summary: Summary::of(&results),
        results,
    };
    write(&a.out, &report)?;
    print!("{}", summary_table(&report.summary));
    eprintln!("attack.json and attack.md written to {}", a.out.display());
    for r in report.results.iter().filter_map(|r| r.error.as_ref()) {
        eprintln!("error: {r}");
    }
    if report.summary.errors > 0 {
        bail!(
            "{} of {} texts could not be attacked",
            report.summary.errors,
            report.summary.texts
        );
    }
    Ok(())
}

fn settings(a: &AttackArgs, source: String) -> Settings {
    Settings {
        bundle: a.bundle.display().to_string(),
        source,
        method: a.method,
        max_changes: a.max_changes,
        candidates_per_word: a.candidates,
        min_similarity: (a.min_similarity > 0.0).then_some(a.min_similarity),
        similarity_model: (a.min_similarity > 0.0)
            .then(|| a.similarity_model.display().to_string()),
        seed: a.seed,
    }
}

/// The similarity constraint's encoder, unless --min-similarity is 0.
fn judge<B: Backend>(a: &AttackArgs, device: &B::Device) -> Result<Option<Judge<B>>> {
    if !(0.0..=1.0).contains(&a.min_similarity) {
        bail!(
            "--min-similarity {} is not a cosine similarity between 0 and 1",
            a.min_similarity
        );
    }
    if a.min_similarity == 0.0 {
        return Ok(None);
    }
    let encoder = load_dir::<B>(&a.similarity_model, device).map_err(|e| {
        e.context("loading --similarity-model (--min-similarity 0 attacks without the constraint)")
    })?;
    Ok(Some(Judge {
        encoder,
        min: a.min_similarity,
    }))
}

/// The attacked model and the constraint's judge, if any.
struct Judged<'a, B: Backend> {
    loaded: &'a Loaded<B>,
    judge: Option<&'a Judge<B>>,
}

/// Every target in order, with a progress bar (drawn only on a terminal).
fn attack_all<B: Backend>(
    attack: &Attack,
    judged: &Judged<B>,
    targets: &[Target],
    device: &B::Device,
) -> Vec<AttackResult> {
    eprintln!("attacking {} texts…", targets.len());
    let bar = indicatif::ProgressBar::new(targets.len() as u64);
    let results = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let r = attack.one(judged.loaded, judged.judge, t, i, device);
            bar.inc(1);
            r
        })
        .collect();
    bar.finish_and_clear();
    results
}

/// The texts to attack and where they came from.
fn targets<B: Backend>(loaded: &Loaded<B>, a: &AttackArgs) -> Result<(String, Vec<Target>)> {
    match &a.input {
        Some(path) => Ok((path.display().to_string(), from_file(path, a.limit)?)),
        None => test_split(loaded, &a.bundle, a.limit, a.seed),
    }
}

fn from_file(path: &Path, limit: usize) -> Result<Vec<Target>> {
    let (items, _) = input::open(path, None, false)?;
    let mut out = Vec::new();
    for item in items.take(limit) {
        let item = item?;
        let gold = item
            .id
            .as_ref()
            .and_then(|v| v.get("label"))
            .and_then(|l| l.as_str())
            .map(str::to_string);
        out.push(Target {
            at: item.at,
            text: item.text,
            gold,
        });
    }
    Ok(out)
}

/// A seeded sample of the bundle's sentence test split, in split order.
fn test_split<B: Backend>(
    loaded: &Loaded<B>,
    bundle: &Path,
    limit: usize,
    seed: u64,
) -> Result<(String, Vec<Target>)> {
    let recipe = crate::eval::saved::recipe(loaded, bundle)?;
    let (tasks, _) = prepare(&recipe, &loaded.tokenizer)?;
    let Some(task) = tasks.iter().find(|t| t.kind() == TaskKind::Sentence) else {
        bail!("{} has no sentence task to attack", bundle.display());
    };
    let Examples::Sentence(examples) = &task.data.examples else {
        bail!("task {:?} holds no sentences", task.name());
    };
    let test = task.indices("test");
    let mut picked: Vec<usize> = if test.len() <= limit {
        (0..test.len()).collect()
    } else {
        sample(&mut ChaCha8Rng::seed_from_u64(seed), test.len(), limit).into_vec()
    };
    picked.sort_unstable();
    let targets = picked
        .into_iter()
        .map(|k| {
            let e = &examples[test[k]];
            Target {
                at: format!("test #{} ({}:{})", k + 1, task.name(), e.line),
                text: Ok(e.text.clone()),
                gold: Some(e.label.clone()),
            }
        })
        .collect();
    let source = format!(
        "{} test split of task {:?}, {} of {}",
        bundle.display(),
        task.name(),
        limit.min(test.len()),
        test.len()
    );
    Ok((source, targets))
}
