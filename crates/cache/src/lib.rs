//! A bounded in-process cache for hot, immutable-or-short-lived values (verified
//! credentials, frame bytes). The total weight of the entries (bytes, or 1 per entry)
//! never exceeds the capacity; entries older than the time to live are never returned;
//! when full, the oldest insertions go first (FIFO: a hot entry evicted is re-inserted by
//! the next miss, which keeps the bookkeeping to one queue and one map under one lock).

pub mod invalidation;

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct BoundedCache<K, V> {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Inner<K, V>>,
    /// Counts hits and misses under this name, when it has one ([`BoundedCache::named`]).
    lookups: Option<[prometheus::IntCounter; 2]>,
}

static LOOKUPS: std::sync::LazyLock<prometheus::IntCounterVec> = std::sync::LazyLock::new(|| {
    prometheus::register_int_counter_vec!(
        "cvat_cache_lookups_total",
        "Lookups of the in-process caches by cache and outcome (hit, miss)",
        &["cache", "outcome"]
    )
    .expect("metric registers once")
});

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// Keys in insertion order, each with the sequence number of its insertion: a key
    /// inserted again leaves a stale position behind, recognised by its number.
    order: VecDeque<(K, u64)>,
    weight: usize,
    next: u64,
}

struct Entry<V> {
    value: V,
    weight: usize,
    inserted: Instant,
    sequence: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> BoundedCache<K, V> {
    /// A cache of at most `capacity` in weight whose entries live `ttl`. A capacity of 0
    /// keeps nothing (caching switched off).
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        let inner = Inner { entries: HashMap::new(), order: VecDeque::new(), weight: 0, next: 0 };
        Self { capacity, ttl, inner: Mutex::new(inner), lookups: None }
    }

    /// Counts this cache's hits and misses as `cvat_cache_lookups_total{cache=name}`.
    pub fn named(mut self, name: &str) -> Self {
        self.lookups = Some(["hit", "miss"].map(|outcome| LOOKUPS.with_label_values(&[name, outcome])));
        self
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let found = {
            let inner = self.lock();
            inner.entries.get(key).filter(|e| e.inserted.elapsed() < self.ttl).map(|e| e.value.clone())
        };
        if let Some([hits, misses]) = &self.lookups {
            if found.is_some() { hits } else { misses }.inc();
        }
        found
    }

    /// Keeps `value` unless it alone weighs more than the capacity.
    pub fn insert(&self, key: K, value: V, weight: usize) {
        if weight > self.capacity {
            return;
        }
        let mut inner = self.lock();
        let sequence = inner.next;
        inner.next += 1;
        let entry = Entry { value, weight, inserted: Instant::now(), sequence };
        if let Some(old) = inner.entries.insert(key.clone(), entry) {
            inner.weight -= old.weight;
        }
        inner.weight += weight;
        inner.order.push_back((key, sequence));
        while inner.weight > self.capacity || inner.order.len() > 2 * inner.entries.len() + 16 {
            let Some((oldest, sequence)) = inner.order.pop_front() else { break };
            if inner.entries.get(&oldest).is_some_and(|e| e.sequence == sequence) {
                let removed = inner.entries.remove(&oldest).map_or(0, |e| e.weight);
                inner.weight -= removed;
            }
        }
    }

    /// Forgets everything (what the entries were derived from may have changed).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.order.clear();
        inner.weight = 0;
    }

    pub fn weight(&self) -> usize {
        self.lock().weight
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // matters for a cache: keep serving.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_never_exceeds_the_capacity_and_the_oldest_go_first() {
        let cache = BoundedCache::new(10, Duration::from_secs(60));
        for i in 0..5 {
            cache.insert(i, i, 3);
            assert!(cache.weight() <= 10);
        }
        assert_eq!((cache.get(&0), cache.get(&1)), (None, None));
        assert_eq!((cache.get(&2), cache.get(&3), cache.get(&4)), (Some(2), Some(3), Some(4)));
        cache.insert(99, 99, 11);
        assert_eq!(cache.get(&99), None);
    }

    #[test]
    fn a_key_inserted_again_is_counted_once() {
        let cache = BoundedCache::new(10, Duration::from_secs(60));
        for round in 0..100 {
            cache.insert("a", round, 4);
        }
        assert_eq!((cache.weight(), cache.get(&"a")), (4, Some(99)));
        cache.insert("b", 0, 4);
        assert_eq!((cache.get(&"a"), cache.get(&"b")), (Some(99), Some(0)));
        assert!(cache.lock().order.len() <= 2 * 2 + 16);
    }

    #[test]
    fn expired_entries_are_not_returned_and_clear_forgets_all() {
        let cache = BoundedCache::new(10, Duration::ZERO);
        cache.insert(1, 1, 1);
        assert_eq!(cache.get(&1), None);
        let cache = BoundedCache::new(10, Duration::from_secs(60));
        cache.insert(1, 1, 1);
        cache.clear();
        assert_eq!((cache.get(&1), cache.weight()), (None, 0));
    }
}
