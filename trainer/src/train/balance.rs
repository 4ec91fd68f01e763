//! Balancing the task losses: the weight formulas as pure functions (tested against the
//! papers' definitions) and the state a run carries between steps (checkpointed, so a resumed
//! run continues with the same weights).

use serde::{Deserialize, Serialize};

/// Dynamic weight average (Liu et al. 2019): w_k = K·exp(r_k/T) / Σ_i exp(r_i/T) with
/// r_k = L_k(t−1) / L_k(t−2), the ratio of the task's mean loss in the last two windows.
pub fn dwa_weights(last: &[f64], before: &[f64], temperature: f64) -> Vec<f64> {
    let k = last.len() as f64;
    let e: Vec<f64> = last
        .iter()
        .zip(before)
        .map(|(l, b)| (l / b.max(1e-12) / temperature).exp())
        .collect();
    let total: f64 = e.iter().sum();
    e.iter().map(|x| k * x / total).collect()
}

/// One GradNorm update (Chen et al. 2018) of the task weights `w`.
///
/// `norms[i]` is ‖∇_W L_i‖ on the last shared layer W (unweighted), so the weighted norm is
/// G_i = w_i·norms[i]. The target is Ḡ·r_i^α with r_i the task's inverse training rate
/// (L_i/L_i(0) over its mean); the L1 gap Σ|G_i − target_i| is descended in w with the target
/// held constant — its gradient in w_i is sign(G_i − target_i)·norms[i], exact without
/// differentiating twice. Weights are then renormalised to sum to the number of tasks.
pub fn gradnorm_update(
    w: &[f64],
    norms: &[f64],
    losses: &[f64],
    initial: &[f64],
    alpha: f64,
    lr: f64,
) -> Vec<f64> {
    let k = w.len() as f64;
    let g: Vec<f64> = w.iter().zip(norms).map(|(w, n)| w * n).collect();
    let g_mean = g.iter().sum::<f64>() / k;
    let ratio: Vec<f64> = losses
        .iter()
        .zip(initial)
        .map(|(l, l0)| l / l0.max(1e-12))
        .collect();
    let r_mean = ratio.iter().sum::<f64>() / k;
    let new: Vec<f64> = (0..w.len())
        .map(|i| {
            let target = g_mean * (ratio[i] / r_mean).powf(alpha);
            let grad = (g[i] - target).signum() * norms[i];
            (w[i] - lr * grad).max(1e-3)
        })
        .collect();
    let total: f64 = new.iter().sum();
    new.iter().map(|x| k * x / total).collect()
}

/// PCGrad (Yu et al. 2020) as coefficients on the original gradients.
///
/// `gram[i][j]` = g_i·g_j over the shared parameters. Task i's gradient is projected, one
/// other task at a time (in index order), onto the normal plane of every g_j it conflicts with
/// (negative dot product). Each projected g_i stays a combination Σ_k a_ik·g_k of the originals,
/// so its dot products follow from the Gram matrix and nothing but scalars is computed here;
/// the result is the matrix a. The summed update is Σ_k (Σ_i a_ik)·g_k.
pub fn pcgrad_coefficients(gram: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let k = gram.len();
    let mut a = vec![vec![0.0; k]; k];
    for (i, row) in a.iter_mut().enumerate() {
        row[i] = 1.0;
        for j in (0..k).filter(|&j| j != i) {
            // (Σ_m a_im g_m)·g_j
            let d: f64 = (0..k).map(|m| row[m] * gram[m][j]).sum();
            if d < 0.0 && gram[j][j] > 0.0 {
                row[j] -= d / gram[j][j];
            }
        }
    }
    a
}

/// Soft targets of a mixup batch: λ·onehot(y) + (1−λ)·onehot(y[perm]).
pub fn mix_targets(targets: &[usize], perm: &[usize], lambda: f64, classes: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; targets.len() * classes];
    for (i, &t) in targets.iter().enumerate() {
        out[i * classes + t] += lambda as f32;
        out[i * classes + targets[perm[i]]] += (1.0 - lambda) as f32;
    }
    out
}

/// What balancing carries from step to step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BalanceState {
    /// Uncertainty weighting: s_k = log σ_k², trained.
    pub log_vars: Vec<f64>,
    /// DWA / GradNorm weights (all 1 until there is history).
    pub weights: Vec<f64>,
    /// DWA: losses summed in the current window, and their count.
    pub window_sum: Vec<f64>,
    pub window_n: Vec<usize>,
    /// DWA: mean loss per task of the last two complete windows (oldest first).
    pub history: Vec<Vec<f64>>,
    /// GradNorm: each task's first loss, L_i(0).
    pub initial: Vec<Option<f64>>,
}

impl BalanceState {
    pub fn new(tasks: usize) -> Self {
        Self {
            log_vars: vec![0.0; tasks],
            weights: vec![1.0; tasks],
            window_sum: vec![0.0; tasks],
            window_n: vec![0; tasks],
            history: vec![],
            initial: vec![None; tasks],
        }
    }

    /// Records a DWA loss; at the end of a window the weights are recomputed.
    pub fn dwa_observe(&mut self, task: usize, loss: f64, step: usize, window: usize, t: f64) {
        self.window_sum[task] += loss;
        self.window_n[task] += 1;
        if !(step + 1).is_multiple_of(window) {
            return;
        }
        let prev = self.history.last().cloned();
        let means: Vec<f64> = (0..self.window_sum.len())
            .map(|k| match self.window_n[k] {
                0 => prev.as_ref().map_or(1.0, |p| p[k]),
                n => self.window_sum[k] / n as f64,
            })
            .collect();
        self.history.push(means);
        if self.history.len() > 2 {
            self.history.remove(0);
        }
        if let [before, last] = &self.history[..] {
            self.weights = dwa_weights(last, before, t);
        }
        self.window_sum.iter_mut().for_each(|s| *s = 0.0);
        self.window_n.iter_mut().for_each(|n| *n = 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dwa_weights_follow_the_formula() {
        // r = [0.5, 1.0], T = 2: w = 2·softmax([0.25, 0.5]).
        let w = dwa_weights(&[1.0, 2.0], &[2.0, 2.0], 2.0);
        let (a, b) = (0.25f64.exp(), 0.5f64.exp());
        assert!((w[0] - 2.0 * a / (a + b)).abs() < 1e-12);
        assert!((w[1] - 2.0 * b / (a + b)).abs() < 1e-12);
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-12);
        // The task whose loss fell less gets the larger weight.
        assert!(w[1] > w[0]);
    }

    #[test]
    fn dwa_state_averages_windows_and_weights_from_the_last_two() {
        let mut s = BalanceState::new(2);
        // Window 1 (steps 0..4): task 0 losses 4, 4; task 1 losses 2, 2.
        // Window 2 (steps 4..8): task 0 losses 1, 3 (mean 2); task 1 losses 2, 2.
        let losses = [
            (0, 4.0),
            (1, 2.0),
            (0, 4.0),
            (1, 2.0),
            (0, 1.0),
            (1, 2.0),
            (0, 3.0),
            (1, 2.0),
        ];
        for (step, (task, l)) in losses.into_iter().enumerate() {
            s.dwa_observe(task, l, step, 4, 2.0);
            if step == 3 {
                assert_eq!(
                    s.weights,
                    vec![1.0, 1.0],
                    "one window is not enough history"
                );
            }
        }
        assert_eq!(s.history, vec![vec![4.0, 2.0], vec![2.0, 2.0]]);
        assert_eq!(s.weights, dwa_weights(&[2.0, 2.0], &[4.0, 2.0], 2.0));
    }

    #[test]
    fn gradnorm_moves_weighted_gradient_norms_to_their_targets() {
        // Toy problem: task 1's gradient on the shared layer is 10× task 0's and both train at
        // the same rate, so the targets are equal: GradNorm must even out w_i·‖∇L_i‖.
        let norms = [1.0, 10.0];
        let mut w = vec![1.0, 1.0];
        let gap = |w: &[f64]| (w[0] * norms[0] - w[1] * norms[1]).abs();
        let start = gap(&w);
        for _ in 0..200 {
            w = gradnorm_update(&w, &norms, &[0.5, 0.5], &[1.0, 1.0], 1.5, 0.025);
            assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-9);
        }
        assert!(gap(&w) < 0.1 * start, "gap {} from {start}", gap(&w));
        // A task that trains slower (higher loss ratio) gets a larger target, hence weight.
        let slow = gradnorm_update(&[1.0, 1.0], &[1.0, 1.0], &[0.9, 0.3], &[1.0, 1.0], 1.5, 0.1);
        assert!(slow[0] > slow[1], "{slow:?}");
    }

    fn dotv(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    fn projected(g: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let gram: Vec<Vec<f64>> = g
            .iter()
            .map(|a| g.iter().map(|b| dotv(a, b)).collect())
            .collect();
        let a = pcgrad_coefficients(&gram);
        a.iter()
            .map(|row| {
                (0..g[0].len())
                    .map(|d| row.iter().zip(g).map(|(c, v)| c * v[d]).sum())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn pcgrad_removes_conflicts_and_keeps_agreeing_gradients() {
        let g = vec![vec![1.0, 0.5, -2.0], vec![-1.0, 1.0, 1.0]];
        assert!(dotv(&g[0], &g[1]) < 0.0);
        let p = projected(&g);
        // Each projected gradient is orthogonal to the other task's original one, and the
        // projected pair no longer conflicts.
        assert!(dotv(&p[0], &g[1]).abs() < 1e-12);
        assert!(dotv(&p[1], &g[0]).abs() < 1e-12);
        assert!(dotv(&p[0], &p[1]) >= 0.0);
        // Hand-computed: g0 − (g0·g1/|g1|²)·g1 with g0·g1 = −2.5, |g1|² = 3.
        let want = [1.0 - 2.5 / 3.0, 0.5 + 2.5 / 3.0, -2.0 + 2.5 / 3.0];
        for (a, b) in p[0].iter().zip(want) {
            assert!((a - b).abs() < 1e-12);
        }
        // Gradients that agree are left alone.
        let agree = vec![vec![1.0, 1.0, 0.0], vec![0.5, 2.0, 1.0]];
        assert_eq!(projected(&agree), agree);
    }

    #[test]
    fn mixup_targets_sum_to_one_and_carry_lambda() {
        let t = mix_targets(&[0, 2, 1], &[1, 1, 0], 0.7, 3);
        for row in t.chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // Row 0: 0.7 on class 0, 0.3 on class 2 (its partner's); row 1 mixed with itself.
        let near = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(near(t[0], 0.7) && t[1] == 0.0 && near(t[2], 0.3));
        assert!(t[3] == 0.0 && t[4] == 0.0 && near(t[5], 1.0));
        assert!((t[6 + 1] - 0.7).abs() < 1e-6 && (t[6] - 0.3).abs() < 1e-6);
    }
}
