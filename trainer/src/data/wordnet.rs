//! Synonyms from the Princeton WordNet database files (`data.noun`, `data.verb`, `data.adj`,
//! `data.adv`) as Debian's `wordnet-base` package installs them. Two words are synonyms when
//! they share a synset; multi-word lemmas (`ice_cream`) become space-separated phrases.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};

const FILES: [&str; 4] = ["data.noun", "data.verb", "data.adj", "data.adv"];

#[derive(Debug, Default, Clone)]
pub struct Lexicon {
    synonyms: HashMap<String, Vec<String>>,
}

/// `happy(a)` → `happy`, `ice_cream` → `ice cream`, lower-cased.
fn lemma(raw: &str) -> String {
    let base = raw.split('(').next().unwrap_or(raw);
    base.replace('_', " ").to_lowercase()
}

impl Lexicon {
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.join(FILES[0]).is_file() {
            bail!(
                "WordNet is not installed at {} (Debian: apt-get install wordnet-base; or set augment.wordnet to the directory holding data.noun)",
                dir.display()
            );
        }
        let mut sets: HashMap<String, BTreeSet<String>> = HashMap::new();
        for f in FILES {
            let path = dir.join(f);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                // The licence header lines start with spaces.
                if line.starts_with(' ') || line.is_empty() {
                    continue;
                }
                let fields: Vec<&str> = line.split(' ').collect();
                let count = fields
                    .get(3)
                    .and_then(|c| usize::from_str_radix(c, 16).ok())
                    .with_context(|| {
                        format!("{}:{}: not a WordNet synset line", path.display(), n + 1)
                    })?;
                let words: Vec<String> = (0..count)
                    .filter_map(|i| fields.get(4 + 2 * i).map(|w| lemma(w)))
                    .collect();
                for w in &words {
                    let entry = sets.entry(w.clone()).or_default();
                    entry.extend(words.iter().filter(|o| *o != w).cloned());
                }
            }
        }
        Ok(Self {
            synonyms: sets
                .into_iter()
                .filter(|(_, s)| !s.is_empty())
                .map(|(w, s)| (w, s.into_iter().collect()))
                .collect(),
        })
    }

    /// A lexicon from explicit synonym groups (tests).
    #[cfg(test)]
    pub fn from_groups(groups: &[&[&str]]) -> Self {
        let mut sets: HashMap<String, BTreeSet<String>> = HashMap::new();
        for g in groups {
            for w in *g {
                let e = sets.entry(w.to_lowercase()).or_default();
                e.extend(g.iter().filter(|o| *o != w).map(|o| o.to_lowercase()));
            }
        }
        Self {
            synonyms: sets
                .into_iter()
                .map(|(w, s)| (w, s.into_iter().collect()))
                .collect(),
        }
    }

    /// Synonyms of `word` (case-insensitive), sorted, so seeded picks are reproducible.
    pub fn synonyms(&self, word: &str) -> &[String] {
        self.synonyms
            .get(&word.to_lowercase())
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }

    /// Lemmas with at least one synonym (tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.synonyms.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_installed_wordnet() {
        // Debian's wordnet-base, installed by scripts/setup.sh. Expectations are WordNet 3.0
        // synsets: {happy, felicitous, glad}, {car, auto, automobile, machine, motorcar}.
        let lex = Lexicon::load(Path::new("/usr/share/wordnet")).unwrap();
        assert!(lex.len() > 100_000, "{} lemmas", lex.len());
        for (w, s) in [
            ("happy", "felicitous"),
            ("happy", "glad"),
            ("car", "automobile"),
            ("Car", "motorcar"),
        ] {
            assert!(
                lex.synonyms(w).iter().any(|x| x == s),
                "{w}: {:?}",
                lex.synonyms(w)
            );
        }
        assert!(lex.synonyms("ice cream").iter().any(|x| x == "icecream"));
        assert!(lex.synonyms("the").is_empty());
    }

    #[test]
    fn a_missing_database_says_how_to_install_it() {
        let e = Lexicon::load(Path::new("/nonexistent/wordnet"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("wordnet-base") && e.contains("augment.wordnet"),
            "{e}"
        );
    }
}
