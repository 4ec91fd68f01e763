//! GELU for the encoder's feed-forward block, behind burn's API: on burn-flex (inference) and
//! on `Autodiff<Flex>` (training, with the `autodiff` feature) it runs the crate's vectorised
//! exact-erf kernel ([`crate::kernels::gelu`]) over every core; on any other backend it is
//! burn's own `gelu`, which stays the reference the kernel is tested against.
//!
//! Why: burn-flex evaluates erf with a scalar libm call per element on one thread. In a
//! training step that was 16 % of the time (forward and backward), at inference 10–18 %.
//! The model is generic over `Backend`, so the fast path is picked by the tensor's concrete
//! type at run time instead of adding a bound every caller would have to carry.

use std::any::Any;

use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::{DType, TensorData, TensorPrimitive};

use crate::kernels::gelu::gelu;

/// `x · Φ(x)` elementwise, the exact-erf GELU BERT uses.
pub fn gelu_exact<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let mut slot = Some(x.into_primitive().tensor());
    let fast = fast_path(&mut slot);
    let t = Tensor::from_primitive(TensorPrimitive::Float(slot.expect("the slot is refilled")));
    if fast {
        t
    } else {
        burn::tensor::activation::gelu(t)
    }
}

/// Replaces the float tensor in `slot` by its GELU when its type has a kernel path.
fn fast_path<T: 'static>(slot: &mut Option<T>) -> bool {
    let any = slot as &mut dyn Any;
    if let Some(s) = any.downcast_mut::<Option<FlexTensor>>() {
        *s = s.take().map(flex_gelu);
        return true;
    }
    #[cfg(feature = "autodiff")]
    if let Some(s) = any.downcast_mut::<Option<autodiff::Primitive>>() {
        *s = s.take().map(autodiff::gelu);
        return true;
    }
    false
}

/// The kernel's GELU of an f32 flex tensor (burn's for other dtypes).
fn flex_gelu(x: FlexTensor) -> FlexTensor {
    if x.dtype() != DType::F32 {
        return <Flex as burn::tensor::ops::ActivationOps<Flex>>::gelu(x);
    }
    let x = x.to_contiguous();
    let shape = x.layout().shape().clone();
    let mut out = vec![0.0f32; shape.num_elements()];
    parallel_map(x.storage::<f32>(), &mut out, |xs, out| {
        for (o, &v) in out.iter_mut().zip(xs) {
            *o = gelu(v);
        }
    });
    FlexTensor::from_data(TensorData::new(out, shape))
}

/// `grad · GELU′(x)` for f32 flex tensors of one shape (burn's for other dtypes).
#[cfg(feature = "autodiff")]
fn flex_gelu_backward(x: FlexTensor, grad: FlexTensor) -> FlexTensor {
    if x.dtype() != DType::F32 || grad.dtype() != DType::F32 {
        return <Flex as burn::tensor::ops::ActivationOps<Flex>>::gelu_backward(x, grad);
    }
    let (x, mut grad) = (x.to_contiguous(), grad.to_contiguous());
    let xs = x.storage::<f32>();
    let gs = grad.storage_mut::<f32>();
    parallel_map(xs, gs, |xs, gs| {
        for (g, &v) in gs.iter_mut().zip(xs) {
            *g *= crate::kernels::gelu::gelu_derivative(v);
        }
    });
    grad
}

/// Elements below which one thread is faster than starting more.
const PARALLEL_MIN: usize = 1 << 15;

/// Workers for an elementwise pass over `n` values: every core natively, one in wasm.
fn workers(n: usize) -> usize {
    if cfg!(target_family = "wasm") || n < PARALLEL_MIN {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |c| c.get())
}

/// `f(input chunk, output chunk)` over equal chunks of both, one chunk per worker (the
/// output may hold values `f` updates in place).
/// With one worker `f` runs on the calling thread: wasm has no threads to spawn.
fn parallel_map(xs: &[f32], out: &mut [f32], f: impl Fn(&[f32], &mut [f32]) + Sync) {
    let workers = workers(xs.len());
    if workers == 1 {
        return f(xs, out);
    }
    let chunk = xs.len().div_ceil(workers).max(1);
    std::thread::scope(|s| {
        for (x, o) in xs.chunks(chunk).zip(out.chunks_mut(chunk)) {
            s.spawn(|| f(x, o));
        }
    });
}

#[cfg(feature = "autodiff")]
mod autodiff {
    //! GELU as a tracked operation of `Autodiff<Flex>`: the forward and the backward both run
    //! the kernel; the input is kept as the backward's state (it is compute-bound to redo).

    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{unary, Backward, Ops, OpsKind};
    use burn::backend::flex::FlexTensor;
    use burn::backend::{Autodiff, Flex};

    /// The float tensor of `Autodiff<Flex>` (burn does not export its name).
    pub type Primitive = burn::tensor::ops::FloatTensor<Autodiff<Flex>>;

    #[derive(Debug)]
    struct Gelu;

    impl Backward<Flex, 1> for Gelu {
        type State = FlexTensor;

        fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let x = ops.state;
            unary::<Flex, _>(ops.parents, ops.node, grads, |grad| {
                super::flex_gelu_backward(x, grad)
            });
        }
    }

    pub fn gelu(x: Primitive) -> Primitive {
        let out = super::flex_gelu(x.primitive.clone());
        match Gelu
            .prepare::<NoCheckpointing>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(x.primitive, out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::gelu as burn_gelu;

    fn values(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919) % 2001) as f32 / 200.0 - 5.0)
            .collect()
    }

    fn max_diff<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f32 {
        (a - b).abs().max().into_scalar().elem::<f32>()
    }

    #[test]
    fn flex_gelu_matches_burns_on_small_large_and_strided_tensors() {
        let d = Default::default();
        for n in [7, PARALLEL_MIN * 3 + 5] {
            let x = Tensor::<Flex, 1>::from_data(TensorData::new(values(n), [n]), &d);
            assert!(
                max_diff(gelu_exact(x.clone()), burn_gelu(x)) < 1e-6,
                "n {n}"
            );
        }
        let x = Tensor::<Flex, 2>::from_data(TensorData::new(values(600), [20, 30]), &d);
        let t = x.swap_dims(0, 1);
        assert!(max_diff(gelu_exact(t.clone()), burn_gelu(t)) < 1e-6);
    }

    /// The gradient of Σ w·gelu(x) through the kernel equals burn's own, on a tensor large
    /// enough to be split between threads.
    #[cfg(feature = "autodiff")]
    #[test]
    fn autodiff_gelu_gradient_matches_burns() {
        use burn::backend::Autodiff;
        type A = Autodiff<Flex>;
        let d = Default::default();
        let n = PARALLEL_MIN * 2 + 3;
        let w = Tensor::<A, 1>::from_data(TensorData::new(values(n), [n]), &d).sin();
        let grad_of = |f: fn(Tensor<A, 1>) -> Tensor<A, 1>| {
            let x = Tensor::<A, 1>::from_data(TensorData::new(values(n), [n]), &d).require_grad();
            let y = (f(x.clone()) * w.clone()).sum();
            let grads = y.backward();
            x.grad(&grads).expect("x is tracked")
        };
        let ours = grad_of(gelu_exact);
        let burns = grad_of(burn_gelu);
        assert!(max_diff(ours, burns) < 2e-6);
    }
}
