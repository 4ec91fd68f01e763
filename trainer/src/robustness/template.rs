//! Templates with `{lexicon}` slots and their expansion. A filled template keeps its pieces
//! (literal text and slot values apart), so a perturbation can swap one slot's value and a
//! test can find the characters a slot's value occupies, after any perturbation.

use anyhow::{bail, Context, Result};
use rand::seq::index::sample;
use rand::Rng;

pub use glassbox_model::text::perturb::{Filled, Lexicons, Piece};

/// A parsed template: literal text and slot names in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Slot(String),
}

impl Template {
    /// Parses `{name}` slots; a `{` without its `}`, a stray `}` or an empty name is an error.
    pub fn parse(source: &str) -> Result<Self> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                bail!("template {source:?} has a '}}' without its '{{'");
            }
            let close = rest[open..]
                .find('}')
                .with_context(|| format!("template {source:?} has a '{{' without its '}}'"))?;
            let name = rest[open + 1..open + close].trim();
            if name.is_empty() || name.contains('{') {
                bail!("template {source:?} has an empty or nested slot");
            }
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            parts.push(Part::Slot(name.to_string()));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Slot names in order of appearance (a name used twice is listed twice).
    pub fn slots(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Slot(s) => Some(s.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// How many sentences the template expands to: the product of its lexicons' sizes.
    pub fn count(&self, lexicons: &Lexicons) -> Result<usize> {
        self.slots().try_fold(1usize, |n, s| {
            let k = lexicons.get(s).map_or(0, Vec::len);
            n.checked_mul(k)
                .with_context(|| format!("template {:?} expands to too many cases", self.source))
        })
    }

    /// The `index`-th sentence of the Cartesian product, the last slot varying fastest.
    fn fill(&self, lexicons: &Lexicons, mut index: usize) -> Filled {
        let mut pieces: Vec<Piece> = Vec::with_capacity(self.parts.len());
        for part in self.parts.iter().rev() {
            pieces.push(match part {
                Part::Literal(t) => Piece::literal(t.clone()),
                Part::Slot(s) => {
                    let words = &lexicons[s];
                    let w = &words[index % words.len()];
                    index /= words.len();
                    Piece {
                        text: w.clone(),
                        slot: Some(s.clone()),
                    }
                }
            });
        }
        pieces.reverse();
        Filled { pieces }
    }
}

/// Every sentence of the templates' Cartesian products, in order, or `cap` of them drawn
/// without replacement with `rng` (kept in product order) when there are more. Every slot
/// must name a non-empty lexicon (the suite checks that when it is read).
pub fn expand(
    templates: &[Template],
    lexicons: &Lexicons,
    cap: usize,
    rng: &mut impl Rng,
) -> Result<Vec<Filled>> {
    let counts: Vec<usize> = templates
        .iter()
        .map(|t| t.count(lexicons))
        .collect::<Result<_>>()?;
    let total = counts
        .iter()
        .try_fold(0usize, |a, &n| a.checked_add(n))
        .context("the templates expand to too many cases")?;
    let indices: Vec<usize> = if total <= cap {
        (0..total).collect()
    } else {
        let mut keep = sample(rng, total, cap).into_vec();
        keep.sort_unstable();
        keep
    };
    Ok(indices
        .into_iter()
        .map(|i| locate(templates, &counts, i, lexicons))
        .collect())
}

/// The `i`-th sentence over all templates' products laid end to end.
fn locate(templates: &[Template], counts: &[usize], mut i: usize, lexicons: &Lexicons) -> Filled {
    for (t, &n) in templates.iter().zip(counts) {
        if i < n {
            return t.fill(lexicons, i);
        }
        i -= n;
    }
    unreachable!("index within the sum of the counts")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn lexicons() -> Lexicons {
        let mut l = Lexicons::new();
        l.insert("thing".into(), vec!["phone".into(), "movie".into()]);
        l.insert(
            "adj".into(),
            vec!["good".into(), "bad".into(), "fine".into()],
        );
        l
    }

    fn texts(f: &[Filled]) -> Vec<String> {
        f.iter().map(Filled::text).collect()
    }

    #[test]
    fn parsing_splits_literals_and_slots() {
        let t = Template::parse("This {thing} is { adj }.").unwrap();
        assert_eq!(t.slots().collect::<Vec<_>>(), ["thing", "adj"]);
        let plain = Template::parse("No slots here.").unwrap();
        assert_eq!(plain.slots().count(), 0);
        assert_eq!(plain.count(&lexicons()).unwrap(), 1);
    }

    #[test]
    fn unbalanced_or_empty_slots_are_errors() {
        for bad in [
            "This {thing is",
            "This thing} is",
            "An {} slot",
            "A {{nested}} slot",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn the_product_is_complete_and_ordered_with_the_last_slot_fastest() {
        let t = [Template::parse("This {thing} is {adj}.").unwrap()];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let got = expand(&t, &lexicons(), 100, &mut rng).unwrap();
        assert_eq!(
            texts(&got),
            [
                "This phone is good.",
                "This phone is bad.",
                "This phone is fine.",
                "This movie is good.",
                "This movie is bad.",
                "This movie is fine.",
            ]
        );
    }

    #[test]
    fn several_templates_add_their_products() {
        // 2 × 3 + 3 × 3 + 1 = 16
        let t: Vec<Template> = ["{thing} {adj}", "{adj} {adj}", "plain"]
            .iter()
            .map(|s| Template::parse(s).unwrap())
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let got = expand(&t, &lexicons(), 100, &mut rng).unwrap();
        assert_eq!(got.len(), 16);
        assert_eq!(got[6].text(), "good good");
        assert_eq!(got[15].text(), "plain");
    }

    #[test]
    fn a_capped_expansion_is_a_seeded_sample_without_repeats() {
        let t = [Template::parse("{thing} {adj} {adj}").unwrap()]; // 18 cases
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            texts(&expand(&t, &lexicons(), 5, &mut rng).unwrap())
        };
        let a = draw(7);
        assert_eq!(a.len(), 5);
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
        let mut unique = a.clone();
        unique.dedup();
        assert_eq!(unique.len(), 5);
    }

    #[test]
    fn slot_spans_are_character_offsets() {
        let t = [Template::parse("Élan {thing}, {adj}").unwrap()];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let f = &expand(&t, &lexicons(), 1, &mut rng).unwrap()[0];
        let text: Vec<char> = f.text().chars().collect();
        let (s, e) = f.slot_span("adj").unwrap();
        let value: String = text[s..e].iter().collect();
        assert!(lexicons()["adj"].contains(&value), "{value}");
        assert_eq!(f.slot_span("thing").unwrap().0, 5);
        assert_eq!(f.slot_span("missing"), None);
    }
}
