//! Data parallelism over several devices, with burn's own pieces for it: the model is forked
//! onto each device (same parameter ids), each replica computes the gradient of its shard of
//! the batch, the gradients move to the first device (`GradientsParams::to_device`) and are
//! summed there by a `GradientsAccumulator`; the optimizer steps once, on the first device.
//!
//! Each shard's loss is scaled by its share of the batch's loss normaliser (example weights
//! for the sentence task, labelled wordpieces for the token task), so the summed gradient is
//! the full batch's gradient, not an average of shard means that over-weights short shards.
//! Work is queued on every device before any result is read, so asynchronous backends (wgpu,
//! cuda) overlap the replicas.

use anyhow::{bail, Result};
use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use glassbox_model::Glassbox;

use super::step::batch_loss;
use crate::config::{Balance, TrainParams};
use crate::data::encode::Target;
use crate::data::prepare::PreparedTask;

/// Options that cannot be split across devices are refused before training starts.
pub fn check(t: &TrainParams, devices: usize) -> Result<()> {
    if devices <= 1 {
        return Ok(());
    }
    if t.mixup_alpha > 0.0 {
        bail!("mixup pairs examples across the whole batch; train it on one device (drop --devices or set train.mixup_alpha = 0)");
    }
    if t.balance == Balance::Uncertainty {
        bail!("uncertainty weighting learns its log-variances on one device; train it on one device (drop --devices or choose another train.balance)");
    }
    if t.batch_size < devices {
        bail!(
            "train.batch_size {} is smaller than the {devices} devices; every device needs at least one example",
            t.batch_size
        );
    }
    Ok(())
}

/// `idx` cut into `n` contiguous shards whose sizes differ by at most one.
pub fn shards(idx: &[usize], n: usize) -> Vec<&[usize]> {
    let n = n.max(1).min(idx.len().max(1));
    let (q, r) = (idx.len() / n, idx.len() % n);
    let mut out = Vec::with_capacity(n);
    let mut at = 0;
    for k in 0..n {
        let len = q + usize::from(k < r);
        out.push(&idx[at..at + len]);
        at += len;
    }
    out
}

/// What the task's mean loss divides by on these examples: the sum of example weights for a
/// sentence task, the number of labelled (non-ignored) wordpieces for a token task.
pub fn loss_mass(task: &PreparedTask, idx: &[usize]) -> f64 {
    idx.iter()
        .map(|&i| {
            let e = &task.encoded[i];
            match &e.target {
                Target::Class(_) => e.weight as f64,
                Target::Tags(tags) => tags.iter().filter(|&&t| t >= 0).count() as f64,
            }
        })
        .sum()
}

/// The gradient of `weight · loss(task, idx)` on the first device, computed by one replica per
/// device, and the unweighted loss of the whole batch. `seed` seeds each replica's dropout.
pub fn task_gradients<B: AutodiffBackend>(
    model: &Glassbox<B>,
    task: &PreparedTask,
    idx: &[usize],
    pad: u32,
    weight: f64,
    devices: &[B::Device],
    seed: u64,
) -> (GradientsParams, f64) {
    let main = &devices[0];
    let total = loss_mass(task, idx).max(1e-12);
    let parts: Vec<_> = shards(idx, devices.len())
        .into_iter()
        .zip(devices)
        .enumerate()
        .map(|(k, (s, dev))| {
            let replica = model.clone().fork(dev);
            B::seed(dev, seed ^ ((k as u64) << 48));
            let share = loss_mass(task, s) / total;
            let loss = batch_loss(&replica, task, s, pad, None, dev).mul_scalar(share);
            let grads = loss.clone().mul_scalar(weight).backward();
            let grads = GradientsParams::from_grads(grads, &replica).to_device(main, &replica);
            (loss, grads)
        })
        .collect();
    let mut acc = GradientsAccumulator::<Glassbox<B>>::new();
    let mut raw = 0.0;
    for (loss, grads) in parts {
        raw += loss.into_scalar().elem::<f64>();
        acc.accumulate(model, grads);
    }
    (acc.grads(), raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_in_order_and_balance() {
        let idx: Vec<usize> = (10..20).collect();
        let s = shards(&idx, 3);
        assert_eq!(s.iter().map(|x| x.len()).collect::<Vec<_>>(), vec![4, 3, 3]);
        assert_eq!(s.concat(), idx);
        assert_eq!(shards(&idx, 1), vec![&idx[..]]);
        // More devices than examples: one example each, no empty shard.
        assert_eq!(shards(&idx[..2], 4).len(), 2);
    }
}
