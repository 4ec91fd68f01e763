//! The gate's statistics against scipy and numpy (`tests/reference/gate_reference.py`):
//! McNemar's exact p-value against `scipy.stats.binomtest` over a grid of tables, and the
//! paired bootstrap intervals against a numpy percentile bootstrap of the same seeded data.
//! Python comes from the project's `.venv` when it exists, else `python3`; scipy missing is
//! a failure, not a skip.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use super::bootstrap::{percentile_bootstrap, Interval, Resampling};
use super::mcnemar::exact_p_value;
use super::pairs::{PairedSentences, PairedSpans};

fn reference(cases: &Value) -> Value {
    crate::python_reference::run("gate_reference.py", cases)
}

/// (b, c) tables from tiny to tens of thousands of discordant items.
const TABLES: [(usize, usize); 14] = [
    (1, 9),
    (0, 1),
    (3, 3),
    (4, 11),
    (17, 30),
    (30, 17),
    (50, 80),
    (123, 124),
    (400, 470),
    (1000, 1100),
    (5000, 5400),
    (19_900, 20_100),
    (9_000, 11_000),
    (0, 60),
];

/// Seeded paired sentence predictions: the challenger fixes some of the champion's errors
/// and makes a few of its own.
fn sentences(n: usize, rng: &mut ChaCha8Rng) -> PairedSentences {
    let k = 3;
    let gold: Vec<usize> = (0..n).map(|_| rng.random_range(0..k)).collect();
    let mut guess = |g: usize, p_right: f64| {
        if rng.random_bool(p_right) {
            g
        } else {
            (g + rng.random_range(1..k)) % k
        }
    };
    let champion: Vec<usize> = gold.iter().map(|&g| guess(g, 0.72)).collect();
    let challenger: Vec<usize> = gold
        .iter()
        .zip(&champion)
        .map(|(&g, &c)| {
            if c == g {
                guess(g, 0.93)
            } else {
                guess(g, 0.45)
            }
        })
        .collect();
    PairedSentences {
        labels: ["neg", "neu", "pos"].map(String::from).to_vec(),
        gold,
        champion,
        challenger,
    }
}

/// A well-formed BIO sentence of `len` words with one- or two-word entities.
fn gold_tags(len: usize, rng: &mut ChaCha8Rng) -> Vec<String> {
    let mut tags = vec!["O".to_string(); len];
    let mut i = 0;
    while i < len {
        if rng.random_bool(0.2) {
            let kind = ["person", "loc"][rng.random_range(0..2)];
            tags[i] = format!("B-{kind}");
            if i + 1 < len && rng.random_bool(0.4) {
                tags[i + 1] = format!("I-{kind}");
                i += 1;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    tags
}

/// A prediction: each gold entity kept with probability `keep`, else dropped or retyped;
/// an occasional spurious one-word entity.
fn predicted_tags(gold: &[String], keep: f64, rng: &mut ChaCha8Rng) -> Vec<String> {
    let mut p = gold.to_vec();
    for i in 0..p.len() {
        if p[i].starts_with("B-") && !rng.random_bool(keep) {
            let retype = rng.random_bool(0.5);
            let new = |t: &str| match (retype, t.split_at(2)) {
                (true, (bi, "person")) => format!("{bi}loc"),
                (true, (bi, _)) => format!("{bi}person"),
                (false, _) => "O".to_string(),
            };
            p[i] = new(&p[i]);
            if i + 1 < p.len() && p[i + 1].starts_with("I-") {
                p[i + 1] = new(&p[i + 1]);
            }
        } else if p[i] == "O" && rng.random_bool(0.03) {
            p[i] = "B-loc".to_string();
        }
    }
    p
}

fn spans(n: usize, rng: &mut ChaCha8Rng) -> PairedSpans {
    let gold: Vec<Vec<String>> = (0..n)
        .map(|_| {
            let len = rng.random_range(5..15);
            gold_tags(len, rng)
        })
        .collect();
    let champion = gold.iter().map(|g| predicted_tags(g, 0.6, rng)).collect();
    let challenger = gold.iter().map(|g| predicted_tags(g, 0.7, rng)).collect();
    PairedSpans {
        gold,
        champion,
        challenger,
    }
}

const RESAMPLES: usize = 4000;
const LEVEL: f64 = 0.95;

fn resampling(seed: u64) -> Resampling {
    Resampling {
        resamples: RESAMPLES,
        level: LEVEL,
        seed,
    }
}

/// Same point difference exactly; interval ends within a quarter of the bootstrap standard
/// deviation (about four Monte-Carlo standard errors at 4000 resamples on each side).
fn assert_agrees(what: &str, ours: Interval, numpy: &Value) {
    let f = |k: &str| numpy[k].as_f64().unwrap();
    assert!(
        (ours.point - f("point")).abs() < 1e-12,
        "{what}: point {ours:?} vs {numpy}"
    );
    let tol = 0.25 * f("std");
    assert!(f("std") > 0.0, "{what}: degenerate reference {numpy}");
    for (end, v) in [("low", ours.low), ("high", ours.high)] {
        assert!(
            (v - f(end)).abs() < tol,
            "{what}: {end} {v} vs numpy {numpy} (tolerance {tol})"
        );
    }
}

#[test]
fn statistics_agree_with_scipy_and_numpy() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let s = sentences(600, &mut rng);
    let sp = spans(250, &mut rng);
    let cases = json!({
        "binomtest": TABLES.iter().map(|&(b, c)| json!([b, c])).collect::<Vec<_>>(),
        "sentences": {"labels": s.labels, "gold": s.gold, "champion": s.champion,
                       "challenger": s.challenger, "resamples": RESAMPLES, "level": LEVEL, "seed": 3},
        "spans": {"gold": sp.gold, "champion": sp.champion, "challenger": sp.challenger,
                  "resamples": RESAMPLES, "level": LEVEL, "seed": 4},
    });
    let r = reference(&cases);
    for (&(b, c), want) in TABLES.iter().zip(r["binomtest"].as_array().unwrap()) {
        let (ours, want) = (exact_p_value(b, c), want.as_f64().unwrap());
        let rel = (ours - want).abs() / want.max(f64::MIN_POSITIVE);
        assert!(rel < 1e-9, "b={b} c={c}: {ours:e} vs scipy {want:e}");
    }
    let ours = percentile_bootstrap(s.len(), resampling(3), |i| s.macro_f1_difference(i)).unwrap();
    assert_agrees("macro-F1", ours, &r["sentences"]);
    let ours = percentile_bootstrap(sp.len(), resampling(4), |i| sp.span_f1_difference(i)).unwrap();
    assert_agrees("span F1", ours, &r["spans"]);
}
