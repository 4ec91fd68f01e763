//! What the charts show, computed from results: plain functions from data to a chart
//! [`Spec`], so the page's memos stay one line each and the arithmetic is tested natively.

use glassbox_model::text::decode::argmax;
use glassbox_model::view::explain::{cosine_matrix, head_mean, pca2, rollout};

use crate::charts::{Bars, Grid, HeadView, Heatmap, Scatter, Spec};
use crate::protocol::{Occlusion, SentenceOut};
use crate::state::AttnMode;

/// The part of the view the attention detail depends on, clamped to the sentence's shape,
/// so changing anything else (the selection of a card, the word aggregation) recomputes
/// nothing here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttnPick {
    pub mode: AttnMode,
    pub layer: usize,
    pub head: usize,
    pub hide_special: bool,
}

/// One attention matrix with its token labels, `tokens.len()²` row-major.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detail {
    pub tokens: Vec<String>,
    pub values: Vec<f32>,
}

/// The matrix the detail views show, with [CLS]/[SEP] removed (and rows renormalised) when
/// asked: their share of attention is large and mostly a "no-op" sink. Empty while the
/// sentence's attention has not come back (or for a layer it does not have).
pub fn detail(f: &SentenceOut, pick: AttnPick) -> Detail {
    let n = f.tokenized.ids.len();
    let Some(layer) = f.attentions.get(pick.layer) else {
        return Detail::default();
    };
    let full = match pick.mode {
        AttnMode::Head => (0..n * n)
            .map(|k| layer.get(pick.head, k / n, k % n))
            .collect(),
        AttnMode::Mean => head_mean(layer),
        AttnMode::Rollout => rollout(&f.attentions, n),
    };
    let keep: Vec<usize> = (0..n)
        .filter(|&i| !(pick.hide_special && f.tokenized.special[i]))
        .collect();
    let mut values = Vec::with_capacity(keep.len() * keep.len());
    for &i in &keep {
        let row: Vec<f32> = keep.iter().map(|&j| full[i * n + j]).collect();
        let sum: f32 = row.iter().sum();
        if pick.hide_special && sum > 0.0 {
            values.extend(row.iter().map(|x| x / sum));
        } else {
            values.extend(row);
        }
    }
    Detail {
        tokens: keep
            .iter()
            .map(|&i| f.tokenized.tokens[i].clone())
            .collect(),
        values,
    }
}

/// Every layer and head of `f` as thumbnails, `selected` outlined.
pub fn grid(f: Option<&SentenceOut>, selected: Option<(usize, usize)>) -> Spec {
    Spec::Grid(Grid {
        layers: f.map_or(0, |f| f.attentions.len()),
        heads: f
            .and_then(|f| f.attentions.first())
            .map_or(0, |a| a.heads()),
        n: f.map_or(0, |f| f.tokenized.ids.len()),
        maps: f.map(|f| f.attentions.clone()).unwrap_or_default(),
        selected,
    })
}

/// The detail matrix as a heatmap, brightest at its own maximum.
pub fn heatmap(d: &Detail) -> Spec {
    Spec::Heatmap(Heatmap {
        rows: d.tokens.clone(),
        cols: d.tokens.clone(),
        values: d.values.clone(),
        vmax: d.values.iter().fold(0.0f32, |a, &b| a.max(b)),
        annotate: false,
        mark_row: None,
    })
}

/// The detail matrix as bertviz's head view.
pub fn head_view(d: &Detail) -> Spec {
    Spec::HeadView(HeadView {
        tokens: d.tokens.clone(),
        weights: d.values.clone(),
        focus: None,
    })
}

/// Heading of the detail charts, in the words of the view picker (1-based).
pub fn title(mode: AttnMode, layer: usize, head: usize) -> String {
    match mode {
        AttnMode::Head => format!("Layer {}, head {}", layer + 1, head + 1),
        AttnMode::Mean => format!("Layer {}, mean over heads", layer + 1),
        AttnMode::Rollout => "Attention rollout over all layers".to_string(),
    }
}

/// Sentence embeddings named by their position in the result list.
pub type Named = Vec<(String, Vec<f32>)>;

/// Cosine similarity of every pair of embeddings, values written in when there are few.
pub fn similarity(embedded: &Named) -> Spec {
    let (names, embs): (Vec<String>, Vec<Vec<f32>>) = embedded.iter().cloned().unzip();
    Spec::Heatmap(Heatmap {
        annotate: names.len() <= 12,
        rows: names.clone(),
        cols: names,
        values: cosine_matrix(&embs).concat(),
        vmax: 1.0,
        mark_row: None,
    })
}

/// The embeddings projected on their first two principal components.
pub fn pca(embedded: &Named) -> Spec {
    let (labels, embs): (Vec<String>, Vec<Vec<f32>>) = embedded.iter().cloned().unzip();
    Spec::Scatter(Scatter {
        points: pca2(&embs),
        labels,
    })
}

/// The class distribution of one sentence, its most likely class highlighted.
pub fn class_bars(labels: &[String], probs: &[f32]) -> Spec {
    Spec::Bars(Bars {
        labels: labels.to_vec(),
        values: probs.to_vec(),
        signed: false,
        range: 1.0,
        highlight: Some(argmax(probs).0),
    })
}

/// The occlusion chart: per word, how much p(predicted class) drops when it is left out.
#[derive(Clone, Debug, PartialEq)]
pub struct OcclusionChart {
    /// The class whose probability is measured (the one predicted for the whole sentence).
    pub label: String,
    pub spec: Spec,
}

pub fn occlusion(o: &Occlusion, labels: &[String]) -> OcclusionChart {
    let (best, _) = argmax(&o.base_probs);
    let chars: Vec<char> = o.text.chars().collect();
    let words = o
        .words
        .iter()
        .map(|&(a, b)| {
            chars[a.min(chars.len())..b.min(chars.len())]
                .iter()
                .collect()
        })
        .collect();
    let deltas: Vec<f32> = o
        .dropped_probs
        .iter()
        .map(|p| o.base_probs[best] - p[best])
        .collect();
    let range = deltas.iter().fold(0.01f32, |a, d| a.max(d.abs()));
    OcclusionChart {
        label: labels.get(best).cloned().unwrap_or_default(),
        spec: Spec::Bars(Bars {
            labels: words,
            values: deltas,
            signed: true,
            range,
            highlight: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use glassbox_model::view::attention::Attention;
    use glassbox_model::Tokenized;

    use super::*;

    /// [CLS] a [SEP] with one layer of two heads. Head 0 rows: [.5 .25 .25], [.2 .6 .2],
    /// [1 0 0]; head 1 is the identity.
    fn sentence() -> SentenceOut {
        let head0 = [0.5, 0.25, 0.25, 0.2, 0.6, 0.2, 1.0, 0.0, 0.0];
        let head1 = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        SentenceOut {
            tokenized: Tokenized {
                text: "a".into(),
                ids: vec![101, 1037, 102],
                tokens: vec!["[CLS]".into(), "a".into(), "[SEP]".into()],
                offsets: vec![(0, 0), (0, 1), (0, 0)],
                word_ids: vec![None, Some(0), None],
                special: vec![true, false, true],
                truncation: None,
            },
            embedding: vec![1.0, 0.0],
            sentence_probs: vec![0.1, 0.7, 0.2],
            token_probs: vec![],
            attentions: vec![Attention::from_f32(2, 3, [head0, head1].concat())],
            cached: false,
        }
    }

    fn pick(mode: AttnMode, head: usize, hide_special: bool) -> AttnPick {
        AttnPick {
            mode,
            layer: 0,
            head,
            hide_special,
        }
    }

    #[test]
    fn one_head_is_its_own_matrix() {
        let d = detail(&sentence(), pick(AttnMode::Head, 0, false));
        assert_eq!(d.tokens, vec!["[CLS]", "a", "[SEP]"]);
        assert_eq!(
            d.values,
            vec![0.5, 0.25, 0.25, 0.2, 0.6, 0.2, 1.0, 0.0, 0.0]
        );
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn the_mean_averages_the_heads() {
        let d = detail(&sentence(), pick(AttnMode::Mean, 0, false));
        assert_close(
            &d.values,
            &[0.75, 0.125, 0.125, 0.1, 0.8, 0.1, 0.5, 0.0, 0.5],
        );
    }

    #[test]
    fn hiding_special_tokens_keeps_the_rest_and_renormalises_rows() {
        // Only "a" is left: its row [0.6] becomes [1].
        let d = detail(&sentence(), pick(AttnMode::Head, 0, true));
        assert_eq!(d.tokens, vec!["a"]);
        assert_eq!(d.values, vec![1.0]);
    }

    #[test]
    fn rollout_of_one_layer_is_its_mean_mixed_with_the_identity() {
        // (mean + I) with rows renormalised: row 0 = [1.75, .125, .125] / 2.
        let d = detail(&sentence(), pick(AttnMode::Rollout, 0, false));
        assert_close(&d.values[..3], &[0.875, 0.0625, 0.0625]);
    }

    #[test]
    fn a_sentence_whose_maps_have_not_come_back_has_an_empty_detail_in_every_mode() {
        let bare = SentenceOut {
            attentions: vec![],
            ..sentence()
        };
        for mode in [AttnMode::Head, AttnMode::Mean, AttnMode::Rollout] {
            assert_eq!(detail(&bare, pick(mode, 0, true)), Detail::default());
        }
        // A layer the sentence does not have, likewise.
        let beyond = AttnPick {
            layer: 1,
            ..pick(AttnMode::Head, 0, false)
        };
        assert_eq!(detail(&sentence(), beyond), Detail::default());
    }

    #[test]
    fn the_grid_is_empty_without_a_sentence_and_sized_by_it_with_one() {
        let Spec::Grid(g) = grid(None, None) else {
            panic!("a grid")
        };
        assert_eq!((g.layers, g.heads, g.n), (0, 0, 0));
        let Spec::Grid(g) = grid(Some(&sentence()), Some((0, 1))) else {
            panic!("a grid")
        };
        assert_eq!(
            (g.layers, g.heads, g.n, g.selected),
            (1, 2, 3, Some((0, 1)))
        );
    }

    #[test]
    fn titles_count_from_one() {
        assert_eq!(title(AttnMode::Head, 2, 3), "Layer 3, head 4");
        assert_eq!(title(AttnMode::Mean, 0, 5), "Layer 1, mean over heads");
    }

    #[test]
    fn occlusion_measures_the_drop_of_the_predicted_class_per_word() {
        let o = Occlusion {
            text: "très bien".into(),
            words: vec![(0, 4), (5, 9)],
            base_probs: vec![0.25, 0.75],
            dropped_probs: vec![vec![0.5, 0.5], vec![0.0, 1.0]],
        };
        let c = occlusion(&o, &["neg".into(), "pos".into()]);
        assert_eq!(c.label, "pos");
        let Spec::Bars(b) = c.spec else {
            panic!("bars")
        };
        assert_eq!(b.labels, vec!["très", "bien"]);
        assert_eq!(b.values, vec![0.25, -0.25]);
        assert_eq!(b.range, 0.25);
    }
}
