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
use crate::data::batch::{shards, Batcher};
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
) -> Result<(GradientsParams, f64)> {
    let main = &devices[0];
    let batcher = Batcher::new(task, pad);
    let total = batcher.targets(idx)?.loss_mass().max(1e-12);
    let classes = task.labels().len();
    let mut parts = Vec::with_capacity(devices.len());
    for (k, (s, dev)) in shards(idx, devices.len())
        .into_iter()
        .zip(devices)
        .enumerate()
    {
        let replica = model.clone().fork(dev);
        B::seed(dev, seed ^ ((k as u64) << 48));
        let batch = batcher.batch::<B>(s, dev)?;
        let share = batch.targets.loss_mass() / total;
        let loss = batch_loss(&replica, batch, classes, None).mul_scalar(share);
        let grads = loss.clone().mul_scalar(weight).backward();
        let grads = GradientsParams::from_grads(grads, &replica).to_device(main, &replica);
        parts.push((loss, grads));
    }
    let mut acc = GradientsAccumulator::<Glassbox<B>>::new();
    let mut raw = 0.0;
    for (loss, grads) in parts {
        raw += loss.into_scalar().elem::<f64>();
        acc.accumulate(model, grads);
    }
    Ok((acc.grads(), raw))
}
