//! The texts drift is measured on: a file of plain lines, a CSV with a text column, or JSON
//! Lines with a `"text"` field (by extension), or one split of a training config's sentence
//! task — read, cleaned and split exactly as training did, so `--split test` is the held-out
//! data the model never saw. A malformed record is an error naming its file and line.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::config::{TaskKind, TrainConfig};
use crate::data::prepare::task_seed;
use crate::data::sentence::{decode_text, records};
use crate::data::split::stratified_split;
use crate::data::task::{load_task, Examples};
use crate::data::DataError;

/// One text and the line of its file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub text: String,
    pub line: usize,
}

/// Reads `path`: `.csv` (header row, `column` holds the text), `.jsonl` (a string `"text"`
/// on every non-blank line), anything else one text per line (blank lines skipped).
pub fn read_file(path: &Path, column: &str) -> Result<Vec<Text>> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let source = path.display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let texts = match ext.to_ascii_lowercase().as_str() {
        "csv" => parse_csv(&bytes, &source, column)?,
        "jsonl" => parse_jsonl(&decode_text(&bytes), &source)?,
        _ => parse_lines(&decode_text(&bytes)),
    };
    if texts.is_empty() {
        bail!("{source}: no texts");
    }
    Ok(texts)
}

fn data_err(source: &str, line: usize, message: impl Into<String>) -> DataError {
    DataError {
        source: source.to_string(),
        line,
        message: message.into(),
    }
}

fn non_blank(text: String, source: &str, line: usize) -> Result<Text, DataError> {
    if text.trim().is_empty() {
        return Err(data_err(source, line, "empty text"));
    }
    Ok(Text { text, line })
}

fn parse_csv(bytes: &[u8], source: &str, column: &str) -> Result<Vec<Text>, DataError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = rdr
        .byte_headers()
        .map_err(|e| data_err(source, 1, format!("header: {e}")))?
        .clone();
    let col = headers
        .iter()
        .position(|h| h == column.as_bytes())
        .ok_or_else(|| data_err(source, 1, format!("no column {column:?}")))?;
    let mut out = Vec::new();
    for rec in records(&mut rdr, bytes) {
        let (line, rec) = rec.map_err(|(line, e)| data_err(source, line, e.to_string()))?;
        out.push(non_blank(
            decode_text(rec.get(col).unwrap_or_default()),
            source,
            line,
        )?);
    }
    Ok(out)
}

fn parse_jsonl(text: &str, source: &str) -> Result<Vec<Text>, DataError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(raw)
            .map_err(|e| data_err(source, line, format!("not JSON: {e}")))?;
        let t = v
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| data_err(source, line, "missing string field \"text\""))?;
        out.push(non_blank(t.to_string(), source, line)?);
    }
    Ok(out)
}

fn parse_lines(text: &str) -> Vec<Text> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Text {
            text: l.to_string(),
            line: i + 1,
        })
        .collect()
}

/// The texts of one split (`train`, `dev`, `test`) of `config`'s sentence task, cleaned and
/// split with the same function and seed as `glassbox train`.
pub fn read_split(config: &Path, split: &str) -> Result<Vec<Text>> {
    let cfg = TrainConfig::load(config)?;
    let tc = cfg
        .task(TaskKind::Sentence)
        .with_context(|| format!("{} has no sentence task", config.display()))?;
    let data = load_task(tc)?;
    let Examples::Sentence(examples) = &data.examples else {
        bail!("task {:?} is not a sentence task", tc.name);
    };
    let parts = stratified_split(
        &data.strata(),
        cfg.split.dev,
        cfg.split.test,
        task_seed(cfg.seed, &tc.name),
    );
    let idx = match split {
        "train" => parts.train,
        "dev" => parts.dev,
        "test" => parts.test,
        other => bail!("unknown split {other:?} (train, dev or test)"),
    };
    Ok(idx
        .into_iter()
        .map(|i| Text {
            text: examples[i].text.clone(),
            line: examples[i].line,
        })
        .collect())
}

/// Indices of at most `k` of `n` items, drawn without replacement with `seed`, ascending.
pub fn sample_indices(n: usize, k: usize, seed: u64) -> Vec<usize> {
    if n <= k {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut keep = sample(&mut rng, n, k).into_vec();
    keep.sort_unstable();
    keep
}

/// At most `n` of `texts`, drawn without replacement with `seed`, kept in file order.
pub fn sample_texts(texts: Vec<Text>, n: usize, seed: u64) -> Vec<Text> {
    sample_indices(texts.len(), n, seed)
        .into_iter()
        .map(|i| texts[i].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_reads_the_named_column_and_names_a_bad_line() {
        let ok = parse_csv(b"id,text\n1,hello\n2,\"two\nlines\"\n", "r.csv", "text").unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!((ok[1].text.as_str(), ok[1].line), ("two\nlines", 3));
        let e = parse_csv(b"id,text\n1,hi\n2\n", "r.csv", "text").unwrap_err();
        assert!(e.to_string().starts_with("r.csv:3:"), "{e}");
        let e = parse_csv(b"id,body\n1,hi\n", "r.csv", "text").unwrap_err();
        assert!(e.to_string().contains("no column \"text\""), "{e}");
        let e = parse_csv(b"id,text\n1,  \n", "r.csv", "text").unwrap_err();
        assert_eq!(e.to_string(), "r.csv:2: empty text");
    }

    #[test]
    fn jsonl_needs_a_text_field_on_every_line() {
        let ok = parse_jsonl("{\"text\":\"a\"}\n\n{\"text\":\"b\",\"x\":1}\n", "d.jsonl").unwrap();
        assert_eq!(ok.iter().map(|t| t.line).collect::<Vec<_>>(), vec![1, 3]);
        let e = parse_jsonl("{\"text\":\"a\"}\n{\"body\":\"b\"}\n", "d.jsonl").unwrap_err();
        assert_eq!(e.to_string(), "d.jsonl:2: missing string field \"text\"");
        let e = parse_jsonl("nope\n", "d.jsonl").unwrap_err();
        assert!(e.to_string().starts_with("d.jsonl:1: not JSON"), "{e}");
    }

    #[test]
    fn plain_lines_skip_blanks_and_keep_line_numbers() {
        let t = parse_lines("a\n\n  \nb\n");
        assert_eq!(t.iter().map(|t| t.line).collect::<Vec<_>>(), vec![1, 4]);
    }

    #[test]
    fn sampling_is_seeded_and_keeps_file_order() {
        let texts: Vec<Text> = (1..=100)
            .map(|i| Text {
                text: i.to_string(),
                line: i,
            })
            .collect();
        let a = sample_texts(texts.clone(), 10, 5);
        assert_eq!(a, sample_texts(texts.clone(), 10, 5));
        assert_ne!(a, sample_texts(texts.clone(), 10, 6));
        assert!(a.windows(2).all(|w| w[0].line < w[1].line));
        assert_eq!(sample_texts(texts, 200, 5).len(), 100);
    }
}
