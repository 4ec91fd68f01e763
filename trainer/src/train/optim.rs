//! AdamW over parameter groups, with gradient clipping on the *global* norm.
//!
//! burn's optimizer applies one weight decay to everything and clips each tensor on its own;
//! fine-tuning recipes (BERT's included) exclude biases and LayerNorm from decay and clip the
//! norm of the whole gradient, so the update keeps its direction. Each group is one burn
//! `AdamW` adaptor that only ever sees its own parameters' gradients.

use std::collections::{HashMap, HashSet};

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

/// The part of the model a parameter belongs to: what layer-wise decay, task learning rates
/// and (gradual) freezing act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Unit {
    Embeddings,
    /// Encoder layer, 0 = closest to the embeddings.
    Layer(usize),
    SentenceHead,
    TokenHead,
}

impl Unit {
    pub fn of(path: &str) -> Unit {
        let mut parts = path.split('.');
        match parts.next() {
            Some("sentence_head") => Unit::SentenceHead,
            Some("token_head") => Unit::TokenHead,
            Some("encoder") => {
                // encoder.layers.<i>.…
                let i = parts.nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
                Unit::Layer(i)
            }
            _ => Unit::Embeddings,
        }
    }

    pub fn shared(self) -> bool {
        matches!(self, Unit::Embeddings | Unit::Layer(_))
    }
}

/// A set of parameters sharing one learning-rate factor and weight decay.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub unit: Unit,
    pub lr_factor: f64,
    pub weight_decay: f64,
    pub params: Vec<ParamId>,
}

/// Learning-rate factors: the encoder's (times ξ^(L−l) for layer l = 1..L, ξ^L for the
/// embeddings) and each head's.
#[derive(Debug, Clone, Copy)]
pub struct LrFactors {
    pub encoder: f64,
    pub layer_decay: f64,
    pub layers: usize,
    pub sentence_head: f64,
    pub token_head: f64,
}

impl LrFactors {
    /// Every factor 1 (tests).
    #[cfg(test)]
    pub fn uniform(layers: usize) -> Self {
        Self {
            encoder: 1.0,
            layer_decay: 1.0,
            layers,
            sentence_head: 1.0,
            token_head: 1.0,
        }
    }

    pub fn of(&self, unit: Unit) -> f64 {
        let depth = |l: usize| self.layer_decay.powi((self.layers - l) as i32);
        match unit {
            Unit::Embeddings => self.encoder * depth(0),
            Unit::Layer(i) => self.encoder * depth((i + 1).min(self.layers)),
            Unit::SentenceHead => self.sentence_head,
            Unit::TokenHead => self.token_head,
        }
    }
}

/// One group per (unit, decayed or not): weights get `weight_decay`, biases and LayerNorm none.
pub fn groups(params: &[ParamInfo], weight_decay: f64, lr: &LrFactors) -> Vec<GroupSpec> {
    let mut by: std::collections::BTreeMap<(Unit, bool), Vec<ParamId>> = Default::default();
    for p in params {
        by.entry((Unit::of(&p.path), decays(&p.path)))
            .or_default()
            .push(p.id);
    }
    by.into_iter()
        .map(|((unit, decay), params)| GroupSpec {
            unit,
            lr_factor: lr.of(unit),
            weight_decay: if decay { weight_decay } else { 0.0 },
            params,
        })
        .collect()
}

/// Units that do not train at `step`: frozen embeddings, a frozen encoder, or the layers
/// gradual unfreezing has not reached yet (top layer first, one more every `every` steps,
/// the embeddings last).
pub fn frozen_units(
    freeze_embeddings: bool,
    freeze_encoder: bool,
    unfreeze_every: usize,
    layers: usize,
    step: usize,
) -> HashSet<Unit> {
    let mut f = HashSet::new();
    if freeze_embeddings {
        f.insert(Unit::Embeddings);
    }
    if freeze_encoder {
        f.insert(Unit::Embeddings);
        f.extend((0..layers).map(Unit::Layer));
    } else if let Some(open) = step.checked_div(unfreeze_every) {
        // `open` units are unfrozen so far, from the top.
        f.extend((0..layers.saturating_sub(open)).map(Unit::Layer));
        if open <= layers {
            f.insert(Unit::Embeddings);
        }
    }
    f
}

pub struct GroupOptimizer<B: AutodiffBackend, M: AutodiffModule<B>> {
    pub groups: Vec<GroupSpec>,
    optims: Vec<OptimizerAdaptor<AdamW, M, B>>,
    group_of: HashMap<ParamId, usize>,
    /// Learning rate each group was stepped with at the last step (`None`: frozen / no grad).
    pub last_lrs: Vec<Option<f64>>,
}

/// Moves each gradient into its group's container, dropping those of frozen groups.
struct Regroup<'a, B: AutodiffBackend> {
    all: &'a mut GradientsParams,
    group_of: &'a HashMap<ParamId, usize>,
    skip: &'a [bool],
    out: Vec<GradientsParams>,
    _b: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Regroup<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some(g) = self.all.remove::<B::InnerBackend, D>(param.id) else {
            return;
        };
        if let Some(&gi) = self.group_of.get(&param.id) {
            if !self.skip[gi] {
                self.out[gi].register::<B::InnerBackend, D>(param.id, g);
            }
        }
    }
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
        let n = groups.len();
        Self {
            groups,
            optims,
            group_of,
            last_lrs: vec![None; n],
        }
    }

    /// Ids of the parameters in `units`.
    pub fn ids_of(&self, pick: impl Fn(Unit) -> bool) -> HashSet<ParamId> {
        self.groups
            .iter()
            .filter(|g| pick(g.unit))
            .flat_map(|g| g.params.iter().copied())
            .collect()
    }

    /// Drops the gradients of `frozen` units, clips the rest to `max_norm` (global) and applies
    /// one AdamW step per group at `lr × factor`. Frozen parameters are not touched at all (no
    /// weight decay either). Returns the updated module and the trained gradient's norm before
    /// clipping.
    pub fn step(
        &mut self,
        lr: f64,
        module: M,
        mut all: GradientsParams,
        max_norm: f64,
        frozen: &HashSet<Unit>,
    ) -> (M, f64) {
        let skip: Vec<bool> = self
            .groups
            .iter()
            .map(|g| frozen.contains(&g.unit))
            .collect();
        let mut v = Regroup::<B> {
            all: &mut all,
            group_of: &self.group_of,
            skip: &skip,
            out: (0..self.groups.len())
                .map(|_| GradientsParams::new())
                .collect(),
            _b: Default::default(),
        };
        module.visit(&mut v);
        let mut per_group = v.out;
        let norm = per_group
            .iter()
            .map(|g| super::grads::squared_norm::<B, M>(&module, g, None))
            .sum::<f64>()
            .sqrt();
        let factor = clip_factor(norm, max_norm);
        let mut module = module;
        for g in per_group.iter_mut() {
            if factor != 1.0 && !g.is_empty() {
                super::grads::scale::<B, M>(&module, g, factor);
            }
        }
        for (gi, g) in per_group.into_iter().enumerate() {
            if g.is_empty() {
                self.last_lrs[gi] = None;
                continue;
            }
            let glr = lr * self.groups[gi].lr_factor;
            self.last_lrs[gi] = Some(glr);
            module = self.optims[gi].step(glr, module, g);
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
    use burn::backend::{Autodiff, Flex};
    use glassbox_model::{BertConfig, Glassbox, GlassboxConfig};

    type B = Autodiff<Flex>;

    fn tiny() -> Glassbox<B> {
        let bert = BertConfig::new(50, 16, 3, 4, 32, 20, 2);
        let config = GlassboxConfig::new(
            bert,
            vec!["a".into(), "b".into()],
            vec!["O".into(), "B-x".into(), "I-x".into()],
        );
        let device = Default::default();
        <B as Backend>::seed(&device, 3);
        config.init(&device)
    }

    /// Every parameter's values by path.
    fn snapshot(m: &Glassbox<B>) -> std::collections::BTreeMap<String, Vec<f32>> {
        struct S(Vec<String>, std::collections::BTreeMap<String, Vec<f32>>);
        impl ModuleVisitor<B> for S {
            fn enter_module(&mut self, name: &str, _: &str) {
                self.0.push(name.into());
            }
            fn exit_module(&mut self, _: &str, _: &str) {
                self.0.pop();
            }
            fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
                self.1
                    .insert(self.0.join("."), p.val().into_data().to_vec().unwrap());
            }
        }
        let mut s = S(vec![], Default::default());
        m.visit(&mut s);
        s.1
    }

    fn grads_of(m: &Glassbox<B>) -> GradientsParams {
        let d = Default::default();
        let ids = Tensor::<B, 2, Int>::from_data([[1i64, 5, 6, 7, 2], [1, 8, 9, 2, 0]], &d);
        let mask =
            Tensor::<B, 2, Bool>::from_data([[false; 5], [false, false, false, false, true]], &d);
        let out = m.forward(ids, mask);
        let loss = out.sentence_logits.powi_scalar(2).sum() + out.token_logits.powi_scalar(2).sum();
        GradientsParams::from_grads(loss.backward(), m)
    }

    #[test]
    fn every_parameter_has_a_unit_and_a_group() {
        let m = tiny();
        let params = parameters::<B, _>(&m);
        let units: HashSet<Unit> = params.iter().map(|p| Unit::of(&p.path)).collect();
        let want: HashSet<Unit> = [
            Unit::Embeddings,
            Unit::Layer(0),
            Unit::Layer(1),
            Unit::Layer(2),
            Unit::SentenceHead,
            Unit::TokenHead,
        ]
        .into();
        assert_eq!(
            units,
            want,
            "paths: {:?}",
            params.iter().map(|p| &p.path).collect::<Vec<_>>()
        );
        assert!(params.iter().any(|p| p.path.starts_with("embeddings.")));
        let g = groups(&params, 0.01, &LrFactors::uniform(3));
        assert_eq!(
            g.iter().map(|g| g.params.len()).sum::<usize>(),
            params.len()
        );
    }

    #[test]
    fn layer_wise_decay_and_task_factors_set_each_groups_applied_lr() {
        let mut m = tiny();
        let f = LrFactors {
            encoder: 0.5,
            layer_decay: 0.8,
            layers: 3,
            sentence_head: 10.0,
            token_head: 2.0,
        };
        let mut opt =
            GroupOptimizer::<B, Glassbox<B>>::new(groups(&parameters::<B, _>(&m), 0.01, &f));
        let g = grads_of(&m);
        m = opt.step(1e-3, m, g, 0.0, &HashSet::new()).0;
        let _ = m;
        for (spec, lr) in opt.groups.iter().zip(&opt.last_lrs) {
            // layer l = 1..3 (index + 1) gets lr·enc·ξ^(3−l); embeddings lr·enc·ξ^3.
            let want = 1e-3
                * match spec.unit {
                    Unit::Embeddings => 0.5 * 0.8f64.powi(3),
                    Unit::Layer(i) => 0.5 * 0.8f64.powi(3 - (i as i32 + 1)),
                    Unit::SentenceHead => 10.0,
                    Unit::TokenHead => 2.0,
                };
            let got = lr.expect("every group had a gradient");
            assert!(
                (got - want).abs() < 1e-15,
                "{:?} (decay {}): {got} vs {want}",
                spec.unit,
                spec.weight_decay
            );
        }
        // Top layer at the full encoder rate, embeddings lowest.
        assert_eq!(f.of(Unit::Layer(2)), 0.5);
        assert!(f.of(Unit::Embeddings) < f.of(Unit::Layer(0)));
    }

    #[test]
    fn gradual_unfreezing_opens_layers_top_down_then_the_embeddings() {
        let f = |step| frozen_units(false, false, 10, 3, step);
        let all: HashSet<Unit> = [
            Unit::Embeddings,
            Unit::Layer(0),
            Unit::Layer(1),
            Unit::Layer(2),
        ]
        .into();
        assert_eq!(f(0), all, "heads only at first");
        assert_eq!(f(9), all);
        assert_eq!(
            f(10),
            [Unit::Embeddings, Unit::Layer(0), Unit::Layer(1)].into()
        );
        assert_eq!(f(25), [Unit::Embeddings, Unit::Layer(0)].into());
        assert_eq!(f(30), [Unit::Embeddings].into());
        assert!(f(40).is_empty());
        // Frozen embeddings stay frozen; a frozen encoder keeps every layer frozen.
        assert_eq!(
            frozen_units(true, false, 10, 3, 100),
            [Unit::Embeddings].into()
        );
        assert_eq!(frozen_units(false, true, 0, 3, 100), all);
        assert!(frozen_units(false, false, 0, 3, 0).is_empty());
    }

    #[test]
    fn frozen_parameters_stay_bit_identical_and_the_rest_train() {
        let mut m = tiny();
        let before = snapshot(&m);
        let mut opt = GroupOptimizer::<B, Glassbox<B>>::new(groups(
            &parameters::<B, _>(&m),
            0.1, // weight decay alone would move a frozen weight that were stepped
            &LrFactors::uniform(3),
        ));
        for step in 0..4 {
            let frozen = frozen_units(true, false, 2, 3, step);
            let g = grads_of(&m);
            m = opt.step(1e-2, m, g, 1.0, &frozen).0;
        }
        // Steps 0–1: heads only; steps 2–3: layer 2 opened too. Embeddings always frozen.
        let after = snapshot(&m);
        for (path, v) in &before {
            let same = &after[path] == v;
            let should_move = path.starts_with("sentence_head")
                || path.starts_with("token_head")
                || path.starts_with("encoder.layers.2.");
            assert_eq!(!same, should_move, "{path}");
        }
    }

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
