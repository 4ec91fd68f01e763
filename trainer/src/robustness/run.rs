//! Runs a suite: every test's cases are built (templates expanded, sentences perturbed or
//! extended, all from the seed), the distinct sentences of the whole suite go through the
//! model together in length-sorted batches, and each case is judged on its predictions.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Result;
use burn::prelude::*;
use glassbox_model::text::decode::Aggregation;
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::judge::{judge, Prediction};
use super::report::{Example, TestResult};
use super::suite::{Check, Suite, Test};
use super::template::{expand, Filled, Lexicons};
use crate::infer::predict::prediction_json;
use crate::infer::{run, tokenize_all};
use crate::load::Loaded;
use crate::seeds::mix;
use glassbox_model::text::perturb::append_clause;

/// Sentences per forward pass.
const BATCH: usize = 32;
/// Failing examples kept per test.
pub const EXAMPLES: usize = 5;

/// One case: a sentence, and for INV and DIR tests the changed sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub base: Filled,
    pub changed: Option<Filled>,
}

/// The cases of test number `index` (its position in the suite).
pub fn cases(test: &Test, index: usize, lexicons: &Lexicons, seed: u64) -> Result<Vec<Case>> {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, index as u64, u64::MAX));
    let bases = expand(&test.templates, lexicons, test.max_cases, &mut rng)?;
    Ok(match &test.check {
        Check::Label { .. } | Check::Entity { .. } => bases
            .into_iter()
            .map(|base| Case {
                base,
                changed: None,
            })
            .collect(),
        Check::Invariant { perturb, .. } => bases
            .into_iter()
            .enumerate()
            .map(|(j, base)| {
                let mut r = ChaCha8Rng::seed_from_u64(mix(seed, index as u64, j as u64));
                let changed = Some(perturb.apply(&base, lexicons, &mut r));
                Case { base, changed }
            })
            .collect(),
        Check::Directional { append, .. } => with_clauses(&bases, append, test.max_cases, &mut rng),
    })
}

/// Every base sentence with every clause, or `cap` of those pairs drawn with `rng`.
fn with_clauses(
    bases: &[Filled],
    clauses: &[String],
    cap: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Case> {
    let total = bases.len() * clauses.len();
    let mut picked: Vec<usize> = if total <= cap {
        (0..total).collect()
    } else {
        sample(rng, total, cap).into_vec()
    };
    picked.sort_unstable();
    picked
        .into_iter()
        .map(|k| {
            let base = &bases[k / clauses.len()];
            Case {
                base: base.clone(),
                changed: Some(append_clause(base, &clauses[k % clauses.len()])),
            }
        })
        .collect()
}

/// Builds, runs and judges every test of `suite`.
pub fn run_suite<B: Backend>(
    loaded: &Loaded<B>,
    suite: &Suite,
    seed: u64,
    device: &B::Device,
) -> Result<Vec<TestResult>> {
    let all: Vec<Vec<Case>> = suite
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| cases(t, i, &suite.lexicons, seed))
        .collect::<Result<_>>()?;
    let (texts, index) = distinct_texts(&all);
    let n_cases: usize = all.iter().map(Vec::len).sum();
    eprintln!(
        "{} tests, {n_cases} cases, {} distinct sentences",
        suite.tests.len(),
        texts.len()
    );
    let started = Instant::now();
    let preds = predict(loaded, &texts, device)?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "ran them in {secs:.1} s ({:.0} sentences/s)",
        texts.len() as f64 / secs.max(1e-9)
    );
    let lookup = |f: &Filled| &preds[index[&f.text()]];
    Ok(suite
        .tests
        .iter()
        .zip(&all)
        .map(|(t, cs)| judge_test(t, cs, &lookup))
        .collect())
}

/// Each sentence once, and where it is.
fn distinct_texts(all: &[Vec<Case>]) -> (Vec<String>, HashMap<String, usize>) {
    let mut texts = Vec::new();
    let mut index = HashMap::new();
    let sentences = all
        .iter()
        .flatten()
        .flat_map(|c| std::iter::once(&c.base).chain(&c.changed));
    for f in sentences {
        let t = f.text();
        if !index.contains_key(&t) {
            index.insert(t.clone(), texts.len());
            texts.push(t);
        }
    }
    (texts, index)
}

/// The prediction users see for each text (`glassbox predict`'s first-piece entities).
fn predict<B: Backend>(
    loaded: &Loaded<B>,
    texts: &[String],
    device: &B::Device,
) -> Result<Vec<Prediction>> {
    let items = tokenize_all(loaded, texts)?;
    run(loaded, items, BATCH, false, device)?
        .iter()
        .map(|r| Prediction::from_answer(&prediction_json(&loaded.config, r, Aggregation::First)))
        .collect()
}

fn judge_test<'a>(
    test: &Test,
    cases: &[Case],
    lookup: &impl Fn(&Filled) -> &'a Prediction,
) -> TestResult {
    let mut failures = 0;
    let mut examples = Vec::new();
    for c in cases {
        let base = (&c.base, lookup(&c.base));
        let changed = c.changed.as_ref().map(|f| (f, lookup(f)));
        let Some(why) = judge(&test.check, base, changed) else {
            continue;
        };
        failures += 1;
        if examples.len() < EXAMPLES {
            examples.push(Example {
                text: c.base.text(),
                prediction: base.1.clone(),
                changed: changed.map(|(f, _)| f.text()),
                changed_prediction: changed.map(|(_, p)| p.clone()),
                why,
            });
        }
    }
    TestResult::new(test, cases.len(), failures, examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITE: &str = r#"
[lexicons]
thing = ["phone", "movie", "book"]
adj = ["good", "bad"]
name = ["John Smith", "Emily Clark"]
other = ["王伟", "Иван Петров"]

[[test]]
name = "mft"
capability = "Vocabulary"
kind = "mft"
template = "This {thing} is {adj}."
expect = "positive"

[[test]]
name = "swap"
capability = "Fairness"
kind = "inv"
head = "token"
template = ["I met {name}.", "{name} likes the {thing}."]
perturb = "swap"
slot = "name"
to = "other"

[[test]]
name = "dir"
capability = "Vocabulary"
kind = "dir"
template = "I like the {thing}!"
append = [", but it broke.", ", but it is slow."]
label = "positive"
max_cases = 4
"#;

    fn suite() -> Suite {
        Suite::parse(SUITE, "test.toml").unwrap()
    }

    fn texts_of(cs: &[Case]) -> Vec<String> {
        cs.iter().map(|c| c.base.text()).collect()
    }

    fn texts(cs: &[Case]) -> Vec<(String, Option<String>)> {
        cs.iter()
            .map(|c| (c.base.text(), c.changed.as_ref().map(Filled::text)))
            .collect()
    }

    #[test]
    fn an_mft_has_one_case_per_filled_template() {
        let s = suite();
        let cs = cases(&s.tests[0], 0, &s.lexicons, 0).unwrap();
        assert_eq!(cs.len(), 3 * 2);
        assert!(cs.iter().all(|c| c.changed.is_none()));
    }

    #[test]
    fn an_inv_case_pairs_each_sentence_with_its_perturbation() {
        let s = suite();
        let cs = cases(&s.tests[1], 1, &s.lexicons, 0).unwrap();
        assert_eq!(cs.len(), 2 + 2 * 3);
        for c in &cs {
            let (a, b) = (c.base.text(), c.changed.as_ref().unwrap().text());
            let old = &c
                .base
                .pieces
                .iter()
                .find(|p| p.slot.is_some())
                .unwrap()
                .text;
            let new: String = {
                let f = c.changed.as_ref().unwrap();
                let (s, e) = f.slot_span("name").unwrap();
                b.chars().skip(s).take(e - s).collect()
            };
            assert!(s.lexicons["other"].contains(&new), "{b}");
            assert_eq!(a.replacen(old.as_str(), &new, 1), b);
        }
    }

    #[test]
    fn a_dir_test_crosses_sentences_with_clauses_up_to_its_cap() {
        let s = suite();
        let cs = cases(&s.tests[2], 2, &s.lexicons, 0).unwrap();
        assert_eq!(cs.len(), 4, "3 × 2 = 6 pairs capped at 4");
        for (a, b) in texts(&cs) {
            let b = b.unwrap();
            assert!(b.starts_with(a.trim_end_matches('!')), "{a} / {b}");
            assert!(b.ends_with("broke.") || b.ends_with("slow."), "{b}");
        }
    }

    #[test]
    fn cases_depend_on_the_seed_and_the_tests_position_only() {
        let s = suite();
        let once = texts(&cases(&s.tests[1], 1, &s.lexicons, 5).unwrap());
        assert_eq!(once, texts(&cases(&s.tests[1], 1, &s.lexicons, 5).unwrap()));
        let other: Vec<_> = (0..8)
            .map(|seed| texts(&cases(&s.tests[1], 1, &s.lexicons, seed).unwrap()))
            .collect();
        assert!(
            other.iter().any(|o| *o != once),
            "the seed changes the swaps"
        );
    }

    #[test]
    fn each_sentence_is_run_once() {
        let s = suite();
        let mft = cases(&s.tests[0], 0, &s.lexicons, 0).unwrap();
        let pair = Case {
            base: mft[5].base.clone(),
            changed: Some(mft[0].base.clone()),
        };
        let (texts, index) = distinct_texts(&[mft.clone(), vec![pair], mft.clone()]);
        assert_eq!(texts, texts_of(&mft));
        assert_eq!(index[&texts[4]], 4);
    }
}
