//! `glassbox ab-report`: per-arm metrics from an A/B log, with intervals, and whether the
//! arms differ.
//!
//! - **A/B** (different requests per arm): accuracy on the requests with feedback, with a
//!   Wilson 95% interval per arm; the difference (challenger − champion) with Newcombe's hybrid
//!   score interval; a pooled two-proportion z-test.
//! - **Shadow** (both models on the same requests): the paired outcomes go to McNemar's exact
//!   test, as in the gate; the agreement rate needs no feedback at all.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use serde::Serialize;

use super::log::Event;
use crate::gate::mcnemar::exact_p_value;

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// One arm's numbers.
#[derive(Debug, Serialize, PartialEq)]
pub struct ArmStats {
    pub arm: String,
    pub predictions: usize,
    pub mean_confidence: f64,
    pub class_shares: BTreeMap<String, f64>,
    /// Predictions with feedback, and how many were right.
    pub judged: usize,
    pub correct: usize,
    pub accuracy: Option<f64>,
    pub accuracy_ci95: Option<(f64, f64)>,
}

/// The comparison of the two arms.
#[derive(Debug, Serialize, PartialEq)]
pub struct Comparison {
    /// `ab` (independent requests) or `shadow` (paired).
    pub design: String,
    pub difference: Option<f64>,
    pub difference_ci95: Option<(f64, f64)>,
    pub p_value: Option<f64>,
    pub significant: bool,
    /// Shadow: McNemar's discordant counts (champion right only, challenger right only).
    pub discordant: Option<(usize, usize)>,
    /// Shadow: share of paired inputs where both models gave the same class.
    pub agreement: Option<f64>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct AbReport {
    pub arms: Vec<ArmStats>,
    pub comparison: Comparison,
    pub alpha: f64,
}

type Key = (String, usize);

/// The report of `events` at significance level `alpha`.
pub fn report(events: &[Event], alpha: f64) -> AbReport {
    let truth: HashMap<Key, &str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Feedback {
                request_id,
                index,
                label,
                ..
            } => Some(((request_id.clone(), *index), label.as_str())),
            _ => None,
        })
        .collect();
    let mut by_arm: BTreeMap<&str, Vec<(Key, &str, f64)>> = BTreeMap::new();
    for e in events {
        if let Event::Prediction {
            request_id,
            index,
            arm,
            label,
            confidence,
            ..
        } = e
        {
            by_arm
                .entry(arm)
                .or_default()
                .push(((request_id.clone(), *index), label, *confidence));
        }
    }
    let arms: Vec<ArmStats> = ["champion", "challenger", "shadow"]
        .iter()
        .filter_map(|a| by_arm.get(a).map(|p| arm_stats(a, p, &truth)))
        .collect();
    let comparison = if by_arm.contains_key("shadow") {
        shadow(&by_arm, &truth, alpha)
    } else {
        ab(&arms, alpha)
    };
    AbReport {
        arms,
        comparison,
        alpha,
    }
}

fn arm_stats(arm: &str, preds: &[(Key, &str, f64)], truth: &HashMap<Key, &str>) -> ArmStats {
    let n = preds.len();
    let mut shares: BTreeMap<String, f64> = BTreeMap::new();
    for (_, label, _) in preds {
        *shares.entry(label.to_string()).or_default() += 1.0 / n as f64;
    }
    let judged: Vec<bool> = preds
        .iter()
        .filter_map(|(k, l, _)| truth.get(k).map(|t| t == l))
        .collect();
    let correct = judged.iter().filter(|&&c| c).count();
    let accuracy = (!judged.is_empty()).then(|| correct as f64 / judged.len() as f64);
    ArmStats {
        arm: arm.into(),
        predictions: n,
        mean_confidence: preds.iter().map(|p| p.2).sum::<f64>() / n.max(1) as f64,
        class_shares: shares,
        judged: judged.len(),
        correct,
        accuracy,
        accuracy_ci95: (!judged.is_empty()).then(|| wilson(correct, judged.len())),
    }
}

/// Wilson score interval (95%) of `k` successes in `n`.
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    (centre - half, centre + half)
}

/// Independent arms: Newcombe's interval and the pooled z-test on accuracy.
fn ab(arms: &[ArmStats], alpha: f64) -> Comparison {
    let get = |name: &str| arms.iter().find(|a| a.arm == name && a.judged > 0);
    let mut c = Comparison {
        design: "ab".into(),
        difference: None,
        difference_ci95: None,
        p_value: None,
        significant: false,
        discordant: None,
        agreement: None,
    };
    let (Some(a), Some(b)) = (get("champion"), get("challenger")) else {
        return c;
    };
    let (p1, p2) = (
        a.correct as f64 / a.judged as f64,
        b.correct as f64 / b.judged as f64,
    );
    let ((l1, u1), (l2, u2)) = (wilson(a.correct, a.judged), wilson(b.correct, b.judged));
    let d = p2 - p1;
    c.difference = Some(d);
    c.difference_ci95 = Some((
        d - ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt(),
        d + ((u2 - p2).powi(2) + (p1 - l1).powi(2)).sqrt(),
    ));
    let p = two_proportion_p(a.correct, a.judged, b.correct, b.judged);
    c.p_value = Some(p);
    c.significant = p < alpha;
    c
}

/// Two-sided p-value of the pooled two-proportion z-test.
pub fn two_proportion_p(k1: usize, n1: usize, k2: usize, n2: usize) -> f64 {
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (k1 + k2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    let z = (k2 as f64 / n2f - k1 as f64 / n1f) / se;
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Paired arms: McNemar's exact test on the inputs both answered and someone judged.
fn shadow(
    by_arm: &BTreeMap<&str, Vec<(Key, &str, f64)>>,
    truth: &HashMap<Key, &str>,
    alpha: f64,
) -> Comparison {
    let champion: HashMap<&Key, &str> = by_arm
        .get("champion")
        .into_iter()
        .flatten()
        .map(|(k, l, _)| (k, *l))
        .collect();
    let (mut same, mut paired, mut b, mut c) = (0, 0, 0, 0);
    for (k, shadow_label, _) in by_arm.get("shadow").into_iter().flatten() {
        let Some(champ_label) = champion.get(k) else {
            continue;
        };
        paired += 1;
        same += usize::from(champ_label == shadow_label);
        if let Some(t) = truth.get(k) {
            match (champ_label == t, shadow_label == t) {
                (true, false) => b += 1,
                (false, true) => c += 1,
                _ => {}
            }
        }
    }
    let p = exact_p_value(b, c);
    Comparison {
        design: "shadow".into(),
        difference: None,
        difference_ci95: None,
        p_value: Some(p),
        significant: p < alpha,
        discordant: Some((b, c)),
        agreement: (paired > 0).then(|| same as f64 / paired as f64),
    }
}

/// The report as Markdown.
pub fn markdown(r: &AbReport) -> String {
    let mut s = String::from("# A/B report\n\n| arm | predictions | mean confidence | judged | accuracy | 95% interval |\n|---|---:|---:|---:|---:|---|\n");
    for a in &r.arms {
        let acc = a.accuracy.map_or("–".into(), |x| format!("{x:.4}"));
        let ci = a
            .accuracy_ci95
            .map_or("–".into(), |(l, u)| format!("[{l:.4}, {u:.4}]"));
        let _ = writeln!(
            s,
            "| {} | {} | {:.4} | {} | {acc} | {ci} |",
            a.arm, a.predictions, a.mean_confidence, a.judged
        );
    }
    let c = &r.comparison;
    let _ = writeln!(s, "\nDesign: {}.", c.design);
    if let (Some(d), Some((l, u))) = (c.difference, c.difference_ci95) {
        let _ = writeln!(s, "Accuracy difference (challenger − champion): {d:+.4}, 95% interval [{l:+.4}, {u:+.4}] (Newcombe).");
    }
    if let Some((b, cc)) = c.discordant {
        let _ = writeln!(s, "Paired inputs where only the champion was right: {b}; only the challenger: {cc} (McNemar exact).");
    }
    if let Some(a) = c.agreement {
        let _ = writeln!(
            s,
            "Same class from both models on {:.1}% of the mirrored inputs.",
            100.0 * a
        );
    }
    let verdict = match c.p_value {
        Some(p) if c.significant => {
            format!("p = {p:.4} < {}: the arms differ significantly.", r.alpha)
        }
        Some(p) => format!("p = {p:.4} ≥ {}: no significant difference (yet).", r.alpha),
        None => "Not enough feedback in both arms to compare them.".into(),
    };
    let _ = writeln!(s, "{verdict}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_and_z_test_match_hand_computed_values() {
        // Wilson for 8/10 at 95%: (0.4902, 0.9433) (Newcombe 1998, table I, to 4 places).
        let (l, u) = wilson(8, 10);
        assert!(
            (l - 0.4902).abs() < 1e-4 && (u - 0.9433).abs() < 1e-4,
            "{l} {u}"
        );
        // 45/100 vs 60/100: pooled p = 0.525, se = sqrt(.525·.475·.02) = 0.070622, z = 2.1240,
        // two-sided p = 0.03367.
        let p = two_proportion_p(45, 100, 60, 100);
        assert!((p - 0.03367).abs() < 2e-5, "{p}");
        assert_eq!(two_proportion_p(0, 10, 0, 10), 1.0);
    }

    fn pred(id: &str, arm: &str, label: &str) -> Event {
        Event::Prediction {
            at: "t".into(),
            request_id: id.into(),
            index: 0,
            arm: arm.into(),
            model_version: "v".into(),
            client: "c".into(),
            sticky: true,
            label: label.into(),
            confidence: 0.5,
        }
    }
    fn fb(id: &str, label: &str) -> Event {
        Event::Feedback {
            at: "t".into(),
            request_id: id.into(),
            index: 0,
            label: label.into(),
        }
    }

    #[test]
    fn ab_arms_are_scored_on_their_feedback() {
        let mut ev = vec![];
        for i in 0..10 {
            ev.push(pred(&format!("a{i}"), "champion", "pos"));
            ev.push(fb(&format!("a{i}"), if i < 5 { "pos" } else { "neg" }));
            ev.push(pred(&format!("b{i}"), "challenger", "pos"));
            ev.push(fb(&format!("b{i}"), if i < 9 { "pos" } else { "neg" }));
        }
        ev.push(pred("x", "champion", "neg")); // no feedback: counted, not judged
        let r = report(&ev, 0.05);
        assert_eq!(
            (r.arms[0].predictions, r.arms[0].judged, r.arms[0].correct),
            (11, 10, 5)
        );
        assert_eq!(r.arms[1].accuracy, Some(0.9));
        assert!((r.comparison.difference.unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(r.comparison.p_value, Some(two_proportion_p(5, 10, 9, 10)));
    }

    #[test]
    fn shadow_pairs_go_to_mcnemar() {
        let mut ev = vec![];
        for i in 0..12 {
            let id = format!("r{i}");
            ev.push(pred(&id, "champion", if i < 2 { "pos" } else { "neg" }));
            ev.push(pred(&id, "shadow", "pos"));
            ev.push(fb(&id, "pos"));
        }
        let r = report(&ev, 0.05);
        // The shadow is right on all 12, the champion on 2: b = 0, c = 10, p = 2/1024.
        assert_eq!(r.comparison.discordant, Some((0, 10)));
        assert!((r.comparison.p_value.unwrap() - 2.0 / 1024.0).abs() < 1e-12);
        assert!(r.comparison.significant);
        assert!((r.comparison.agreement.unwrap() - 2.0 / 12.0).abs() < 1e-12);
    }
}
