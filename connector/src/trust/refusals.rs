//! Which refusals of a peer's trust list reach the audit trail: at most one per peer and
//! reason an hour, and at most [`MAX_REMEMBERED`] in an hour from all peers together, so that
//! no peer can fill the trail by sending lists that are refused. The rest are logged at debug
//! level only.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::decision::Refusal;

/// How long a recorded refusal silences the same peer's same refusal.
pub const WINDOW: Duration = Duration::from_secs(3600);

/// Most (peer, reason) pairs remembered; beyond, refusals are not recorded until the oldest
/// leave the window.
pub const MAX_REMEMBERED: usize = 1024;

/// The refusals recorded in the last [`WINDOW`], in memory.
#[derive(Debug, Default)]
pub struct RefusalLog {
    recorded: Mutex<HashMap<(String, Refusal), Instant>>,
}

impl RefusalLog {
    /// Whether the refusal of `peer`'s list for `reason` at `now` is to be recorded; if so,
    /// it is remembered as recorded.
    pub fn should_record(&self, peer: &str, reason: Refusal, now: Instant) -> bool {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = |at: &Instant| now.saturating_duration_since(*at) < WINDOW;
        let key = (peer.to_owned(), reason);
        if recorded.get(&key).is_some_and(fresh) {
            return false;
        }
        if recorded.len() >= MAX_REMEMBERED {
            recorded.retain(|_, at| fresh(at));
            if recorded.len() >= MAX_REMEMBERED {
                return false;
            }
        }
        recorded.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peers_refusal_is_recorded_once_an_hour_per_reason() {
        let log = RefusalLog::default();
        let start = Instant::now();
        assert!(log.should_record("did:key:a", Refusal::OtherAnchor, start));
        assert!(!log.should_record("did:key:a", Refusal::OtherAnchor, start));
        let later = start + Duration::from_secs(3599);
        assert!(!log.should_record("did:key:a", Refusal::OtherAnchor, later));
        // Another reason, or another peer, is recorded.
        assert!(log.should_record("did:key:a", Refusal::Stale, later));
        assert!(log.should_record("did:key:b", Refusal::OtherAnchor, later));
        // An hour on, it is recorded again.
        let hour = start + WINDOW;
        assert!(log.should_record("did:key:a", Refusal::OtherAnchor, hour));
    }

    #[test]
    fn the_memory_is_bounded() {
        let log = RefusalLog::default();
        let start = Instant::now();
        for i in 0..MAX_REMEMBERED {
            assert!(log.should_record(&format!("did:key:{i}"), Refusal::Invalid, start));
        }
        assert!(!log.should_record("did:key:one-too-many", Refusal::Invalid, start));
        // Once the window passed, old entries make room.
        let hour = start + WINDOW;
        assert!(log.should_record("did:key:one-too-many", Refusal::Invalid, hour));
        assert_eq!(log.recorded.lock().unwrap().len(), 1);
    }
}
