//! Back-translation (Sennrich et al. 2016; for classification, Xie et al. 2020): each training
//! text of a sentence task goes English → pivot → English through Apertium, Debian's offline
//! rule-based translator (`apt install apertium-eng-spa`), and the paraphrase that comes back
//! joins the training split with the original's label.
//!
//! Sentence tasks only: Apertium rewrites names (`@united` → `@Joined`) and word order, so a
//! token task's tags would no longer line up with its words. Translations are cached on disk
//! by a hash of the pivot and the texts: the ablation's runs translate the split once.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use glassbox_model::TextTokenizer;
use sha2::{Digest, Sha256};

use super::augment::{AugmentReport, Op};
use super::encode::encode_sentence;
use super::prepare::PreparedTask;
use super::sentence::SentenceExample;
use super::task::Examples;
use crate::config::AugmentConfig;

/// Adds one back-translated copy of each original training example (`originals[t]`: task
/// `t`'s training indices before any other augmentation) of every task `cfg.backtranslate`
/// names; copies identical to their original are counted, not added.
pub fn backtranslate_tasks(
    tasks: &mut [PreparedTask],
    cfg: &AugmentConfig,
    tok: &TextTokenizer,
    originals: &[Vec<usize>],
) -> Result<Vec<AugmentReport>> {
    let mut reports = Vec::new();
    for (task, train) in tasks.iter_mut().zip(originals) {
        if cfg.backtranslate.iter().any(|n| n == task.name()) {
            reports.push(backtranslate_task(task, train, cfg, tok)?);
        }
    }
    Ok(reports)
}

fn backtranslate_task(
    task: &mut PreparedTask,
    train: &[usize],
    cfg: &AugmentConfig,
    tok: &TextTokenizer,
) -> Result<AugmentReport> {
    let Examples::Sentence(examples) = &task.data.examples else {
        bail!(
            "augment.backtranslate: task {:?} is not a sentence task",
            task.name()
        );
    };
    let texts: Vec<String> = train.iter().map(|&i| one_line(&examples[i].text)).collect();
    eprintln!(
        "back-translating {} training texts of {:?} (English → {} → English, Apertium)…",
        texts.len(),
        task.name(),
        cfg.pivot
    );
    let back = cached_round_trip(&texts, &cfg.pivot, &cfg.cache)?;
    let mut report = AugmentReport {
        task: task.name().to_string(),
        originals: train.len(),
        added: 0,
        unchanged: 0,
        by_op: BTreeMap::new(),
    };
    for (&i, (before, after)) in train.iter().zip(texts.iter().zip(back)) {
        if after.trim().is_empty() || after.trim() == before.trim() {
            report.unchanged += 1;
            continue;
        }
        add_copy(task, i, after, tok)?;
        report.added += 1;
    }
    if report.added > 0 {
        report.by_op.insert(Op::BackTranslation, report.added);
    }
    Ok(report)
}

/// Appends `text` as a copy of example `i` (same label and weight) to the training split.
fn add_copy(task: &mut PreparedTask, i: usize, text: String, tok: &TextTokenizer) -> Result<()> {
    let labels = &task.data.labels;
    let weight_by_confidence = task.data.config.weight_by_confidence;
    let name = &task.data.config.name;
    let Examples::Sentence(v) = &mut task.data.examples else {
        unreachable!("checked by the caller");
    };
    let copy = SentenceExample {
        text,
        ..v[i].clone()
    };
    let encoded = encode_sentence(tok, &copy, labels, weight_by_confidence)
        .with_context(|| format!("task {name:?}: encoding a back-translated example"))?;
    v.push(copy);
    task.encoded.push(encoded);
    task.split.train.push(task.encoded.len() - 1);
    Ok(())
}

/// Apertium reads a text per line: inner line breaks become spaces.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r']).collect::<Vec<_>>().join(" ")
}

/// [`round_trip`], read from `cache` when these texts went through this pivot before.
fn cached_round_trip(texts: &[String], pivot: &str, cache: &Path) -> Result<Vec<String>> {
    let file = cache_file(texts, pivot, cache);
    if let Ok(bytes) = std::fs::read(&file) {
        if let Ok(back) = serde_json::from_slice::<Vec<String>>(&bytes) {
            if back.len() == texts.len() {
                return Ok(back);
            }
        }
    }
    let back = round_trip(texts, pivot)?;
    std::fs::create_dir_all(cache)
        .with_context(|| format!("creating the translation cache {}", cache.display()))?;
    crate::io::write_atomic(&file, &serde_json::to_vec(&back)?)?;
    Ok(back)
}

fn cache_file(texts: &[String], pivot: &str, cache: &Path) -> PathBuf {
    let mut h = Sha256::new();
    h.update(pivot.as_bytes());
    for t in texts {
        h.update([0]);
        h.update(t.as_bytes());
    }
    let hash: String = h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    cache.join(format!("backtranslate-{pivot}-{hash}.json"))
}

/// `texts` (one line each) translated English → `pivot` → English, in order.
pub fn round_trip(texts: &[String], pivot: &str) -> Result<Vec<String>> {
    let input = texts.join("\n") + "\n";
    let there = apertium(&format!("eng-{pivot}"), &input)?;
    let back = apertium(&format!("{pivot}-eng"), &there)?;
    let lines: Vec<String> = back.lines().map(|l| l.trim().to_string()).collect();
    ensure!(
        lines.len() == texts.len(),
        "Apertium returned {} lines for {} texts: back-translation cannot pair them",
        lines.len(),
        texts.len()
    );
    Ok(lines)
}

/// `input` through `apertium -u PAIR` (`-u`: unknown words without the `*` mark).
fn apertium(pair: &str, input: &str) -> Result<String> {
    let mut child = Command::new("apertium")
        .args(["-u", pair])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("augment.backtranslate needs Apertium: apt install apertium-eng-spa (or the pair of your pivot)")?;
    let mut stdin = child.stdin.take().expect("piped");
    let owned = input.to_string();
    // Written from a thread: Apertium streams, and a full stdout pipe would block it.
    let writer = std::thread::spawn(move || stdin.write_all(owned.as_bytes()));
    let out = child.wait_with_output().context("running apertium")?;
    let _ = writer.join();
    ensure!(
        out.status.success(),
        "apertium {pair} failed ({}): {} — is the language pair installed (apt install apertium-eng-spa)?",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8(out.stdout).context("apertium's output is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_round_trip_keeps_one_line_per_text_and_simple_sentences_survive() {
        let t = texts(&[
            "The train was late again this morning.",
            "Worst customer service I have ever had.",
            "[brackets] ^carets$ and a back\\slash / <tag>",
            "http://t.co/abc",
        ]);
        let back = round_trip(&t, "spa").unwrap();
        assert_eq!(back.len(), t.len(), "{back:?}");
        assert_eq!(back[0], t[0], "a plain sentence comes back unchanged");
        assert_ne!(
            back[1], t[1],
            "an idiomatic one is paraphrased: {:?}",
            back[1]
        );
        assert!(
            back.iter().all(|b| !b.contains('*')),
            "-u: no unknown-word marks"
        );
    }

    #[test]
    fn a_missing_pair_is_a_clear_error() {
        let e = round_trip(&texts(&["hello"]), "xyz").unwrap_err();
        assert!(e.to_string().contains("apertium-eng-spa"), "{e:#}");
    }

    #[test]
    fn the_cache_is_keyed_by_pivot_and_texts() {
        let dir = std::env::temp_dir().join(format!("glassbox-bt-{}", std::process::id()));
        let a = cache_file(&texts(&["a", "b"]), "spa", &dir);
        assert_ne!(a, cache_file(&texts(&["a", "b"]), "cat", &dir));
        assert_ne!(a, cache_file(&texts(&["ab"]), "spa", &dir));
        assert_ne!(a, cache_file(&texts(&["a", "c"]), "spa", &dir));
        let t = texts(&["I love this phone.", "The meeting moved to Monday."]);
        let first = cached_round_trip(&t, "spa", &dir).unwrap();
        let file = cache_file(&t, "spa", &dir);
        assert!(file.is_file());
        // A cached answer is read back as it is, without Apertium.
        std::fs::write(&file, r#"["x", "y"]"#).unwrap();
        assert_eq!(cached_round_trip(&t, "spa", &dir).unwrap(), ["x", "y"]);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(first.len(), 2);
    }

    #[test]
    fn inner_line_breaks_become_spaces() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
