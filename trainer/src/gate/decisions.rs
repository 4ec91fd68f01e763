//! The gate's decision on constructed paired predictions whose answer is known: a truly
//! better challenger passes; an identical or worse one does not; one better on sentences but
//! worse on entity spans fails on the span checks.

use super::pairs::{PairedSentences, PairedSpans};
use super::{judge, GateItems, GateRules};

const N: usize = 600;

/// Gold `i % 3`; a model that is wrong exactly on the items `wrong(i)` says `(gold + 1) % 3`.
fn model(wrong: impl Fn(usize) -> bool) -> Vec<usize> {
    (0..N)
        .map(|i| if wrong(i) { (i + 1) % 3 } else { i % 3 })
        .collect()
}

fn sentences(
    champion_wrong: fn(usize) -> bool,
    challenger_wrong: fn(usize) -> bool,
) -> PairedSentences {
    PairedSentences {
        labels: ["neg", "neu", "pos"].map(String::from).to_vec(),
        gold: (0..N).map(|i| i % 3).collect(),
        champion: model(champion_wrong),
        challenger: model(challenger_wrong),
    }
}

fn tags(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

/// 200 tweets with a person and a company each; `challenger_misses(i)` drops tweet i's person.
fn spans(challenger_misses: fn(usize) -> bool) -> PairedSpans {
    let gold: Vec<Vec<String>> = (0..200)
        .map(|_| tags("O B-person I-person O B-company"))
        .collect();
    let challenger = (0..200)
        .map(|i| {
            if challenger_misses(i) {
                tags("O O O O B-company")
            } else {
                gold[i].clone()
            }
        })
        .collect();
    PairedSpans {
        champion: gold.clone(),
        challenger,
        gold,
    }
}

fn rules() -> GateRules {
    GateRules {
        resamples: 500,
        ..GateRules::default()
    }
}

/// The champion is wrong on 30% of the sentences (i % 10 < 3).
fn champion_wrong(i: usize) -> bool {
    i % 10 < 3
}

fn failed(items: &GateItems, rules: &GateRules) -> Vec<String> {
    let (_, d) = judge(items, rules).unwrap();
    assert_eq!(d.passed, d.failed_checks().count() == 0);
    d.failed_checks().map(|c| c.name.clone()).collect()
}

#[test]
fn truly_better_challenger_passes() {
    // Wrong on 10% only, a subset of the champion's errors: b = 0, c = 120.
    let items = GateItems {
        sentences: Some(sentences(champion_wrong, |i| i % 10 == 0)),
        spans: Some(spans(|_| false)),
    };
    let (stats, d) = judge(&items, &rules()).unwrap();
    assert!(d.passed, "{:#?}", d.checks);
    let m = stats.mcnemar.unwrap();
    assert_eq!((m.champion_only, m.challenger_only), (0, 120));
    // 2 · 2^-120 (the only term of the tail).
    let want = 2.0 * 0.5f64.powi(120);
    assert!((m.p_value - want).abs() < 1e-12 * want, "{}", m.p_value);
    // Macro-F1 0.7 → 0.9: every class has recall and precision equal to the accuracy here.
    let f = stats.macro_f1.unwrap();
    assert!((f.champion - 0.7).abs() < 1e-12 && (f.challenger - 0.9).abs() < 1e-12);
    assert!(f.difference.low > 0.1 && f.difference.high < 0.3, "{f:?}");
}

#[test]
fn identical_challenger_fails_on_mcnemar() {
    let items = GateItems {
        sentences: Some(sentences(champion_wrong, champion_wrong)),
        spans: Some(spans(|_| false)),
    };
    let (stats, d) = judge(&items, &rules()).unwrap();
    assert_eq!(stats.mcnemar.unwrap().p_value, 1.0);
    let f = stats.macro_f1.unwrap().difference;
    assert_eq!((f.point, f.low, f.high), (0.0, 0.0, 0.0));
    let names: Vec<&str> = d.failed_checks().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["mcnemar"]);
    // Without McNemar, asking for any improvement still refuses a copy.
    let mut r = rules();
    r.require_mcnemar = false;
    r.macro_f1.min_improvement = 0.001;
    assert_eq!(failed(&items, &r), ["macro_f1 improvement"]);
}

#[test]
fn worse_challenger_fails() {
    // Wrong on 50% of the sentences (a superset of the champion's errors).
    let items = GateItems {
        sentences: Some(sentences(champion_wrong, |i| i % 10 < 5)),
        spans: None,
    };
    assert_eq!(
        failed(&items, &rules()),
        ["mcnemar", "macro_f1 improvement", "macro_f1 regression"]
    );
}

#[test]
fn better_sentences_but_worse_spans_fails_on_spans() {
    let items = GateItems {
        sentences: Some(sentences(champion_wrong, |i| i % 10 == 0)),
        // Half the persons missed: span F1 1.0 → tp 300 of 400 gold, 300 predicted = 6/7.
        spans: Some(spans(|i| i % 2 == 0)),
    };
    let (stats, d) = judge(&items, &rules()).unwrap();
    let s = stats.span_f1.unwrap();
    assert!((s.challenger - 6.0 / 7.0).abs() < 1e-12, "{s:?}");
    let failed: Vec<_> = d.failed_checks().collect();
    assert_eq!(failed.len(), 2, "{failed:#?}");
    assert_eq!(failed[0].name, "span_f1 improvement");
    assert!(
        failed[0].reason.contains("span_f1 difference -0.1429"),
        "{}",
        failed[0].reason
    );
    assert_eq!(failed[1].name, "span_f1 regression");
    assert!(failed[1]
        .reason
        .contains("falls below the allowed regression -0.0200"));
}

#[test]
fn missing_sentence_task_fails_only_when_mcnemar_is_required() {
    let items = GateItems {
        sentences: None,
        spans: Some(spans(|_| false)),
    };
    assert_eq!(failed(&items, &rules()), ["mcnemar"]);
    let r = GateRules {
        require_mcnemar: false,
        ..rules()
    };
    assert!(failed(&items, &r).is_empty());
}
