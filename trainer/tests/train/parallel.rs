//! Data-parallel training: replicas must train the full-batch gradient.

use serde_json::Value;

use crate::fixtures::*;

#[test]
fn data_parallel_replicas_train_the_full_batch_gradient() {
    // Without dropout, two replicas that each see half of every batch must follow the same
    // trajectory as one device seeing it whole: the shard losses are weighted by their share
    // of the batch's normaliser, so the summed gradient is the full-batch gradient.
    let (dir, base) = setup_without_dropout("parallel");
    // DWA exercises the per-task weights on the parallel path too.
    let cfg = config(&dir, &base, "balance = \"dwa\"\ndwa_window = 4");
    let c = cfg.display().to_string();
    let train = |name: &str, devices: &str| {
        let out = dir.join(name);
        let o = glassbox(
            &[
                "train",
                "--config",
                &c,
                "--out",
                &out.display().to_string(),
                "--devices",
                devices,
            ],
            &[],
        );
        (out, o)
    };
    let (one, o) = train("one", "0");
    ok(&o);
    let (two, o) = train("two", "0,0");
    ok(&o);
    // Step by step, the loss and the gradient norm agree to float rounding (1e-8 relative at
    // the first step). Token shards hold different numbers of labelled wordpieces, so a plain
    // mean of shard means drifts from the full-batch loss (by step 7 here, 5e-3 relative).
    let (m1, m2) = (metrics(&one), metrics(&two));
    let steps = |m: &[Value]| {
        m.iter()
            .filter(|v| v.get("loss").is_some())
            .cloned()
            .collect::<Vec<_>>()
    };
    let (s1, s2) = (steps(&m1), steps(&m2));
    assert_eq!(s1.len(), 24);
    assert_eq!(s1.len(), s2.len());
    for (x, y) in s1.iter().zip(&s2) {
        assert_eq!(x["task"], y["task"]);
        for k in ["loss", "grad_norm", "weight"] {
            let (p, q) = (x[k].as_f64().unwrap(), y[k].as_f64().unwrap());
            assert!(
                (p - q).abs() <= 1e-5 * p.abs().max(1e-3),
                "step {}: {k} {p} (one device) vs {q} (two replicas)",
                x["step"]
            );
        }
    }
    // Weights: Adam divides by the root of tiny second moments for near-idle parameters, so
    // rounding grows there; the drift must stay far below how far training moved them.
    let (a, b) = (weights(&one), weights(&two));
    assert_eq!(a.len(), b.len());
    let diff = max_abs_diff(&a, &b);
    let moved = max_abs_diff(&a, &weights_of(&one, &base.join("model.bpk")));
    assert!(
        diff < 0.01 * moved,
        "replicas drifted by {diff}, training moved weights by {moved}"
    );

    // A device the backend does not have, and options that cannot be split, are refused.
    let (_, o) = train("bad-device", "0,3");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("one device (0), not 3"));
    let mix = config(&dir, &base, "mixup_alpha = 0.4");
    let o = glassbox(
        &[
            "train",
            "--config",
            &mix.display().to_string(),
            "--out",
            &dir.join("mix").display().to_string(),
            "--devices",
            "0,0",
        ],
        &[],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("train it on one device"));
}
