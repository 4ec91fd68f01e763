//! Baselines on a run's own splits, for context in the model card: the majority class, and
//! for sentence tasks TF-IDF (uni+bigrams) + multinomial logistic regression from linfa,
//! its L2 strength chosen on dev. The test split is scored once per model, never used to choose.

use std::path::Path;

use anyhow::{anyhow, Result};
use linfa::prelude::*;
use linfa_logistic::MultiLogisticRegression;
use linfa_preprocessing::tf_idf_vectorization::TfIdfVectorizer;
use ndarray::{Array1, Array2};

use crate::data::prepare::{prepare_config, PreparedTask};
use crate::data::task::Examples;
use crate::io::write_json;
use crate::metrics::classification::class_scores;
use crate::metrics::span::span_scores;
pub use crate::run_dir::BaselineRow;
use crate::run_dir::RunDir;

fn row(task: &str, model: &str, metric: &str, value: f64, chosen: Option<String>) -> BaselineRow {
    BaselineRow {
        task: task.into(),
        model: model.into(),
        metric: metric.into(),
        value,
        split: "test".into(),
        chosen,
    }
}

/// Majority class of the training split, scored on test.
pub fn majority(task: &PreparedTask, gold: &dyn Fn(usize) -> usize) -> (usize, Vec<usize>) {
    let k = task.labels().len();
    let mut counts = vec![0usize; k];
    for &i in &task.split.train {
        counts[gold(i)] += 1;
    }
    let best = (0..k).max_by_key(|&c| counts[c]).unwrap_or(0);
    (best, task.split.test.iter().map(|_| best).collect())
}

fn tfidf_lr(task: &PreparedTask, texts: &[String], gold: &[usize]) -> Result<(Vec<usize>, f64)> {
    let pick =
        |idx: &[usize]| -> Array1<String> { idx.iter().map(|&i| texts[i].clone()).collect() };
    let train_x = pick(&task.split.train);
    let vec = TfIdfVectorizer::default()
        .convert_to_lowercase(true)
        .n_gram_range(1, 2)
        .document_frequency(0.0002, 1.0)
        .max_features(Some(5000))
        .fit(&train_x)
        .map_err(|e| anyhow!("tf-idf: {e}"))?;
    let dense = |x: &Array1<String>| -> Result<Array2<f64>> {
        let m = vec.transform(x).map_err(|e| anyhow!("tf-idf: {e}"))?;
        Ok(m.to_dense())
    };
    let y = |idx: &[usize]| -> Array1<usize> { idx.iter().map(|&i| gold[i]).collect() };
    let train = Dataset::new(dense(&train_x)?, y(&task.split.train));
    let dev_x = dense(&pick(&task.split.dev))?;
    let test_x = dense(&pick(&task.split.test))?;
    let dev_gold: Vec<usize> = task.split.dev.iter().map(|&i| gold[i]).collect();
    let mut best: Option<(f64, f64, Vec<usize>)> = None;
    for alpha in [1.0f64, 10.0, 100.0] {
        let model = MultiLogisticRegression::<f64>::default()
            .alpha(alpha)
            .max_iterations(150)
            .fit(&train)
            .map_err(|e| anyhow!("logistic regression: {e}"))?;
        let dev_pred: Vec<usize> = model.predict(&dev_x).to_vec();
        let f1 = class_scores(task.labels(), &dev_gold, &dev_pred)
            .macro_avg
            .f1;
        eprintln!("  tf-idf + LR, alpha {alpha}: dev macro-F1 {f1:.4}");
        if best.as_ref().is_none_or(|b| f1 > b.0) {
            best = Some((f1, alpha, model.predict(&test_x).to_vec()));
        }
    }
    let (_, alpha, pred) = best.expect("three candidates");
    Ok((pred, alpha))
}

pub fn run_baselines(run: &Path) -> Result<Vec<BaselineRow>> {
    let run = RunDir::new(run);
    let cfg = run.config()?;
    let (tasks, _, _) = prepare_config(&cfg)?;
    let mut rows = vec![];
    for t in &tasks {
        match &t.data.examples {
            Examples::Sentence(ex) => {
                let gold: Vec<usize> = ex
                    .iter()
                    .map(|e| t.labels().iter().position(|l| *l == e.label).unwrap_or(0))
                    .collect();
                let test_gold: Vec<usize> = t.split.test.iter().map(|&i| gold[i]).collect();
                let (cls, pred) = majority(t, &|i| gold[i]);
                let r = class_scores(t.labels(), &test_gold, &pred);
                let name = format!("majority ({})", t.labels()[cls]);
                rows.push(row(t.name(), &name, "accuracy", r.accuracy, None));
                rows.push(row(t.name(), &name, "macro_f1", r.macro_avg.f1, None));
                let texts: Vec<String> = ex.iter().map(|e| e.text.clone()).collect();
                eprintln!("{}: fitting TF-IDF + logistic regression", t.name());
                let (pred, alpha) = tfidf_lr(t, &texts, &gold)?;
                let r = class_scores(t.labels(), &test_gold, &pred);
                let chosen = Some(format!("alpha {alpha} (best dev macro-F1)"));
                rows.push(row(
                    t.name(),
                    "TF-IDF + logistic regression",
                    "accuracy",
                    r.accuracy,
                    chosen.clone(),
                ));
                rows.push(row(
                    t.name(),
                    "TF-IDF + logistic regression",
                    "macro_f1",
                    r.macro_avg.f1,
                    chosen,
                ));
            }
            Examples::Token(ex) => {
                let gold: Vec<Vec<String>> =
                    t.split.test.iter().map(|&i| ex[i].tags.clone()).collect();
                let pred: Vec<Vec<String>> = gold
                    .iter()
                    .map(|g| vec!["O".to_string(); g.len()])
                    .collect();
                let r = span_scores(&gold, &pred);
                rows.push(row(
                    t.name(),
                    "majority (all O)",
                    "span_micro_f1",
                    r.micro.f1,
                    None,
                ));
                rows.push(row(
                    t.name(),
                    "majority (all O)",
                    "token_accuracy",
                    r.token_accuracy,
                    None,
                ));
            }
        }
    }
    write_json(&run.baselines_file(), &rows)?;
    Ok(rows)
}
