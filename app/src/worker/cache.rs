//! Results already computed by this model, so re-running a pasted list (or a permalink
//! opened twice) costs nothing. One cache per loaded engine, so an entry always belongs to
//! the model and backend that made it. Bounded by bytes, least recently used evicted first.

use std::collections::{HashMap, VecDeque};

use crate::protocol::SentenceOut;

pub struct ResultCache {
    limit: usize,
    used: usize,
    entries: HashMap<String, (SentenceOut, usize)>,
    /// Least recently used first.
    order: VecDeque<String>,
}

fn size_of(s: &SentenceOut) -> usize {
    let n = s.tokenized.ids.len();
    s.attentions.iter().map(Vec::len).sum::<usize>()
        + 4 * (s.embedding.len() + s.token_probs.len() + s.sentence_probs.len())
        + n * 48
        + s.tokenized.text.len()
}

impl ResultCache {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            used: 0,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn touch(&mut self, text: &str) {
        if let Some(i) = self.order.iter().position(|t| t == text) {
            let t = self.order.remove(i).expect("position is in range");
            self.order.push_back(t);
        }
    }

    /// A copy marked as cached.
    pub fn get(&mut self, text: &str) -> Option<SentenceOut> {
        let mut hit = self.entries.get(text)?.0.clone();
        hit.cached = true;
        self.touch(text);
        Some(hit)
    }

    pub fn put(&mut self, text: String, out: &SentenceOut) {
        let size = size_of(out);
        if size > self.limit {
            return;
        }
        if let Some((_, old)) = self.entries.remove(&text) {
            self.used -= old;
            self.order.retain(|t| *t != text);
        }
        while self.used + size > self.limit {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, s)) = self.entries.remove(&oldest) {
                self.used -= s;
            }
        }
        self.used += size;
        self.order.push_back(text.clone());
        self.entries.insert(text, (out.clone(), size));
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.used = 0;
    }
}
