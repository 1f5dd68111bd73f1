//! Bounded in-memory state of the webhook: a token bucket per pipeline and the ids of
//! recently handled events. Time is passed in, so tests need no clock.
//!
//! Both are bounded whatever senders do: the buckets are keyed by the request path, which
//! anyone can vary, so the map has a size limit and forgets the longest-idle bucket.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

/// Buckets kept at most; a flood of made-up pipeline names costs no more memory.
pub const MAX_BUCKETS: usize = 4096;

/// Event ids remembered at most.
pub const REPLAY_CAPACITY: usize = 10_000;

/// One token bucket per key (`namespace/pipeline`).
#[derive(Debug)]
pub struct TokenBuckets {
    rate: f64,
    burst: f64,
    buckets: HashMap<String, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl TokenBuckets {
    /// `rate` tokens a second, at most `burst` saved up (at least one).
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate: rate.max(0.0),
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// Takes a token from `key`'s bucket at `now`; false when it is empty.
    pub fn take(&mut self, key: &str, now: Instant) -> bool {
        if !self.buckets.contains_key(key) && self.buckets.len() >= MAX_BUCKETS {
            self.evict_idlest();
        }
        let (rate, burst) = (self.rate, self.burst);
        let b = self.buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets the bucket used longest ago. A forgotten bucket comes back full, which is
    /// what it would have refilled to while idle unless the rate is tiny.
    fn evict_idlest(&mut self) {
        let idlest = self
            .buckets
            .iter()
            .min_by_key(|(_, b)| b.at)
            .map(|(k, _)| k.clone());
        if let Some(k) = idlest {
            self.buckets.remove(&k);
        }
    }

    /// Buckets held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.buckets.len()
    }
}

/// The ids of the last [`REPLAY_CAPACITY`] events handled, oldest forgotten first.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl ReplayCache {
    /// Remembers up to `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            seen: HashSet::new(),
        }
    }

    /// Whether `id` was handled recently.
    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(id)
    }

    /// Remembers `id` as handled.
    pub fn insert(&mut self, id: &str) {
        if !self.seen.insert(id.to_string()) {
            return;
        }
        self.order.push_back(id.to_string());
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
    }

    /// Ids held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let mut b = TokenBuckets::new(2.0, 3);
        assert!((0..3).all(|_| b.take("ns/p", t0)), "the burst");
        assert!(!b.take("ns/p", t0), "empty");
        assert!(b.take("other/p", t0), "another pipeline has its own bucket");
        assert!(
            !b.take("ns/p", t0 + Duration::from_millis(400)),
            "0.8 tokens"
        );
        assert!(
            b.take("ns/p", t0 + Duration::from_millis(500)),
            "1 token after 0.5 s at 2/s"
        );
        assert!(!b.take("ns/p", t0 + Duration::from_millis(500)));
        let later = t0 + Duration::from_secs(60);
        assert_eq!(
            (0..10).filter(|_| b.take("ns/p", later)).count(),
            3,
            "refills to the burst only"
        );
    }

    #[test]
    fn made_up_keys_cannot_grow_the_map_past_its_bound() {
        let t0 = Instant::now();
        let mut b = TokenBuckets::new(1.0, 1);
        for i in 0..(MAX_BUCKETS + 500) {
            let at = t0 + Duration::from_millis(i as u64);
            assert!(b.take(&format!("ns/p{i}"), at), "a new key starts full");
        }
        assert_eq!(b.len(), MAX_BUCKETS);
        // The newest keys are kept: their buckets are still empty.
        let last = format!("ns/p{}", MAX_BUCKETS + 499);
        assert!(!b.take(
            &last,
            t0 + Duration::from_millis((MAX_BUCKETS + 499) as u64)
        ));
    }

    #[test]
    fn the_replay_cache_remembers_the_newest_ids_only() {
        let mut c = ReplayCache::new(3);
        for id in ["a", "b", "c", "a"] {
            c.insert(id);
        }
        assert!(c.contains("a") && c.contains("b") && c.contains("c"));
        assert_eq!(c.len(), 3, "a repeated id is held once");
        c.insert("d");
        assert!(!c.contains("a"), "the oldest is forgotten");
        assert!(c.contains("d") && c.contains("b"));
        assert_eq!(c.len(), 3);
    }
}
