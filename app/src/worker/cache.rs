//! Results already computed by this model, so re-running a pasted list (or a permalink
//! opened twice) costs nothing. One cache per loaded engine, so an entry always belongs to
//! the model and backend that made it. Bounded by bytes, least recently used evicted first.
//!
//! Most entries hold no attention (a run reads it back for the focused sentence only), so
//! an entry answers a request that needs attention only if it has some, and a result without
//! attention never replaces one with it: asking for a sentence's attention upgrades its
//! entry, nothing downgrades it.

use std::collections::{HashMap, VecDeque};

use crate::protocol::SentenceOut;

pub struct ResultCache {
    limit: usize,
    used: usize,
    entries: HashMap<String, (SentenceOut, usize)>,
    /// Least recently used first.
    order: VecDeque<String>,
}

/// Approximate heap bytes of one result: attention (already quantised), the f32 vectors,
/// ~48 bytes of tokenisation per wordpiece (id, piece string, offsets, word id, flag), the text.
fn size_of(s: &SentenceOut) -> usize {
    let n = s.tokenized.ids.len();
    s.attentions.iter().map(|a| a.byte_len()).sum::<usize>()
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

    /// A copy marked as cached; none when `attention` is needed and the entry lacks it (the
    /// caller computes it and [`put`](Self::put)s the upgraded result).
    pub fn get(&mut self, text: &str, attention: bool) -> Option<SentenceOut> {
        let (entry, _) = self.entries.get(text)?;
        if attention && !entry.has_attention() {
            return None;
        }
        let mut hit = entry.clone();
        hit.cached = true;
        self.touch(text);
        Some(hit)
    }

    /// Stores `out` under `text`, evicting least recently used entries until it fits; a
    /// result larger than the whole budget is not stored at all, and one without attention
    /// keeps (and refreshes) an entry that has it.
    pub fn put(&mut self, text: String, out: &SentenceOut) {
        let size = size_of(out);
        if size > self.limit {
            return;
        }
        let richer = |(e, _): &(SentenceOut, usize)| e.has_attention() && !out.has_attention();
        if self.entries.get(&text).is_some_and(richer) {
            self.touch(&text);
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

    /// Bytes held, by [`size_of`]'s estimate.
    pub fn used(&self) -> usize {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::view::attention::Attention;
    use glassbox_model::Tokenized;

    /// A result of `n` wordpieces for a 2-character text, with one layer of one head of
    /// quantised attention (n² bytes), a 2-float embedding, 3 classes and 1 tag per piece:
    /// n² + 4·(2 + n + 3) + 48·n + 2 bytes. For n = 2: 4 + 28 + 96 + 2 = 130.
    fn out(n: usize) -> SentenceOut {
        SentenceOut {
            tokenized: Tokenized {
                text: "ab".into(),
                ids: vec![0; n],
                tokens: vec![String::new(); n],
                offsets: vec![(0, 0); n],
                word_ids: vec![None; n],
                special: vec![false; n],
                truncation: None,
            },
            embedding: vec![0.0; 2],
            sentence_probs: vec![0.2, 0.3, 0.5],
            token_probs: vec![1.0; n],
            attentions: vec![Attention::from_f32(1, n, vec![0.5; n * n]).quantized()],
            cached: false,
        }
    }

    #[test]
    fn size_counts_attention_bytes_vectors_pieces_and_text() {
        assert_eq!(size_of(&out(2)), 130);
        // n = 3: 9 + 4·8 + 144 + 2 = 187.
        assert_eq!(size_of(&out(3)), 187);
    }

    #[test]
    fn a_hit_is_a_copy_marked_cached() {
        let mut c = ResultCache::new(1000);
        c.put("a".into(), &out(2));
        let hit = c.get("a", false).unwrap();
        assert!(hit.cached);
        assert_eq!(hit.sentence_probs, vec![0.2, 0.3, 0.5]);
        assert!(c.get("b", false).is_none());
    }

    #[test]
    fn the_least_recently_used_entry_is_evicted_first() {
        // Room for two results of 130 bytes, not three.
        let mut c = ResultCache::new(300);
        c.put("a".into(), &out(2));
        c.put("b".into(), &out(2));
        // Reading "a" makes "b" the oldest.
        assert!(c.get("a", false).is_some());
        c.put("c".into(), &out(2));
        assert!(c.get("b", false).is_none(), "b was least recently used");
        assert!(c.get("a", false).is_some() && c.get("c", false).is_some());
        assert_eq!(c.used(), 260);
    }

    #[test]
    fn a_large_entry_evicts_as_many_as_it_needs() {
        let mut c = ResultCache::new(320);
        c.put("a".into(), &out(2));
        c.put("b".into(), &out(2));
        // 187 + 130 = 317 fits after evicting only "a".
        c.put("big".into(), &out(3));
        assert!(c.get("a", false).is_none());
        assert!(c.get("b", false).is_some() && c.get("big", false).is_some());
        assert_eq!(c.used(), 317);
    }

    #[test]
    fn replacing_a_text_does_not_count_it_twice() {
        let mut c = ResultCache::new(1000);
        c.put("a".into(), &out(2));
        c.put("a".into(), &out(3));
        assert_eq!(c.used(), 187);
    }

    #[test]
    fn a_result_over_the_whole_budget_is_not_stored_and_evicts_nothing() {
        let mut c = ResultCache::new(150);
        c.put("a".into(), &out(2));
        c.put("big".into(), &out(3));
        assert!(c.get("big", false).is_none());
        assert!(c.get("a", false).is_some());
        assert_eq!(c.used(), 130);
    }

    /// `out(n)` with its attention left on the device.
    fn bare(n: usize) -> SentenceOut {
        SentenceOut {
            attentions: vec![],
            ..out(n)
        }
    }

    #[test]
    fn an_entry_without_attention_answers_only_requests_that_do_not_need_it() {
        let mut c = ResultCache::new(1000);
        c.put("a".into(), &bare(2));
        assert!(c.get("a", false).is_some());
        assert!(
            c.get("a", true).is_none(),
            "attention is computed, not served empty"
        );
        c.put("b".into(), &out(2));
        assert!(c.get("b", true).unwrap().has_attention());
        assert!(c.get("b", false).unwrap().has_attention());
    }

    #[test]
    fn a_result_with_attention_upgrades_the_entry_and_none_downgrades_it() {
        let mut c = ResultCache::new(1000);
        c.put("a".into(), &bare(2));
        // 130 bytes with one 2×2 map of one head, 4 fewer without it.
        assert_eq!(c.used(), 126);
        c.put("a".into(), &out(2));
        assert!(c.get("a", true).is_some());
        assert_eq!(c.used(), 130);
        // A later run without attention (the benchmark's, another chunk's) keeps the maps.
        c.put("a".into(), &bare(2));
        assert!(c.get("a", true).is_some());
        assert_eq!(c.used(), 130);
    }

    #[test]
    fn keeping_the_richer_entry_still_refreshes_it() {
        // Room for two results of 130 bytes, not three.
        let mut c = ResultCache::new(300);
        c.put("a".into(), &out(2));
        c.put("b".into(), &out(2));
        // "a" answered again without attention: it becomes the most recently used.
        c.put("a".into(), &bare(2));
        c.put("c".into(), &out(2));
        assert!(c.get("b", false).is_none(), "b was least recently used");
        assert!(c.get("a", true).is_some());
    }

    #[test]
    fn clear_empties_everything() {
        let mut c = ResultCache::new(1000);
        c.put("a".into(), &out(2));
        c.clear();
        assert!(c.get("a", false).is_none());
        assert_eq!(c.used(), 0);
    }
}
