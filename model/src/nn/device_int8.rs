//! The encoder's projections as burn quantized tensors on the model's own device: int8
//! weights that stay int8 in GPU memory, read by burn's matrix multiply as they are.
//!
//! Why not `nn::Linear` with quantized weights: burn 0.21's `Linear` calls
//! `burn::tensor::module::linear`, which takes `weight.primitive.tensor()`, a whole f32
//! dequantized copy, at every forward. `Tensor::matmul` with a float left-hand side and a
//! quantized right-hand side instead reaches the backend's `q_matmul`. On burn-cubecl (wgpu,
//! WebGPU) that hands the packed `u32` values and their scales to cubek's matmul, whose
//! global reader dequantizes each tile as it loads it (burn-cubecl `kernel/matmul/base.rs`
//! `launch_matmul`, cubek-matmul `launch/args.rs` `ViewArg::new_quantized`): no f32 copy of
//! the weight is made. That is the default `Strategy::Auto` this workspace gets (burn-wgpu's
//! `autotune` feature is off); with autotune on, the tuner also times a naive kernel that
//! does dequantize block-quantized weights first. On burn-flex (CPU) `q_matmul` is burn's
//! generic fallback, which dequantizes the weight into a temporary f32 matrix every call:
//! the same numbers, no saving ([`super::projection::Int8`] is the CPU's fast path).
//!
//! The scheme: symmetric int8 (`Q8S`), four values packed per `u32` (WGSL has no 8-bit
//! type), one f32 scale per block of [`BLOCK`] consecutive output columns of a weight row:
//! 1 + 4/32 bytes per weight, 28 % of f32. These are the blocks of the bundle's int8 export
//! ([`crate::weights::quantize`]), so an int8 bundle's weights requantize to the same int8
//! values. Blocks run along the last (packed) dimension because that is the layout both
//! backends agree on: burn-flex re-blocks a transposed block-quantized tensor along its new
//! last dimension, and cubecl wants a block at least as wide as one vector load of packed
//! values. Activations stay f32; the bias is added in f32 after the multiply.

use crate::nn::activation::gelu_exact;
use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::quantization::{QuantLevel, QuantScheme, QuantStore, QuantValue};

use crate::nn::encoder::{BertLayer, SelfAttention};
use crate::nn::model::Glassbox;
use crate::nn::projection::Projector;

/// Output columns sharing one scale. Every projection width of a BERT (`hidden`, `3 ×
/// hidden` fused, `intermediate`) must be a multiple of it.
pub const BLOCK: usize = 32;

/// The quantization [`DeviceInt8`] applies to every projection weight `[d_in, d_out]`.
pub fn scheme() -> QuantScheme {
    QuantScheme::default()
        .with_value(QuantValue::Q8S)
        .with_level(QuantLevel::block([1, BLOCK as u8]))
        .with_store(QuantStore::PackedU32(0))
}

/// One projection (or several sharing their input, side by side): its quantized weight and
/// its f32 bias.
#[derive(Debug, Clone)]
struct QuantLinear<B: Backend> {
    /// `[d_in, d_out]`, quantized with [`scheme`].
    weight: Tensor<B, 2>,
    /// `[1, d_out]`.
    bias: Tensor<B, 2>,
}

impl<B: Backend> QuantLinear<B> {
    /// The column-wise concatenation of `linears` (same input width), quantized on their
    /// device; the f32 concatenation is a temporary.
    fn pack(linears: &[&Linear<B>]) -> Self {
        let weights = linears.iter().map(|l| l.weight.val()).collect();
        let weight = Tensor::cat(weights, 1);
        let [_, width] = weight.dims();
        assert!(
            width.is_multiple_of(BLOCK),
            "projection width {width} is not a multiple of the int8 block {BLOCK}"
        );
        let biases = linears
            .iter()
            .map(|l| match &l.bias {
                Some(b) => b.val(),
                None => Tensor::zeros([l.weight.dims()[1]], &weight.device()),
            })
            .collect();
        QuantLinear {
            weight: weight.quantize_dynamic(&scheme()),
            bias: Tensor::cat(biases, 0).unsqueeze(),
        }
    }

    /// `x` `[batch, len, d_in]` times the weight, plus the bias: `[batch, len, d_out]`.
    fn apply(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let [batch, len, d_in] = x.dims();
        let [_, d_out] = self.weight.dims();
        let y = x.reshape([batch * len, d_in]).matmul(self.weight.clone()) + self.bias.clone();
        y.reshape([batch, len, d_out])
    }
}

/// One encoder layer's projections, quantized.
#[derive(Debug, Clone)]
struct QuantLayer<B: Backend> {
    /// Query, key and value side by side: one multiply.
    qkv: QuantLinear<B>,
    attention_out: QuantLinear<B>,
    intermediate: QuantLinear<B>,
    output: QuantLinear<B>,
}

/// All six projections of every encoder layer as int8 tensors on the model's device, built
/// once from a loaded model; everything else in the forward pass is unchanged f32.
#[derive(Debug, Clone)]
pub struct DeviceInt8<B: Backend> {
    layers: Vec<QuantLayer<B>>,
}

impl<B: Backend> DeviceInt8<B> {
    /// Quantizes every encoder projection of `model` (f32 or dequantized weights) on the
    /// model's device. The model keeps its f32 weights; see [`Self::take`] to drop them.
    pub fn pack(model: &Glassbox<B>) -> Self {
        let layers = model
            .encoder
            .layers
            .iter()
            .map(|l| {
                let a = &l.attention;
                QuantLayer {
                    qkv: QuantLinear::pack(&[&a.query, &a.key, &a.value]),
                    attention_out: QuantLinear::pack(&[&a.output]),
                    intermediate: QuantLinear::pack(&[&l.intermediate]),
                    output: QuantLinear::pack(&[&l.output]),
                }
            })
            .collect();
        DeviceInt8 { layers }
    }

    /// [`Self::pack`], then the model with those projections' f32 weights and biases
    /// released (a 1 × 1 zero placeholder each), so the device holds the int8 copy only.
    /// The returned model must be run with these kernels: its own projections are gone.
    pub fn take(mut model: Glassbox<B>) -> (Glassbox<B>, Self) {
        let packed = Self::pack(&model);
        for l in &mut model.encoder.layers {
            let a = &mut l.attention;
            for linear in [
                &mut a.query,
                &mut a.key,
                &mut a.value,
                &mut a.output,
                &mut l.intermediate,
                &mut l.output,
            ] {
                release(linear);
            }
        }
        (model, packed)
    }
}

/// Replaces `linear`'s parameters by a 1 × 1 zero weight and no bias, freeing their memory.
fn release<B: Backend>(linear: &mut Linear<B>) {
    let device = linear.weight.device();
    linear.weight = Param::from_tensor(Tensor::zeros([1, 1], &device));
    linear.bias = None;
}

impl<B: Backend> Projector<B> for DeviceInt8<B> {
    fn qkv(&self, layer: usize, _: &SelfAttention<B>, x: Tensor<B, 3>) -> [Tensor<B, 3>; 3] {
        let mut parts = self.layers[layer].qkv.apply(x).chunk(3, 2).into_iter();
        let mut next = || parts.next().expect("the fused projection is three wide");
        [next(), next(), next()]
    }

    fn attention_out(&self, layer: usize, _: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        self.layers[layer].attention_out.apply(x)
    }

    fn feed_forward(&self, layer: usize, _: &BertLayer<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let l = &self.layers[layer];
        l.output.apply(gelu_exact(l.intermediate.apply(x)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::projection::{Dense, Kernels};
    use crate::{BertConfig, GlassboxConfig, GlassboxOutput};
    use burn::backend::Flex;
    use burn::tensor::DType;

    fn tiny() -> Glassbox<Flex> {
        let bert = BertConfig::new(50, 32, 2, 4, 64, 20, 2);
        let config = GlassboxConfig::default_tasks(bert);
        let device = Default::default();
        Flex::seed(&device, 7);
        config.init(&device)
    }

    /// Two sentences, the second padded.
    fn run(model: &Glassbox<Flex>, kernels: &impl Projector<Flex>) -> GlassboxOutput<Flex> {
        let device = Default::default();
        let ids = Tensor::<Flex, 2, Int>::from_data(
            TensorData::new(vec![1i64, 5, 6, 7, 2, 1, 8, 9, 2, 0], [2, 5]),
            &device,
        );
        let pad = [
            false, false, false, false, false, false, false, false, false, true,
        ];
        let mask =
            Tensor::<Flex, 2, Bool>::from_data(TensorData::new(pad.to_vec(), [2, 5]), &device);
        model.forward_with(ids, mask, kernels)
    }

    fn values<const D: usize>(t: Tensor<Flex, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    }

    /// Largest difference, relative to the largest magnitude in `b`.
    fn relative_gap(a: &[f32], b: &[f32]) -> f32 {
        let gap = a
            .iter()
            .zip(b)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
        gap / b.iter().fold(0.0f32, |m, y| m.max(y.abs()))
    }

    #[test]
    fn weights_are_quantized_in_packed_blocks() {
        let packed = DeviceInt8::pack(&tiny());
        let layer = &packed.layers[1];
        assert_eq!(layer.qkv.weight.dims(), [32, 96]);
        assert_eq!(layer.qkv.bias.dims(), [1, 96]);
        assert_eq!(layer.output.weight.dims(), [64, 32]);
        for w in [
            &layer.qkv,
            &layer.attention_out,
            &layer.intermediate,
            &layer.output,
        ] {
            // The store is the backend's own: burn-flex unpacks to one i8 per value.
            let DType::QFloat(s) = w.weight.dtype() else {
                panic!("{:?} is not quantized", w.weight.dtype());
            };
            assert_eq!((s.value, s.level), (scheme().value, scheme().level));
        }
    }

    #[test]
    fn device_int8_follows_the_f32_model() {
        let model = tiny();
        let dense = run(&model, &Dense);
        let quant = run(&model, &Kernels::DeviceInt8(DeviceInt8::pack(&model)));
        let (a, b) = (values(quant.embedding), values(dense.embedding));
        for (row, (x, y)) in a.chunks(32).zip(b.chunks(32)).enumerate() {
            let cos = cosine(x, y);
            eprintln!("device-int8 vs f32: row {row} embedding cosine {cos:.6}");
            assert!(cos >= 0.999, "row {row}: cosine {cos}");
        }
        let sentence = relative_gap(
            &values(quant.sentence_logits),
            &values(dense.sentence_logits),
        );
        let token = relative_gap(&values(quant.token_logits), &values(dense.token_logits));
        eprintln!(
            "device-int8 vs f32: logits off by {sentence:.2e} (sentence), {token:.2e} (token)"
        );
        assert!(
            sentence < 0.02,
            "sentence logits off by {sentence} of their range"
        );
        assert!(token < 0.02, "token logits off by {token} of their range");
    }

    #[test]
    fn take_frees_the_f32_projections_and_computes_the_same() {
        let model = tiny();
        let packed = run(&model, &DeviceInt8::pack(&model));
        let (stripped, kernels) = DeviceInt8::take(model);
        let layer = &stripped.encoder.layers[0];
        assert_eq!(layer.attention.query.weight.dims(), [1, 1]);
        assert!(layer.output.bias.is_none());
        let taken = run(&stripped, &kernels);
        assert_eq!(values(taken.embedding), values(packed.embedding));
    }

    #[test]
    fn int8_bundle_weights_requantize_to_the_same_values() {
        // The bundle export's blocks are this module's: its dequantized weights round-trip.
        let bundle = tiny().quantize_int8();
        let weight = bundle.encoder.layers[0]
            .intermediate
            .weight
            .val()
            .dequantize();
        let linear = Linear {
            weight: Param::from_tensor(weight.clone()),
            bias: None,
        };
        let again = QuantLinear::pack(&[&linear]).weight.dequantize();
        let gap = relative_gap(&values(again), &values(weight));
        assert!(gap < 1e-6, "requantized weights moved by {gap}");
    }
}
