//! `glassbox cv`: K-fold cross-validation. The test split stays out; train+dev are pooled and
//! dealt into K stratified folds; fold k is trained on the other folds for the configured
//! budget (no early stopping, nothing chosen on the held-out fold) and scored on fold k.
//! Each fold is its own run folder, so an interrupted CV resumes fold by fold.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use burn::tensor::backend::AutodiffBackend;
use serde_json::{json, Value};

use crate::config::TrainConfig;
use crate::data::split::{stratified_folds, Split};
use crate::io::write_json;
use crate::run_dir::{RunDir, CV_RESULT};

/// Two-sided 95% Student-t quantile for `df` degrees of freedom.
pub fn t_975(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        _ => 1.96,
    }
}

#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Interval {
    pub mean: f64,
    /// Sample standard deviation (n − 1).
    pub sd: f64,
    pub ci95: (f64, f64),
    pub values: Vec<f64>,
}

pub fn interval(values: &[f64]) -> Interval {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = if values.len() > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let half = t_975(values.len().saturating_sub(1)) * sd / n.sqrt();
    Interval {
        mean,
        sd,
        ci95: (mean - half, mean + half),
        values: values.to_vec(),
    }
}

/// Trains and scores every fold, or with `only` just that one (folds are independent, so
/// several processes or machines can take one each); the summary is written by a call without
/// `only` once every fold is done, which then trains nothing.
pub fn cross_validate<B: AutodiffBackend>(
    cfg: &TrainConfig,
    k: usize,
    only: Option<usize>,
    out: &Path,
    device: &B::Device,
) -> Result<Value> {
    if k < 2 {
        bail!("--folds must be at least 2");
    }
    if let Some(f) = only.filter(|&f| f >= k) {
        bail!(
            "--fold {f} does not exist: with --folds {k} the folds are 0 to {}",
            k - 1
        );
    }
    // The base splits decide what is test; only train+dev are folded.
    let (tasks, _, _) = crate::data::prepare::prepare_config(cfg)?;
    let mut fold_cfg = cfg.clone();
    fold_cfg.train.eval_every = cfg.train.steps;
    fold_cfg.train.patience = 0;
    let mut per_task_folds = vec![];
    for t in &tasks {
        let pool: Vec<usize> = t.split.train.iter().chain(&t.split.dev).copied().collect();
        let strata = t.data.strata();
        let keys: Vec<String> = pool.iter().map(|&i| strata[i].clone()).collect();
        let folds: Vec<Vec<usize>> = stratified_folds(&keys, k, cfg.seed ^ 0xcf)
            .into_iter()
            .map(|f| f.into_iter().map(|j| pool[j]).collect())
            .collect();
        per_task_folds.push((folds, t.split.test.clone()));
    }
    drop(tasks);
    std::fs::create_dir_all(out)?;
    let mut fold_scores: Vec<Value> = vec![];
    let fold_dir = |f: usize| RunDir::new(out.join(format!("fold-{f}")));
    let is_done = |f: usize| fold_dir(f).is_finished();
    for f in (0..k).filter(|&f| only.is_none_or(|o| o == f)) {
        let dir = fold_dir(f);
        let splits: Vec<Split> = per_task_folds
            .iter()
            .map(|(folds, test)| {
                let mut train: Vec<usize> = folds
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != f)
                    .flat_map(|(_, v)| v.iter().copied())
                    .collect();
                train.sort_unstable();
                Split {
                    train,
                    dev: folds[f].clone(),
                    test: test.clone(),
                }
            })
            .collect();
        if !is_done(f) {
            let resume = crate::train::checkpoint::resume_or_clear(dir.path())?;
            eprintln!(
                "fold {}/{k}{}",
                f + 1,
                if resume { " (resuming)" } else { "" }
            );
            crate::train::train_with::<B>(&fold_cfg, dir.path(), resume, Some(splits), device)?;
        }
        fold_scores.push(dir.best()?.dev);
    }
    if let Some(f) = only {
        let pending: Vec<usize> = (0..k).filter(|&i| !is_done(i)).collect();
        eprintln!(
            "{} done; {}",
            fold_dir(f).path().display(),
            if pending.is_empty() {
                "every fold is done: rerun without --fold for the summary".to_string()
            } else {
                format!("folds still to train: {pending:?}")
            }
        );
        return Ok(json!({ "fold": f, "scores": fold_scores[0], "pending": pending }));
    }
    // task → metric → values over folds
    let mut values: BTreeMap<String, BTreeMap<String, Vec<f64>>> = BTreeMap::new();
    for scores in &fold_scores {
        for s in scores.as_array().into_iter().flatten() {
            let task = s["task"].as_str().unwrap_or("?").to_string();
            for (m, v) in crate::eval::flat_metrics(s) {
                values
                    .entry(task.clone())
                    .or_default()
                    .entry(m)
                    .or_default()
                    .push(v);
            }
        }
    }
    let summary: BTreeMap<&String, BTreeMap<&String, Interval>> = values
        .iter()
        .map(|(t, ms)| (t, ms.iter().map(|(m, v)| (m, interval(v))).collect()))
        .collect();
    let result = json!({
        "folds": k,
        "steps_per_fold": cfg.train.steps,
        "fold_sizes": per_task_folds.iter().map(|(f, _)| f.iter().map(Vec::len).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "summary": summary,
    });
    write_json(&out.join(CV_RESULT), &result)?;
    let groups: Vec<(String, Vec<f64>)> = values
        .iter()
        .flat_map(|(t, ms)| {
            ms.iter()
                .filter(|(m, _)| {
                    matches!(
                        m.as_str(),
                        "macro_f1" | "accuracy" | "span_micro_f1" | "span_macro_f1"
                    )
                })
                .map(move |(m, v)| (format!("{t} {m}"), v.clone()))
        })
        .collect();
    crate::plots::strip(
        &out.join("cv_spread"),
        &format!("{k}-fold cross-validation"),
        &groups,
    )?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_interval_matches_hand_computation() {
        // values 1..=5: mean 3, sd sqrt(2.5), t(4) = 2.776 → half-width 2.776 * 1.5811 / 2.2361
        let i = interval(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!((i.mean - 3.0).abs() < 1e-12);
        assert!((i.sd - 2.5f64.sqrt()).abs() < 1e-12);
        let half = 2.776 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((i.ci95.0 - (3.0 - half)).abs() < 1e-9 && (i.ci95.1 - (3.0 + half)).abs() < 1e-9);
        assert_eq!(t_975(100), 1.96);
    }
}
