//! Replay protection: a nonce (challenge or JWT id) is accepted at most once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The answer of a [`NonceStore`]: `true` when the nonce is fresh (and now recorded).
pub type NonceCheck<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// Remembers accepted nonces. A durable store writes to disk, so the check is a future.
pub trait NonceStore: Send + Sync {
    /// Records `nonce`; resolves to `false` when it was already recorded (a replay) or cannot
    /// be recorded (refusing is the safe answer).
    fn check_and_record<'a>(&'a self, nonce: &'a str) -> NonceCheck<'a>;

    /// Whether `nonce` was recorded already, recording nothing: a cheap early refusal of a
    /// replay. The default answers `false` (the later [`NonceStore::check_and_record`] still
    /// refuses the replay).
    fn was_recorded<'a>(&'a self, _nonce: &'a str) -> NonceCheck<'a> {
        Box::pin(std::future::ready(false))
    }
}

/// An in-memory nonce store that forgets nonces after `retention` (longer than any
/// presentation lives) and holds at most `capacity` of them.
pub struct MemoryNonceStore {
    seen: Mutex<HashMap<String, Instant>>,
    retention: Duration,
    capacity: usize,
}

impl Default for MemoryNonceStore {
    fn default() -> Self {
        Self::new(Duration::from_secs(3600), 1_000_000)
    }
}

impl MemoryNonceStore {
    /// A store keeping nonces for `retention`, at most `capacity` at once.
    pub fn new(retention: Duration, capacity: usize) -> Self {
        MemoryNonceStore {
            seen: Mutex::new(HashMap::new()),
            retention,
            capacity,
        }
    }
}

impl NonceStore for MemoryNonceStore {
    fn check_and_record<'a>(&'a self, nonce: &'a str) -> NonceCheck<'a> {
        Box::pin(std::future::ready(self.record(nonce)))
    }

    fn was_recorded<'a>(&'a self, nonce: &'a str) -> NonceCheck<'a> {
        Box::pin(std::future::ready(self.contains(nonce)))
    }
}

impl MemoryNonceStore {
    /// Whether `nonce` is recorded and still retained (a poisoned lock answers `true`: the
    /// safe answer).
    pub fn contains(&self, nonce: &str) -> bool {
        let Ok(seen) = self.seen.lock() else {
            return true;
        };
        seen.get(nonce)
            .is_some_and(|at| at.elapsed() < self.retention)
    }

    /// Records `nonce`; `false` when it was already recorded, or when the store is full of
    /// nonces still retained.
    pub fn record(&self, nonce: &str) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let now = Instant::now();
        if seen.len() >= self.capacity {
            seen.retain(|_, at| now.duration_since(*at) < self.retention);
        }
        if seen.len() >= self.capacity {
            // Fail closed: refusing a fresh nonce is safer than forgetting an old one.
            return false;
        }
        match seen.get(nonce) {
            Some(at) if now.duration_since(*at) < self.retention => false,
            _ => {
                seen.insert(nonce.to_owned(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once() {
        let store = MemoryNonceStore::default();
        assert!(!store.contains("a"));
        assert!(store.record("a"));
        assert!(store.contains("a"));
        assert!(!store.record("a"));
        assert!(store.record("b"));
    }

    #[test]
    fn a_full_store_fails_closed() {
        let store = MemoryNonceStore::new(Duration::from_secs(60), 1);
        assert!(store.record("a"));
        assert!(!store.record("b"));
    }
}
