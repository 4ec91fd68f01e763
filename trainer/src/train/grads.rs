//! Arithmetic on whole gradients (`GradientsParams`), optionally restricted to a set of
//! parameters: norms, dot products and `y += c·x`. Gradient surgery (PCGrad), GradNorm and
//! global-norm clipping are written with these, on the backend's own tensors — no copy of the
//! gradient leaves the device except the scalars.

use std::collections::HashSet;

use burn::module::{AutodiffModule, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

enum Op<'a> {
    SquaredNorm(&'a GradientsParams),
    Dot(&'a GradientsParams, &'a GradientsParams),
    /// y += c·x (x's tensor registered in y when y has none).
    Axpy(&'a mut GradientsParams, f64, &'a GradientsParams),
    Scale(&'a mut GradientsParams, f64),
}

struct Visit<'a, B: AutodiffBackend> {
    op: Op<'a>,
    only: Option<&'a HashSet<ParamId>>,
    acc: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> Visit<'_, B> {
    fn add(&mut self, s: Tensor<B::InnerBackend, 1>) {
        self.acc = Some(match self.acc.take() {
            Some(a) => a + s,
            None => s,
        });
    }
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Visit<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let id = param.id;
        if self.only.is_some_and(|o| !o.contains(&id)) {
            return;
        }
        match &mut self.op {
            Op::SquaredNorm(g) => {
                if let Some(t) = g.get::<B::InnerBackend, D>(id) {
                    self.add(t.powi_scalar(2).sum());
                }
            }
            Op::Dot(a, b) => {
                if let (Some(x), Some(y)) = (
                    a.get::<B::InnerBackend, D>(id),
                    b.get::<B::InnerBackend, D>(id),
                ) {
                    self.add((x * y).sum());
                }
            }
            Op::Axpy(y, c, x) => {
                if let Some(xv) = x.get::<B::InnerBackend, D>(id) {
                    let xv = if *c == 1.0 { xv } else { xv.mul_scalar(*c) };
                    let v = match y.remove::<B::InnerBackend, D>(id) {
                        Some(yv) => yv + xv,
                        None => xv,
                    };
                    y.register::<B::InnerBackend, D>(id, v);
                }
            }
            Op::Scale(g, c) => {
                if let Some(v) = g.remove::<B::InnerBackend, D>(id) {
                    g.register::<B::InnerBackend, D>(id, v.mul_scalar(*c));
                }
            }
        }
    }
}

fn run<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    op: Op<'_>,
    only: Option<&HashSet<ParamId>>,
) -> f64 {
    let mut v = Visit::<B> {
        op,
        only,
        acc: None,
    };
    module.visit(&mut v);
    v.acc.map(|a| a.into_scalar().elem::<f64>()).unwrap_or(0.0)
}

/// Σ g² over the parameters of `module` (those in `only`, when given).
pub fn squared_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    g: &GradientsParams,
    only: Option<&HashSet<ParamId>>,
) -> f64 {
    run::<B, M>(module, Op::SquaredNorm(g), only)
}

pub fn dot<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    a: &GradientsParams,
    b: &GradientsParams,
    only: Option<&HashSet<ParamId>>,
) -> f64 {
    run::<B, M>(module, Op::Dot(a, b), only)
}

/// `y += c·x` on the parameters in `only` (all when `None`).
pub fn axpy<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    y: &mut GradientsParams,
    c: f64,
    x: &GradientsParams,
    only: Option<&HashSet<ParamId>>,
) {
    run::<B, M>(module, Op::Axpy(y, c, x), only);
}

pub fn scale<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    g: &mut GradientsParams,
    c: f64,
) {
    run::<B, M>(module, Op::Scale(g, c), None);
}
