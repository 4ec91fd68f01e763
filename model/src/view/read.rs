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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadBack {
    /// Embeddings and both heads' logits only.
    Outputs,
    /// Also every layer's attention of these batch rows (sentences), in any order, repeats
    /// ignored. Attention is layers × heads × n² floats per sentence, most of what a forward
    /// pass could read back, so the page asks only for the sentence it shows; the other rows
    /// are cut away on the device and never travel.
    Attention(Vec<usize>),
}

impl ReadBack {
    /// Every row's attention, for a batch of `batch` sentences (what the CLI prints from).
    pub fn all_attention(batch: usize) -> Self {
        ReadBack::Attention((0..batch).collect())
    }

    /// The rows whose attention to read, ascending and distinct; refuses a row the batch
    /// does not hold.
    fn rows(&self, batch: usize) -> Result<Vec<usize>, ModelError> {
        let mut rows = match self {
            ReadBack::Outputs => return Ok(vec![]),
            ReadBack::Attention(rows) => rows.clone(),
        };
        rows.sort_unstable();
        rows.dedup();
        match rows.last() {
            Some(&row) if row >= batch => Err(ModelError::NoSuchRow { row, batch }),
            _ => Ok(rows),
        }
    }
}

/// Shapes of the pass and its tensors queued in one transaction.
struct Pending<B: Backend> {
    batch: usize,
    len: usize,
    heads: usize,
    hidden: usize,
    layers: usize,
    /// Batch rows whose attention is queued, ascending.
    rows: Vec<usize>,
    tx: Transaction<B>,
}

/// `rows` (ascending, distinct, in range) of one layer's `[batch, heads, len, len]`
/// attention, cut on the device: a view for a run of adjacent rows, a gather otherwise.
fn keep_rows<B: Backend>(a: Tensor<B, 4>, rows: &[usize]) -> Tensor<B, 4> {
    let (first, n) = (rows[0], rows.len());
    if n == a.dims()[0] {
        return a;
    }
    if rows[n - 1] - first + 1 == n {
        return a.narrow(0, first, n);
    }
    let at: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
    let index = Tensor::<B, 1, Int>::from_data(TensorData::new(at, [n]), &a.device());
    a.select(0, index)
}

fn pending<B: Backend>(o: GlassboxOutput<B>, what: &ReadBack) -> Result<Pending<B>, ModelError> {
    let [batch, len, hidden] = o.hidden.dims();
    let heads = o.attentions.first().map(|a| a.dims()[1]).unwrap_or(0);
    let rows = what.rows(batch)?;
    let layers = if rows.is_empty() {
        0
    } else {
        o.attentions.len()
    };
    let mut tx = Transaction::default()
        .register(o.embedding)
        .register(o.sentence_logits)
        .register(o.token_logits);
    for a in o.attentions.into_iter().take(layers) {
        tx = tx.register(keep_rows(a, &rows));
    }
    Ok(Pending {
        batch,
        len,
        heads,
        hidden,
        layers,
        rows,
        tx,
    })
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
        attention_rows: if p.layers == 0 {
            vec![]
        } else {
            p.rows.clone()
        },
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
pub fn read<B: Backend>(o: GlassboxOutput<B>, what: &ReadBack) -> Result<BatchData, ModelError> {
    let mut p = pending(o, what)?;
    let tx = std::mem::take(&mut p.tx);
    let data = tx
        .try_execute()
        .map_err(|e| ModelError::ReadBack(format!("{e:?}")))?;
    assemble(&p, data)
}

/// Asynchronous read-back (required on WebGPU in wasm).
pub async fn read_async<B: Backend>(
    o: GlassboxOutput<B>,
    what: &ReadBack,
) -> Result<BatchData, ModelError> {
    let mut p = pending(o, what)?;
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
        let d = read(o, &ReadBack::all_attention(2)).unwrap();
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
        let d = read(model.forward(ids, mask), &ReadBack::Outputs).unwrap();
        assert!(d.attentions.is_empty());
        assert!(
            d.heads > 0,
            "the head count is known even when maps stay behind"
        );
    }

    /// Three sentences of 4, 3 and 2 wordpieces padded to 4, forwarded once.
    fn three(model: &crate::Glassbox<Flex>) -> (GlassboxOutput<Flex>, Vec<crate::Tokenized>) {
        let dev = Default::default();
        let ids =
            Tensor::<Flex, 2, Int>::from_data([[2, 5, 7, 3], [2, 9, 3, 0], [2, 3, 0, 0]], &dev);
        let mask = Tensor::<Flex, 2, Bool>::from_data(
            [
                [false, false, false, false],
                [false, false, false, true],
                [false, false, true, true],
            ],
            &dev,
        );
        let items = [4, 3, 2]
            .map(|n| crate::Tokenized {
                text: "x".into(),
                ids: vec![0; n],
                tokens: vec![String::new(); n],
                offsets: vec![(0, 0); n],
                word_ids: vec![None; n],
                special: vec![false; n],
                truncation: None,
            })
            .to_vec();
        (model.forward(ids, mask), items)
    }

    #[test]
    fn the_rows_asked_for_equal_a_full_read_and_the_other_rows_come_back_empty() {
        let (model, cfg) = tiny();
        let (o, items) = three(&model);
        let full = read(o.clone(), &ReadBack::all_attention(3))
            .unwrap()
            .split(items.clone());
        // A gather (rows 2 and 0, asked out of order and twice), a run of adjacent rows
        // (a narrow), one row, and none.
        for rows in [vec![2, 0, 2], vec![1, 2], vec![1], vec![]] {
            let d = read(o.clone(), &ReadBack::Attention(rows.clone())).unwrap();
            let mut want = rows.clone();
            want.sort_unstable();
            want.dedup();
            assert_eq!(d.attention_rows, want);
            let part = d.split(items.clone());
            for (s, (p, f)) in part.iter().zip(&full).enumerate() {
                assert_eq!(p.embedding, f.embedding, "row {s} of {rows:?}");
                if rows.contains(&s) {
                    assert_eq!(p.attentions.len(), cfg.bert.num_hidden_layers);
                    assert_eq!(p.attentions, f.attentions, "row {s} of {rows:?}");
                } else {
                    assert!(
                        p.attentions.is_empty(),
                        "row {s} of {rows:?} was not asked for"
                    );
                    assert_eq!(p.heads(), 0);
                }
            }
        }
    }

    #[test]
    fn attention_of_a_row_the_batch_does_not_hold_is_refused_with_the_row_and_batch() {
        let (model, _) = tiny();
        let (o, _) = three(&model);
        let e = read(o, &ReadBack::Attention(vec![0, 3])).err().unwrap();
        assert!(
            matches!(e, ModelError::NoSuchRow { row: 3, batch: 3 }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "attention was asked for batch row 3, but the batch holds 3 sentence(s) (rows 0..3)"
        );
    }
}
