//! `glassbox ablate --config FILE`: the base config and one variant per method, each trained
//! with several seeds on a stated budget, scored on dev (never test), summarised as a table
//! (mean ± 95% t-interval per task, the paired difference to the first variant, training time)
//! in Markdown and JSON, with a chart. Every (variant, seed) is its own run folder, so an
//! interrupted ablation resumes where it stopped.
//!
//! The file names the base config, the seeds, a `budget` applied to every variant and the
//! variants, each a set of overrides by dotted path (`"train.schedule" = "cosine"`,
//! `"tasks.ner.head_lr_factor" = 5.0` — a task is addressed by its name) and optionally
//! tasks to drop (single-task baselines at the same step budget).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::experiments::cv::{interval, Interval};
use crate::io::write_atomic;
use crate::run_dir::{Best, RunDir};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AblationFile {
    pub base: PathBuf,
    pub seeds: Vec<u64>,
    /// Overrides applied to every variant (fewer steps, smaller subsets); stated in the table.
    #[serde(default)]
    pub budget: toml::Table,
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: String,
    /// What the variant tests (a short phrase for the table).
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub set: toml::Table,
    #[serde(default)]
    pub drop_tasks: Vec<String>,
}

/// Sets `path` (dotted; `tasks.<name>.field` addresses a task by name) in a config value.
pub fn set_path(root: &mut toml::Value, path: &str, value: toml::Value) -> Result<()> {
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = root;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        cur = match cur {
            toml::Value::Array(items) => items
                .iter_mut()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(part))
                .with_context(|| format!("{path}: no task named {part:?}"))?,
            toml::Value::Table(t) => {
                if last {
                    t.insert(part.to_string(), value);
                    return Ok(());
                }
                t.entry(part.to_string())
                    .or_insert_with(|| toml::Value::Table(Default::default()))
            }
            _ => bail!("{path}: {part:?} is inside a value that is not a table"),
        };
    }
    bail!("{path}: names an element, not a field")
}

/// The config one variant trains with.
pub fn variant_config(
    base: &TrainConfig,
    budget: &toml::Table,
    v: &Variant,
    seed: u64,
) -> Result<TrainConfig> {
    let mut value = toml::Value::try_from(base)?;
    for (k, x) in budget.iter().chain(v.set.iter()) {
        set_path(&mut value, k, x.clone())?;
    }
    if let Some(toml::Value::Array(tasks)) = value.get_mut("tasks") {
        tasks.retain(|t| {
            !v.drop_tasks
                .iter()
                .any(|d| t.get("name").and_then(|n| n.as_str()) == Some(d))
        });
    }
    let mut cfg = TrainConfig::from_toml(&toml::to_string(&value)?, Path::new(&v.name))
        .with_context(|| format!("variant {:?}", v.name))?;
    cfg.seed = seed;
    // Scored once, at the end of the budget: nothing is chosen on dev inside a run.
    cfg.train.eval_every = cfg.train.steps;
    cfg.train.patience = 0;
    Ok(cfg)
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub variant: String,
    pub method: String,
    /// task → headline metric over seeds.
    pub metrics: BTreeMap<String, Interval>,
    /// Mean of the task headlines per seed (tasks the variant trains).
    pub score: Interval,
    /// Paired (same seed, same splits) difference of `score` to the first variant.
    pub delta: Option<Interval>,
    pub train_seconds: Interval,
}

fn headlines(best: &Best) -> BTreeMap<String, (String, f64)> {
    best.dev
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let task = s["task"].as_str()?.to_string();
            let m = crate::eval::flat_metrics(s);
            let (name, v) = match (m.get("macro_f1"), m.get("span_micro_f1")) {
                (Some(v), _) => ("macro-F1", *v),
                (None, Some(v)) => ("span micro-F1", *v),
                _ => return None,
            };
            Some((task, (name.to_string(), v)))
        })
        .collect()
}

/// The Markdown table an ablation writes in its output folder.
pub fn table_file(out: &Path) -> PathBuf {
    out.join(TABLE)
}

const TABLE: &str = "ablation.md";
const RESULT_JSON: &str = "ablation.json";

/// Trains what is missing (unless `report_only`) and writes the table of the finished runs.
pub fn ablate<B: AutodiffBackend>(
    file: &Path,
    out: &Path,
    report_only: bool,
    device: &B::Device,
) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read ablation file {}", file.display()))?;
    let ab: AblationFile =
        toml::from_str(&text).with_context(|| format!("ablation file {}", file.display()))?;
    if ab.seeds.is_empty() || ab.variants.is_empty() {
        bail!(
            "{}: needs at least one seed and one variant",
            file.display()
        );
    }
    let base = TrainConfig::load(&ab.base)?;
    // Every config is checked before the first (long) run starts. Seeds are the outer loop,
    // so an interrupted ablation already has every variant at the first seeds.
    let mut configs = vec![];
    for &s in &ab.seeds {
        for (vi, v) in ab.variants.iter().enumerate() {
            configs.push((vi, s, variant_config(&base, &ab.budget, v, s)?));
        }
    }
    std::fs::create_dir_all(out)?;
    let total = configs.len();
    // variant → finished runs (seed, task → (metric name, value), seconds)
    let mut results: Vec<Vec<RunResult>> = vec![vec![]; ab.variants.len()];
    let mut rows = vec![];
    for (n, (vi, s, cfg)) in configs.iter().enumerate() {
        let v = &ab.variants[*vi];
        let dir = RunDir::new(out.join(slug(&v.name)).join(format!("seed-{s}")));
        if !dir.is_finished() {
            if report_only {
                continue;
            }
            let resume = crate::train::checkpoint::resume_or_clear(dir.path())?;
            eprintln!(
                "ablation run {}/{total}: {} (seed {s}){}",
                n + 1,
                v.name,
                if resume { ", resuming" } else { "" }
            );
            crate::train::train::<B>(cfg, dir.path(), resume, device)?;
        }
        let summary = dir.summary()?;
        results[*vi].push(RunResult {
            seed: *s,
            heads: summary.best.as_ref().map(headlines).unwrap_or_default(),
            seconds: summary.elapsed_s,
        });
        // The table is rewritten after every run: an interruption loses nothing finished.
        rows = summarise(&ab.variants, &results);
        write_table(&ab, file, &base, &results, &rows, out)?;
    }
    if rows.is_empty() {
        bail!("no finished ablation runs under {}", out.display());
    }
    Ok(rows)
}

#[derive(Debug, Clone)]
struct RunResult {
    seed: u64,
    heads: BTreeMap<String, (String, f64)>,
    seconds: f64,
}

fn mean_of(h: &BTreeMap<String, (String, f64)>) -> f64 {
    h.values().map(|(_, v)| v).sum::<f64>() / h.len().max(1) as f64
}

fn summarise(variants: &[Variant], results: &[Vec<RunResult>]) -> Vec<Row> {
    variants
        .iter()
        .zip(results)
        .filter(|(_, runs)| !runs.is_empty())
        .map(|(v, runs)| {
            let mut metrics: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for r in runs {
                for (task, (_, x)) in &r.heads {
                    metrics.entry(task.clone()).or_default().push(*x);
                }
            }
            let scores: Vec<f64> = runs.iter().map(|r| mean_of(&r.heads)).collect();
            // Paired with the first variant's run at the same seed, when both train the same
            // tasks (a single-task row is not comparable on the mean).
            let d: Vec<f64> = runs
                .iter()
                .filter_map(|r| {
                    let b = results[0].iter().find(|b| b.seed == r.seed)?;
                    r.heads
                        .keys()
                        .eq(b.heads.keys())
                        .then(|| mean_of(&r.heads) - mean_of(&b.heads))
                })
                .collect();
            Row {
                variant: v.name.clone(),
                method: v.method.clone(),
                metrics: metrics
                    .iter()
                    .map(|(t, x)| (t.clone(), interval(x)))
                    .collect(),
                score: interval(&scores),
                delta: (!d.is_empty()).then(|| interval(&d)),
                train_seconds: interval(&runs.iter().map(|r| r.seconds).collect::<Vec<_>>()),
            }
        })
        .collect()
}

fn write_table(
    ab: &AblationFile,
    file: &Path,
    base: &TrainConfig,
    results: &[Vec<RunResult>],
    rows: &[Row],
    out: &Path,
) -> Result<()> {
    let tasks: Vec<(String, String)> = base
        .tasks
        .iter()
        .map(|t| {
            let metric = results
                .iter()
                .flatten()
                .find_map(|r| r.heads.get(&t.name).map(|(m, _)| m.clone()))
                .unwrap_or_default();
            (t.name.clone(), metric)
        })
        .collect();
    write_atomic(
        &table_file(out),
        markdown(ab, file, &tasks, rows).as_bytes(),
    )?;
    write_atomic(
        &out.join(RESULT_JSON),
        serde_json::to_string_pretty(&serde_json::json!({
            "file": file.display().to_string(), "base": ab.base.display().to_string(),
            "seeds": ab.seeds, "budget": ab.budget, "rows": rows,
        }))?
        .as_bytes(),
    )?;
    let groups: Vec<(String, Vec<f64>)> = rows
        .iter()
        .map(|r| (r.variant.clone(), r.score.values.clone()))
        .collect();
    crate::plots::strip(
        &out.join("ablation"),
        "ablation: mean dev headline per seed",
        &groups,
    )
}

fn pm(i: &Interval) -> String {
    if i.values.len() > 1 {
        format!("{:.3} ± {:.3}", i.mean, (i.ci95.1 - i.ci95.0) / 2.0)
    } else {
        format!("{:.3}", i.mean)
    }
}

fn markdown(ab: &AblationFile, file: &Path, tasks: &[(String, String)], rows: &[Row]) -> String {
    let mut s = String::from("# Ablation of glassbox's training methods\n\n![mean dev headline per seed](ablation.svg)\n\n");
    s.push_str(&format!(
        "Generated by `glassbox ablate --config {}` from base config `{}`. Scores are on the dev split \
         (never test), measured once at the end of each run; ± is the half-width of the 95% t-interval \
         over the seeds finished (n; planned: {} seeds, {}). Δ is the paired difference (same seed, same \
         splits) of the mean headline to the first row; — where the tasks differ.\n\n**Budget (applied \
         to every row):** ",
        file.display(),
        ab.base.display(),
        ab.seeds.len(),
        ab.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
    ));
    let budget: Vec<String> = ab
        .budget
        .iter()
        .map(|(k, v)| format!("`{k} = {v}`"))
        .collect();
    s.push_str(&if budget.is_empty() {
        "the base config as is".into()
    } else {
        budget.join(", ")
    });
    s.push_str(".\n\n| variant | method |");
    for (t, m) in tasks {
        s.push_str(&format!(" {t} {m} |"));
    }
    s.push_str(" mean | Δ mean | n | train s |\n|---|---|");
    s.push_str(&"---|".repeat(tasks.len() + 4));
    s.push('\n');
    for r in rows {
        s.push_str(&format!("| {} | {} |", r.variant, r.method));
        for (t, _) in tasks {
            s.push_str(&format!(" {} |", r.metrics.get(t).map_or("—".into(), pm)));
        }
        let delta = r.delta.as_ref().map_or("—".into(), |d| {
            let sign = if d.mean >= 0.0 { "+" } else { "" };
            format!("{sign}{}", pm(d))
        });
        s.push_str(&format!(
            " {} | {} | {} | {:.0} |\n",
            pm(&r.score),
            delta,
            r.score.values.len(),
            r.train_seconds.mean
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::tests::MINIMAL as BASE;

    #[test]
    fn variants_override_by_path_and_tasks_by_name() {
        let base = TrainConfig::from_toml(BASE, Path::new("b.toml")).unwrap();
        let budget: toml::Table = toml::from_str("\"train.steps\" = 40").unwrap();
        let v: Variant = toml::from_str(
            "name = \"x\"\nset = { \"train.schedule\" = \"cosine\", \"tasks.ner.head_lr_factor\" = 5.0 }",
        )
        .unwrap();
        let c = variant_config(&base, &budget, &v, 7).unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.train.steps, 40);
        assert_eq!(c.train.eval_every, 40);
        assert_eq!(c.train.schedule, crate::config::Schedule::Cosine);
        assert_eq!(c.tasks[1].head_lr_factor, 5.0);
        assert_eq!(c.tasks[0].head_lr_factor, 1.0);
        let single: Variant = toml::from_str("name = \"s\"\ndrop_tasks = [\"ner\"]").unwrap();
        let c = variant_config(&base, &budget, &single, 1).unwrap();
        assert_eq!(c.tasks.len(), 1);
        let bad: Variant =
            toml::from_str("name = \"b\"\nset = { \"tasks.pos.lr\" = 1.0 }").unwrap();
        let e = format!("{:#}", variant_config(&base, &budget, &bad, 1).unwrap_err());
        assert!(e.contains("no task named \"pos\""), "{e}");
        let typo: Variant =
            toml::from_str("name = \"t\"\nset = { \"train.shedule\" = \"x\" }").unwrap();
        let e = format!(
            "{:#}",
            variant_config(&base, &budget, &typo, 1).unwrap_err()
        );
        assert!(e.contains("shedule"), "{e}");
    }

    #[test]
    fn slugs_are_folder_names() {
        assert_eq!(slug("LLRD ξ=0.8 (top)"), "llrd-0-8-top");
    }
}
