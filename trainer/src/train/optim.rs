//! AdamW over parameter groups, with gradient clipping on the *global* norm.
//!
//! burn's optimizer applies one weight decay to everything and clips each tensor on its own;
//! fine-tuning recipes (BERT's included) exclude biases and LayerNorm from decay and clip the
//! norm of the whole gradient, so the update keeps its direction. Each group is one burn
//! `AdamW` adaptor that only ever sees its own parameters' gradients.

use std::collections::HashMap;

use burn::module::{AutodiffModule, ModuleVisitor, Param, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;

/// One trainable tensor and where it lives in the model.
#[derive(Debug, Clone)]
pub struct ParamInfo {
    pub id: ParamId,
    /// Dotted path, e.g. `encoder.layers.3.attention.norm.gamma`.
    pub path: String,
    pub numel: usize,
}

#[derive(Default)]
struct Collect {
    stack: Vec<String>,
    out: Vec<ParamInfo>,
}

impl<B: Backend> ModuleVisitor<B> for Collect {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.stack.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.stack.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.out.push(ParamInfo {
            id: param.id,
            path: self.stack.join("."),
            numel: param.val().shape().num_elements(),
        });
    }
}

/// Every float parameter of `module`, in visiting order.
pub fn parameters<B: Backend, M: Module<B>>(module: &M) -> Vec<ParamInfo> {
    let mut c = Collect::default();
    module.visit(&mut c);
    c.out
}

/// Biases and LayerNorm scales/shifts get no weight decay.
pub fn decays(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    !(last == "bias" || last == "beta" || last == "gamma" || path.contains("norm"))
}

/// A named set of parameters sharing one learning-rate factor and weight decay.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub name: String,
    pub lr_factor: f64,
    pub weight_decay: f64,
    pub params: Vec<ParamId>,
}

/// The default grouping: decayed weights vs. biases/LayerNorm.
pub fn default_groups(params: &[ParamInfo], weight_decay: f64) -> Vec<GroupSpec> {
    let (d, nd): (Vec<&ParamInfo>, Vec<&ParamInfo>) = params.iter().partition(|p| decays(&p.path));
    vec![
        GroupSpec {
            name: "decay".into(),
            lr_factor: 1.0,
            weight_decay,
            params: d.iter().map(|p| p.id).collect(),
        },
        GroupSpec {
            name: "no_decay".into(),
            lr_factor: 1.0,
            weight_decay: 0.0,
            params: nd.iter().map(|p| p.id).collect(),
        },
    ]
}

pub struct GroupOptimizer<B: AutodiffBackend, M: AutodiffModule<B>> {
    pub groups: Vec<GroupSpec>,
    optims: Vec<OptimizerAdaptor<AdamW, M, B>>,
    group_of: HashMap<ParamId, usize>,
}

/// Sum of squares of every gradient, then (optionally) each gradient scaled and moved to its
/// group's container — one visit, knowing each tensor's rank.
struct Regroup<'a, B: AutodiffBackend> {
    all: &'a mut GradientsParams,
    group_of: &'a HashMap<ParamId, usize>,
    out: Vec<GradientsParams>,
    factor: f64,
    _b: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Regroup<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some(g) = self.all.remove::<B::InnerBackend, D>(param.id) else {
            return;
        };
        if let Some(&gi) = self.group_of.get(&param.id) {
            let g = if self.factor == 1.0 {
                g
            } else {
                g.mul_scalar(self.factor)
            };
            self.out[gi].register::<B::InnerBackend, D>(param.id, g);
        }
    }
}

struct SquaredNorm<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    acc: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNorm<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            let s = g.powi_scalar(2).sum();
            self.acc = Some(match self.acc.take() {
                Some(a) => a + s,
                None => s,
            });
        }
    }
}

/// Global L2 norm of the gradients in `grads` for the parameters of `module`.
pub fn global_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &GradientsParams,
) -> f64 {
    let mut v = SquaredNorm::<B> { grads, acc: None };
    module.visit(&mut v);
    v.acc
        .map(|a| a.into_scalar().elem::<f64>().sqrt())
        .unwrap_or(0.0)
}

/// Factor that scales a gradient of norm `norm` down to `max_norm` (1 when already inside).
pub fn clip_factor(norm: f64, max_norm: f64) -> f64 {
    if max_norm > 0.0 && norm > max_norm {
        max_norm / (norm + 1e-6)
    } else {
        1.0
    }
}

impl<B: AutodiffBackend, M: AutodiffModule<B>> GroupOptimizer<B, M> {
    pub fn new(groups: Vec<GroupSpec>) -> Self {
        let mut group_of = HashMap::new();
        for (gi, g) in groups.iter().enumerate() {
            for id in &g.params {
                group_of.insert(*id, gi);
            }
        }
        let optims = groups
            .iter()
            .map(|g| {
                AdamWConfig::new()
                    .with_weight_decay(g.weight_decay as f32)
                    .with_epsilon(1e-8)
                    .init()
            })
            .collect();
        Self {
            groups,
            optims,
            group_of,
        }
    }

    /// Clips to `max_norm` (global) and applies one AdamW step per group at `lr × factor`.
    /// Returns the updated module and the gradient norm before clipping.
    pub fn step(&mut self, lr: f64, module: M, grads: B::Gradients, max_norm: f64) -> (M, f64) {
        let mut all = GradientsParams::from_grads::<B, M>(grads, &module);
        let norm = global_norm::<B, M>(&module, &all);
        let factor = clip_factor(norm, max_norm);
        let mut v = Regroup::<B> {
            all: &mut all,
            group_of: &self.group_of,
            out: (0..self.groups.len())
                .map(|_| GradientsParams::new())
                .collect(),
            factor,
            _b: Default::default(),
        };
        module.visit(&mut v);
        let mut module = module;
        for ((opt, g), spec) in self.optims.iter_mut().zip(v.out).zip(&self.groups) {
            if !g.is_empty() {
                module = opt.step(lr * spec.lr_factor, module, g);
            }
        }
        (module, norm)
    }

    /// Optimizer state (moments per parameter id), one byte blob per group.
    pub fn save(&self) -> anyhow::Result<Vec<Vec<u8>>> {
        let rec = BinBytesRecorder::<FullPrecisionSettings>::default();
        self.optims
            .iter()
            .map(|o| {
                Recorder::<B>::record(&rec, o.to_record(), ())
                    .map_err(|e| anyhow::anyhow!("saving optimizer state: {e}"))
            })
            .collect()
    }

    pub fn load(mut self, blobs: Vec<Vec<u8>>, device: &B::Device) -> anyhow::Result<Self> {
        if blobs.len() != self.optims.len() {
            anyhow::bail!(
                "checkpoint holds {} optimizer groups, this configuration has {}",
                blobs.len(),
                self.optims.len()
            );
        }
        let rec = BinBytesRecorder::<FullPrecisionSettings>::default();
        let mut optims = Vec::new();
        for (o, b) in self.optims.into_iter().zip(blobs) {
            let r = Recorder::<B>::load(&rec, b, device)
                .map_err(|e| anyhow::anyhow!("loading optimizer state: {e}"))?;
            optims.push(o.load_record(r));
        }
        self.optims = optims;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_decay_on_biases_and_layer_norms() {
        assert!(decays("encoder.layers.0.attention.query.weight"));
        assert!(decays("embeddings.word_embeddings.weight"));
        assert!(!decays("encoder.layers.0.attention.query.bias"));
        assert!(!decays("encoder.layers.0.norm.gamma"));
        assert!(!decays("embeddings.norm.beta"));
    }

    #[test]
    fn clipping_keeps_small_gradients_and_scales_large_ones_to_the_limit() {
        assert_eq!(clip_factor(0.5, 1.0), 1.0);
        assert_eq!(clip_factor(5.0, 0.0), 1.0);
        assert!((clip_factor(4.0, 1.0) * 4.0 - 1.0).abs() < 1e-6);
    }
}
