//! Sentence embedding exactly as sentence-transformers builds it for all-MiniLM-L6-v2:
//! mean over the real (unpadded) wordpieces, `[CLS]` and `[SEP]` included, then L2 normalised.

use burn::prelude::*;

/// Mean of `hidden` `[batch, len, dim]` over positions where `pad_mask` `[batch, len]` is false.
pub fn masked_mean<B: Backend>(hidden: Tensor<B, 3>, pad_mask: Tensor<B, 2, Bool>) -> Tensor<B, 2> {
    let [batch, len, dim] = hidden.dims();
    let keep = pad_mask.bool_not().float().reshape([batch, len, 1]);
    let summed = (hidden * keep.clone().expand([batch, len, dim])).sum_dim(1);
    let counts = keep.sum_dim(1).clamp_min(1.0);
    (summed / counts).reshape([batch, dim])
}

/// Rows scaled to unit length; the 1e-12 floor matches torch's `F.normalize`.
pub fn l2_normalize<B: Backend>(x: Tensor<B, 2>) -> Tensor<B, 2> {
    let norm = x
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-12);
    x / norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn mean_ignores_padding_and_normalises() {
        let device = Default::default();
        let hidden = Tensor::<Flex, 3>::from_data(
            TensorData::from([[[1.0f32, 2.0], [3.0, 4.0], [100.0, 100.0]]]),
            &device,
        );
        let pad =
            Tensor::<Flex, 2, Bool>::from_data(TensorData::from([[false, false, true]]), &device);
        let mean = masked_mean(hidden, pad);
        let v = mean.clone().into_data().to_vec::<f32>().unwrap();
        assert_eq!(v, vec![2.0, 3.0]);
        let n = l2_normalize(mean).into_data().to_vec::<f32>().unwrap();
        let len = (2.0f32 * 2.0 + 3.0 * 3.0).sqrt();
        assert!((n[0] - 2.0 / len).abs() < 1e-6 && (n[1] - 3.0 / len).abs() < 1e-6);
    }
}
