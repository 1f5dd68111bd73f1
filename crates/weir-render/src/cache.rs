//! Bookkeeping for compiled user templates, bounded so that a controller seeing
//! many distinct ConfigMap versions does not grow without limit.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

/// Which user templates are compiled into the environment, by content hash.
///
/// The compiled templates themselves live in the minijinja environment under an
/// internal name; this only remembers those names and evicts the oldest.
#[derive(Debug)]
pub(crate) struct TemplateCache {
    capacity: usize,
    names: HashMap<u64, String>,
    order: VecDeque<u64>,
}

impl TemplateCache {
    pub(crate) fn new(capacity: usize) -> Self {
        TemplateCache {
            capacity,
            names: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The content hash of a named template. `DefaultHasher::new()` uses fixed
    /// keys, which is fine: a collision only costs an uncached compile, because
    /// callers compare the stored source before trusting a hit.
    pub(crate) fn key(name: &str, text: &str) -> u64 {
        let mut hasher = DefaultHasher::new();
        name.hash(&mut hasher);
        text.hash(&mut hasher);
        hasher.finish()
    }

    /// The internal name under which the template with `key` was compiled.
    pub(crate) fn get(&self, key: u64) -> Option<&str> {
        self.names.get(&key).map(String::as_str)
    }

    /// The internal name for a new entry: the user's name keeps errors and
    /// `include`d-from messages readable, the hash keeps versions apart.
    pub(crate) fn internal_name(name: &str, key: u64) -> String {
        format!("{name}#{key:016x}")
    }

    /// Remembers `key` and returns the internal names that fell out of the cache,
    /// for the caller to remove from the environment.
    pub(crate) fn insert(&mut self, key: u64, internal: String) -> Vec<String> {
        if self.capacity == 0 {
            return vec![internal];
        }
        if self.names.insert(key, internal).is_none() {
            self.order.push_back(key);
        }
        let mut evicted = Vec::new();
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front()
                && let Some(name) = self.names.remove(&old)
            {
                evicted.push(name);
            }
        }
        evicted
    }

    /// How many templates are cached.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_oldest_beyond_capacity() {
        let mut cache = TemplateCache::new(2);
        assert!(cache.insert(1, "a".into()).is_empty());
        assert!(cache.insert(2, "b".into()).is_empty());
        assert_eq!(cache.insert(3, "c".into()), vec!["a".to_string()]);
        assert_eq!(cache.get(1), None);
        assert_eq!(cache.get(3), Some("c"));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let mut cache = TemplateCache::new(0);
        assert_eq!(cache.insert(1, "a".into()), vec!["a".to_string()]);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn key_depends_on_name_and_text() {
        assert_ne!(TemplateCache::key("a", "x"), TemplateCache::key("b", "x"));
        assert_ne!(TemplateCache::key("a", "x"), TemplateCache::key("a", "y"));
    }
}
