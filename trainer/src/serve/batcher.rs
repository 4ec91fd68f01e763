//! The queue between the HTTP handlers and the one thread that owns the model, in the style
//! of text-embeddings-inference's `core/src/queue.rs`.
//!
//! Every input of every request is one [`Entry`] with its own oneshot reply channel, so one
//! forward pass can mix inputs of many clients and each handler gets its answers back and
//! reassembles them in input order. While the model runs a batch, new entries queue up; the
//! next batch is formed from whatever is waiting (no timer: an idle server answers a lone
//! request at once, a busy one batches more). A batch starts with the oldest entry, so nothing
//! starves, and adds the waiting entries closest to it in length while the padded tokens
//! (inputs × longest) stay within `--max-batch-tokens` and the inputs within
//! `--max-batch-requests`: texts of similar length pad little.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glassbox_model::view::readout::SentenceResult;
use glassbox_model::view::ReadBack;
use glassbox_model::Tokenized;
use tokio::sync::{mpsc, oneshot};

use super::metrics::Metrics;

/// Bounds of one forward pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLimits {
    /// Padded wordpieces: inputs × the longest input.
    pub max_tokens: usize,
    /// Inputs.
    pub max_requests: usize,
}

/// One answered input and how long it waited and ran.
pub(crate) struct Done {
    pub result: SentenceResult,
    pub queue: Duration,
    pub inference: Duration,
}

/// What the model thread sends back for one input; the error is a message for a 500.
pub(crate) type Reply = Result<Done, String>;

/// One input waiting for the model.
pub(crate) struct Entry {
    pub item: Tokenized,
    /// Whether to read this input's attention back.
    pub attention: bool,
    pub enqueued: Instant,
    pub reply: oneshot::Sender<Reply>,
}

/// The handlers' end of the queue.
#[derive(Clone)]
pub(crate) struct Queue {
    tx: mpsc::UnboundedSender<Entry>,
    metrics: Arc<Metrics>,
}

impl Queue {
    /// The queue is unbounded as a channel but bounded in practice: at most
    /// `--max-concurrent-requests` × `--max-client-batch-size` inputs can be in it.
    pub fn new(metrics: Arc<Metrics>) -> (Self, mpsc::UnboundedReceiver<Entry>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx, metrics }, rx)
    }

    /// Queues one input; `None` when the model thread has stopped.
    pub fn push(&self, item: Tokenized, attention: bool) -> Option<oneshot::Receiver<Reply>> {
        let (reply, rx) = oneshot::channel();
        let entry = Entry {
            item,
            attention,
            enqueued: Instant::now(),
            reply,
        };
        // Counted before sending, so the model thread's decrement can never come first.
        self.metrics.queue_size.inc();
        if self.tx.send(entry).is_err() {
            self.metrics.queue_size.dec();
            return None;
        }
        Some(rx)
    }
}

/// The indices (ascending) of the entries of lengths `lens` (oldest first) that form the next
/// batch: the oldest, then the others closest to it in length while both bounds hold. The
/// oldest is taken even when it alone exceeds `max_tokens`, so no input waits forever.
pub(crate) fn select(lens: &[usize], limits: BatchLimits) -> Vec<usize> {
    let Some(&anchor) = lens.first() else {
        return vec![];
    };
    let mut others: Vec<usize> = (1..lens.len()).collect();
    others.sort_by_key(|&i| (lens[i].abs_diff(anchor), i));
    let (mut picked, mut longest) = (vec![0], anchor);
    for i in others {
        if picked.len() >= limits.max_requests {
            break;
        }
        let l = longest.max(lens[i]);
        if l * (picked.len() + 1) <= limits.max_tokens {
            picked.push(i);
            longest = l;
        }
    }
    picked.sort_unstable();
    picked
}

/// Removes the entries at `picked` (ascending) from `pending`, keeping the others' order.
fn take(pending: &mut VecDeque<Entry>, picked: &[usize]) -> Vec<Entry> {
    let mut out = Vec::with_capacity(picked.len());
    for &i in picked.iter().rev() {
        out.extend(pending.remove(i));
    }
    out.reverse();
    out
}

/// The model thread's loop: waits for entries, forms batches, runs them with `run` and
/// answers every entry. Returns when every [`Queue`] handle is gone and the queue is empty.
/// A failing or panicking `run` answers its batch with an error and the loop goes on.
pub(crate) fn serve_queue<F>(
    mut rx: mpsc::UnboundedReceiver<Entry>,
    limits: BatchLimits,
    metrics: &Metrics,
    mut run: F,
) where
    F: FnMut(Vec<Tokenized>, &ReadBack) -> anyhow::Result<Vec<SentenceResult>>,
{
    let mut pending = VecDeque::new();
    loop {
        if pending.is_empty() {
            match rx.blocking_recv() {
                Some(e) => pending.push_back(e),
                None => return,
            }
        }
        while let Ok(e) = rx.try_recv() {
            pending.push_back(e);
        }
        let lens: Vec<usize> = pending.iter().map(|e| e.item.ids.len()).collect();
        let batch = take(&mut pending, &select(&lens, limits));
        metrics.queue_size.sub(batch.len() as i64);
        run_batch(batch, metrics, &mut run);
    }
}

/// Runs one batch and sends each entry its result (or the batch's error).
fn run_batch<F>(batch: Vec<Entry>, metrics: &Metrics, run: &mut F)
where
    F: FnMut(Vec<Tokenized>, &ReadBack) -> anyhow::Result<Vec<SentenceResult>>,
{
    let longest = batch.iter().map(|e| e.item.ids.len()).max().unwrap_or(0);
    metrics.batch_size.observe(batch.len() as f64);
    metrics.batch_tokens.observe((longest * batch.len()) as f64);
    let rows: Vec<usize> = (0..batch.len()).filter(|&i| batch[i].attention).collect();
    let what = if rows.is_empty() {
        ReadBack::Outputs
    } else {
        ReadBack::Attention(rows)
    };
    let (mut items, mut replies) = (Vec::new(), Vec::new());
    for e in batch {
        items.push(e.item);
        replies.push((e.reply, e.enqueued));
    }
    let started = Instant::now();
    let out = catch_unwind(AssertUnwindSafe(|| run(items, &what)));
    let inference = started.elapsed();
    let results = match out {
        Ok(Ok(results)) => results,
        Ok(Err(e)) => return fail(replies, format!("inference failed: {e:#}")),
        Err(_) => return fail(replies, "inference panicked; see the server log".into()),
    };
    for ((reply, enqueued), result) in replies.into_iter().zip(results) {
        let queue = started.saturating_duration_since(enqueued);
        // A client that went away dropped its receiver; nothing to do.
        let _ = reply.send(Ok(Done {
            result,
            queue,
            inference,
        }));
    }
}

fn fail(replies: Vec<(oneshot::Sender<Reply>, Instant)>, message: String) {
    tracing::error!(%message, "batch failed");
    for (reply, _) in replies {
        let _ = reply.send(Err(message.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_tokens: usize, max_requests: usize) -> BatchLimits {
        BatchLimits {
            max_tokens,
            max_requests,
        }
    }

    #[test]
    fn a_batch_takes_everything_that_fits() {
        assert_eq!(select(&[10, 10, 10], limits(1000, 32)), [0, 1, 2]);
        assert_eq!(select(&[], limits(1000, 32)), Vec::<usize>::new());
    }

    #[test]
    fn the_request_bound_caps_the_batch() {
        assert_eq!(select(&[5; 10], limits(1000, 4)), [0, 1, 2, 3]);
    }

    #[test]
    fn padded_tokens_stay_within_the_token_bound() {
        // 4 × 30 = 120 fits 128; a fifth would pad to 150.
        let lens = [30; 8];
        let picked = select(&lens, limits(128, 32));
        assert_eq!(picked, [0, 1, 2, 3]);
        // One long input pads every other one to its length: 100 + 3 short ones would be 400.
        let picked = select(&[10, 100, 10, 10], limits(128, 32));
        assert_eq!(picked, [0, 2, 3], "the long one waits for its own batch");
        let longest = picked.iter().map(|&i| [10, 100, 10, 10][i]).max().unwrap();
        assert!(longest * picked.len() <= 128);
    }

    #[test]
    fn similar_lengths_are_grouped_around_the_oldest() {
        // Room for two: the oldest (20) and the closest in length (22), not the next in line.
        assert_eq!(select(&[20, 60, 22, 5], limits(44, 32)), [0, 2]);
    }

    #[test]
    fn the_oldest_goes_even_when_it_alone_is_over_the_bound() {
        assert_eq!(select(&[300, 10], limits(256, 32)), [0]);
    }

    #[test]
    fn taking_keeps_the_order_of_what_is_left() {
        let (queue, mut rx) = Queue::new(Arc::new(Metrics::new().unwrap()));
        for i in 0..5 {
            queue.push(item(&format!("t{i}"), 3), false).unwrap();
        }
        let mut pending: VecDeque<Entry> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        let taken = take(&mut pending, &[1, 3]);
        let texts = |v: Vec<&Entry>| v.iter().map(|e| e.item.text.clone()).collect::<Vec<_>>();
        assert_eq!(texts(taken.iter().collect()), ["t1", "t3"]);
        assert_eq!(texts(pending.iter().collect()), ["t0", "t2", "t4"]);
    }

    fn item(text: &str, n: usize) -> Tokenized {
        Tokenized {
            text: text.into(),
            ids: vec![1; n],
            tokens: vec!["x".into(); n],
            offsets: vec![(0, 0); n],
            word_ids: vec![None; n],
            special: vec![false; n],
            truncation: None,
        }
    }

    /// A stand-in model: each input's "embedding" is its length and its batch's size.
    fn fake(items: Vec<Tokenized>, _: &ReadBack) -> anyhow::Result<Vec<SentenceResult>> {
        let b = items.len() as f32;
        Ok(items
            .into_iter()
            .map(|t| SentenceResult {
                embedding: vec![t.ids.len() as f32, b],
                tokenized: t,
                attentions: vec![],
                sentence_probs: vec![],
                token_probs: vec![],
            })
            .collect())
    }

    #[test]
    fn every_entry_gets_its_own_answer_across_batches() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let (queue, rx) = Queue::new(metrics.clone());
        let lens = [3, 40, 4, 41, 5, 3, 42];
        let replies: Vec<_> = lens
            .iter()
            .enumerate()
            .map(|(i, &n)| queue.push(item(&format!("t{i}"), n), false).unwrap())
            .collect();
        drop(queue);
        serve_queue(rx, limits(100, 3), &metrics, fake);
        for (i, (r, &n)) in replies.into_iter().zip(&lens).enumerate() {
            let done = r.blocking_recv().unwrap().unwrap();
            assert_eq!(done.result.tokenized.text, format!("t{i}"));
            assert_eq!(done.result.embedding[0], n as f32);
            assert!(done.result.embedding[1] <= 3.0, "request bound");
            assert!(n as f32 * done.result.embedding[1] <= 100.0, "token bound");
        }
        assert_eq!(metrics.queue_size.get(), 0);
    }

    #[test]
    fn a_panicking_model_answers_with_an_error_and_keeps_serving() {
        let metrics = Arc::new(Metrics::new().unwrap());
        let (queue, rx) = Queue::new(metrics.clone());
        let bad = queue.push(item("boom", 3), false).unwrap();
        let good = queue.push(item("fine", 3), false).unwrap();
        drop(queue);
        let panicky = |items: Vec<Tokenized>, what: &ReadBack| {
            assert!(items[0].text != "boom", "model blew up");
            fake(items, what)
        };
        serve_queue(rx, limits(100, 1), &metrics, panicky);
        let err = bad.blocking_recv().unwrap().err().unwrap();
        assert!(err.contains("panicked"), "{err}");
        assert!(good.blocking_recv().unwrap().is_ok());
    }
}
