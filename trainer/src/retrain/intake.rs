//! Intake: new labelled files from the data folder become one batch of new items. Each file
//! not in the ledger is assigned to the recipe's task by its type (`.csv`/`.jsonl`: the
//! sentence task; `.conll`/`.txt`/`.tsv`: the token task), validated against the task's labels
//! (errors name file and line; a bad file is rejected, the others go on), and de-duplicated
//! against everything the model line has seen: the recipe's own data (every split, so no test
//! item sneaks into training) and earlier batches.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use glassbox_model::weights::bundle::sha256_hex;

use super::ledger::Entry;
use crate::config::{TaskConfig, TaskKind, TrainConfig};
use crate::data::conll::TokenExample;
use crate::data::sentence::SentenceExample;
use crate::data::task::{load_extra, load_task, Examples};
use crate::io::{now_rfc3339, write_atomic};

/// New items of one task, ready to be written as a batch file.
pub struct NewItems {
    pub task: String,
    pub examples: Examples,
}

/// What intake found: ledger entries for every new file, and the new items per task.
pub struct Intake {
    pub entries: Vec<Entry>,
    pub items: Vec<NewItems>,
}

/// Reads the files of `data` that `ledger` has not seen. `earlier` are earlier batches'
/// files with their task.
pub fn take_in(
    data: &Path,
    recipe: &TrainConfig,
    ledger: &[Entry],
    earlier: &[(String, PathBuf)],
) -> Result<Intake> {
    let mut known = known_items(recipe, earlier)?;
    let mut intake = Intake {
        entries: vec![],
        items: vec![],
    };
    for file in new_files(data, ledger)? {
        let (entry, examples) = one_file(&file, recipe, &mut known);
        if let (Some(task), Some(ex)) = (&entry.task, examples) {
            merge(&mut intake.items, task, ex);
        }
        intake.entries.push(entry);
    }
    Ok(intake)
}

/// Files directly in `data` (sorted, so batches are reproducible) whose hash the ledger lacks.
fn new_files(data: &Path, ledger: &[Entry]) -> Result<Vec<(PathBuf, String)>> {
    let mut files: Vec<PathBuf> = fs::read_dir(data)
        .with_context(|| format!("cannot read the data folder {}", data.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && !is_hidden(p))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let sha = sha256_hex(&fs::read(&f).with_context(|| format!("reading {}", f.display()))?);
        if !super::ledger::seen(ledger, &sha) {
            out.push((f, sha));
        }
    }
    Ok(out)
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// One file: its ledger entry and its new items (None when rejected).
fn one_file(
    file: &(PathBuf, String),
    recipe: &TrainConfig,
    known: &mut Known,
) -> (Entry, Option<Examples>) {
    let (path, sha) = file;
    let mut entry = Entry {
        file: path.display().to_string(),
        sha256: sha.clone(),
        task: None,
        status: "rejected".into(),
        items: 0,
        kept: 0,
        duplicates: 0,
        batch: None,
        error: None,
        at: now_rfc3339(),
    };
    let result = task_for(path, recipe).and_then(|tc| {
        entry.task = Some(tc.name.clone());
        load_extra(tc, path, &known.labels[&tc.name])
    });
    match result {
        Ok(examples) => {
            entry.items = count(&examples);
            let kept = keep_new(examples, &mut known.seen);
            entry.kept = count(&kept);
            entry.duplicates = entry.items - entry.kept;
            entry.status = "accepted".into();
            (entry, Some(kept))
        }
        Err(e) => {
            entry.error = Some(format!("{e:#}"));
            (entry, None)
        }
    }
}

/// The recipe's task a file feeds, by its type.
fn task_for<'a>(path: &Path, recipe: &'a TrainConfig) -> Result<&'a TaskConfig> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let kind = match ext {
        "csv" | "jsonl" => TaskKind::Sentence,
        "conll" | "txt" | "tsv" => TaskKind::Token,
        _ => anyhow::bail!(
            "{}: unknown file type (.csv/.jsonl for sentences, .conll/.txt/.tsv for entities)",
            path.display()
        ),
    };
    recipe
        .tasks
        .iter()
        .find(|t| t.kind == kind)
        .with_context(|| format!("{}: the model has no {kind:?} task", path.display()))
}

/// Identity of an item for de-duplication: its kind and text (or tokens).
fn keys(examples: &Examples) -> Vec<String> {
    match examples {
        Examples::Sentence(v) => v.iter().map(|e| format!("s\0{}", e.text.trim())).collect(),
        Examples::Token(v) => v
            .iter()
            .map(|e| format!("t\0{}", e.tokens.join(" ")))
            .collect(),
    }
}

/// What the model line knows, read once per intake: every item it has seen and each task's
/// labels as its main file settles them (the model's logit order).
struct Known {
    seen: HashSet<String>,
    labels: HashMap<String, Vec<String>>,
}

/// The recipe's data (every split), its extra files and earlier batches, with the labels.
fn known_items(recipe: &TrainConfig, earlier: &[(String, PathBuf)]) -> Result<Known> {
    let mut known = Known {
        seen: HashSet::new(),
        labels: HashMap::new(),
    };
    for tc in &recipe.tasks {
        let data = load_task(tc)?;
        known.seen.extend(keys(&data.examples));
        let batches = earlier
            .iter()
            .filter(|(t, _)| *t == tc.name)
            .map(|(_, f)| f);
        for f in tc.extra_train.iter().chain(batches) {
            known.seen.extend(keys(&load_extra(tc, f, &data.labels)?));
        }
        known.labels.insert(tc.name.clone(), data.labels);
    }
    Ok(known)
}

/// The examples whose key is new (also new within the file), recording their keys.
fn keep_new(examples: Examples, seen: &mut HashSet<String>) -> Examples {
    let ks = keys(&examples);
    let mut fresh = ks.into_iter().map(|k| seen.insert(k));
    match examples {
        Examples::Sentence(v) => Examples::Sentence(
            v.into_iter()
                .filter(|_| fresh.next().unwrap_or(false))
                .collect(),
        ),
        Examples::Token(v) => Examples::Token(
            v.into_iter()
                .filter(|_| fresh.next().unwrap_or(false))
                .collect(),
        ),
    }
}

fn count(examples: &Examples) -> usize {
    match examples {
        Examples::Sentence(v) => v.len(),
        Examples::Token(v) => v.len(),
    }
}

fn merge(items: &mut Vec<NewItems>, task: &str, ex: Examples) {
    match items.iter_mut().find(|i| i.task == task) {
        Some(i) => match (&mut i.examples, ex) {
            (Examples::Sentence(a), Examples::Sentence(b)) => a.extend(b),
            (Examples::Token(a), Examples::Token(b)) => a.extend(b),
            _ => {}
        },
        None => items.push(NewItems {
            task: task.into(),
            examples: ex,
        }),
    }
}

/// Writes a task's new items as a file its loader reads with the recipe's columns.
pub fn write_batch_file(dir: &Path, tc: &TaskConfig, examples: &Examples) -> Result<PathBuf> {
    match examples {
        Examples::Sentence(v) => {
            let path = dir.join(format!("{}.csv", tc.name));
            write_atomic(&path, &sentence_csv(tc, v)?)?;
            Ok(path)
        }
        Examples::Token(v) => {
            let path = dir.join(format!("{}.conll", tc.name));
            write_atomic(&path, conll(v).as_bytes())?;
            Ok(path)
        }
    }
}

fn sentence_csv(tc: &TaskConfig, v: &[SentenceExample]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    let mut header = vec![tc.text_column.as_str(), tc.label_column.as_str()];
    header.extend(tc.confidence_column.as_deref());
    w.write_record(&header)?;
    for e in v {
        let conf = e.confidence.unwrap_or(1.0).to_string();
        let mut row = vec![e.text.as_str(), e.label.as_str()];
        if tc.confidence_column.is_some() {
            row.push(&conf);
        }
        w.write_record(&row)?;
    }
    Ok(w.into_inner()?)
}

fn conll(v: &[TokenExample]) -> String {
    let mut s = String::new();
    for e in v {
        for (t, tag) in e.tokens.iter().zip(&e.tags) {
            s.push_str(&format!("{t}\t{tag}\n"));
        }
        s.push('\n');
    }
    s
}
