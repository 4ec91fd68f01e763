//! int8 weights for small downloads. Only the matrices (linear weights, embeddings: 99% of
//! the bytes) are quantized, symmetrically in blocks of 64 values so one outlier does not
//! flatten a whole row; LayerNorm parameters and biases stay f32. burn 0.21 dequantizes at
//! every forward, so this buys size, not speed.

use burn::module::{ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::quantization::{
    compute_q_params, compute_range, Calibration, QuantLevel, QuantScheme, QuantStore, QuantValue,
};

use burn::backend::Flex;
use burn::tensor::DType;

use crate::{Glassbox, GlassboxConfig, ModelError};

const BLOCK: usize = 64;

/// The scheme glassbox bundles record as `int8`.
pub fn int8_scheme() -> QuantScheme {
    QuantScheme::default()
        .with_value(QuantValue::Q8S)
        .with_level(QuantLevel::block([1, BLOCK as u8]))
        .with_store(QuantStore::Native)
}

struct MatricesOnly {
    scheme: QuantScheme,
}

impl<B: Backend> ModuleMapper<B> for MatricesOnly {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        // Blocks run along the last dimension; the heads' tiny matrices (3 or 21 columns)
        // do not divide into blocks and are not worth quantizing anyway.
        if D != 2 || !param.val().dims()[D - 1].is_multiple_of(BLOCK) {
            return param;
        }
        let (id, tensor, mapper) = param.consume();
        let range = compute_range(&self.scheme, &tensor, &Calibration::MinMax);
        let q = compute_q_params(&self.scheme, range);
        Param::from_mapped_value(id, tensor.quantize(&self.scheme, q), mapper)
    }
}

struct Dequantize;

impl<B: Backend> ModuleMapper<B> for Dequantize {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        let tensor = if matches!(tensor.dtype(), DType::QFloat(_)) {
            tensor.dequantize()
        } else {
            tensor
        };
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// Float Burnpack bytes from quantized ones, computed on the CPU. Bundles ship int8 for a
/// small download; running the model on dequantized weights gives the same numbers (the
/// dequantized value is what every quantized forward computes anyway) without per-forward
/// dequantization, and keeps quantized kernels off GPUs whose support for them varies.
pub fn dequantized_burnpack(
    config: &GlassboxConfig,
    weights: Vec<u8>,
) -> Result<Vec<u8>, ModelError> {
    let device = Default::default();
    config
        .init::<Flex>(&device)
        .load_burnpack(weights)?
        .map(&mut Dequantize)
        .to_burnpack()
}

impl<B: Backend> Glassbox<B> {
    pub fn quantize_int8(self) -> Self {
        self.map(&mut MatricesOnly {
            scheme: int8_scheme(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{BertConfig, GlassboxConfig};
    use burn::backend::Flex;
    use burn::prelude::*;

    #[test]
    fn int8_bundle_is_smaller_loads_into_a_float_model_and_stays_close() {
        let bert = BertConfig::new(64, 64, 2, 4, 128, 20, 2);
        let config = GlassboxConfig::new(bert, vec!["a".into(), "b".into()], vec!["O".into()]);
        let device = Default::default();
        Flex::seed(&device, 3);
        let model = config.init::<Flex>(&device);
        let fp32 = model.to_burnpack().unwrap();
        let int8 = model.clone().quantize_int8().to_burnpack().unwrap();
        assert!(
            int8.len() * 2 < fp32.len(),
            "int8 {} vs fp32 {} bytes",
            int8.len(),
            fp32.len()
        );
        let restored = config.init::<Flex>(&device).load_burnpack(int8).unwrap();
        let ids = Tensor::<Flex, 2, Int>::from_data([[1i64, 5, 9, 2]], &device);
        let mask = Tensor::<Flex, 2, Bool>::from_data([[false, false, false, false]], &device);
        let a = model
            .forward(ids.clone(), mask.clone())
            .embedding
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let b = restored
            .forward(ids, mask)
            .embedding
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let cos: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!(cos > 0.99, "cosine between fp32 and int8 embeddings {cos}");
        assert!(a != b, "quantization changed nothing");
        // Dequantized once on load, the model computes exactly what the int8 one computes.
        let int8 = model.clone().quantize_int8().to_burnpack().unwrap();
        let float = super::dequantized_burnpack(&config, int8).unwrap();
        assert!(float.len() > fp32.len() * 9 / 10, "weights are f32 again");
        let ids = Tensor::<Flex, 2, Int>::from_data([[1i64, 5, 9, 2]], &device);
        let mask = Tensor::<Flex, 2, Bool>::from_data([[false, false, false, false]], &device);
        let c = config
            .init::<Flex>(&device)
            .load_burnpack(float)
            .unwrap()
            .forward(ids, mask)
            .embedding
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let worst = b
            .iter()
            .zip(&c)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 1e-6,
            "dequantized-at-load differs from int8 by {worst}"
        );
    }
}
