//! The experiment commands on the tiny setup: single-task comparison, cross-validation and
//! the ablation table.

use std::path::Path;

use serde_json::Value;

use crate::fixtures::*;

#[test]
fn single_task_comparison_matches_independent_runs() {
    let (dir, cfg) = setup("single");
    let train = |cfg: &Path, out: &Path| {
        ok(&glassbox(
            &[
                "train",
                "--config",
                &cfg.display().to_string(),
                "--out",
                &out.display().to_string(),
            ],
            &[],
        ))
    };
    let run = dir.join("run");
    train(&cfg, &run);
    let table = ok(&glassbox(
        &["single-task", "--run", &run.display().to_string()],
        &[],
    ));
    assert!(table.contains("| mood | macro_f1 |"), "{table}");
    assert!(table.contains("| ents | span_micro_f1 |"), "{table}");
    let cmp: Value =
        serde_json::from_slice(&std::fs::read(run.join("single_task.json")).unwrap()).unwrap();
    let row = |task: &str, metric: &str| -> Value {
        cmp["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["task"] == task && r["metric"] == metric)
            .unwrap_or_else(|| panic!("no {task} {metric} row in {cmp}"))
            .clone()
    };

    // The multi-task column is the run itself, scored on test by `glassbox eval`.
    let multi = test_scores(&run);
    let mood = row("mood", "macro_f1");
    assert_eq!(
        mood["multi_task"],
        multi["mood"]["classification"]["macro_avg"]["f1"]
    );
    assert_eq!(
        row("ents", "span_micro_f1")["multi_task"],
        multi["ents"]["spans"]["micro"]["f1"]
    );

    // The single-task column equals a run trained by hand from the same config with the other
    // task deleted: same seed, splits and budget, nothing else changed.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let (head, rest) = text.split_once("[[tasks]]\nname = \"ents\"").unwrap();
    let mood_only_cfg = dir.join("mood-only.toml");
    std::fs::write(
        &mood_only_cfg,
        format!("{head}{}", &rest[rest.find("[train]").unwrap()..]),
    )
    .unwrap();
    let mood_only = dir.join("mood-only");
    train(&mood_only_cfg, &mood_only);
    let alone = test_scores(&mood_only);
    assert!(!alone.contains_key("ents"));
    assert_eq!(
        mood["single_task"],
        alone["mood"]["classification"]["macro_avg"]["f1"]
    );
    let d = mood["difference"].as_f64().unwrap();
    let (a, b) = (
        mood["multi_task"].as_f64().unwrap(),
        mood["single_task"].as_f64().unwrap(),
    );
    assert!((d - (a - b)).abs() < 1e-12);
    assert!(run.join("single_task.png").is_file() && run.join("single-task/ents/best").is_dir());

    // Rerunning trains nothing new and gives the same table; a single-task run is refused.
    let again = ok(&glassbox(
        &["single-task", "--run", &run.display().to_string()],
        &[],
    ));
    assert_eq!(again, table);
    let refused = glassbox(
        &["single-task", "--run", &mood_only.display().to_string()],
        &[],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("trains a single task"));
}

#[test]
fn cross_validation_folds_cover_train_and_dev() {
    let (dir, cfg) = setup("cv");
    let out = dir.join("cv");
    let stdout = ok(&glassbox(
        &[
            "cv",
            "--config",
            &cfg.display().to_string(),
            "--folds",
            "3",
            "--out",
            &out.display().to_string(),
        ],
        &[],
    ));
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let f1 = &summary["mood"]["macro_f1"];
    assert_eq!(f1["values"].as_array().unwrap().len(), 3);
    let (lo, hi, mean) = (
        f1["ci95"][0].as_f64().unwrap(),
        f1["ci95"][1].as_f64().unwrap(),
        f1["mean"].as_f64().unwrap(),
    );
    assert!(lo <= mean && mean <= hi);
    let cv: Value = serde_json::from_slice(&std::fs::read(out.join("cv.json")).unwrap()).unwrap();
    // 48 sentences, 20% test → 38 pooled (24·0.8 rounded per class) → 13 + 13 + 12.
    let sizes: Vec<u64> = cv["fold_sizes"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 38);
    assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
    assert!(out.join("cv_spread.png").is_file() && out.join("fold-2/final.bpk").is_file());
    // Folds are disjoint: no example is held out twice.
    let mut held: Vec<u64> = vec![];
    for f in 0..3 {
        let s: Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("fold-{f}/splits.json"))).unwrap(),
        )
        .unwrap();
        held.extend(
            s[0]["dev"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap()),
        );
    }
    let n = held.len();
    held.sort_unstable();
    held.dedup();
    assert_eq!(held.len(), n);

    // The same CV one fold per call (as separate processes or machines would run it) gives
    // the same summary; the call without --fold only summarises.
    let split = dir.join("cv-split");
    let cv_args = |extra: &[&str]| {
        let mut args = vec![
            "cv".to_string(),
            "--config".into(),
            cfg.display().to_string(),
            "--folds".into(),
            "3".into(),
            "--out".into(),
            split.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let run = |extra: &[&str]| {
        let args = cv_args(extra);
        glassbox(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
    };
    let bad = run(&["--fold", "3"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("the folds are 0 to 2"));
    for f in ["2", "0"] {
        let out = run(&["--fold", f]);
        ok(&out);
        assert!(
            !split.join("cv.json").exists(),
            "no summary before every fold is done"
        );
        assert!(split.join(format!("fold-{f}/train_summary.json")).is_file());
    }
    assert!(
        !split.join("fold-1").exists(),
        "--fold trains that fold only"
    );
    let rest = run(&[]);
    let rest_log = String::from_utf8_lossy(&rest.stderr).to_string();
    let again: Value = serde_json::from_str(&ok(&rest)).unwrap();
    assert!(rest_log.contains("fold 2/3"));
    assert!(!rest_log.contains("fold 1/3") && !rest_log.contains("fold 3/3"));
    assert_eq!(again, summary, "fold-by-fold CV differs from the one-go CV");
}

#[test]
fn ablation_runs_every_method_and_tabulates_seeds() {
    let (dir, cfg) = setup("ablate");
    let file = dir.join("ablate.toml");
    std::fs::write(
        &file,
        format!(
            r#"
base = "{cfg}"
seeds = [1, 2]
[budget]
"train.steps" = 12
"train.checkpoint_every" = 6
[[variants]]
name = "default"
[[variants]]
name = "uncertainty"
set = {{ "train.balance" = "uncertainty" }}
[[variants]]
name = "dwa"
set = {{ "train.balance" = "dwa", "train.dwa_window" = 2 }}
[[variants]]
name = "gradnorm"
set = {{ "train.balance" = "gradnorm" }}
[[variants]]
name = "pcgrad"
set = {{ "train.balance" = "pcgrad" }}
[[variants]]
name = "eda mixup llrd cosine unfreeze"
set = {{ "augment.tasks" = ["mood", "ents"], "train.mixup_alpha" = 0.4, "train.layer_decay" = 0.8, "train.schedule" = "cosine", "train.unfreeze_every" = 3, "tasks.ents.head_lr_factor" = 3.0 }}
[[variants]]
name = "mood only"
drop_tasks = ["ents"]
"#,
            cfg = cfg.display()
        ),
    )
    .unwrap();
    let out = dir.join("ablation");
    let ablate = |extra: &[&str]| {
        let (f, o) = (file.display().to_string(), out.display().to_string());
        let mut args = vec!["ablate", "--config", &f, "--out", &o];
        args.extend(extra);
        glassbox(&args, &[])
    };
    let nothing = ablate(&["--report-only"]);
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no finished ablation runs"));
    let table = ok(&ablate(&[]));
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("ablation.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    for r in rows {
        assert_eq!(r["score"]["values"].as_array().unwrap().len(), 2, "{r}");
    }
    assert!(rows[6]["delta"].is_null() && rows[6]["metrics"].get("ents").is_none());
    assert!(table.contains("| mood only |") && out.join("ablation.png").is_file());
    let run = |v: &str, s: u32| out.join(v).join(format!("seed-{s}"));

    // Uncertainty: the log-variances are trained, so the effective weights leave 1.
    let w: Vec<f64> = metrics(&run("uncertainty", 1))
        .iter()
        .filter_map(|v| v["weight"].as_f64())
        .collect();
    // A trained log-variance may pass back near zero, so ask that every later weight
    // moved and that the largest move is clearly more than rounding.
    assert_eq!(w[0], 1.0);
    assert!(w[2..].iter().all(|&x| x != 1.0), "{w:?}");
    let moved = w[2..].iter().map(|x| (x - 1.0).abs()).fold(0.0, f64::max);
    assert!(moved > 1e-3, "{w:?}");
    // Joint methods train both tasks at every step.
    for v in ["gradnorm", "pcgrad"] {
        let m = metrics(&run(v, 1));
        for step in 0..12 {
            let tasks: Vec<&str> = m
                .iter()
                .filter(|x| x["step"] == step && x.get("loss").is_some())
                .map(|x| x["task"].as_str().unwrap())
                .collect();
            assert_eq!(tasks, ["mood", "ents"], "{v} step {step}");
        }
    }
    // GradNorm weights move and keep summing to the number of tasks.
    let gw: Vec<f64> = metrics(&run("gradnorm", 1))
        .iter()
        .filter(|x| x["step"] == 11 && x.get("weight").is_some())
        .map(|x| x["weight"].as_f64().unwrap())
        .collect();
    assert!(
        (gw.iter().sum::<f64>() - 2.0).abs() < 1e-6 && (gw[0] - 1.0).abs() > 1e-3,
        "{gw:?}"
    );
    // EDA adds training examples only: dev and test are those of the plain run.
    let aug = run("eda-mixup-llrd-cosine-unfreeze", 1);
    let report: Value =
        serde_json::from_slice(&std::fs::read(aug.join("augment.json")).unwrap()).unwrap();
    let splits = |r: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(r.join("splits.json")).unwrap()).unwrap()
    };
    let (plain, augmented) = (splits(&run("default", 1)), splits(&aug));
    for t in 0..2 {
        let added = report[t]["added"].as_u64().unwrap() as usize;
        assert!(added > 0, "{report}");
        assert_eq!(plain[t]["dev"], augmented[t]["dev"]);
        assert_eq!(plain[t]["test"], augmented[t]["test"]);
        assert_eq!(
            augmented[t]["train"].as_array().unwrap().len(),
            plain[t]["train"].as_array().unwrap().len() + added
        );
    }
    // A second invocation finds every run finished and only rewrites the table.
    assert_eq!(ok(&ablate(&[])), table);
    assert_eq!(ok(&ablate(&["--report-only"])), table);
}
