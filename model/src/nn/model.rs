//! The glassbox model: encoder + sentence head + token head, one forward pass for all.

use burn::prelude::*;

use crate::nn::embeddings::BertEmbeddings;
use crate::nn::encoder::BertEncoder;
use crate::nn::heads::{SentenceHead, TokenHead};
use crate::nn::pooling::{l2_normalize, masked_mean};
use crate::nn::projection::{Dense, Projector};
use crate::GlassboxConfig;

/// The multi-task model: one BERT encoder shared by a sentence head and a token head.
#[derive(Module, Debug)]
pub struct Glassbox<B: Backend> {
    /// Input embeddings.
    pub embeddings: BertEmbeddings<B>,
    /// The transformer layers.
    pub encoder: BertEncoder<B>,
    /// Classifies the mean-pooled sentence.
    pub sentence_head: SentenceHead<B>,
    /// Tags every wordpiece.
    pub token_head: TokenHead<B>,
}

/// Everything one forward pass exposes.
#[derive(Debug, Clone)]
pub struct GlassboxOutput<B: Backend> {
    /// `[batch, len, hidden]` last-layer hidden states.
    pub hidden: Tensor<B, 3>,
    /// Per layer `[batch, heads, len, len]`.
    pub attentions: Vec<Tensor<B, 4>>,
    /// `[batch, hidden]` L2-normalised sentence embedding.
    pub embedding: Tensor<B, 2>,
    /// `[batch, sentence classes]`
    pub sentence_logits: Tensor<B, 2>,
    /// `[batch, len, token tags]`
    pub token_logits: Tensor<B, 3>,
}

impl GlassboxConfig {
    /// A randomly initialised model of this shape (weights come from a checkpoint or bundle).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Glassbox<B> {
        let h = self.bert.hidden_size;
        Glassbox {
            embeddings: self.bert.init_embeddings(device),
            encoder: self.bert.init_encoder(device),
            sentence_head: SentenceHead::new(
                h,
                self.sentence_labels.len(),
                self.head_dropout,
                device,
            ),
            token_head: TokenHead::new(h, self.token_labels.len(), self.head_dropout, device),
        }
    }
}

impl<B: Backend> Glassbox<B> {
    /// `input_ids` `[batch, len]`; `pad_mask` `[batch, len]` true on padding positions.
    pub fn forward(
        &self,
        input_ids: Tensor<B, 2, Int>,
        pad_mask: Tensor<B, 2, Bool>,
    ) -> GlassboxOutput<B> {
        self.forward_with(input_ids, pad_mask, &Dense)
    }

    /// [`Self::forward`] with the encoder's linear layers computed by `projector` (the int8
    /// kernels, say).
    pub fn forward_with<P: Projector<B>>(
        &self,
        input_ids: Tensor<B, 2, Int>,
        pad_mask: Tensor<B, 2, Bool>,
        projector: &P,
    ) -> GlassboxOutput<B> {
        let x = self.embeddings.forward(input_ids);
        let enc = self.encoder.forward(x, pad_mask.clone(), projector);
        let pooled = masked_mean(enc.hidden.clone(), pad_mask);
        GlassboxOutput {
            embedding: l2_normalize(pooled.clone()),
            sentence_logits: self.sentence_head.forward(pooled),
            token_logits: self.token_head.forward(enc.hidden.clone()),
            hidden: enc.hidden,
            attentions: enc.attentions,
        }
    }
}

impl<B: Backend> Glassbox<B> {
    /// The mean-pooled (not normalised) last hidden states the sentence head reads, without
    /// the heads: training interpolates these for mixup.
    pub fn pooled(
        &self,
        input_ids: Tensor<B, 2, Int>,
        pad_mask: Tensor<B, 2, Bool>,
    ) -> Tensor<B, 2> {
        let x = self.embeddings.forward(input_ids);
        let enc = self.encoder.forward(x, pad_mask.clone(), &Dense);
        masked_mean(enc.hidden, pad_mask)
    }

    /// Tokenised texts in (padded to the longest), outputs out; `projector` computes the
    /// encoder's linear layers.
    pub fn forward_texts_with<P: Projector<B>>(
        &self,
        tokenizer: &crate::TextTokenizer,
        items: &[crate::Tokenized],
        projector: &P,
        device: &B::Device,
    ) -> GlassboxOutput<B> {
        let batch = tokenizer.batch::<B>(items, device);
        self.forward_with(batch.input_ids, batch.pad_mask, projector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BertConfig;
    use burn::backend::Flex;

    fn tiny() -> (Glassbox<Flex>, GlassboxConfig) {
        let bert = BertConfig::new(50, 16, 2, 4, 32, 20, 2);
        let config = GlassboxConfig::new(
            bert,
            vec!["a".into(), "b".into()],
            vec!["O".into(), "B-x".into(), "I-x".into()],
        );
        let device = Default::default();
        Flex::seed(&device, 7);
        (config.init(&device), config)
    }

    fn ids(rows: &[&[i64]]) -> (Tensor<Flex, 2, Int>, Tensor<Flex, 2, Bool>) {
        let len = rows.iter().map(|r| r.len()).max().unwrap();
        let mut flat = vec![];
        let mut mask = vec![];
        for r in rows {
            for i in 0..len {
                flat.push(*r.get(i).unwrap_or(&0));
                mask.push(i >= r.len());
            }
        }
        let device = Default::default();
        (
            Tensor::from_data(TensorData::new(flat, [rows.len(), len]), &device),
            Tensor::from_data(TensorData::new(mask, [rows.len(), len]), &device),
        )
    }

    fn floats<const D: usize>(t: Tensor<Flex, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    #[test]
    fn output_shapes_follow_config() {
        let (model, config) = tiny();
        let (i, m) = ids(&[&[1, 5, 6, 2], &[1, 7, 2]]);
        let o = model.forward(i, m);
        assert_eq!(o.hidden.dims(), [2, 4, 16]);
        assert_eq!(o.attentions.len(), config.bert.num_hidden_layers);
        assert_eq!(o.attentions[0].dims(), [2, 4, 4, 4]);
        assert_eq!(o.embedding.dims(), [2, 16]);
        assert_eq!(o.sentence_logits.dims(), [2, 2]);
        assert_eq!(o.token_logits.dims(), [2, 4, 3]);
    }

    #[test]
    fn padding_gets_no_attention_and_does_not_change_a_sentence() {
        let (model, _) = tiny();
        let short: &[i64] = &[1, 7, 8, 2];
        let (i1, m1) = ids(&[short]);
        let alone = model.forward(i1, m1);
        let (i2, m2) = ids(&[&[1, 9, 10, 11, 12, 13, 2], short]);
        let batched = model.forward(i2, m2);

        let a = floats(alone.embedding);
        let b = floats(batched.embedding.clone().slice([1..2, 0..16]));
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() < 1e-5,
                "embedding depends on batch-mates: {x} vs {y}"
            );
        }
        // Row-stochastic attention with exactly zero weight on the three padded keys.
        let att = floats(
            batched.attentions[1]
                .clone()
                .slice([1..2, 0..4, 0..7, 0..7]),
        );
        for row in att.chunks(7) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(
                row[4..].iter().all(|&p| p == 0.0),
                "padded keys attended: {row:?}"
            );
        }
        let n = floats(batched.embedding);
        let norm: f32 = n[..16].iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn burnpack_round_trip_is_exact() {
        let (model, config) = tiny();
        let bytes = model.to_burnpack().unwrap();
        let device = Default::default();
        Flex::seed(&device, 99);
        let restored = config.init::<Flex>(&device).load_burnpack(bytes).unwrap();
        let (i, m) = ids(&[&[1, 3, 4, 2]]);
        let a = floats(model.forward(i.clone(), m.clone()).sentence_logits);
        let b = floats(restored.forward(i, m).sentence_logits);
        assert_eq!(a, b);
    }

    #[test]
    fn burnpack_for_another_architecture_is_refused_by_key() {
        let (model, _) = tiny();
        let bytes = model.to_burnpack().unwrap();
        let bert = BertConfig::new(50, 16, 3, 4, 32, 20, 2);
        let other = GlassboxConfig::new(bert, vec!["a".into(), "b".into()], vec!["O".into()]);
        let err = other
            .init::<Flex>(&Default::default())
            .load_burnpack(bytes)
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("encoder.layers.2") || msg.contains("token_head"),
            "{msg}"
        );
    }
}
