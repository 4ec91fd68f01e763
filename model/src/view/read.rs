//! Reading one forward pass back into [`BatchData`]: the one place that knows which tensors
//! the callers need and in which order they come back.
//!
//! Natively a read-back may block ([`read`]); on WebGPU in wasm any blocking read panics, so
//! the page uses [`read_async`]. Both register the same tensors in one burn `Transaction`
//! (one synchronisation with the device instead of one per tensor) and share the assembly.

use burn::prelude::*;
use burn::tensor::{TensorData, Transaction};

use crate::view::readout::BatchData;
use crate::{GlassboxOutput, ModelError};

/// What to bring back from the device besides embeddings and logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBack {
    /// Embeddings and both heads' logits only.
    Outputs,
    /// Also every layer's attention (layers × heads × n² floats per sentence: most of what a
    /// forward pass could read back, so only when something shows it).
    WithAttention,
}

/// Shapes of the pass and its tensors queued in one transaction.
struct Pending<B: Backend> {
    batch: usize,
    len: usize,
    heads: usize,
    hidden: usize,
    layers: usize,
    tx: Transaction<B>,
}

fn pending<B: Backend>(o: GlassboxOutput<B>, what: ReadBack) -> Pending<B> {
    let [batch, len, hidden] = o.hidden.dims();
    let heads = o.attentions.first().map(|a| a.dims()[1]).unwrap_or(0);
    let layers = match what {
        ReadBack::Outputs => 0,
        ReadBack::WithAttention => o.attentions.len(),
    };
    let mut tx = Transaction::default()
        .register(o.embedding)
        .register(o.sentence_logits)
        .register(o.token_logits);
    for a in o.attentions.into_iter().take(layers) {
        tx = tx.register(a);
    }
    Pending {
        batch,
        len,
        heads,
        hidden,
        layers,
        tx,
    }
}

fn floats(d: TensorData) -> Result<Vec<f32>, ModelError> {
    d.convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| ModelError::ReadBack(format!("{e:?}")))
}

fn assemble<B: Backend>(p: &Pending<B>, data: Vec<TensorData>) -> Result<BatchData, ModelError> {
    let mut data = data.into_iter();
    let mut next = || -> Result<Vec<f32>, ModelError> {
        floats(data.next().ok_or_else(|| {
            ModelError::ReadBack("the device returned fewer tensors than were asked for".into())
        })?)
    };
    let embedding = next()?;
    let sentence_logits = next()?;
    let token_logits = next()?;
    let attentions = (0..p.layers).map(|_| next()).collect::<Result<_, _>>()?;
    Ok(BatchData {
        batch: p.batch,
        len: p.len,
        heads: p.heads,
        hidden: p.hidden,
        embedding,
        attentions,
        sentence_logits,
        token_logits,
    })
}

/// Blocking read-back (native backends).
pub fn read<B: Backend>(o: GlassboxOutput<B>, what: ReadBack) -> Result<BatchData, ModelError> {
    let mut p = pending(o, what);
    let tx = std::mem::take(&mut p.tx);
    let data = tx
        .try_execute()
        .map_err(|e| ModelError::ReadBack(format!("{e:?}")))?;
    assemble(&p, data)
}

/// Asynchronous read-back (required on WebGPU in wasm).
pub async fn read_async<B: Backend>(
    o: GlassboxOutput<B>,
    what: ReadBack,
) -> Result<BatchData, ModelError> {
    let mut p = pending(o, what);
    let tx = std::mem::take(&mut p.tx);
    let data = tx
        .execute_async()
        .await
        .map_err(|e| ModelError::ReadBack(format!("{e:?}")))?;
    assemble(&p, data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BertConfig, GlassboxConfig};
    use burn::backend::Flex;

    fn tiny() -> (crate::Glassbox<Flex>, GlassboxConfig) {
        let bert = BertConfig::new(50, 16, 2, 4, 32, 20, 2);
        let cfg = GlassboxConfig::default_tasks(bert);
        let device = Default::default();
        Flex::seed(&device, 7);
        (cfg.init::<Flex>(&device), cfg)
    }

    #[test]
    fn read_back_holds_every_tensor_in_row_major_order_with_the_forward_shapes() {
        let (model, cfg) = tiny();
        let dev = Default::default();
        let ids = Tensor::<Flex, 2, Int>::from_data([[2, 5, 7, 3], [2, 9, 3, 0]], &dev);
        let mask = Tensor::<Flex, 2, Bool>::from_data(
            [[false, false, false, false], [false, false, false, true]],
            &dev,
        );
        let o = model.forward(ids, mask);
        let want_emb = o.embedding.clone().into_data().to_vec::<f32>().unwrap();
        let want_att = o.attentions[1].clone().into_data().to_vec::<f32>().unwrap();
        let d = read(o, ReadBack::WithAttention).unwrap();
        assert_eq!((d.batch, d.len, d.hidden), (2, 4, cfg.bert.hidden_size));
        assert_eq!(d.heads, cfg.bert.num_attention_heads);
        assert_eq!(d.embedding, want_emb);
        assert_eq!(d.attentions.len(), cfg.bert.num_hidden_layers);
        assert_eq!(d.attentions[1], want_att);
        assert_eq!(d.sentence_logits.len(), 2 * cfg.sentence_labels.len());
        assert_eq!(d.token_logits.len(), 2 * 4 * cfg.token_labels.len());
    }

    #[test]
    fn outputs_only_leaves_the_attention_on_the_device() {
        let (model, _) = tiny();
        let dev = Default::default();
        let ids = Tensor::<Flex, 2, Int>::from_data([[2, 5, 3]], &dev);
        let mask = Tensor::<Flex, 2, Bool>::from_data([[false, false, false]], &dev);
        let d = read(model.forward(ids, mask), ReadBack::Outputs).unwrap();
        assert!(d.attentions.is_empty());
        assert!(
            d.heads > 0,
            "the head count is known even when maps stay behind"
        );
    }
}
