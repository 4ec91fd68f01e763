//! Training fails clearly: a NaN loss names the step and task, bad data names the line.

use crate::fixtures::*;

#[test]
fn nan_loss_stops_with_step_and_task_and_bad_data_names_the_line() {
    let (dir, base_cfg) = setup("failures");
    let base = dir.join("base");
    let cfg = config(&dir, &base, "clip_norm = 0.0").display().to_string();
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("lr = 1e-2", "lr = 1e30");
    std::fs::write(&cfg, text).unwrap();
    let out = glassbox(
        &[
            "train",
            "--config",
            &cfg,
            "--out",
            &dir.join("nan").display().to_string(),
        ],
        &[],
    );
    assert!(!out.status.success(), "a 1e30 learning rate must blow up");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("step ") && (err.contains("\"mood\"") || err.contains("\"ents\"")),
        "{err}"
    );
    assert!(err.contains("checkpoint"), "{err}");

    std::fs::write(dir.join("ents.conll"), "alice\tB-person\nsmith\n").unwrap();
    let out = glassbox(
        &[
            "train",
            "--config",
            &base_cfg.display().to_string(),
            "--out",
            &dir.join("bad").display().to_string(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ents.conll:2"), "{err}");
    assert!(
        !dir.join("bad/config.toml").exists(),
        "a failed start leaves no half-made run"
    );
}
