//! What the page derives from one forward pass to explain it: mean attention over heads,
//! attention rollout, top-k tags, sentences with a word left out (occlusion), the cosine
//! matrix of embeddings and their 2-D PCA. Pure functions, shared by the page and tests.

use crate::view::attention::Attention;
use crate::view::readout::cosine;
use crate::Tokenized;

/// The `k` largest entries as (index, value), largest first (lower index first on ties).
pub fn top_k(row: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut idx: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
    idx.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    idx.truncate(k);
    idx
}

/// Mean over heads of one layer's attention: `[n × n]`, row-major.
pub fn head_mean(layer: &Attention) -> Vec<f32> {
    let (heads, n) = (layer.heads(), layer.n());
    let a = layer.to_f32();
    let mut out = vec![0.0; n * n];
    for h in 0..heads {
        for (o, x) in out.iter_mut().zip(&a[h * n * n..(h + 1) * n * n]) {
            *o += x / heads as f32;
        }
    }
    out
}

fn matmul(a: &[f32], b: &[f32], n: usize) -> Vec<f32> {
    let mut c = vec![0.0; n * n];
    for i in 0..n {
        for k in 0..n {
            let x = a[i * n + k];
            for j in 0..n {
                c[i * n + j] += x * b[k * n + j];
            }
        }
    }
    c
}

/// Attention rollout (Abnar & Zuidema 2020): each layer's head-mean attention plus the
/// residual connection, Â = 0.5·A + 0.5·I with rows renormalised, multiplied from the first
/// layer up. Row i says how much each input token flows into position i at the top.
/// `layers` holds every layer of one sentence, bottom first; `n` is its token count (the
/// identity is returned for a model without layers).
pub fn rollout(layers: &[Attention], n: usize) -> Vec<f32> {
    let mut acc: Option<Vec<f32>> = None;
    for layer in layers {
        let mut a = head_mean(layer);
        for i in 0..n {
            a[i * n + i] += 1.0;
            let row = &mut a[i * n..(i + 1) * n];
            let s: f32 = row.iter().sum();
            row.iter_mut().for_each(|x| *x /= s);
        }
        acc = Some(match acc {
            None => a,
            Some(prev) => matmul(&a, &prev, n),
        });
    }
    acc.unwrap_or_else(|| {
        (0..n * n)
            .map(|k| if k % (n + 1) == 0 { 1.0 } else { 0.0 })
            .collect()
    })
}

/// `t` with every wordpiece of word `w` removed (`[CLS]`/`[SEP]` kept): the input of one
/// occlusion forward pass. The text keeps its characters so offsets still index it.
pub fn drop_word(t: &Tokenized, w: u32) -> Tokenized {
    let keep: Vec<bool> = t.word_ids.iter().map(|x| *x != Some(w)).collect();
    fn pick<T: Clone>(v: &[T], keep: &[bool]) -> Vec<T> {
        v.iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(x, _)| x.clone())
            .collect()
    }
    Tokenized {
        text: t.text.clone(),
        ids: pick(&t.ids, &keep),
        tokens: pick(&t.tokens, &keep),
        offsets: pick(&t.offsets, &keep),
        word_ids: pick(&t.word_ids, &keep),
        special: pick(&t.special, &keep),
        truncation: t.truncation.clone(),
    }
}

/// Pairwise cosine similarities.
pub fn cosine_matrix(embs: &[Vec<f32>]) -> Vec<Vec<f32>> {
    embs.iter()
        .map(|a| embs.iter().map(|b| cosine(a, b)).collect())
        .collect()
}

/// 2-D PCA coordinates of `embs` (centred; components by power iteration with deflation).
/// Each component's sign is fixed so that its largest-magnitude loading is positive, so the
/// picture does not flip between runs.
pub fn pca2(embs: &[Vec<f32>]) -> Vec<(f32, f32)> {
    let n = embs.len();
    if n == 0 {
        return vec![];
    }
    let d = embs[0].len();
    let mean: Vec<f64> = (0..d)
        .map(|j| embs.iter().map(|e| e[j] as f64).sum::<f64>() / n as f64)
        .collect();
    let x: Vec<Vec<f64>> = embs
        .iter()
        .map(|e| e.iter().zip(&mean).map(|(v, m)| *v as f64 - m).collect())
        .collect();
    // Covariance applied as Xᵀ(X v), never formed (d can be 384).
    let apply = |v: &[f64], x: &[Vec<f64>]| -> Vec<f64> {
        let xv: Vec<f64> = x
            .iter()
            .map(|r| r.iter().zip(v).map(|(a, b)| a * b).sum())
            .collect();
        (0..d)
            .map(|j| x.iter().zip(&xv).map(|(r, s)| r[j] * s).sum())
            .collect()
    };
    let mut comps: Vec<Vec<f64>> = vec![];
    let mut rows = x.clone();
    for c in 0..2 {
        // A fixed, non-degenerate start so the result is deterministic.
        let mut v: Vec<f64> = (0..d)
            .map(|j| 1.0 + ((j * 7 + c * 3) % 11) as f64 / 10.0)
            .collect();
        for _ in 0..200 {
            let w = apply(&v, &rows);
            let norm = w.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm < 1e-12 {
                v = vec![0.0; d];
                break;
            }
            v = w.iter().map(|a| a / norm).collect();
        }
        if let Some(big) = v.iter().copied().max_by(|a, b| a.abs().total_cmp(&b.abs())) {
            if big < 0.0 {
                v.iter_mut().for_each(|a| *a = -*a);
            }
        }
        // Deflate: remove this component from the data.
        for r in rows.iter_mut() {
            let s: f64 = r.iter().zip(&v).map(|(a, b)| a * b).sum();
            r.iter_mut().zip(&v).for_each(|(a, b)| *a -= s * b);
        }
        comps.push(v);
    }
    x.iter()
        .map(|r| {
            let p = |v: &Vec<f64>| r.iter().zip(v).map(|(a, b)| a * b).sum::<f64>() as f32;
            (p(&comps[0]), p(&comps[1]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(a: &[f32], b: &[f32]) {
        assert!(
            a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6),
            "{a:?} vs {b:?}"
        );
    }

    #[test]
    fn head_mean_and_rollout_match_hand_computation() {
        // Two heads: [[1,0],[0,1]] and [[1,0],[1,0]] → mean [[1,0],[0.5,0.5]].
        let layer = vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0];
        let one = vec![Attention::from_f32(2, 2, layer)];
        near(&head_mean(&one[0]), &[1.0, 0.0, 0.5, 0.5]);
        // Â = (A + I)/2 per row: [[1,0],[0.25,0.75]].
        near(&rollout(&one, 2), &[1.0, 0.0, 0.25, 0.75]);
        // Two identical layers: Â·Â = [[1,0],[0.25+0.1875, 0.5625]].
        let two = vec![one[0].clone(), one[0].clone()];
        near(&rollout(&two, 2), &[1.0, 0.0, 0.4375, 0.5625]);
        // Quantised to bytes the same maps give the same answers within 1/255.
        let bytes: Vec<Attention> = two.iter().map(Attention::quantized).collect();
        let q = rollout(&bytes, 2);
        assert!(q
            .iter()
            .zip([1.0, 0.0, 0.4375, 0.5625])
            .all(|(a, b)| (a - b).abs() < 4e-3));
    }

    #[test]
    fn top_k_orders_by_value() {
        assert_eq!(
            top_k(&[0.1, 0.5, 0.2, 0.2], 3),
            vec![(1, 0.5), (2, 0.2), (3, 0.2)]
        );
    }

    #[test]
    fn dropping_a_word_removes_all_its_pieces_only() {
        let t = Tokenized {
            text: "new biebs".into(),
            ids: vec![101, 5, 6, 7, 102],
            tokens: ["[CLS]", "new", "bie", "##bs", "[SEP]"]
                .map(String::from)
                .to_vec(),
            offsets: vec![(0, 0), (0, 3), (4, 7), (7, 9), (0, 0)],
            word_ids: vec![None, Some(0), Some(1), Some(1), None],
            special: vec![true, false, false, false, true],
            truncation: None,
        };
        let w = crate::text::decode::words(&t);
        assert_eq!(
            w.iter()
                .map(|w| (w.id, w.first, w.last, w.start, w.end))
                .collect::<Vec<_>>(),
            vec![(0, 1, 1, 0, 3), (1, 2, 3, 4, 9)]
        );
        let d = drop_word(&t, 1);
        assert_eq!(d.ids, vec![101, 5, 102]);
        assert_eq!(d.tokens, ["[CLS]", "new", "[SEP]"]);
        assert_eq!(d.offsets, vec![(0, 0), (0, 3), (0, 0)]);
        assert_eq!(drop_word(&t, 0).ids, vec![101, 6, 7, 102]);
    }

    #[test]
    fn cosine_matrix_is_symmetric_with_unit_diagonal() {
        let m = cosine_matrix(&[vec![1.0, 0.0], vec![1.0, 1.0], vec![0.0, 2.0]]);
        for (i, row) in m.iter().enumerate() {
            assert!((row[i] - 1.0).abs() < 1e-6);
            for (j, x) in row.iter().enumerate() {
                assert_eq!(*x, m[j][i]);
            }
        }
        assert!((m[0][1] - 0.5f32.sqrt()).abs() < 1e-6 && m[0][2].abs() < 1e-7);
    }

    #[test]
    fn pca_finds_the_spread_direction_with_a_fixed_sign() {
        // Points spread along (1, 1, 0)/√2 by ±2 and ±1, and (uncorrelated) along z by ±0.1.
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let pts: Vec<Vec<f32>> = [(2.0, 0.1), (-2.0, 0.1), (1.0, -0.1), (-1.0, -0.1)]
            .iter()
            .map(|&(a, z)| vec![a * s, a * s, z])
            .collect();
        let p = pca2(&pts);
        // PC1 is the diagonal (positive loadings), PC2 is z (up to its fixed sign).
        near(
            &p.iter().map(|x| x.0).collect::<Vec<_>>(),
            &[2.0, -2.0, 1.0, -1.0],
        );
        near(
            &p.iter().map(|x| x.1.abs()).collect::<Vec<_>>(),
            &[0.1, 0.1, 0.1, 0.1],
        );
        assert_eq!(pca2(&pts), p, "deterministic");
    }
}
