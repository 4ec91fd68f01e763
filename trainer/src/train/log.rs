//! `metrics.jsonl`, the run's step-by-step record: one line per task per step (loss, weight,
//! learning rate, gradient norm, epoch) and one per dev evaluation. This module writes it,
//! trims it on resume and draws the training charts from it.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, Write};

use anyhow::Result;
use serde_json::{json, Value};

use crate::io::write_atomic;
use crate::plots;
use crate::run_dir::RunDir;

/// The open log of a run.
pub struct MetricsLog {
    file: fs::File,
}

/// One task's share of a step, as logged.
pub struct StepLine<'a> {
    pub step: usize,
    pub task: &'a str,
    pub loss: f64,
    pub weight: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub epoch: f64,
    pub sentences: usize,
    pub elapsed_s: f64,
}

impl MetricsLog {
    /// Opens the log for appending after dropping the lines of steps from `step` on: a killed
    /// run may have logged past its last checkpoint, and those steps are run again.
    pub fn open(run: &RunDir, step: usize) -> Result<Self> {
        let path = run.metrics_file();
        truncate(&path, step)?;
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Self { file })
    }

    pub fn step(&mut self, l: &StepLine) -> Result<()> {
        self.line(
            json!({"step": l.step, "task": l.task, "loss": l.loss, "weight": l.weight,
               "lr": l.lr, "grad_norm": l.grad_norm, "epoch": l.epoch,
               "sentences": l.sentences, "elapsed_s": l.elapsed_s}),
        )
    }

    pub fn eval(&mut self, step: usize, score: f64, scores: &Value, epochs: &[f64]) -> Result<()> {
        self.line(
            json!({"step": step, "eval": "dev", "score": score, "scores": scores,
               "epochs": epochs}),
        )
    }

    pub fn flush(&mut self) -> Result<()> {
        Ok(self.file.flush()?)
    }

    fn line(&mut self, v: Value) -> Result<()> {
        Ok(writeln!(self.file, "{v}")?)
    }
}

/// Keeps only the lines of steps before `step`.
fn truncate(path: &std::path::Path, step: usize) -> Result<()> {
    if !path.is_file() {
        return Ok(());
    }
    let f = fs::File::open(path)?;
    let mut kept = String::new();
    for line in std::io::BufReader::new(f).lines() {
        let line = line?;
        let v: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => continue, // a line cut by the kill
        };
        if v.get("step")
            .and_then(|s| s.as_u64())
            .is_some_and(|s| (s as usize) < step)
        {
            kept.push_str(&line);
            kept.push('\n');
        }
    }
    write_atomic(path, kept.as_bytes())
}

type Curves = BTreeMap<String, Vec<(f64, f64)>>;

/// The per-task losses, learning rates and dev scores of a log.
#[derive(Default)]
struct History {
    loss: Curves,
    lr: Vec<(f64, f64)>,
    dev: Curves,
}

fn read_history(run: &RunDir) -> Result<Option<History>> {
    let Ok(f) = fs::File::open(run.metrics_file()) else {
        return Ok(None);
    };
    let mut h = History::default();
    for line in std::io::BufReader::new(f).lines() {
        let v: Value = match serde_json::from_str(&line?) {
            Ok(v) => v,
            Err(_) => continue,
        };
        let step = v["step"].as_f64().unwrap_or(0.0);
        if v.get("eval").is_some() {
            for s in v["scores"].as_array().into_iter().flatten() {
                let task = s["task"].as_str().unwrap_or("?");
                let val = s
                    .pointer("/classification/macro_avg/f1")
                    .or_else(|| s.pointer("/spans/micro/f1"))
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                h.dev
                    .entry(task.to_string())
                    .or_default()
                    .push((step + 1.0, val));
            }
        } else if let (Some(task), Some(l)) = (v["task"].as_str(), v["loss"].as_f64()) {
            h.loss.entry(task.to_string()).or_default().push((step, l));
            h.lr.push((step, v["lr"].as_f64().unwrap_or(0.0)));
        }
    }
    Ok(Some(h))
}

/// Running mean over the last 10 points, so the trend of a noisy loss is readable.
fn smooth(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let k = 10usize;
    pts.iter()
        .enumerate()
        .map(|(i, &(x, _))| {
            let lo = i.saturating_sub(k - 1);
            let w = &pts[lo..=i];
            (x, w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64)
        })
        .collect()
}

/// Loss per task and learning rate over steps, dev scores over steps.
pub fn training_plots(run: &RunDir) -> Result<()> {
    let Some(h) = read_history(run)? else {
        return Ok(());
    };
    let series: Vec<plots::Series> = h
        .loss
        .iter()
        .map(|(k, v)| (format!("{k} (mean of last 10)"), smooth(v)))
        .collect();
    if !series.is_empty() {
        let (title, x) = ("training loss per task", "step");
        plots::lines(&run.loss_plot(), title, x, "loss", &series)?;
        let lr = [("lr".to_string(), h.lr)];
        plots::lines(&run.lr_plot(), "learning rate", "step", "lr", &lr)?;
    }
    if !h.dev.is_empty() {
        let s: Vec<plots::Series> = h
            .dev
            .into_iter()
            .map(|(k, v)| (format!("{k} (macro-F1 / span micro-F1)"), v))
            .collect();
        plots::lines(
            &run.dev_plot(),
            "dev score over training",
            "step",
            "score",
            &s,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_is_the_running_mean_of_up_to_ten_points() {
        let pts: Vec<(f64, f64)> = (0..12).map(|i| (i as f64, i as f64)).collect();
        let s = smooth(&pts);
        assert_eq!(s[0], (0.0, 0.0));
        assert_eq!(s[3], (3.0, 1.5)); // mean of 0..=3
        assert_eq!(s[11], (11.0, 6.5)); // mean of 2..=11
    }

    #[test]
    fn reopening_at_a_step_drops_later_and_cut_lines() {
        let dir = std::env::temp_dir().join(format!("glassbox-log-{}", std::process::id()));
        let run = RunDir::new(&dir);
        let text = "{\"step\":0,\"loss\":1}\n{\"step\":1,\"loss\":1}\n{\"step\":2,\"lo";
        write_atomic(&run.metrics_file(), text.as_bytes()).unwrap();
        let mut log = MetricsLog::open(&run, 1).unwrap();
        log.eval(1, 0.5, &json!([]), &[0.25]).unwrap();
        drop(log);
        let kept = fs::read_to_string(run.metrics_file()).unwrap();
        let lines: Vec<&str> = kept.lines().collect();
        assert_eq!(lines.len(), 2, "{kept}");
        assert!(lines[0].contains("\"step\":0"));
        assert!(lines[1].contains("\"eval\":\"dev\""));
        fs::remove_dir_all(dir).unwrap();
    }
}
