//! One task of a config, read from its file: examples, label set, and what cleaning did.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};

use glassbox_model::text::labels::{bio_tags, Tag};

use super::clean::{clean_examples, CleanReport};
use super::conll::{entity_types, parse_conll, TokenExample};
use super::sentence::{decode_text, parse_csv, parse_jsonl, CsvColumns, SentenceExample};
use crate::config::{Format, TaskConfig, TaskKind};

#[derive(Debug, Clone)]
pub enum Examples {
    Sentence(Vec<SentenceExample>),
    Token(Vec<TokenExample>),
}

#[derive(Debug, Clone)]
pub struct TaskData {
    pub config: TaskConfig,
    pub examples: Examples,
    /// Sentence classes, or BIO tags (`O` first) for a token task, in logit order.
    pub labels: Vec<String>,
    pub clean: Option<CleanReport>,
}

impl TaskData {
    pub fn len(&self) -> usize {
        match &self.examples {
            Examples::Sentence(v) => v.len(),
            Examples::Token(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What splits and folds stratify on: the label, or whether a tweet holds an entity.
    pub fn strata(&self) -> Vec<String> {
        match &self.examples {
            Examples::Sentence(v) => v.iter().map(|e| e.label.clone()).collect(),
            Examples::Token(v) => v
                .iter()
                .map(|e| {
                    let has = e.tags.iter().any(|t| t != "O");
                    if has { "entity" } else { "none" }.to_string()
                })
                .collect(),
        }
    }
}

/// Reads the task's file, parses it by the task's kind and format, cleans it when asked, and
/// settles the label set; an empty task or one with a single label is an error.
pub fn load_task(cfg: &TaskConfig) -> Result<TaskData> {
    let bytes = read_task_file(cfg)?;
    let source = cfg.file.display().to_string();
    let (examples, labels, clean) = match (cfg.kind, cfg.format()) {
        (TaskKind::Sentence, Format::Conll) => {
            bail!(
                "task {:?}: a sentence task reads CSV or JSONL, not CoNLL",
                cfg.name
            )
        }
        (TaskKind::Token, Format::Csv | Format::Jsonl) => {
            bail!("task {:?}: a token task reads CoNLL columns", cfg.name)
        }
        (TaskKind::Sentence, format) => load_sentences(cfg, &bytes, &source, format)?,
        (TaskKind::Token, Format::Conll) => load_tokens(cfg, &bytes, &source)?,
    };
    let data = TaskData {
        config: cfg.clone(),
        examples,
        labels,
        clean,
    };
    check_trainable(&data, &source)?;
    Ok(data)
}

/// The examples of one of the task's `extra_train` files, checked against the main file's
/// `labels` (classes, or BIO tags for a token task) with file:line errors. They join the
/// training split only, so the main file's dev and test splits stay exactly as they were.
pub fn load_extra(cfg: &TaskConfig, file: &std::path::Path, labels: &[String]) -> Result<Examples> {
    let mut extra = cfg.clone();
    extra.file = file.to_path_buf();
    extra.labels = Some(match cfg.kind {
        TaskKind::Sentence => labels.to_vec(),
        TaskKind::Token => labels
            .iter()
            .filter_map(|t| t.strip_prefix("B-").map(str::to_string))
            .collect(),
    });
    let bytes = read_task_file(&extra)?;
    let source = file.display().to_string();
    extra.format = None;
    let format = extra.format();
    let (examples, _, _) = match (cfg.kind, format) {
        (TaskKind::Sentence, Format::Csv | Format::Jsonl) => {
            load_sentences(&extra, &bytes, &source, format)?
        }
        (TaskKind::Token, Format::Conll) => load_tokens(&extra, &bytes, &source)?,
        _ => bail!(
            "task {:?}: extra file {source} has the wrong format for a {:?} task",
            cfg.name,
            cfg.kind
        ),
    };
    Ok(examples)
}

/// What a task's file yields: its examples, its labels in logit order, and the cleaning
/// report when cleaning ran.
type Loaded = (Examples, Vec<String>, Option<CleanReport>);

/// The raw bytes of the task's file, with a hint at `glassbox fetch` when it is missing.
fn read_task_file(cfg: &TaskConfig) -> Result<Vec<u8>> {
    std::fs::read(&cfg.file).with_context(|| {
        format!(
            "task {:?}: cannot read {} (run `glassbox fetch` for the default data)",
            cfg.name,
            cfg.file.display()
        )
    })
}

/// A sentence task from CSV or JSONL: its examples (cleaned when asked) and class labels.
fn load_sentences(cfg: &TaskConfig, bytes: &[u8], source: &str, format: Format) -> Result<Loaded> {
    let raw = parse_sentences(cfg, bytes, source, format)?;
    let (examples, report) = clean_if_asked(cfg, raw);
    let labels = sentence_labels(cfg, &examples, source)?;
    Ok((Examples::Sentence(examples), labels, report))
}

/// Parses the file as CSV (with the configured columns) or as JSONL.
fn parse_sentences(
    cfg: &TaskConfig,
    bytes: &[u8],
    source: &str,
    format: Format,
) -> Result<Vec<SentenceExample>> {
    Ok(if format == Format::Csv {
        let cols = CsvColumns {
            text: &cfg.text_column,
            label: &cfg.label_column,
            confidence: cfg.confidence_column.as_deref(),
        };
        parse_csv(bytes, source, &cols)?
    } else {
        parse_jsonl(&decode_text(bytes), source)?
    })
}

/// Cleans the examples and drops low-confidence ones when the config asks for either; the
/// report is `None` when nothing was asked.
fn clean_if_asked(
    cfg: &TaskConfig,
    raw: Vec<SentenceExample>,
) -> (Vec<SentenceExample>, Option<CleanReport>) {
    if cfg.clean || cfg.min_confidence.is_some() {
        let (kept, r) = clean_examples(raw, cfg.clean, cfg.min_confidence);
        (kept, Some(r))
    } else {
        (raw, None)
    }
}

/// The configured labels, which every example's label must be among; without them, the labels
/// the examples use, sorted.
fn sentence_labels(
    cfg: &TaskConfig,
    examples: &[SentenceExample],
    source: &str,
) -> Result<Vec<String>> {
    match &cfg.labels {
        Some(l) => {
            if let Some(bad) = examples.iter().find(|e| !l.contains(&e.label)) {
                bail!(
                    "{source}:{}: label {:?} is not in the task's labels {l:?}",
                    bad.line,
                    bad.label
                );
            }
            Ok(l.clone())
        }
        None => Ok(examples
            .iter()
            .map(|e| e.label.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()),
    }
}

/// A token task from CoNLL columns: its examples and the BIO tags of its entity types.
fn load_tokens(cfg: &TaskConfig, bytes: &[u8], source: &str) -> Result<Loaded> {
    let examples = parse_conll(&decode_text(bytes), source)?;
    let types = match &cfg.labels {
        Some(types) => {
            check_entity_types(&examples, types, source)?;
            types.clone()
        }
        None => entity_types(&examples),
    };
    Ok((Examples::Token(examples), bio_tags(&types), None))
}

/// Every tagged word's entity type must be one of the configured `types`; the error names the
/// line of the first that is not.
fn check_entity_types(examples: &[TokenExample], types: &[String], source: &str) -> Result<()> {
    for ex in examples {
        for (i, t) in ex.tags.iter().enumerate() {
            let kind = Tag::parse(t).kind();
            if let Some(kind) = kind.filter(|k| !types.iter().any(|x| x == k)) {
                bail!(
                    "{source}:{}: entity type {kind:?} is not in the task's labels {types:?}",
                    ex.line + i
                );
            }
        }
    }
    Ok(())
}

/// A task needs examples and at least two labels to be trained on.
fn check_trainable(data: &TaskData, source: &str) -> Result<()> {
    let name = &data.config.name;
    if data.is_empty() {
        bail!("task {:?}: {} holds no examples", name, source);
    }
    if data.labels.len() < 2 {
        bail!(
            "task {:?}: needs at least two labels, found {:?}",
            name,
            data.labels
        );
    }
    Ok(())
}
