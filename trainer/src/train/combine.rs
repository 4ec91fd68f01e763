//! Task balancing in one place: how a task's loss is weighted before the backward pass
//! ([`weigh`]: fixed, DWA, uncertainty) and how the tasks' gradients of one step become the
//! one gradient the optimizer applies ([`combine`]: a single task's as is, PCGrad's
//! projections, GradNorm's weights). The formulas themselves are in [`super::balance`].

use std::collections::HashSet;

use burn::module::ParamId;
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use glassbox_model::Glassbox;

use super::balance::{gradnorm_update, pcgrad_coefficients, BalanceState};
use super::grads;
use crate::config::{Balance, TrainParams};

/// One task's part of a step.
pub struct TaskGrad {
    /// Index of the task in the run's task list.
    pub task: usize,
    pub grads: GradientsParams,
    /// The unweighted loss.
    pub loss: f64,
    /// The weight the loss was trained with (logged).
    pub weight: f64,
}

/// Parameter groups the joint strategies look at.
pub struct ParamSets {
    /// Encoder and embeddings (shared by the tasks).
    pub shared: HashSet<ParamId>,
    /// The task heads.
    pub heads: HashSet<ParamId>,
    /// The last encoder layer, where GradNorm measures gradient norms.
    pub last_layer: HashSet<ParamId>,
}

/// A task's loss ready for the backward pass.
pub struct Weighted<B: AutodiffBackend> {
    pub loss: Tensor<B, 1>,
    /// Uncertainty weighting's log-variance leaf, whose gradient trains it.
    pub log_var: Option<Tensor<B, 1>>,
    pub weight: f64,
}

/// The weight a task's loss is trained with when the strategy scales the loss itself
/// (data-parallel steps, which have no uncertainty weighting).
pub fn loss_weight(balance: Balance, config_weight: f64, state: &BalanceState, task: usize) -> f64 {
    match balance {
        Balance::Dwa => config_weight * state.weights[task],
        _ => config_weight,
    }
}

/// Weights one task's raw loss by the strategy (single-device steps).
pub fn weigh<B: AutodiffBackend>(
    balance: Balance,
    raw: Tensor<B, 1>,
    config_weight: f64,
    state: &BalanceState,
    task: usize,
) -> Weighted<B> {
    match balance {
        Balance::Uncertainty => {
            // exp(−s)·L + s with s = log σ² a leaf tensor the backward pass reaches.
            let s = Tensor::<B, 1>::from_data([state.log_vars[task] as f32], &raw.device())
                .require_grad();
            let loss = raw.mul_scalar(config_weight) * s.clone().neg().exp() + s.clone();
            Weighted {
                loss,
                log_var: Some(s),
                weight: config_weight * (-state.log_vars[task]).exp(),
            }
        }
        _ => {
            let weight = loss_weight(balance, config_weight, state, task);
            Weighted {
                loss: raw.mul_scalar(weight),
                log_var: None,
                weight,
            }
        }
    }
}

/// The gradient the optimizer applies this step.
pub fn combine<B: AutodiffBackend>(
    t: &TrainParams,
    model: &Glassbox<B>,
    state: &mut BalanceState,
    tasks: &mut [TaskGrad],
    sets: &ParamSets,
) -> GradientsParams {
    match t.balance {
        Balance::Pcgrad => pcgrad(model, tasks, sets),
        Balance::Gradnorm => gradnorm(t, model, state, tasks, sets),
        _ => {
            let one = tasks.last_mut().expect("one task trained");
            std::mem::replace(&mut one.grads, GradientsParams::new())
        }
    }
}

/// PCGrad: shared parameters get the projected sum, heads their own gradients.
fn pcgrad<B: AutodiffBackend>(
    model: &Glassbox<B>,
    tasks: &[TaskGrad],
    sets: &ParamSets,
) -> GradientsParams {
    let k = tasks.len();
    let mut gram = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in i..k {
            let d = grads::dot::<B, _>(model, &tasks[i].grads, &tasks[j].grads, Some(&sets.shared));
            gram[i][j] = d;
            gram[j][i] = d;
        }
    }
    let a = pcgrad_coefficients(&gram);
    let mut total = GradientsParams::new();
    for (kk, g) in tasks.iter().enumerate() {
        let c: f64 = (0..k).map(|i| a[i][kk]).sum();
        grads::axpy::<B, _>(model, &mut total, c, &g.grads, Some(&sets.shared));
        grads::axpy::<B, _>(model, &mut total, 1.0, &g.grads, Some(&sets.heads));
    }
    total
}

/// GradNorm: the weighted sum with this step's weights, then the weights' update.
fn gradnorm<B: AutodiffBackend>(
    t: &TrainParams,
    model: &Glassbox<B>,
    state: &mut BalanceState,
    tasks: &mut [TaskGrad],
    sets: &ParamSets,
) -> GradientsParams {
    let norms: Vec<f64> = tasks
        .iter()
        .map(|g| grads::squared_norm::<B, _>(model, &g.grads, Some(&sets.last_layer)).sqrt())
        .collect();
    let losses: Vec<f64> = tasks.iter().map(|g| g.loss).collect();
    for (i, l) in losses.iter().enumerate() {
        state.initial[i].get_or_insert(*l);
    }
    let w = state.weights.clone();
    let mut total = GradientsParams::new();
    for (i, g) in tasks.iter_mut().enumerate() {
        grads::axpy::<B, _>(model, &mut total, w[i], &g.grads, None);
        g.weight *= w[i];
    }
    let initial: Vec<f64> = state.initial.iter().map(|l| l.unwrap_or(1.0)).collect();
    state.weights = gradnorm_update(
        &w,
        &norms,
        &losses,
        &initial,
        t.gradnorm_alpha,
        t.gradnorm_lr,
    );
    total
}
