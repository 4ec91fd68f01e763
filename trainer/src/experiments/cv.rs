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
    check_fold_args(k, only)?;
    let per_task_folds = deal_folds(cfg, k)?;
    let fold_cfg = fold_config(cfg);
    std::fs::create_dir_all(out)?;
    let mut fold_scores: Vec<Value> = vec![];
    for f in (0..k).filter(|&f| only.is_none_or(|o| o == f)) {
        let dir = fold_dir(out, f);
        if !dir.is_finished() {
            train_fold::<B>(&fold_cfg, &dir, f, k, &per_task_folds, device)?;
        }
        fold_scores.push(dir.best()?.dev);
    }
    if let Some(f) = only {
        return Ok(single_fold_result(out, k, f, &fold_scores[0]));
    }
    let values = metric_values(&fold_scores);
    let result = summary_json(cfg, k, &per_task_folds, &values);
    write_json(&out.join(CV_RESULT), &result)?;
    plot_spread(out, k, &values)?;
    Ok(result)
}

/// Rejects fewer than two folds, and a `--fold` that is not one of them.
fn check_fold_args(k: usize, only: Option<usize>) -> Result<()> {
    if k < 2 {
        bail!("--folds must be at least 2");
    }
    if let Some(f) = only.filter(|&f| f >= k) {
        bail!(
            "--fold {f} does not exist: with --folds {k} the folds are 0 to {}",
            k - 1
        );
    }
    Ok(())
}

/// One task's K folds (example indices, each sorted as dealt) and its untouched test split.
struct TaskFolds {
    folds: Vec<Vec<usize>>,
    test: Vec<usize>,
}

impl TaskFolds {
    /// The split of fold `f`: every other fold trains, fold `f` is held out as dev.
    fn split(&self, f: usize) -> Split {
        let mut train: Vec<usize> = self
            .folds
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != f)
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        train.sort_unstable();
        Split {
            train,
            dev: self.folds[f].clone(),
            test: self.test.clone(),
        }
    }

    /// How many examples each fold holds.
    fn sizes(&self) -> Vec<usize> {
        self.folds.iter().map(Vec::len).collect()
    }
}

/// Pools each task's train and dev splits and deals them into `k` stratified folds; the base
/// splits decide what is test, and test is never folded.
fn deal_folds(cfg: &TrainConfig, k: usize) -> Result<Vec<TaskFolds>> {
    let (tasks, _, _) = crate::data::prepare::prepare_config(cfg)?;
    Ok(tasks
        .iter()
        .map(|t| {
            let pool: Vec<usize> = t.split.train.iter().chain(&t.split.dev).copied().collect();
            let strata = t.data.strata();
            let keys: Vec<String> = pool.iter().map(|&i| strata[i].clone()).collect();
            let folds = stratified_folds(&keys, k, cfg.seed ^ 0xcf)
                .into_iter()
                .map(|f| f.into_iter().map(|j| pool[j]).collect())
                .collect();
            TaskFolds {
                folds,
                test: t.split.test.clone(),
            }
        })
        .collect())
}

/// The config a fold trains with: the full step budget, evaluated once at the end and never
/// stopped early, so nothing is chosen on the held-out fold.
fn fold_config(cfg: &TrainConfig) -> TrainConfig {
    let mut fold_cfg = cfg.clone();
    fold_cfg.train.eval_every = cfg.train.steps;
    fold_cfg.train.patience = 0;
    fold_cfg
}

/// The run folder of fold `f`.
fn fold_dir(out: &Path, f: usize) -> RunDir {
    RunDir::new(out.join(format!("fold-{f}")))
}

/// Trains fold `f` into `dir`, resuming an interrupted run of it.
fn train_fold<B: AutodiffBackend>(
    fold_cfg: &TrainConfig,
    dir: &RunDir,
    f: usize,
    k: usize,
    per_task_folds: &[TaskFolds],
    device: &B::Device,
) -> Result<()> {
    let splits: Vec<Split> = per_task_folds.iter().map(|t| t.split(f)).collect();
    let resume = crate::train::checkpoint::resume_or_clear(dir.path())?;
    eprintln!(
        "fold {}/{k}{}",
        f + 1,
        if resume { " (resuming)" } else { "" }
    );
    crate::train::train_with::<B>(fold_cfg, dir.path(), resume, Some(splits), device)?;
    Ok(())
}

/// After a `--fold` run: says which folds are still to train, and returns that fold's scores.
fn single_fold_result(out: &Path, k: usize, f: usize, scores: &Value) -> Value {
    let pending: Vec<usize> = (0..k)
        .filter(|&i| !fold_dir(out, i).is_finished())
        .collect();
    eprintln!(
        "{} done; {}",
        fold_dir(out, f).path().display(),
        if pending.is_empty() {
            "every fold is done: rerun without --fold for the summary".to_string()
        } else {
            format!("folds still to train: {pending:?}")
        }
    );
    json!({ "fold": f, "scores": scores, "pending": pending })
}

/// Task → metric → its value on each fold, in fold order.
type FoldValues = BTreeMap<String, BTreeMap<String, Vec<f64>>>;

/// Collects every task's flat metrics across the folds' dev scores.
fn metric_values(fold_scores: &[Value]) -> FoldValues {
    let mut values = FoldValues::new();
    for scores in fold_scores {
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
    values
}

/// The CV result: fold count, budget, fold sizes, and a mean with 95% interval per metric.
fn summary_json(
    cfg: &TrainConfig,
    k: usize,
    per_task_folds: &[TaskFolds],
    values: &FoldValues,
) -> Value {
    let summary: BTreeMap<&String, BTreeMap<&String, Interval>> = values
        .iter()
        .map(|(t, ms)| (t, ms.iter().map(|(m, v)| (m, interval(v))).collect()))
        .collect();
    json!({
        "folds": k,
        "steps_per_fold": cfg.train.steps,
        "fold_sizes": per_task_folds.iter().map(TaskFolds::sizes).collect::<Vec<_>>(),
        "summary": summary,
    })
}

/// Plots the spread over folds of each task's headline metrics.
fn plot_spread(out: &Path, k: usize, values: &FoldValues) -> Result<()> {
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
    )
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
