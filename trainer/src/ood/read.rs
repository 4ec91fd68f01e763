//! Reading an external set and putting its labels in the model's terms: sentence labels mapped
//! onto the model's classes, entity tags mapped onto the shared types.

use std::collections::BTreeMap;

use anyhow::{anyhow, Context, Result};
use glassbox_model::text::labels::{begin, inside, Tag, OUTSIDE};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::sets::{ExternalFormat, ExternalSet};
use crate::data::conll::{parse_conll, TokenExample};
use crate::data::sentence::{decode_text, parse_csv, parse_jsonl, CsvColumns, SentenceExample};

/// A set's examples with their gold labels already mapped.
pub enum ExternalData {
    /// Labels are model classes.
    Sentences(Vec<SentenceExample>),
    /// Tags are BIO over the shared types.
    Tokens(Vec<TokenExample>),
}

impl ExternalData {
    pub fn len(&self) -> usize {
        match self {
            ExternalData::Sentences(v) => v.len(),
            ExternalData::Tokens(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text each example shows the model (tokens joined by spaces).
    pub fn texts(&self) -> Vec<String> {
        match self {
            ExternalData::Sentences(v) => v.iter().map(|e| e.text.clone()).collect(),
            ExternalData::Tokens(v) => v.iter().map(|e| e.tokens.join(" ")).collect(),
        }
    }
}

/// Reads `set`, maps its labels, and keeps a seeded sample when it is capped.
pub fn read_set(set: &ExternalSet, seed: u64) -> Result<ExternalData> {
    let bytes = std::fs::read(&set.file).with_context(|| {
        format!(
            "set {:?}: cannot read {} (run `glassbox fetch` for the registry data)",
            set.name,
            set.file.display()
        )
    })?;
    let source = set.file.display().to_string();
    let data = match set.format {
        ExternalFormat::Conll => ExternalData::Tokens(read_tokens(set, &bytes, &source)?),
        _ => ExternalData::Sentences(read_sentences(set, &bytes, &source)?),
    };
    Ok(sample(data, set.max_examples, seed))
}

fn read_sentences(set: &ExternalSet, bytes: &[u8], source: &str) -> Result<Vec<SentenceExample>> {
    let raw = match set.format {
        ExternalFormat::Csv => {
            let cols = CsvColumns {
                text: &set.text_column,
                label: &set.label_column,
                confidence: None,
            };
            parse_csv(bytes, source, &cols)?
        }
        ExternalFormat::Jsonl => parse_jsonl(&decode_text(bytes), source)?,
        _ => return parse_scored(set, &decode_text(bytes), source),
    };
    raw.into_iter()
        .map(|mut e| {
            e.label = set.labels.get(&e.label).cloned().ok_or_else(|| {
                anyhow!(
                    "{source}:{}: label {:?} is not in set {:?}'s `labels` mapping",
                    e.line,
                    e.label,
                    set.name
                )
            })?;
            Ok(e)
        })
        .collect()
}

/// `id TAB score TAB text` lines; the score's band is the class.
fn parse_scored(set: &ExternalSet, text: &str, source: &str) -> Result<Vec<SentenceExample>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        if raw.trim().is_empty() {
            continue;
        }
        let mut f = raw.splitn(3, '\t');
        let (_, score, body) = (f.next(), f.next(), f.next());
        let (Some(score), Some(body)) = (score, body) else {
            return Err(anyhow!(
                "{source}:{}: expected `ID<tab>SCORE<tab>TEXT`",
                i + 1
            ));
        };
        let score: f64 = score
            .trim()
            .parse()
            .map_err(|_| anyhow!("{source}:{}: score {score:?} is not a number", i + 1))?;
        let band = set.thresholds.partition_point(|&t| t <= score);
        out.push(SentenceExample {
            text: body.trim().to_string(),
            label: set.bands[band].clone(),
            confidence: Some(score),
            line: i + 1,
        });
    }
    Ok(out)
}

fn read_tokens(set: &ExternalSet, bytes: &[u8], source: &str) -> Result<Vec<TokenExample>> {
    let examples = parse_conll(&decode_text(bytes), source)?;
    Ok(examples
        .into_iter()
        .filter(|e| e.tokens.first().is_none_or(|t| t != "-DOCSTART-"))
        .map(|mut e| {
            e.tags = map_tags(&e.tags, &set.gold_types);
            e
        })
        .collect())
}

/// BIO tags with each type replaced by its shared type; types without one become `O`.
pub fn map_tags<S: AsRef<str>>(tags: &[S], types: &BTreeMap<String, String>) -> Vec<String> {
    tags.iter()
        .map(|t| match Tag::parse(t.as_ref()) {
            Tag::Begin(k) => types.get(k).map_or(OUTSIDE.to_string(), |s| begin(s)),
            Tag::Inside(k) => types.get(k).map_or(OUTSIDE.to_string(), |s| inside(s)),
            Tag::Outside => OUTSIDE.to_string(),
        })
        .collect()
}

/// At most `max` examples, drawn with a seeded shuffle and kept in file order.
fn sample(data: ExternalData, max: Option<usize>, seed: u64) -> ExternalData {
    let Some(max) = max.filter(|&m| m < data.len()) else {
        return data;
    };
    let mut idx: Vec<usize> = (0..data.len()).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    idx.truncate(max);
    idx.sort_unstable();
    let pick = |keep: &[usize], i: usize| keep.binary_search(&i).is_ok();
    match data {
        ExternalData::Sentences(v) => ExternalData::Sentences(
            v.into_iter()
                .enumerate()
                .filter(|(i, _)| pick(&idx, *i))
                .map(|(_, e)| e)
                .collect(),
        ),
        ExternalData::Tokens(v) => ExternalData::Tokens(
            v.into_iter()
                .enumerate()
                .filter(|(i, _)| pick(&idx, *i))
                .map(|(_, e)| e)
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn tags_map_to_shared_types_and_unmapped_types_vanish() {
        let m = types(&[("geo-loc", "location"), ("facility", "location")]);
        let tags = [
            "B-geo-loc",
            "I-geo-loc",
            "B-facility",
            "O",
            "B-other",
            "I-other",
        ];
        assert_eq!(
            map_tags(&tags, &m),
            ["B-location", "I-location", "B-location", "O", "O", "O"]
        );
    }

    fn scored_set() -> ExternalSet {
        toml::from_str(
            r#"name = "s"
task = "t"
file = "x"
format = "scored_tsv"
thresholds = [-0.5, 0.5]
bands = ["negative", "neutral", "positive"]"#,
        )
        .unwrap()
    }

    #[test]
    fn scores_fall_into_bands_with_each_cut_point_starting_the_upper_band() {
        let text = "1\t-0.9\tbad\r\n2\t-0.5\tmeh\r\n\r\n3\t0.49\tok\n4\t0.5\tgood\n";
        let got = parse_scored(&scored_set(), text, "f.txt").unwrap();
        let labels: Vec<&str> = got.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["negative", "neutral", "neutral", "positive"]);
        assert_eq!((got[2].line, got[2].text.as_str()), (4, "ok"));
    }

    #[test]
    fn a_malformed_scored_line_names_file_and_line() {
        let e = parse_scored(&scored_set(), "1\t0.1\tfine\n2\tlots\tbad\n", "f.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.txt:2") && e.contains("lots"), "{e}");
        let e = parse_scored(&scored_set(), "1 0.1 fine\n", "f.txt")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.txt:1"), "{e}");
    }

    #[test]
    fn a_sample_is_seeded_and_keeps_file_order() {
        let mk = || {
            ExternalData::Sentences(
                (0..50)
                    .map(|i| SentenceExample {
                        text: i.to_string(),
                        label: "x".into(),
                        confidence: None,
                        line: i,
                    })
                    .collect(),
            )
        };
        let a = sample(mk(), Some(10), 7).texts();
        assert_eq!(a, sample(mk(), Some(10), 7).texts());
        assert_ne!(a, sample(mk(), Some(10), 8).texts());
        let n: Vec<usize> = a.iter().map(|t| t.parse().unwrap()).collect();
        assert!(n.windows(2).all(|w| w[0] < w[1]) && n.len() == 10);
        assert_eq!(sample(mk(), Some(80), 7).len(), 50);
    }
}
