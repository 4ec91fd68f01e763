//! The external sets of an out-of-distribution evaluation, as declared in a TOML file
//! (`configs/ood.toml`): where each set lives, which head it scores, and how its labels map
//! onto the model's. The mappings are data, not code, because every pair of label sets needs
//! its own judgement call (is a WNUT-16 `musicartist` a Tweebank `ORG`?), and a reader of the
//! results should see exactly which call was made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OodConfig {
    /// Seeds the subsample of sets with `max_examples`.
    #[serde(default = "d_seed")]
    pub seed: u64,
    pub sets: Vec<ExternalSet>,
}

fn d_seed() -> u64 {
    42
}

/// How an external file is laid out.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExternalFormat {
    /// A CSV with a header; `text_column` and `label_column` name the columns.
    Csv,
    /// `{"text": …, "label": …}` per line.
    Jsonl,
    /// Token TAB … TAB BIO tag, blank lines between sentences; `-DOCSTART-` lines are skipped.
    Conll,
    /// `id TAB score TAB text` without a header (the VADER gold files: mean human rating in
    /// [-4, 4]); `thresholds` and `bands` turn the score into a class.
    ScoredTsv,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalSet {
    pub name: String,
    /// The model's task (head) this set is scored with.
    pub task: String,
    pub file: PathBuf,
    pub format: ExternalFormat,
    #[serde(default = "d_text")]
    pub text_column: String,
    #[serde(default = "d_label")]
    pub label_column: String,
    /// Sentence sets: the set's label → the model's class. Predictions are restricted to the
    /// classes mapped to, so a binary set is scored as a binary task.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `scored_tsv`: ascending cut points over the score …
    #[serde(default)]
    pub thresholds: Vec<f64>,
    /// … and the class of each band (one more than `thresholds`), lowest band first.
    #[serde(default)]
    pub bands: Vec<String>,
    /// Token sets: the set's entity type → a shared type; types left out are dropped.
    #[serde(default)]
    pub gold_types: BTreeMap<String, String>,
    /// Token sets: the model's entity type → a shared type; types left out are dropped.
    #[serde(default)]
    pub model_types: BTreeMap<String, String>,
    /// Score a seeded sample of at most this many examples.
    #[serde(default)]
    pub max_examples: Option<usize>,
}

fn d_text() -> String {
    "text".into()
}

fn d_label() -> String {
    "label".into()
}

impl OodConfig {
    /// Reads and checks the file; errors name it (and TOML's line and column).
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let cfg: OodConfig =
            toml::from_str(&text).with_context(|| format!("{} does not parse", path.display()))?;
        if cfg.sets.is_empty() {
            bail!("{} declares no [[sets]]", path.display());
        }
        for s in &cfg.sets {
            s.check()
                .with_context(|| format!("{}: set {:?}", path.display(), s.name))?;
        }
        Ok(cfg)
    }
}

impl ExternalSet {
    pub fn is_token(&self) -> bool {
        self.format == ExternalFormat::Conll
    }

    /// The declarations a set's format needs are present and consistent.
    fn check(&self) -> Result<()> {
        match self.format {
            ExternalFormat::Conll if self.gold_types.is_empty() || self.model_types.is_empty() => {
                bail!("a CoNLL set needs `gold_types` and `model_types` (the shared types both map to)")
            }
            ExternalFormat::ScoredTsv if self.bands.len() != self.thresholds.len() + 1 => bail!(
                "`bands` needs one class more than `thresholds` ({} thresholds, {} bands)",
                self.thresholds.len(),
                self.bands.len()
            ),
            ExternalFormat::ScoredTsv if self.thresholds.windows(2).any(|w| w[0] >= w[1]) => {
                bail!("`thresholds` must ascend")
            }
            ExternalFormat::Csv | ExternalFormat::Jsonl if self.labels.is_empty() => {
                bail!("a sentence set needs `labels` (its label → the model's class)")
            }
            _ => Ok(()),
        }
    }

    /// The model classes a sentence set is scored over, in the model's order.
    pub fn classes(&self, model_labels: &[String]) -> Result<Vec<String>> {
        let named: Vec<&String> = match self.format {
            ExternalFormat::ScoredTsv => self.bands.iter().collect(),
            _ => self.labels.values().collect(),
        };
        if let Some(missing) = named.iter().find(|l| !model_labels.contains(l)) {
            bail!(
                "set {:?} maps onto class {missing:?}, which the model lacks (its classes: {model_labels:?})",
                self.name
            );
        }
        Ok(model_labels
            .iter()
            .filter(|l| named.contains(l))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_declares_every_set_completely() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/ood.toml");
        let cfg = OodConfig::load(&path).unwrap();
        let names: Vec<&str> = cfg.sets.iter().map(|s| s.name.as_str()).collect();
        for want in [
            "vader-tweets",
            "imdb+rotten-tomatoes",
            "wnut17-test",
            "tweebank-test",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        let sentiment = ["negative".to_string(), "neutral".into(), "positive".into()];
        for s in cfg.sets.iter().filter(|s| !s.is_token()) {
            assert_eq!(
                s.classes(&sentiment).unwrap().len(),
                if s.bands.is_empty() { 2 } else { 3 }
            );
        }
    }

    #[test]
    fn bands_must_outnumber_thresholds_by_one() {
        let text = "[[sets]]\nname = \"v\"\ntask = \"s\"\nfile = \"f\"\nformat = \"scored_tsv\"\nthresholds = [0.0]\nbands = [\"a\", \"b\", \"c\"]\n";
        let dir = std::env::temp_dir().join(format!("glassbox-ood-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let e = format!("{:#}", OodConfig::load(&path).unwrap_err());
        assert!(e.contains("bad.toml") && e.contains("\"v\""), "{e}");
    }
}
