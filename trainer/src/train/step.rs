//! One task's loss on one batch, with mixup on the sentence task when configured.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use glassbox_model::{pad_batch, Glassbox};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};

use super::balance::mix_targets;
use super::loss;
use crate::config::TaskKind;
use crate::data::encode::Target;
use crate::data::prepare::PreparedTask;

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

/// The unweighted loss of `task` on the examples `idx`.
pub fn batch_loss<B: Backend>(
    model: &Glassbox<B>,
    task: &PreparedTask,
    idx: &[usize],
    pad: u32,
    mix: Option<&Mix>,
    device: &B::Device,
) -> Tensor<B, 1> {
    let items: Vec<_> = idx.iter().map(|&i| &task.encoded[i]).collect();
    let rows: Vec<&[u32]> = items.iter().map(|e| e.ids.as_slice()).collect();
    let batch = pad_batch::<B>(&rows, pad, device);
    match task.kind() {
        TaskKind::Sentence => {
            let targets: Vec<usize> = items
                .iter()
                .map(|e| match e.target {
                    Target::Class(c) => c,
                    Target::Tags(_) => unreachable!("a sentence task holds classes"),
                })
                .collect();
            let weights: Vec<f32> = items.iter().map(|e| e.weight).collect();
            match mix {
                None => {
                    let out = model.forward(batch.input_ids, batch.pad_mask);
                    loss::sentence_loss(out.sentence_logits, &targets, &weights)
                }
                Some(m) => {
                    // Interpolate the pooled embeddings the head reads, and the labels alike.
                    let pooled = model.pooled(batch.input_ids, batch.pad_mask);
                    let perm: Vec<i64> = m.perm.iter().map(|&p| p as i64).collect();
                    let perm = Tensor::<B, 1, Int>::from_data(
                        TensorData::new(perm, [m.perm.len()]),
                        device,
                    );
                    let partner = pooled.clone().select(0, perm);
                    let mixed = pooled.mul_scalar(m.lambda) + partner.mul_scalar(1.0 - m.lambda);
                    let logits = model.sentence_head.forward(mixed);
                    let soft = mix_targets(&targets, &m.perm, m.lambda, task.labels().len());
                    let w: Vec<f32> = (0..weights.len())
                        .map(|i| {
                            (m.lambda as f32) * weights[i]
                                + (1.0 - m.lambda as f32) * weights[m.perm[i]]
                        })
                        .collect();
                    soft_loss(logits, soft, &w)
                }
            }
        }
        TaskKind::Token => {
            let out = model.forward(batch.input_ids, batch.pad_mask);
            let targets: Vec<Vec<i64>> = items
                .iter()
                .map(|e| match &e.target {
                    Target::Tags(v) => v.clone(),
                    Target::Class(_) => unreachable!("a token task holds tags"),
                })
                .collect();
            loss::token_loss(out.token_logits, &targets)
        }
    }
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
