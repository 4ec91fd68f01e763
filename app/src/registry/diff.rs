//! Where two models attend differently to the same sentence: per layer and head, the mean
//! absolute difference of their attention maps. One number per head makes a small grid a
//! class can read at a glance ("the challenger changed layer 5, not layer 1"); the biggest
//! cell is where to look at both maps.
//!
//! Both models must share the tokenizer (the same wordpieces), or the maps do not line up.

use glassbox_model::view::attention::Attention;

/// `layers × heads` mean absolute differences, layer-major.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffGrid {
    pub layers: usize,
    pub heads: usize,
    pub values: Vec<f32>,
}

impl DiffGrid {
    pub fn get(&self, layer: usize, head: usize) -> f32 {
        self.values[layer * self.heads + head]
    }

    /// The (layer, head) with the largest difference (the first of ties).
    pub fn biggest(&self) -> Option<(usize, usize)> {
        let (k, _) =
            self.values
                .iter()
                .enumerate()
                .fold(None, |best: Option<(usize, f32)>, (k, &v)| match best {
                    Some((_, b)) if b >= v => best,
                    _ => Some((k, v)),
                })?;
        Some((k / self.heads, k % self.heads))
    }

    pub fn max(&self) -> f32 {
        self.values.iter().fold(0.0, |a, &b| a.max(b))
    }
}

/// Mean over the `n × n` cells of |a − b| for every layer and head of `a` and `b` (one
/// sentence's maps from each model). An error when their shapes differ.
pub fn attention_diff(a: &[Attention], b: &[Attention]) -> Result<DiffGrid, String> {
    if a.len() != b.len() {
        return Err(format!(
            "the models have different depths ({} and {} layers)",
            a.len(),
            b.len()
        ));
    }
    let heads = a.first().map_or(0, Attention::heads);
    let mut values = Vec::with_capacity(a.len() * heads);
    for (la, lb) in a.iter().zip(b) {
        if (la.heads(), la.n()) != (lb.heads(), lb.n()) || la.heads() != heads {
            return Err(format!(
                "the attention maps do not line up ({} heads × {} tokens against {} × {}): different tokenizers?",
                la.heads(),
                la.n(),
                lb.heads(),
                lb.n()
            ));
        }
        values.extend((0..heads).map(|h| head_diff(la, lb, h)));
    }
    Ok(DiffGrid {
        layers: a.len(),
        heads,
        values,
    })
}

fn head_diff(a: &Attention, b: &Attention, head: usize) -> f32 {
    let n = a.n();
    if n == 0 {
        return 0.0;
    }
    let total: f32 = (0..n * n)
        .map(|k| (a.get(head, k / n, k % n) - b.get(head, k / n, k % n)).abs())
        .sum();
    total / (n * n) as f32
}

/// The colour step (0 ..= `steps` − 1) of `v` on a scale from 0 to `max`.
pub fn shade(v: f32, max: f32, steps: usize) -> usize {
    if max <= 0.0 || steps == 0 {
        return 0;
    }
    ((v / max * steps as f32) as usize).min(steps - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(heads: usize, n: usize, w: &[f32]) -> Attention {
        Attention::from_f32(heads, n, w.to_vec())
    }

    #[test]
    fn each_cell_is_the_mean_absolute_difference_of_one_heads_maps() {
        // Two layers of two heads over two tokens. By hand:
        // L0H0: |1−.5|+|0−.5|+|.5−.5|+|.5−.5| = 1.0 → 0.25;  L0H1: identical → 0.
        // L1H0: |.2−.6|+|.8−.4|+|1−0|+|0−1| = 2.8 → 0.7;      L1H1: |.5−.4|·2+|.5−.6|·2 = .4 → 0.1.
        let a = vec![
            layer(2, 2, &[1.0, 0.0, 0.5, 0.5, 0.3, 0.7, 0.9, 0.1]),
            layer(2, 2, &[0.2, 0.8, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5]),
        ];
        let b = vec![
            layer(2, 2, &[0.5, 0.5, 0.5, 0.5, 0.3, 0.7, 0.9, 0.1]),
            layer(2, 2, &[0.6, 0.4, 0.0, 1.0, 0.4, 0.6, 0.6, 0.4]),
        ];
        let g = attention_diff(&a, &b).unwrap();
        assert_eq!((g.layers, g.heads), (2, 2));
        let want = [0.25, 0.0, 0.7, 0.1];
        for (got, want) in g.values.iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{:?}", g.values);
        }
        assert_eq!(g.biggest(), Some((1, 0)));
        assert!((g.get(1, 1) - 0.1).abs() < 1e-6);
        assert!((g.max() - 0.7).abs() < 1e-6);
    }

    #[test]
    fn quantised_maps_differ_by_their_dequantised_values() {
        // round(0.5·255) = 128 → 0.50196; round(0.25·255) = 64 → 0.25098.
        let a = vec![layer(1, 1, &[0.5]).quantized()];
        let b = vec![layer(1, 1, &[0.25]).quantized()];
        let g = attention_diff(&a, &b).unwrap();
        assert!((g.values[0] - (128.0 - 64.0) / 255.0).abs() < 1e-6);
    }

    #[test]
    fn maps_that_do_not_line_up_are_an_error_not_a_number() {
        let a = vec![layer(1, 2, &[0.5; 4])];
        let b = vec![layer(1, 1, &[1.0])];
        assert!(attention_diff(&a, &b)
            .unwrap_err()
            .contains("do not line up"));
        assert!(attention_diff(&a, &[])
            .unwrap_err()
            .contains("different depths"));
    }

    #[test]
    fn shades_split_zero_to_max_into_equal_steps() {
        assert_eq!(shade(0.0, 0.7, 8), 0);
        assert_eq!(shade(0.7, 0.7, 8), 7);
        assert_eq!(shade(0.35, 0.7, 8), 4);
        assert_eq!(shade(0.3, 0.0, 8), 0);
        assert_eq!(
            DiffGrid {
                layers: 0,
                heads: 0,
                values: vec![]
            }
            .biggest(),
            None
        );
    }
}
