//! What a word may be replaced with: its WordNet synonyms (TextFooler's word swaps, with
//! WordNet in place of counter-fitted embeddings) and one-character edits in the style of
//! DeepWordBug (Gao et al. 2018): two adjacent letters swapped, a letter deleted, substituted
//! or inserted. Function words, numbers and punctuation are never touched, as in TextAttack's
//! recipes (its stopword constraint).

use rand::seq::index::sample;
use rand::Rng;
use serde::Serialize;

use crate::data::augment::is_stopword;
use crate::data::wordnet::Lexicon;

/// Which substitutions the search may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// WordNet synonyms.
    Synonym,
    /// One-character edits.
    Char,
    /// Both.
    Both,
}

/// Candidate replacements for one word.
pub struct Candidates<'a> {
    pub method: Method,
    /// Needed unless `method` is `Char`.
    pub lexicon: Option<&'a Lexicon>,
    /// At most this many candidates per word (a seeded sample when there are more).
    pub per_word: usize,
}

impl Candidates<'_> {
    /// The candidates for `word`, synonyms first, none equal to it up to case (the encoder is
    /// uncased, so a change of case changes nothing).
    pub fn of(&self, word: &str, rng: &mut impl Rng) -> Vec<String> {
        if !attackable(word) {
            return Vec::new();
        }
        let mut out: Vec<String> = Vec::new();
        if let (Method::Synonym | Method::Both, Some(lex)) = (self.method, self.lexicon) {
            out.extend(synonyms(lex, word));
        }
        if matches!(self.method, Method::Char | Method::Both) {
            out.extend(char_edits(word, rng));
        }
        let lower = word.to_lowercase();
        let mut seen = std::collections::HashSet::new();
        out.retain(|c| c.to_lowercase() != lower && seen.insert(c.to_lowercase()));
        cap(out, self.per_word, rng)
    }
}

/// A content word: at least two letters, nothing but letters, not a function word.
pub fn attackable(word: &str) -> bool {
    word.chars().count() >= 2 && word.chars().all(char::is_alphabetic) && !is_stopword(word)
}

/// Single-word WordNet synonyms, capitalised like `word`.
fn synonyms(lex: &Lexicon, word: &str) -> Vec<String> {
    let capital = word.chars().next().is_some_and(char::is_uppercase);
    lex.synonyms(word)
        .iter()
        .filter(|s| s.chars().all(char::is_alphabetic))
        .map(|s| if capital { capitalise(s) } else { s.clone() })
        .collect()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Every adjacent swap and deletion, and one random substitution per position and one random
/// insertion per gap (letters keep the case of their neighbour).
fn char_edits(word: &str, rng: &mut impl Rng) -> Vec<String> {
    let w: Vec<char> = word.chars().collect();
    let join = |v: Vec<char>| v.into_iter().collect::<String>();
    let mut out = Vec::new();
    for i in 0..w.len().saturating_sub(1) {
        if w[i] != w[i + 1] {
            let mut v = w.clone();
            v.swap(i, i + 1);
            out.push(join(v));
        }
    }
    for i in 0..w.len() {
        let mut v = w.clone();
        v.remove(i);
        out.push(join(v));
    }
    for i in 0..w.len() {
        let mut v = w.clone();
        v[i] = letter_like(w[i], rng, Some(w[i]));
        out.push(join(v));
    }
    for i in 0..=w.len() {
        let mut v = w.clone();
        v.insert(i, letter_like(w[i.min(w.len() - 1)], rng, None));
        out.push(join(v));
    }
    out
}

/// A random ASCII letter in the case of `like`, other than `not`.
fn letter_like(like: char, rng: &mut impl Rng, not: Option<char>) -> char {
    loop {
        let c = (b'a' + rng.random_range(0..26u8)) as char;
        let c = if like.is_uppercase() {
            c.to_ascii_uppercase()
        } else {
            c
        };
        if Some(c) != not {
            return c;
        }
    }
}

/// `v` itself, or `n` of it drawn with `rng`, in their original order.
fn cap(v: Vec<String>, n: usize, rng: &mut impl Rng) -> Vec<String> {
    if v.len() <= n {
        return v;
    }
    let mut keep = sample(rng, v.len(), n).into_vec();
    keep.sort_unstable();
    keep.into_iter().map(|i| v[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Whether `b` is `a` with two adjacent characters swapped, or one deleted, substituted
    /// or inserted.
    fn one_edit(a: &str, b: &str) -> bool {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let without = |v: &[char], i: usize| [&v[..i], &v[i + 1..]].concat();
        match b.len() as isize - a.len() as isize {
            -1 => (0..a.len()).any(|i| without(&a, i) == b),
            1 => (0..b.len()).any(|i| without(&b, i) == a),
            0 => {
                let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
                match diff[..] {
                    [_] => true,
                    [i, j] => j == i + 1 && a[i] == b[j] && a[j] == b[i],
                    _ => false,
                }
            }
            _ => false,
        }
    }

    fn chars_only(per_word: usize) -> Candidates<'static> {
        Candidates {
            method: Method::Char,
            lexicon: None,
            per_word,
        }
    }

    #[test]
    fn char_edits_are_one_edit_away_and_cover_the_four_kinds() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let c = chars_only(usize::MAX).of("good", &mut rng);
        assert!(c.iter().all(|e| one_edit("good", e)), "{c:?}");
        // swaps: ogod, godo (oo is no swap); deletions: ood, god (twice, kept once), goo
        for want in ["ogod", "godo", "ood", "god", "goo"] {
            assert!(c.contains(&want.to_string()), "{want} missing from {c:?}");
        }
        assert!(c.iter().any(|e| e.len() == 5), "an insertion");
        assert!(
            c.iter()
                .any(|e| e.len() == 4 && !["ogod", "godo"].contains(&e.as_str())),
            "a substitution"
        );
        assert_eq!(
            c.len(),
            c.iter().collect::<std::collections::HashSet<_>>().len()
        );
    }

    #[test]
    fn candidates_are_capped_by_a_seeded_sample() {
        let pick = |seed| chars_only(5).of("terrible", &mut ChaCha8Rng::seed_from_u64(seed));
        assert_eq!(pick(3).len(), 5);
        assert_eq!(pick(3), pick(3));
        assert!((0..6).any(|s| pick(s) != pick(3)));
    }

    #[test]
    fn synonyms_keep_the_capital_and_skip_phrases_and_case_twins() {
        let lex =
            Lexicon::from_groups(&[&["good", "Good", "beneficial", "well_made", "dependable"]]);
        let c = Candidates {
            method: Method::Synonym,
            lexicon: Some(&lex),
            per_word: 10,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(c.of("Good", &mut rng), ["Beneficial", "Dependable"]);
        assert_eq!(c.of("good", &mut rng), ["beneficial", "dependable"]);
    }

    #[test]
    fn function_words_numbers_and_punctuation_are_left_alone() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for w in ["the", "not", "42", "!", "a", "e-mail"] {
            assert!(chars_only(10).of(w, &mut rng).is_empty(), "{w}");
        }
        assert!(!chars_only(10).of("movie", &mut rng).is_empty());
    }
}
