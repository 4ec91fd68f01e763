//! What an attack run leaves behind: `attack.json` (settings, summary, every text's result),
//! `attack.md` (the summary and the successful attacks, changed words marked) and the summary
//! on stdout, with TextAttack's measures so the numbers compare with published ones.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::candidates::Method;
use super::run::{AttackResult, Status};

/// Successful attacks shown in `attack.md`.
const SHOWN: usize = 25;

#[derive(Debug, Serialize)]
pub struct Settings {
    pub bundle: String,
    pub source: String,
    pub method: Method,
    pub max_changes: usize,
    pub candidates_per_word: usize,
    /// The semantic constraint's threshold and encoder (absent: no constraint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_similarity: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity_model: Option<String>,
    pub seed: u64,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Summary {
    pub texts: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
    /// Succeeded over attacked (succeeded + failed).
    pub success_rate: f64,
    /// Correct before the attack, over texts with a known class (when any are known).
    pub accuracy_before: Option<f64>,
    /// Still correct after it (failed attacks), over the same texts.
    pub accuracy_under_attack: Option<f64>,
    /// Words changed per successful attack, and as a share of the text's words.
    pub mean_words_changed: f64,
    pub mean_changed_share: f64,
    /// Texts scored per attacked text.
    pub mean_queries: f64,
    /// Candidate texts the similarity constraint vetoed, over all texts.
    pub rejected: usize,
    /// Mean similarity of the successful adversarial texts to their originals (with a
    /// constraint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_similarity: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub settings: Settings,
    pub summary: Summary,
    pub results: Vec<AttackResult>,
}

fn count(rs: &[AttackResult], s: Status) -> usize {
    rs.iter().filter(|r| r.status == s).count()
}

fn ratio(a: f64, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a / b as f64
    }
}

impl Summary {
    pub fn of(rs: &[AttackResult]) -> Self {
        let (succeeded, failed) = (count(rs, Status::Succeeded), count(rs, Status::Failed));
        let skipped = count(rs, Status::Skipped);
        let wins: Vec<&AttackResult> = rs
            .iter()
            .filter(|r| r.status == Status::Succeeded)
            .collect();
        let changed: usize = wins.iter().map(|r| r.changes.len()).sum();
        let share: f64 = wins
            .iter()
            .map(|r| ratio(r.changes.len() as f64, r.words))
            .sum();
        let attacked: Vec<&AttackResult> = rs
            .iter()
            .filter(|r| matches!(r.status, Status::Succeeded | Status::Failed))
            .collect();
        let queries: usize = attacked.iter().map(|r| r.queries).sum();
        let sims: Vec<f64> = wins
            .iter()
            .filter_map(|r| r.similarity)
            .map(f64::from)
            .collect();
        let known = rs
            .iter()
            .filter(|r| r.gold.is_some() && r.status != Status::Error)
            .count();
        let known_ok = rs
            .iter()
            .filter(|r| r.gold.is_some() && matches!(r.status, Status::Succeeded | Status::Failed));
        let correct = known_ok.clone().count();
        let held = known_ok.filter(|r| r.status == Status::Failed).count();
        Summary {
            texts: rs.len(),
            succeeded,
            failed,
            skipped,
            errors: count(rs, Status::Error),
            success_rate: ratio(succeeded as f64, succeeded + failed),
            accuracy_before: (known > 0).then(|| ratio(correct as f64, known)),
            accuracy_under_attack: (known > 0).then(|| ratio(held as f64, known)),
            mean_words_changed: ratio(changed as f64, wins.len()),
            mean_changed_share: ratio(share, wins.len()),
            mean_queries: ratio(queries as f64, attacked.len()),
            rejected: rs.iter().map(|r| r.rejected).sum(),
            mean_similarity: (!sims.is_empty()).then(|| ratio(sims.iter().sum(), sims.len())),
        }
    }
}

/// Writes `attack.json` and `attack.md` into `out`.
pub fn write(out: &Path, r: &Report) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    crate::io::write_json(&out.join("attack.json"), r)?;
    std::fs::write(out.join("attack.md"), markdown(r))
        .with_context(|| format!("writing {}", out.display()))
}

/// The summary as the terminal shows it.
pub fn summary_table(s: &Summary) -> String {
    let pct = |x: f64| format!("{:.1} %", 100.0 * x);
    let mut rows = vec![
        ("texts", s.texts.to_string()),
        (
            "attacked (succeeded / failed)",
            format!(
                "{} ({} / {})",
                s.succeeded + s.failed,
                s.succeeded,
                s.failed
            ),
        ),
        (
            "skipped (already wrong) / errors",
            format!("{} / {}", s.skipped, s.errors),
        ),
        ("attack success rate", pct(s.success_rate)),
    ];
    if let (Some(b), Some(a)) = (s.accuracy_before, s.accuracy_under_attack) {
        rows.push((
            "accuracy before → under attack",
            format!("{} → {}", pct(b), pct(a)),
        ));
    }
    rows.push((
        "words changed per success",
        format!(
            "{:.2} ({} of the words)",
            s.mean_words_changed,
            pct(s.mean_changed_share)
        ),
    ));
    rows.push((
        "model queries per attacked text",
        format!("{:.1}", s.mean_queries),
    ));
    if let Some(m) = s.mean_similarity {
        rows.push(("similarity of successes to originals", format!("{m:.3}")));
    }
    if s.rejected > 0 || s.mean_similarity.is_some() {
        rows.push((
            "candidates vetoed as too far in meaning",
            s.rejected.to_string(),
        ));
    }
    let w = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<w$}  {v}\n"))
        .collect()
}

fn markdown(r: &Report) -> String {
    let s = &r.settings;
    let mut md = format!(
        "# Adversarial attack: {}\n\nSource: {}. Method: {:?}, at most {} words changed, {} candidates per word, {}, seed {}.\n\n",
        s.bundle,
        s.source,
        s.method,
        s.max_changes,
        s.candidates_per_word,
        constraint(s),
        s.seed
    );
    md += "| measure | value |\n|---|---|\n";
    for line in summary_table(&r.summary).lines() {
        let (k, v) = line.split_once("  ").unwrap_or((line, ""));
        let _ = writeln!(md, "| {} | {} |", k.trim(), v.trim());
    }
    md += "\n## Successful attacks\n\n| text | class | adversarial text | class |\n|---|---|---|---|\n";
    for x in r
        .results
        .iter()
        .filter(|x| x.status == Status::Succeeded)
        .take(SHOWN)
    {
        let _ = writeln!(
            md,
            "| {} | {} ({:.2}) | {} | {} (p {} {:.2}) |",
            cell(&x.text),
            x.label.as_deref().unwrap_or(""),
            x.p_label.unwrap_or(0.0),
            cell(&marked(x)),
            x.adversarial_label.as_deref().unwrap_or(""),
            x.label.as_deref().unwrap_or(""),
            x.p_label_after.unwrap_or(0.0),
        );
    }
    md
}

/// The semantic constraint in words.
fn constraint(s: &Settings) -> String {
    match (s.min_similarity, &s.similarity_model) {
        (Some(m), Some(model)) => format!("candidates kept at cosine similarity ≥ {m} by {model}"),
        _ => "no similarity constraint".into(),
    }
}

/// The adversarial text with each replacement shown as `~~old~~ **new**`, left to right.
fn marked(x: &AttackResult) -> String {
    let mut out = x.adversarial.clone().unwrap_or_default();
    let mut changes = x.changes.clone();
    changes.sort_by_key(|c| c.position);
    let mut from = 0;
    for c in changes {
        let Some(i) = out[from..].find(&c.replacement).map(|i| i + from) else {
            continue;
        };
        let shown = format!("~~{}~~ **{}**", c.original, c.replacement);
        out.replace_range(i..i + c.replacement.len(), &shown);
        from = i + shown.len();
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::search::Change;

    fn result(
        status: Status,
        gold: Option<&str>,
        changes: usize,
        words: usize,
        queries: usize,
    ) -> AttackResult {
        AttackResult {
            at: "t".into(),
            text: "x".into(),
            status,
            gold: gold.map(Into::into),
            label: None,
            p_label: None,
            adversarial: None,
            adversarial_label: None,
            p_label_after: None,
            changes: (0..changes)
                .map(|i| Change {
                    position: i,
                    original: "a".into(),
                    replacement: "b".into(),
                    p_target: 0.1,
                })
                .collect(),
            words,
            queries,
            rejected: 0,
            similarity: None,
            error: None,
        }
    }

    #[test]
    fn the_summary_follows_textattacks_definitions() {
        let mut rs = [
            result(Status::Succeeded, Some("p"), 1, 4, 10),
            result(Status::Succeeded, Some("p"), 3, 6, 30),
            result(Status::Failed, Some("p"), 2, 5, 20),
            result(Status::Skipped, Some("p"), 0, 5, 1),
            result(Status::Error, None, 0, 0, 0),
        ];
        // Vetoes from every attacked text; similarity averaged over successes only.
        for (r, (rejected, sim)) in rs.iter_mut().zip([(3, 0.9), (1, 0.8), (2, 0.95)]) {
            r.rejected = rejected;
            r.similarity = Some(sim);
        }
        let s = Summary::of(&rs);
        assert_eq!(s.rejected, 6);
        assert!((s.mean_similarity.unwrap() - 0.85).abs() < 1e-6);
        assert_eq!(
            (s.texts, s.succeeded, s.failed, s.skipped, s.errors),
            (5, 2, 1, 1, 1)
        );
        assert!((s.success_rate - 2.0 / 3.0).abs() < 1e-12);
        // 4 texts with a class: 3 right before, 1 still right after.
        assert_eq!(s.accuracy_before, Some(0.75));
        assert_eq!(s.accuracy_under_attack, Some(0.25));
        assert_eq!(s.mean_words_changed, 2.0);
        assert!((s.mean_changed_share - (0.25 + 0.5) / 2.0).abs() < 1e-12);
        assert_eq!(s.mean_queries, 20.0);
    }

    #[test]
    fn without_gold_there_is_no_accuracy() {
        let s = Summary::of(&[result(Status::Failed, None, 1, 3, 5)]);
        assert_eq!(
            (s.accuracy_before, s.accuracy_under_attack, s.success_rate),
            (None, None, 0.0)
        );
        assert_eq!((s.rejected, s.mean_similarity), (0, None));
    }

    #[test]
    fn replacements_are_marked_in_place() {
        let mut r = result(Status::Succeeded, None, 0, 4, 1);
        r.adversarial = Some("I lvoe this fine film".into());
        r.changes = vec![
            Change {
                position: 4,
                original: "movie".into(),
                replacement: "film".into(),
                p_target: 0.4,
            },
            Change {
                position: 1,
                original: "love".into(),
                replacement: "lvoe".into(),
                p_target: 0.6,
            },
        ];
        assert_eq!(
            marked(&r),
            "I ~~love~~ **lvoe** this fine ~~movie~~ **film**"
        );
    }
}
