//! int8 weights for small downloads. Only the matrices (linear weights, embeddings: 99% of
//! the bytes) are quantized, symmetrically in blocks along each row so one outlier does not
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

/// Encoder rounding compounds through six layers and every token: with blocks of 64
/// everywhere the default bundle lost 1.1 NER points against fp32; with these blocks, none.
const ENCODER_BLOCKS: &[usize] = &[32];
/// The embedding table is half the bytes but each row is read once, untransformed; coarse
/// blocks here pay for the encoder's fine ones and keep the bundle under its 25 MB cap.
/// Narrower models whose width 128 does not divide fall back to smaller blocks rather than
/// leaving their largest matrix in f32.
const EMBEDDING_BLOCKS: &[usize] = &[128, 64, 32];

/// What a bundle's manifest records as the quantization of a model `hidden` wide.
pub fn int8_description(hidden: usize) -> String {
    let block = |blocks: &[usize]| {
        blocks
            .iter()
            .find(|&&b| hidden.is_multiple_of(b))
            .map_or("no".to_string(), usize::to_string)
    };
    format!(
        "int8 (symmetric; blocks of {} in the encoder, {} in the embeddings; weight matrices only)",
        block(ENCODER_BLOCKS),
        block(EMBEDDING_BLOCKS)
    )
}

fn int8_scheme(block: usize) -> QuantScheme {
    QuantScheme::default()
        .with_value(QuantValue::Q8S)
        .with_level(QuantLevel::block([1, block as u8]))
        .with_store(QuantStore::Native)
}

/// Quantizes each matrix in the first of `blocks` that divides its row length.
struct MatricesOnly {
    blocks: &'static [usize],
}

impl<B: Backend> ModuleMapper<B> for MatricesOnly {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        // Blocks run along the last dimension; the heads' tiny matrices (3 or 21 columns)
        // do not divide into blocks and are not worth quantizing anyway.
        let width = param.val().dims()[D - 1];
        let block = self.blocks.iter().find(|&&b| width.is_multiple_of(b));
        let (2, Some(&block)) = (D, block) else {
            return param;
        };
        let scheme = int8_scheme(block);
        let (id, tensor, mapper) = param.consume();
        let range = compute_range(&scheme, &tensor, &Calibration::MinMax);
        let q = compute_q_params(&scheme, range);
        Param::from_mapped_value(id, tensor.quantize(&scheme, q), mapper)
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
    /// The model with its linear and embedding weights quantised to int8 in blocks.
    pub fn quantize_int8(self) -> Self {
        Self {
            embeddings: self.embeddings.map(&mut MatricesOnly {
                blocks: EMBEDDING_BLOCKS,
            }),
            encoder: self.encoder.map(&mut MatricesOnly {
                blocks: ENCODER_BLOCKS,
            }),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{BertConfig, GlassboxConfig};
    use burn::backend::Flex;
    use burn::prelude::*;
    use burn::tensor::quantization::QuantLevel;
    use burn::tensor::DType;

    #[test]
    fn encoder_and_embedding_matrices_get_their_own_block_sizes() {
        // Hidden 128 divides into both block sizes, so every matrix is eligible.
        let bert = BertConfig::new(64, 128, 1, 4, 256, 20, 2);
        let config = GlassboxConfig::new(bert, vec!["a".into(), "b".into()], vec!["O".into()]);
        let q = config.init::<Flex>(&Default::default()).quantize_int8();
        let level = |d: DType| match d {
            DType::QFloat(s) => Some(s.level),
            _ => None,
        };
        let block = |n: u8| Some(QuantLevel::block([1, n]));
        let emb = &q.embeddings;
        assert_eq!(level(emb.word_embeddings.weight.val().dtype()), block(128));
        assert_eq!(
            level(emb.position_embeddings.weight.val().dtype()),
            block(128)
        );
        let layer = &q.encoder.layers[0];
        for linear in [
            &layer.attention.query,
            &layer.attention.output,
            &layer.intermediate,
            &layer.output,
        ] {
            assert_eq!(level(linear.weight.val().dtype()), block(32));
            let bias = linear.bias.as_ref().unwrap();
            assert_eq!(level(bias.val().dtype()), None, "biases stay f32");
        }
        assert_eq!(level(layer.norm.gamma.val().dtype()), None);
        assert_eq!(level(emb.norm.gamma.val().dtype()), None);

        // A width of 96 takes neither 128 nor 64: the table falls back to blocks of 32.
        let bert = BertConfig::new(64, 96, 1, 4, 192, 20, 2);
        let config = GlassboxConfig::new(bert, vec!["a".into(), "b".into()], vec!["O".into()]);
        let q = config.init::<Flex>(&Default::default()).quantize_int8();
        let table = q.embeddings.word_embeddings.weight.val().dtype();
        assert_eq!(level(table), block(32));
    }

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
