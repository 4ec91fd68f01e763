//! Training on burn-wgpu (lavapipe's Vulkan on a machine without a GPU): the same steps as
//! on the CPU backend must give the same losses and weights, so the GPU training path is
//! exercised for real, not only inference.

use crate::fixtures::*;

#[cfg(feature = "wgpu")]
#[test]
fn a_wgpu_training_step_matches_the_cpu_backend() {
    let (dir, base) = setup_without_dropout("wgpu");
    let cfg = config(&dir, &base, "");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("steps = 24", "steps = 4")
        .replace("eval_every = 12", "eval_every = 4");
    std::fs::write(&cfg, text).unwrap();
    let train = |backend: &str| {
        let out = dir.join(backend);
        let c = cfg.display().to_string();
        let o = glassbox(
            &[
                "train",
                "--config",
                &c,
                "--out",
                &out.display().to_string(),
                "--backend",
                backend,
            ],
            &[],
        );
        let log = ok(&o) + &String::from_utf8_lossy(&o.stderr);
        (out, log)
    };
    let (cpu, _) = train("cpu");
    let (gpu, log) = train("wgpu");
    assert!(
        log.contains("wgpu adapter"),
        "the run names its adapter: {log}"
    );
    for task in ["mood", "ents"] {
        let (a, b) = (losses(&cpu, task), losses(&gpu, task));
        assert_eq!(a.len(), 2, "{task}: two steps each");
        for (p, q) in a.iter().zip(&b) {
            assert!(
                (p - q).abs() <= 1e-4 * p.abs().max(1.0),
                "{task}: cpu loss {p}, wgpu {q}"
            );
        }
    }
    // Adam divides by the root of tiny second moments, so a parameter that barely gets a
    // gradient moves by ±lr on either backend's rounding: compare the updates as a whole.
    let start = weights_of(&cpu, &base.join("model.bpk"));
    let (a, b) = (weights(&cpu), weights(&gpu));
    let (mut moved, mut drift) = (0.0f64, 0.0f64);
    for ((&s, &x), &y) in start.iter().zip(&a).zip(&b) {
        moved += ((x - s) as f64).powi(2);
        drift += ((x - y) as f64).powi(2);
    }
    let (moved, drift) = (moved.sqrt(), drift.sqrt());
    eprintln!("updates: |Δ cpu| {moved:.4}, |cpu − wgpu| {drift:.2e}");
    assert!(moved > 1e-2, "training moved the weights (|Δ| {moved})");
    assert!(
        drift < 0.05 * moved,
        "wgpu drifted by |Δ| {drift}; training moved the weights by {moved}"
    );
    assert!(
        max_abs_diff(&a, &b) < 0.05,
        "no weight may drift by a step's size"
    );
}
