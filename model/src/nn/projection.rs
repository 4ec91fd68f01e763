//! How the encoder's linear layers are computed, chosen by the caller of a forward pass.
//!
//! The six projections of every layer (query, key, value, attention output, feed-forward in
//! and out) hold 99 % of the encoder's multiply-adds. burn's `Linear` computes them in f32 on
//! every backend ([`Dense`], the reference). On a CPU backend [`Int8`] computes five of them
//! with the crate's int8 kernels instead: weights quantized once per output column,
//! activations per row at run time (smoothed per channel, [`crate::nn::smooth`], plus a second
//! int8 pass over their rounding residual), integer dot products; q, k and v as one matrix;
//! bias and GELU applied while the values are on the host. The feed-forward output projection
//! stays f32 (see `PackedLayer`). On a GPU [`DeviceInt8`] keeps the weights int8 in device
//! memory and lets burn's matrix multiply dequantize them as it reads them. The rest of the
//! forward (attention, norms, heads) is the same code either way, so all paths show the same
//! model.

use crate::nn::activation::gelu_exact;
use burn::nn::Linear;
use burn::prelude::*;

use crate::kernels::gelu::gelu_in_place;
use crate::kernels::int8::{self, PackedI8};
use crate::nn::device_int8::DeviceInt8;
use crate::nn::encoder::{BertLayer, SelfAttention};
use crate::nn::model::Glassbox;
use crate::nn::smooth::{calibrate, factors};

/// Computes the linear parts of encoder layer `layer`: the blocks a fast path wants to see
/// whole (q, k and v share their input; the feed-forward block is two projections around a
/// GELU).
pub trait Projector<B: Backend> {
    /// Query, key and value of `x` `[batch, len, hidden]`, each `[batch, len, hidden]`.
    fn qkv(&self, layer: usize, attention: &SelfAttention<B>, x: Tensor<B, 3>)
        -> [Tensor<B, 3>; 3];
    /// The attention output projection of the concatenated heads.
    fn attention_out(&self, layer: usize, linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3>;
    /// `output(gelu(intermediate(x)))`, without dropout.
    fn feed_forward(&self, layer: usize, block: &BertLayer<B>, x: Tensor<B, 3>) -> Tensor<B, 3>;
}

/// burn's f32 `Linear`, on any backend: the reference the other kernels are tested against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dense;

impl<B: Backend> Projector<B> for Dense {
    fn qkv(&self, _: usize, a: &SelfAttention<B>, x: Tensor<B, 3>) -> [Tensor<B, 3>; 3] {
        [
            a.query.forward(x.clone()),
            a.key.forward(x.clone()),
            a.value.forward(x),
        ]
    }

    fn attention_out(&self, _: usize, linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        linear.forward(x)
    }

    fn feed_forward(&self, _: usize, block: &BertLayer<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        block
            .output
            .forward(gelu_exact(block.intermediate.forward(x)))
    }
}

/// One projection packed for the int8 kernel, with its f32 bias and the smoothing its input
/// takes (see [`crate::nn::smooth`]).
#[derive(Debug, Clone)]
struct PackedLinear {
    weight: PackedI8,
    bias: Option<Vec<f32>>,
    /// `1 / s_j` per input channel; the weight rows were multiplied by `s_j`.
    inv_smooth: Vec<f32>,
}

impl PackedLinear {
    /// Packs the column-wise concatenation of `linears` (all with the same input width): one
    /// matrix multiply, one quantization of the shared input.
    fn pack<B: Backend>(linears: &[&Linear<B>], x_range: &[f32]) -> Self {
        let k = linears[0].weight.dims()[0];
        let widths: Vec<usize> = linears.iter().map(|l| l.weight.dims()[1]).collect();
        let n: usize = widths.iter().sum();
        let columns: Vec<Vec<f32>> = linears
            .iter()
            .map(|l| floats(l.weight.val().into_data()))
            .collect();
        let mut w = Vec::with_capacity(k * n);
        for row in 0..k {
            for (c, &width) in columns.iter().zip(&widths) {
                w.extend_from_slice(&c[row * width..(row + 1) * width]);
            }
        }
        let bias = linears
            .iter()
            .zip(&widths)
            .map(|(l, &width)| {
                l.bias
                    .as_ref()
                    .map_or(vec![0.0; width], |b| floats(b.val().into_data()))
            })
            .collect::<Vec<_>>()
            .concat();
        let smooth = factors(x_range, &w, k, n);
        for (row, s) in w.chunks_exact_mut(n).zip(&smooth) {
            row.iter_mut().for_each(|v| *v *= s);
        }
        PackedLinear {
            weight: PackedI8::from_f32(&w, k, n),
            bias: Some(bias),
            inv_smooth: smooth.iter().map(|s| s.recip()).collect(),
        }
    }

    /// `x` `[rows × k]` through the packed matrix, `[rows × n]` out.
    fn apply(&self, mut x: Vec<f32>, rows: usize) -> Vec<f32> {
        for row in x.chunks_exact_mut(self.inv_smooth.len()) {
            row.iter_mut()
                .zip(&self.inv_smooth)
                .for_each(|(v, s)| *v *= s);
        }
        let mut out = vec![0.0f32; rows * self.weight.n()];
        int8::matmul(&x, rows, &self.weight, self.bias.as_deref(), &mut out);
        // A second int8 pass over what the first rounding left gives the activations about
        // 14 bits: the worst parity sentence went from cosine 0.99868 to 0.99962 against f32,
        // for 8.3 → 11.3 ms per tweet natively (f32: 23 ms).
        let mut fine = vec![0.0f32; out.len()];
        int8::matmul(
            &residual(&x, self.weight.k()),
            rows,
            &self.weight,
            None,
            &mut fine,
        );
        out.iter_mut().zip(&fine).for_each(|(o, f)| *o += f);
        out
    }

    fn bytes(&self) -> usize {
        self.weight.bytes() + 4 * (self.inv_smooth.len() + self.bias.as_ref().map_or(0, Vec::len))
    }
}

/// One encoder layer's projections, packed. The feed-forward output projection stays in f32:
/// its input, a GELU output, is one-sided and heavy-tailed, and symmetric per-row int8 there
/// cost more than the other five projections together (all-MiniLM-L6-v2, embedding cosine
/// against f32 on three sentences: 0.9977–0.9992 with it in int8, 0.9994–0.9996 without; the
/// forward takes 9.8 instead of 6.4 ms per tweet, against 23.6 ms in f32).
#[derive(Debug, Clone)]
struct PackedLayer {
    qkv: PackedLinear,
    attention_out: PackedLinear,
    intermediate: PackedLinear,
}

/// The encoder's projections in int8, packed once from a loaded model. Their inputs are read
/// back synchronously, so use it with CPU backends (native or wasm), never on WebGPU.
#[derive(Debug, Clone)]
pub struct Int8 {
    layers: Vec<PackedLayer>,
}

impl Int8 {
    /// Packs every encoder projection of `model` (f32 or dequantized weights), smoothed by
    /// the input ranges of one calibration forward.
    pub fn pack<B: Backend>(model: &Glassbox<B>) -> Self {
        let ranges = calibrate(model);
        let layers = model
            .encoder
            .layers
            .iter()
            .zip(&ranges)
            .map(|(l, [qkv, attention_out, intermediate])| {
                let a = &l.attention;
                PackedLayer {
                    qkv: PackedLinear::pack(&[&a.query, &a.key, &a.value], qkv),
                    attention_out: PackedLinear::pack(&[&a.output], attention_out),
                    intermediate: PackedLinear::pack(&[&l.intermediate], intermediate),
                }
            })
            .collect();
        Int8 { layers }
    }

    /// Bytes held by the packed weights (scales and biases included).
    pub fn bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.qkv.bytes() + l.attention_out.bytes() + l.intermediate.bytes())
            .sum()
    }
}

/// What the kernel's per-row symmetric int8 rounding (scale `max|row| / 127`, ties to even)
/// leaves of `x` (rows of `k`).
fn residual(x: &[f32], k: usize) -> Vec<f32> {
    let mut r = Vec::with_capacity(x.len());
    for row in x.chunks_exact(k) {
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        if max == 0.0 {
            r.extend_from_slice(row);
            continue;
        }
        let (inv, scale) = (127.0 / max, max / 127.0);
        r.extend(row.iter().map(|v| v - (v * inv).round_ties_even() * scale));
    }
    r
}

fn floats(data: TensorData) -> Vec<f32> {
    data.convert::<f32>()
        .into_vec::<f32>()
        .expect("converted to f32 just above")
}

/// A `[batch, len, width]` tensor's values on the host, with its shape and device.
fn host<B: Backend>(x: Tensor<B, 3>) -> (Vec<f32>, [usize; 3], B::Device) {
    let dims = x.dims();
    let device = x.device();
    (floats(x.into_data()), dims, device)
}

fn tensor<B: Backend>(
    values: Vec<f32>,
    batch: usize,
    len: usize,
    device: &B::Device,
) -> Tensor<B, 3> {
    let width = values.len() / (batch * len);
    Tensor::from_data(TensorData::new(values, [batch, len, width]), device)
}

impl<B: Backend> Projector<B> for Int8 {
    fn qkv(&self, layer: usize, _: &SelfAttention<B>, x: Tensor<B, 3>) -> [Tensor<B, 3>; 3] {
        let (xs, [batch, len, hidden], device) = host(x);
        let fused = self.layers[layer].qkv.apply(xs, batch * len);
        // Split the fused rows [q | k | v] into three contiguous tensors.
        let mut parts = [vec![], vec![], vec![]];
        for row in fused.chunks_exact(3 * hidden) {
            for (part, cols) in parts.iter_mut().zip(row.chunks_exact(hidden)) {
                part.extend_from_slice(cols);
            }
        }
        parts.map(|p| tensor(p, batch, len, &device))
    }

    fn attention_out(&self, layer: usize, _: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let (xs, [batch, len, _], device) = host(x);
        let out = self.layers[layer].attention_out.apply(xs, batch * len);
        tensor(out, batch, len, &device)
    }

    fn feed_forward(&self, layer: usize, block: &BertLayer<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let (xs, [batch, len, _], device) = host(x);
        let mut inner = self.layers[layer].intermediate.apply(xs, batch * len);
        gelu_in_place(&mut inner);
        block.output.forward(tensor(inner, batch, len, &device))
    }
}

/// The caller's choice of kernels for a whole model, as one value to keep beside it
/// (generic over the backend because [`DeviceInt8`] holds tensors on its device).
#[derive(Debug, Clone, Default)]
pub enum Kernels<B: Backend> {
    /// burn's f32 `Linear` ([`Dense`]).
    #[default]
    F32,
    /// The int8 kernels ([`Int8`]), packed from the model.
    Int8(Int8),
    /// int8 weights as burn quantized tensors on the model's device ([`DeviceInt8`]).
    DeviceInt8(DeviceInt8<B>),
}

impl<B: Backend> Kernels<B> {
    /// `"f32"`, `"int8"` or `"device-int8"`, as reports and the page name them.
    pub fn name(&self) -> &'static str {
        match self {
            Kernels::F32 => "f32",
            Kernels::Int8(_) => "int8",
            Kernels::DeviceInt8(_) => "device-int8",
        }
    }
}

impl<B: Backend> Projector<B> for Kernels<B> {
    fn qkv(&self, layer: usize, a: &SelfAttention<B>, x: Tensor<B, 3>) -> [Tensor<B, 3>; 3] {
        match self {
            Kernels::F32 => Dense.qkv(layer, a, x),
            Kernels::Int8(q) => q.qkv(layer, a, x),
            Kernels::DeviceInt8(q) => q.qkv(layer, a, x),
        }
    }

    fn attention_out(&self, layer: usize, linear: &Linear<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match self {
            Kernels::F32 => Dense.attention_out(layer, linear, x),
            Kernels::Int8(q) => q.attention_out(layer, linear, x),
            Kernels::DeviceInt8(q) => q.attention_out(layer, linear, x),
        }
    }

    fn feed_forward(&self, layer: usize, block: &BertLayer<B>, x: Tensor<B, 3>) -> Tensor<B, 3> {
        match self {
            Kernels::F32 => Dense.feed_forward(layer, block, x),
            Kernels::Int8(q) => q.feed_forward(layer, block, x),
            Kernels::DeviceInt8(q) => q.feed_forward(layer, block, x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BertConfig, GlassboxConfig};
    use burn::backend::Flex;

    fn tiny() -> Glassbox<Flex> {
        let bert = BertConfig::new(50, 32, 2, 4, 64, 20, 2);
        let config = GlassboxConfig::new(bert, vec!["a".into(), "b".into()], vec!["O".into()]);
        let device = Default::default();
        Flex::seed(&device, 11);
        config.init(&device)
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    }

    #[test]
    fn int8_kernels_follow_the_f32_model_and_keep_padding_out() {
        let model = tiny();
        let device = Default::default();
        let ids = Tensor::<Flex, 2, Int>::from_data(
            TensorData::new(vec![1i64, 5, 6, 7, 2, 1, 8, 2, 0, 0], [2, 5]),
            &device,
        );
        let mask = Tensor::<Flex, 2, Bool>::from_data(
            TensorData::new(
                vec![
                    false, false, false, false, false, false, false, false, true, true,
                ],
                [2, 5],
            ),
            &device,
        );
        let dense = model.forward_with(ids.clone(), mask.clone(), &Dense);
        let int8 = Int8::pack(&model);
        assert!(int8.bytes() > 0);
        let quant = model.forward_with(ids, mask, &Kernels::Int8(int8));
        let flat = |t: Tensor<Flex, 2>| t.into_data().to_vec::<f32>().unwrap();
        let (a, b) = (flat(dense.embedding), flat(quant.embedding));
        for row in 0..2 {
            let r = row * 32..(row + 1) * 32;
            let cos = cosine(&a[r.clone()], &b[r]);
            assert!(cos > 0.999, "row {row}: cosine {cos}");
        }
        // The padded sentence's two padded keys still get exactly zero attention.
        let att = quant.attentions[1].clone().slice([1..2, 0..4, 0..5, 0..5]);
        for row in att.into_data().to_vec::<f32>().unwrap().chunks(5) {
            assert_eq!(&row[3..], &[0.0, 0.0], "{row:?}");
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn residual_is_what_int8_rounding_leaves() {
        // max 1 → steps of 1/127: 1 → 127 exactly, 0.5 → 63.5 → 64 (ties to even),
        // -0.25 → -31.75 → -32; an all-zero row stays zero.
        let r = residual(&[1.0, 0.5, -0.25, 0.0, 0.0, 0.0], 3);
        let expected = [0.0, 0.5 - 64.0 / 127.0, -0.25 + 32.0 / 127.0, 0.0, 0.0, 0.0];
        for (got, want) in r.iter().zip(expected) {
            assert!((got - want).abs() < 1e-7, "{r:?}");
        }
    }

    #[test]
    fn kernels_are_named_for_reports() {
        assert_eq!(Kernels::<Flex>::F32.name(), "f32");
        assert_eq!(Kernels::<Flex>::Int8(Int8::pack(&tiny())).name(), "int8");
        let device = DeviceInt8::pack(&tiny());
        assert_eq!(Kernels::DeviceInt8(device).name(), "device-int8");
    }
}
