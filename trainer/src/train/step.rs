//! One task's loss on one batch, with mixup on the sentence task when configured.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use glassbox_model::{Batch, Glassbox};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};

use super::balance::mix_targets;
use super::loss;
use crate::data::batch::{Targets, TaskBatch};

/// A mixup draw for one batch: λ ~ Beta(α, α) and the partner of each example.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    pub lambda: f64,
    pub perm: Vec<usize>,
}

/// Seeded by (seed, step), so a resumed run mixes the same pairs.
pub fn draw_mix(alpha: f64, seed: u64, step: usize, n: usize) -> Mix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6d69_7875_7000_0000 ^ step as u64);
    let lambda = Beta::new(alpha, alpha)
        .map(|b| b.sample(&mut rng))
        .unwrap_or(1.0);
    let mut perm: Vec<usize> = (0..n).collect();
    perm.shuffle(&mut rng);
    Mix { lambda, perm }
}

/// Cross-entropy against soft targets `[n·classes]`, weighted per example.
pub fn soft_loss<B: Backend>(
    logits: Tensor<B, 2>,
    soft: Vec<f32>,
    weights: &[f32],
) -> Tensor<B, 1> {
    let device = logits.device();
    let [n, c] = logits.dims();
    let t = Tensor::<B, 2>::from_data(TensorData::new(soft, [n, c]), &device);
    let w = Tensor::<B, 1>::from_data(TensorData::new(weights.to_vec(), [n]), &device);
    let per = (log_softmax(logits, 1) * t).sum_dim(1).reshape([n]);
    let total: f32 = weights.iter().sum::<f32>().max(1e-12);
    (per * w).sum().neg().div_scalar(total)
}

/// The unweighted loss of one batch: cross-entropy over classes (mixed when `mix` is given)
/// or over wordpiece tags. `classes` is the sentence head's width, for mixup's soft targets.
pub fn batch_loss<B: Backend>(
    model: &Glassbox<B>,
    batch: TaskBatch<B>,
    classes: usize,
    mix: Option<&Mix>,
) -> Tensor<B, 1> {
    let Batch {
        input_ids,
        pad_mask,
        ..
    } = batch.inputs;
    match (batch.targets, mix) {
        (
            Targets::Classes {
                classes: targets,
                weights,
            },
            None,
        ) => {
            let out = model.forward(input_ids, pad_mask);
            loss::sentence_loss(out.sentence_logits, &targets, &weights)
        }
        (
            Targets::Classes {
                classes: targets,
                weights,
            },
            Some(m),
        ) => {
            let pooled = model.pooled(input_ids, pad_mask);
            mixed_loss(model, pooled, &targets, &weights, m, classes)
        }
        (Targets::Tags(tags), _) => {
            let out = model.forward(input_ids, pad_mask);
            loss::token_loss(out.token_logits, &tags)
        }
    }
}

/// Mixup on the sentence task: the pooled embeddings the head reads are interpolated with
/// each example's partner, and the labels and weights alike.
fn mixed_loss<B: Backend>(
    model: &Glassbox<B>,
    pooled: Tensor<B, 2>,
    targets: &[usize],
    weights: &[f32],
    m: &Mix,
    classes: usize,
) -> Tensor<B, 1> {
    let perm: Vec<i64> = m.perm.iter().map(|&p| p as i64).collect();
    let perm =
        Tensor::<B, 1, Int>::from_data(TensorData::new(perm, [m.perm.len()]), &pooled.device());
    let partner = pooled.clone().select(0, perm);
    let mixed = pooled.mul_scalar(m.lambda) + partner.mul_scalar(1.0 - m.lambda);
    let logits = model.sentence_head.forward(mixed);
    let soft = mix_targets(targets, &m.perm, m.lambda, classes);
    let w: Vec<f32> = (0..weights.len())
        .map(|i| (m.lambda as f32) * weights[i] + (1.0 - m.lambda as f32) * weights[m.perm[i]])
        .collect();
    soft_loss(logits, soft, &w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn mix_draws_are_seeded_and_lambda_lies_in_the_unit_interval() {
        let a = draw_mix(0.4, 7, 3, 8);
        assert_eq!(a, draw_mix(0.4, 7, 3, 8));
        assert_ne!(a, draw_mix(0.4, 7, 4, 8));
        assert!((0.0..=1.0).contains(&a.lambda));
        let mut p = a.perm.clone();
        p.sort();
        assert_eq!(p, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn soft_loss_with_one_hot_targets_is_the_hard_loss() {
        let d = Default::default();
        let logits = Tensor::<Flex, 2>::from_data([[0.3f32, -1.0, 2.0], [1.0, 0.0, 0.5]], &d);
        let hard = loss::sentence_loss(logits.clone(), &[2, 0], &[1.0, 2.0]).into_scalar();
        let soft = soft_loss(logits, vec![0., 0., 1., 1., 0., 0.], &[1.0, 2.0]).into_scalar();
        assert!((hard - soft).abs() < 1e-6, "{hard} vs {soft}");
    }
}
