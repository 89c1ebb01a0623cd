//! Short-lived, single-use server state (codes, pending sign-ins, refresh tokens) kept in memory.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// A map whose entries expire. Expired entries are never returned and are swept on every insert, so the map
/// cannot grow without bound however many flows are started and abandoned.
pub(crate) struct ExpiringMap<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> ExpiringMap<K, V> {
    pub(crate) fn new() -> Self {
        ExpiringMap {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        // Every critical section is a single map operation, so a poisoned map is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `value` under `key` for `ttl`, replacing any previous entry.
    pub(crate) fn insert(&self, key: K, value: V, ttl: Duration) {
        let now = Instant::now();
        let mut entries = self.lock();
        entries.retain(|_, (expires, _)| *expires > now);
        entries.insert(key, (now + ttl, value));
    }

    /// Removes and returns the entry if it has not expired: the single-use read.
    pub(crate) fn take(&self, key: &K) -> Option<V> {
        let (expires, value) = self.lock().remove(key)?;
        (expires > Instant::now()).then_some(value)
    }

    /// Returns a copy of the entry if it has not expired, leaving it in place.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let entries = self.lock();
        let (expires, value) = entries.get(key)?;
        (*expires > Instant::now()).then(|| value.clone())
    }

    /// Copies of the live entries for which `matches` holds.
    pub(crate) fn values_where(&self, matches: impl Fn(&V) -> bool) -> Vec<V> {
        let now = Instant::now();
        self.lock()
            .values()
            .filter(|(expires, value)| *expires > now && matches(value))
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// Changes every live entry for which `matches` holds.
    pub(crate) fn update_where(&self, matches: impl Fn(&V) -> bool, change: impl Fn(&mut V)) {
        let now = Instant::now();
        for (expires, value) in self.lock().values_mut() {
            if *expires > now && matches(value) {
                change(value);
            }
        }
    }
}

/// A random, URL-safe token with `bytes` bytes of entropy.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Seconds since the Unix epoch, the unit of every JWT time claim.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Milliseconds since the Unix epoch (Cognito's `dateCreated` in `identities`).
pub(crate) fn unix_now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_can_be_taken_once() {
        let map = ExpiringMap::new();
        map.insert("code", 1, Duration::from_secs(60));
        assert_eq!(map.take(&"code"), Some(1));
        assert_eq!(map.take(&"code"), None);
    }

    #[test]
    fn an_expired_entry_is_gone() {
        let map = ExpiringMap::new();
        map.insert("code", 1, Duration::ZERO);
        assert_eq!(map.get(&"code"), None);
        assert_eq!(map.take(&"code"), None);
    }

    #[test]
    fn random_tokens_differ() {
        assert_ne!(random_token(32), random_token(32));
        assert_eq!(random_token(32).len(), 43);
    }
}
