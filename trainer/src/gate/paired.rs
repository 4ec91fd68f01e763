//! Running the champion and the challenger over the gate set: the split rebuilt from the
//! champion's recorded recipe (as `glassbox eval --bundle` does), so both models see exactly
//! the same items in the same order.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::prelude::*;
use glassbox_model::nn::projection::Kernels;
use glassbox_model::weights::bundle::{sha256_hex, Manifest, MANIFEST, TOKENIZER};
use glassbox_model::Glassbox;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::pairs::{PairedSentences, PairedSpans};
use super::report::{GateReport, ItemCounts};
use super::{judge, GateItems, GateRules};
use crate::config::TrainConfig;
use crate::data::prepare::{prepare, PreparedTask};
use crate::eval::{predict, Predictions, EVAL_BATCH};
use crate::load::KernelChoice;

/// Items per call into the model, so the progress bar moves during a long split.
const CHUNK: usize = 256;

/// Which items the gate runs on and how the models are computed.
#[derive(Debug, Clone)]
pub struct GateSet {
    /// `train`, `dev` or `test` of the champion's recipe.
    pub split: String,
    /// Only N items per task, evenly spaced over the split (quick checks; the split's files
    /// are often grouped by class, so its first N items would not do).
    pub limit: Option<usize>,
    pub kernels: KernelChoice,
}

impl GateSet {
    /// The whole `split`, computed in f32.
    pub fn split(split: &str) -> Self {
        GateSet {
            split: split.to_string(),
            limit: None,
            kernels: KernelChoice::F32,
        }
    }
}

/// Identifies a bundle in the report: where it was, what it calls itself, what it hashes to.
#[derive(Debug, Clone, Serialize)]
pub struct BundleInfo {
    pub dir: PathBuf,
    pub name: String,
    pub version: String,
    pub created_at: String,
    /// SHA-256 of `manifest.json`, which itself lists every other file's hash.
    pub manifest_sha256: String,
}

/// One side of the gate, loaded.
struct Contender<B: Backend> {
    model: Glassbox<B>,
    kernels: Kernels<B>,
    manifest: Manifest,
    info: BundleInfo,
}

/// Runs both bundles over the gate set and applies `rules`.
pub fn run_gate<B: Backend>(
    champion: &Path,
    challenger: &Path,
    rules: &GateRules,
    set: &GateSet,
    device: &B::Device,
) -> Result<GateReport> {
    rules.validate()?;
    let champ = open::<B>(champion, set.kernels, device).context("opening the champion")?;
    let chall = open::<B>(challenger, set.kernels, device).context("opening the challenger")?;
    same_labels(&champ.manifest, &chall.manifest)?;
    let recipe = recipe(&champ)?;
    let a = GateTasks::prepare(champion, &recipe)?;
    // A challenger with another tokenizer encodes the same items its own way.
    let b = if tokenizer_hash(&champ.manifest) == tokenizer_hash(&chall.manifest) {
        None
    } else {
        Some(GateTasks::prepare(challenger, &recipe)?)
    };
    let items = predict_items(&champ, &chall, &a, b.as_ref().unwrap_or(&a), set, device)?;
    let (statistics, decision) = judge(&items, rules)?;
    Ok(GateReport {
        passed: decision.passed,
        champion: champ.info,
        challenger: chall.info,
        split: set.split.clone(),
        limit: set.limit,
        items: ItemCounts::of(&a.tasks, &items),
        rules: rules.clone(),
        statistics,
        decision,
    })
}

fn open<B: Backend>(dir: &Path, kernels: KernelChoice, device: &B::Device) -> Result<Contender<B>> {
    let loaded = crate::load::load_dir::<B>(dir, device)?;
    let Some(manifest) = loaded.manifest else {
        bail!(
            "{} is not a glassbox bundle (no manifest.json); export one with `glassbox export --run`",
            dir.display()
        );
    };
    let bytes = std::fs::read(dir.join(MANIFEST))
        .with_context(|| format!("cannot read {}", dir.join(MANIFEST).display()))?;
    let info = BundleInfo {
        dir: dir.to_path_buf(),
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        created_at: manifest.created_at.clone(),
        manifest_sha256: sha256_hex(&bytes),
    };
    Ok(Contender {
        kernels: kernels.for_model(&loaded.model),
        model: loaded.model,
        manifest,
        info,
    })
}

/// Comparing predictions is meaningless unless class `i` means the same in both models.
fn same_labels(champion: &Manifest, challenger: &Manifest) -> Result<()> {
    let (a, b) = (&champion.config, &challenger.config);
    for (head, x, y) in [
        ("sentence", &a.sentence_labels, &b.sentence_labels),
        ("token", &a.token_labels, &b.token_labels),
    ] {
        if x != y {
            bail!(
                "the bundles' {head} label sets differ (champion {x:?}, challenger {y:?}): they cannot be gated against each other"
            );
        }
    }
    Ok(())
}

fn tokenizer_hash(m: &Manifest) -> Option<&String> {
    m.files.get(TOKENIZER)
}

/// The champion's training recipe: where the gate set's items come from.
fn recipe<B: Backend>(champion: &Contender<B>) -> Result<TrainConfig> {
    let Some(cfg) = champion
        .manifest
        .training
        .as_ref()
        .and_then(|t| t.get("config"))
    else {
        bail!(
            "champion bundle {} records no training recipe (it was not exported from a run), so there is no gate set",
            champion.info.dir.display()
        );
    };
    serde_json::from_value(cfg.clone()).context("the champion's training recipe does not parse")
}

/// The recipe's tasks encoded with one bundle's tokenizer.
struct GateTasks {
    tasks: Vec<PreparedTask>,
    pad_id: u32,
}

impl GateTasks {
    fn prepare(bundle: &Path, recipe: &TrainConfig) -> Result<Self> {
        let (_, tok) = crate::load::read_tokenizer(bundle, recipe.max_seq_len)?;
        let (tasks, _) = prepare(recipe, &tok).context("rebuilding the gate set")?;
        Ok(GateTasks {
            tasks,
            pad_id: tok.pad_id(),
        })
    }
}

/// Both models' predictions on every task's (first `limit`) items of the split.
fn predict_items<B: Backend>(
    champ: &Contender<B>,
    chall: &Contender<B>,
    a: &GateTasks,
    b: &GateTasks,
    set: &GateSet,
    device: &B::Device,
) -> Result<GateItems> {
    let gate_idx: Vec<Vec<usize>> = a.tasks.iter().map(|t| gate_indices(t, set)).collect();
    let bar = progress(2 * gate_idx.iter().map(|i| i.len()).sum::<usize>());
    let mut items = GateItems::default();
    for ((ta, tb), idx) in a.tasks.iter().zip(&b.tasks).zip(gate_idx) {
        if idx.is_empty() {
            bail!("task {:?} has no items in split {:?}", ta.name(), set.split);
        }
        bar.set_message(format!("champion: {}", ta.name()));
        let x = predict_chunked(champ, ta, &idx, a.pad_id, &bar, device)?;
        bar.set_message(format!("challenger: {}", ta.name()));
        let y = predict_chunked(chall, tb, &idx, b.pad_id, &bar, device)?;
        pair_up(&mut items, ta, x, y)?;
    }
    bar.finish_and_clear();
    Ok(items)
}

/// The split's items, or `limit` of them at evenly spaced positions.
fn gate_indices(task: &PreparedTask, set: &GateSet) -> Vec<usize> {
    let idx = task.indices(&set.split);
    match set.limit {
        Some(n) if n < idx.len() => (0..n).map(|j| idx[j * idx.len() / n]).collect(),
        _ => idx.to_vec(),
    }
}

fn progress(total: usize) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{bar:30} {pos}/{len} items {elapsed_precise} (eta {eta}) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(total as u64).with_style(style)
}

/// Gold and predicted labels of one model on `idx`, one chunk at a time.
enum Outcome {
    Classes(Vec<usize>, Vec<usize>),
    Tags(Vec<Vec<String>>, Vec<Vec<String>>),
}

fn predict_chunked<B: Backend>(
    c: &Contender<B>,
    task: &PreparedTask,
    idx: &[usize],
    pad_id: u32,
    bar: &ProgressBar,
    device: &B::Device,
) -> Result<Outcome> {
    let mut out = match task.kind() {
        crate::config::TaskKind::Sentence => Outcome::Classes(vec![], vec![]),
        crate::config::TaskKind::Token => Outcome::Tags(vec![], vec![]),
    };
    for chunk in idx.chunks(CHUNK) {
        let p = predict(
            &c.model, &c.kernels, task, chunk, EVAL_BATCH, pad_id, device,
        )?;
        match (&mut out, p) {
            (Outcome::Classes(g, q), Predictions::Sentence { gold, pred, .. }) => {
                g.extend(gold);
                q.extend(pred);
            }
            (Outcome::Tags(g, q), Predictions::Token { gold, pred, .. }) => {
                g.extend(gold);
                q.extend(pred);
            }
            _ => bail!("task {:?}: predictions of the wrong kind", task.name()),
        }
        bar.inc(chunk.len() as u64);
    }
    Ok(out)
}

/// Files one task's two outcomes under its kind, after checking both saw the same gold.
fn pair_up(items: &mut GateItems, task: &PreparedTask, x: Outcome, y: Outcome) -> Result<()> {
    let mismatch = || {
        anyhow::anyhow!(
            "task {:?}: the two tokenizers rebuilt different gate items",
            task.name()
        )
    };
    match (x, y) {
        (Outcome::Classes(gold, champion), Outcome::Classes(g2, challenger)) => {
            if gold != g2 {
                return Err(mismatch());
            }
            items.sentences = Some(PairedSentences {
                labels: task.labels().to_vec(),
                gold,
                champion,
                challenger,
            });
        }
        (Outcome::Tags(gold, champion), Outcome::Tags(g2, challenger)) => {
            if gold != g2 {
                return Err(mismatch());
            }
            items.spans = Some(PairedSpans {
                gold,
                champion,
                challenger,
            });
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}
