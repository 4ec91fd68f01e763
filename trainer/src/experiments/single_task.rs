//! `glassbox single-task --run RUN`: does sharing the encoder help? Every task of a finished
//! multi-task run is trained alone with the run's own recipe (seed, splits, steps, batch size,
//! schedule, model selection on dev), so each single-task model gets the whole step budget the
//! multi-task model split between its tasks. All models are then scored on the same held-out
//! test split. The single-task runs live under `RUN/single-task/<task>/` and resume after an
//! interruption; the comparison goes to `RUN/single_task.json`, which the model card reads.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::AutodiffBackend;
use serde_json::{json, Value};

use crate::config::TrainConfig;
use crate::eval::saved::{eval, Source};
use crate::eval::TaskScores;
use crate::io::write_json;
use crate::run_dir::RunDir;

/// The run's config with every task but `task` removed (also from the augmentation list);
/// nothing else changes.
pub fn alone(cfg: &TrainConfig, task: &str) -> TrainConfig {
    let mut c = cfg.clone();
    c.tasks.retain(|t| t.name == task);
    c.augment.tasks.retain(|t| t == task);
    c.augment.backtranslate.retain(|t| t == task);
    c
}

pub fn compare<B: AutodiffBackend>(run: &Path, device: &B::Device) -> Result<Value> {
    let run = RunDir::new(run);
    let cfg = run.config()?;
    if cfg.tasks.len() < 2 {
        bail!(
            "{} trains a single task; there is no multi-task model to compare with",
            run.path().display()
        );
    }
    run.require_finished()?;
    let multi = eval::<B::InnerBackend>(Source::run(run.path()), "test", None, device)?;
    let mut rows = vec![];
    for t in &cfg.tasks {
        let dir = run.single_task_run(&t.name);
        if !dir.is_finished() {
            let resume = crate::train::checkpoint::resume_or_clear(dir.path())?;
            eprintln!(
                "single-task run: {}{}",
                t.name,
                if resume { " (resuming)" } else { "" }
            );
            crate::train::train::<B>(&alone(&cfg, &t.name), dir.path(), resume, device)?;
        }
        let single = eval::<B::InnerBackend>(Source::run(dir.path()), "test", None, device)?;
        let m = find(&multi, &t.name)?;
        let s = find(&single, &t.name)?;
        let (name, _) = m.headline();
        let (mf, sf) = (m.flat(), s.flat());
        for metric in metric_names(name) {
            if let (Some(a), Some(b)) = (mf.get(metric), sf.get(metric)) {
                rows.push(json!({
                    "task": t.name,
                    "metric": metric,
                    "headline": metric == name,
                    "multi_task": a,
                    "single_task": b,
                    "difference": a - b,
                    "test_examples": m.examples,
                }));
            }
        }
    }
    let result = json!({
        "steps": cfg.train.steps,
        "batch_size": cfg.train.batch_size,
        "sampling": cfg.train.sampling,
        "rows": rows,
        "table": table(&cfg, &rows),
    });
    write_json(&run.single_task_file(), &result)?;
    let bars: Vec<(String, f64)> = rows
        .iter()
        .filter(|r| r["headline"] == true)
        .flat_map(|r| {
            let t = r["task"].as_str().unwrap_or("?");
            [
                (
                    format!("{t} multi"),
                    r["multi_task"].as_f64().unwrap_or(0.0),
                ),
                (
                    format!("{t} single"),
                    r["single_task"].as_f64().unwrap_or(0.0),
                ),
            ]
        })
        .collect();
    crate::plots::bar_chart(
        &run.single_task_plot(),
        "Multi-task vs single-task (test)",
        "headline metric",
        &bars,
    )?;
    Ok(result)
}

fn find<'a>(scores: &'a [TaskScores], task: &str) -> Result<&'a TaskScores> {
    scores
        .iter()
        .find(|s| s.task == task)
        .with_context(|| format!("no test scores for task {task:?}"))
}

/// The headline first, then the metrics a reader checks next.
fn metric_names(headline: &str) -> Vec<&str> {
    let mut v = vec![headline];
    for m in ["accuracy", "span_macro_f1", "token_accuracy"] {
        if m != headline {
            v.push(m);
        }
    }
    v
}

fn table(cfg: &TrainConfig, rows: &[Value]) -> String {
    let mut s = format!(
        "Each single-task model is trained alone with the multi-task run's recipe and the whole budget \
         ({} steps of {} sentences); the multi-task model shares those steps between its tasks \
         ({} sampling). One run each (seed {}), scored on the same test split; compare the \
         differences with the fold-to-fold spread of the cross-validation.\n\n\
         | task | metric | multi-task | single-task | multi − single |\n|---|---|---|---|---|\n",
        cfg.train.steps,
        cfg.train.batch_size,
        serde_json::to_value(cfg.train.sampling)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
            .replace('_', " "),
        cfg.seed
    );
    for r in rows {
        let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
        let _ = writeln!(
            s,
            "| {} | {} | {:.4} | {:.4} | {:+.4} |",
            r["task"].as_str().unwrap_or("?"),
            r["metric"].as_str().unwrap_or("?"),
            f("multi_task"),
            f("single_task"),
            f("difference")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alone_keeps_one_task_and_the_recipe() {
        let cfg = TrainConfig::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../configs/default.toml"
        )))
        .unwrap();
        let mut cfg = cfg;
        cfg.augment.tasks = vec!["sentiment".into(), "ner".into()];
        cfg.augment.backtranslate = vec!["sentiment".into()];
        let a = alone(&cfg, "ner");
        assert_eq!(a.augment.tasks, vec!["ner".to_string()]);
        assert!(a.augment.backtranslate.is_empty());
        assert_eq!(a.tasks.len(), 1);
        assert_eq!(a.tasks[0].name, "ner");
        assert_eq!(a.seed, cfg.seed);
        assert_eq!(a.train.steps, cfg.train.steps);
        assert_eq!(a.train.batch_size, cfg.train.batch_size);
        assert_eq!(
            toml::to_string(&a.split).unwrap(),
            toml::to_string(&cfg.split).unwrap()
        );
    }
}
