//! The result cache: an input's finished JSON answer, keyed by (bundle manifest hash, task
//! with its options, text), bounded in bytes.
//!
//! Why the serialized answer: a hit is then byte for byte the answer that was computed (what
//! a client sees cannot depend on whether it was cached), and its weight is exactly the bytes
//! it holds. moka evicts by TinyLFU, so a burst of one-off texts does not flush the frequent
//! sentences the cache is for. `--cache-bytes 0` switches it off.

use std::sync::Arc;

use moka::sync::Cache;

/// What an answer depends on besides the weights: the bundle, the task and its options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    /// SHA-256 of the bundle's manifest (which hashes every other file).
    pub bundle: Arc<str>,
    /// The task and its options, e.g. `predict:first`, `embed`, `attention:2:5`.
    pub task: Arc<str>,
    pub text: String,
}

/// Bytes a cached entry costs beyond its key's and answer's text (moka's own bookkeeping,
/// two `Arc`s and the `String`), so that many tiny entries still count.
const OVERHEAD: usize = 96;

pub(crate) struct ResultCache {
    inner: Option<Cache<Key, Arc<str>>>,
}

impl ResultCache {
    pub fn new(max_bytes: u64) -> Self {
        let inner = (max_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &Key, v: &Arc<str>| {
                    let bytes = OVERHEAD + k.task.len() + k.text.len() + v.len();
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { inner }
    }

    pub fn get(&self, key: &Key) -> Option<Arc<str>> {
        self.inner.as_ref()?.get(key)
    }

    pub fn insert(&self, key: Key, answer: Arc<str>) {
        if let Some(c) = &self.inner {
            c.insert(key, answer);
        }
    }

    /// Bytes held now (after moka has applied pending evictions).
    pub fn bytes(&self) -> u64 {
        self.inner.as_ref().map_or(0, |c| {
            c.run_pending_tasks();
            c.weighted_size()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        Key {
            bundle: "h".into(),
            task: "embed".into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_hit_returns_the_same_bytes() {
        let c = ResultCache::new(1 << 20);
        c.insert(key("a"), "{\"x\":1}".into());
        assert_eq!(c.get(&key("a")).as_deref(), Some("{\"x\":1}"));
        assert_eq!(c.get(&key("b")), None);
    }

    #[test]
    fn the_byte_bound_holds() {
        let c = ResultCache::new(10_000);
        for i in 0..1000 {
            c.insert(key(&format!("text {i}")), "y".repeat(100).into());
        }
        assert!(c.bytes() <= 10_000, "{} bytes held", c.bytes());
    }

    #[test]
    fn zero_bytes_caches_nothing() {
        let c = ResultCache::new(0);
        c.insert(key("a"), "1".into());
        assert_eq!(c.get(&key("a")), None);
    }
}
