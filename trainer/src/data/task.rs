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

pub fn load_task(cfg: &TaskConfig) -> Result<TaskData> {
    let bytes = std::fs::read(&cfg.file).with_context(|| {
        format!(
            "task {:?}: cannot read {} (run `glassbox fetch` for the default data)",
            cfg.name,
            cfg.file.display()
        )
    })?;
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
        (TaskKind::Sentence, format) => {
            let raw = if format == Format::Csv {
                let cols = CsvColumns {
                    text: &cfg.text_column,
                    label: &cfg.label_column,
                    confidence: cfg.confidence_column.as_deref(),
                };
                parse_csv(&bytes, &source, &cols)?
            } else {
                parse_jsonl(&decode_text(&bytes), &source)?
            };
            let (examples, report) = if cfg.clean || cfg.min_confidence.is_some() {
                let (kept, r) = clean_examples(raw, cfg.clean, cfg.min_confidence);
                (kept, Some(r))
            } else {
                (raw, None)
            };
            let labels = match &cfg.labels {
                Some(l) => {
                    if let Some(bad) = examples.iter().find(|e| !l.contains(&e.label)) {
                        bail!(
                            "{source}:{}: label {:?} is not in the task's labels {l:?}",
                            bad.line,
                            bad.label
                        );
                    }
                    l.clone()
                }
                None => examples
                    .iter()
                    .map(|e| e.label.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            };
            (Examples::Sentence(examples), labels, report)
        }
        (TaskKind::Token, Format::Conll) => {
            let examples = parse_conll(&decode_text(&bytes), &source)?;
            let types = match &cfg.labels {
                Some(types) => {
                    for ex in &examples {
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
                    types.clone()
                }
                None => entity_types(&examples),
            };
            (Examples::Token(examples), bio_tags(&types), None)
        }
    };
    let data = TaskData {
        config: cfg.clone(),
        examples,
        labels,
        clean,
    };
    if data.is_empty() {
        bail!("task {:?}: {} holds no examples", cfg.name, source);
    }
    if data.labels.len() < 2 {
        bail!(
            "task {:?}: needs at least two labels, found {:?}",
            cfg.name,
            data.labels
        );
    }
    Ok(data)
}
