//! Task losses. Written out (log-softmax + gather) rather than with burn's `CrossEntropyLoss`
//! so per-example weights (annotator confidence) and ignored positions are explicit.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Weighted mean negative log-likelihood of `targets` under `logits` `[n, classes]`.
pub fn sentence_loss<B: Backend>(
    logits: Tensor<B, 2>,
    targets: &[usize],
    weights: &[f32],
) -> Tensor<B, 1> {
    let device = logits.device();
    let n = targets.len();
    let idx: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
    let idx = Tensor::<B, 2, Int>::from_data(TensorData::new(idx, [n, 1]), &device);
    let picked = log_softmax(logits, 1).gather(1, idx).reshape([n]);
    let w = Tensor::<B, 1>::from_data(TensorData::new(weights.to_vec(), [n]), &device);
    let total: f32 = weights.iter().sum::<f32>().max(1e-12);
    (picked * w).sum().neg().div_scalar(total)
}

/// Mean negative log-likelihood over the positions whose target is ≥ 0; `targets` is
/// `[batch][len]` with negative values for ignored positions and padding.
pub fn token_loss<B: Backend>(logits: Tensor<B, 3>, targets: &[Vec<i64>]) -> Tensor<B, 1> {
    let device = logits.device();
    let [b, len, tags] = logits.dims();
    let mut idx = Vec::with_capacity(b * len);
    let mut mask = Vec::with_capacity(b * len);
    for row in targets {
        for p in 0..len {
            let t = row.get(p).copied().unwrap_or(-1);
            idx.push(t.max(0));
            mask.push(if t >= 0 { 1.0f32 } else { 0.0 });
        }
    }
    let count = mask.iter().sum::<f32>().max(1.0);
    let idx = Tensor::<B, 2, Int>::from_data(TensorData::new(idx, [b * len, 1]), &device);
    let mask = Tensor::<B, 1>::from_data(TensorData::new(mask, [b * len]), &device);
    let lp = log_softmax(logits.reshape([b * len, tags]), 1);
    let picked = lp.gather(1, idx).reshape([b * len]);
    (picked * mask).sum().neg().div_scalar(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn sentence_loss_matches_hand_computed_weighted_nll() {
        let d = Default::default();
        let logits = Tensor::<Flex, 2>::from_data([[0.0f32, 0.0], [2.0, 0.0]], &d);
        // -ln(0.5) with weight 1 and -ln(e^2/(e^2+1)) with weight 3, over total weight 4.
        let l = sentence_loss(logits, &[1, 0], &[1.0, 3.0]).into_scalar();
        let p = (2f32.exp() / (2f32.exp() + 1.0)).ln();
        let want = (-(0.5f32.ln()) - 3.0 * p) / 4.0;
        assert!((l - want).abs() < 1e-6, "{l} vs {want}");
    }

    #[test]
    fn token_loss_ignores_negative_targets_and_padding() {
        let d = Default::default();
        let logits = Tensor::<Flex, 3>::from_data([[[0.0f32, 0.0], [5.0, -5.0], [1.0, 1.0]]], &d);
        // Only position 0 (target 1) counts: -ln(0.5).
        let l = token_loss(logits, &[vec![1, -1]]).into_scalar();
        assert!((l - 0.5f32.ln().abs()).abs() < 1e-6, "{l}");
    }
}
