//! Typed batches of one task's encoded examples, for training, evaluation and data-parallel
//! shards alike: the ids padded into one tensor pair and the targets in the task's own form
//! (classes with example weights, or per-wordpiece tags). Every consumer matches on
//! [`Targets`] once instead of re-reading each example's target and assuming its kind.

use anyhow::{bail, Result};
use burn::prelude::*;
use glassbox_model::{pad_batch, Batch};

use super::encode::{Encoded, Target};
use super::prepare::PreparedTask;
use crate::config::TaskKind;

/// The targets of a batch, in the form its task's loss takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Sentence task: one class and one loss weight per example.
    Classes {
        /// Class index per example.
        classes: Vec<usize>,
        /// Loss weight per example (1, or the annotators' confidence).
        weights: Vec<f32>,
    },
    /// Token task: one tag index per wordpiece, [`super::encode::IGNORE`] on specials.
    Tags(Vec<Vec<i64>>),
}

impl Targets {
    /// What the task's mean loss divides by: the sum of example weights for sentences, the
    /// labelled (non-ignored) wordpieces for tokens. Data-parallel shards scale by it.
    pub fn loss_mass(&self) -> f64 {
        match self {
            Targets::Classes { weights, .. } => weights.iter().map(|&w| w as f64).sum(),
            Targets::Tags(tags) => tags.iter().flatten().filter(|&&t| t >= 0).count() as f64,
        }
    }
}

/// One padded batch and its targets.
pub struct TaskBatch<B: Backend> {
    /// Padded ids and mask.
    pub inputs: Batch<B>,
    /// The examples' targets, in row order.
    pub targets: Targets,
}

/// Makes batches of one prepared task.
#[derive(Clone, Copy)]
pub struct Batcher<'a> {
    task: &'a PreparedTask,
    pad: u32,
}

impl<'a> Batcher<'a> {
    /// Batches of `task`, padded with `pad` (the tokenizer's pad id).
    pub fn new(task: &'a PreparedTask, pad: u32) -> Self {
        Self { task, pad }
    }

    /// The task's kind, which decides the form of its targets and logits.
    pub fn kind(&self) -> TaskKind {
        self.task.kind()
    }

    fn items(&self, idx: &[usize]) -> Vec<&'a Encoded> {
        idx.iter().map(|&i| &self.task.encoded[i]).collect()
    }

    /// The examples `idx` as one padded batch with their targets.
    pub fn batch<B: Backend>(&self, idx: &[usize], device: &B::Device) -> Result<TaskBatch<B>> {
        Ok(TaskBatch {
            inputs: self.inputs(idx, device),
            targets: self.targets(idx)?,
        })
    }

    /// The examples `idx` padded into one batch, without targets (what evaluation feeds).
    pub fn inputs<B: Backend>(&self, idx: &[usize], device: &B::Device) -> Batch<B> {
        let items = self.items(idx);
        let rows: Vec<&[u32]> = items.iter().map(|e| e.ids.as_slice()).collect();
        pad_batch::<B>(&rows, self.pad, device)
    }

    /// The targets of the examples `idx`, in the form of the task's kind. An example whose
    /// target has the other form is refused with its index (it cannot come out of
    /// [`super::prepare::prepare`], which encodes every example by the task's kind).
    pub fn targets(&self, idx: &[usize]) -> Result<Targets> {
        let items = self.items(idx);
        let wrong = |k: usize| {
            bail!(
                "task {:?}: example {} does not hold a {:?}-task target",
                self.task.name(),
                idx[k],
                self.task.kind()
            )
        };
        match self.task.kind() {
            TaskKind::Sentence => {
                let mut classes = Vec::with_capacity(items.len());
                for (k, e) in items.iter().enumerate() {
                    match e.target {
                        Target::Class(c) => classes.push(c),
                        Target::Tags(_) => return wrong(k),
                    }
                }
                let weights = items.iter().map(|e| e.weight).collect();
                Ok(Targets::Classes { classes, weights })
            }
            TaskKind::Token => {
                let mut tags = Vec::with_capacity(items.len());
                for (k, e) in items.iter().enumerate() {
                    match &e.target {
                        Target::Tags(t) => tags.push(t.clone()),
                        Target::Class(_) => return wrong(k),
                    }
                }
                Ok(Targets::Tags(tags))
            }
        }
    }

    /// Positions into `idx`, grouped into batches of at most `size` examples of similar
    /// length (stably sorted by length, so little compute goes into padding): evaluation's
    /// order, which does not change any score.
    pub fn by_length(&self, idx: &[usize], size: usize) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..idx.len()).collect();
        order.sort_by_key(|&k| self.task.encoded[idx[k]].ids.len());
        order.chunks(size.max(1)).map(<[usize]>::to_vec).collect()
    }
}

/// `idx` cut into `n` contiguous shards whose sizes differ by at most one (no empty shard
/// when there are fewer examples than devices).
pub fn shards(idx: &[usize], n: usize) -> Vec<&[usize]> {
    let n = n.clamp(1, idx.len().max(1));
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

    #[test]
    fn loss_mass_counts_weights_or_labelled_pieces() {
        let classes = Targets::Classes {
            classes: vec![0, 1],
            weights: vec![0.5, 1.0],
        };
        assert_eq!(classes.loss_mass(), 1.5);
        // IGNORE (-1) marks [CLS]/[SEP]: 2 + 1 labelled pieces.
        let tags = Targets::Tags(vec![vec![-1, 1, 2, -1], vec![-1, 0, -1]]);
        assert_eq!(tags.loss_mass(), 3.0);
    }
}
