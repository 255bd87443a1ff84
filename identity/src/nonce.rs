//! Replay protection: a nonce (challenge or JWT id) is accepted at most once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Remembers accepted nonces.
pub trait NonceStore: Send + Sync {
    /// Records `nonce`; returns `false` when it was already recorded (a replay).
    fn check_and_record(&self, nonce: &str) -> bool;
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
    fn check_and_record(&self, nonce: &str) -> bool {
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
        assert!(store.check_and_record("a"));
        assert!(!store.check_and_record("a"));
        assert!(store.check_and_record("b"));
    }

    #[test]
    fn a_full_store_fails_closed() {
        let store = MemoryNonceStore::new(Duration::from_secs(60), 1);
        assert!(store.check_and_record("a"));
        assert!(!store.check_and_record("b"));
    }
}
