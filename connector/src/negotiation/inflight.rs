//! The negotiations on which a move is in flight: one at a time per process.
//!
//! A move of this connector's own is stored only once the counterparty acknowledged its
//! message, and the counterparty may answer that message before the acknowledgement is back:
//! a consumer that acknowledged a `ContractAgreementMessage` sends its verification at once,
//! possibly before the provider stored AGREED. So every change of a process, whether this
//! connector's own move (check, send, store) or a message that arrives (check, store), holds
//! the process's slot here while it is made; a message for a process whose own move is in
//! flight waits for that move to settle (bounded) and is then checked against the state the
//! move left.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

/// How long a change waits for the move in flight on the same process to settle. Beyond it,
/// an arriving message is applied to the state as it stands (a counterparty that waits for
/// its own message's answer before acknowledging ours would otherwise wait for ever), and an
/// own move is refused.
pub const SETTLE: Duration = Duration::from_secs(5);

/// The moves in flight, by process id (this connector's).
#[derive(Debug, Default)]
pub struct InFlight {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The slot of one process, held while a change of it is made; released when dropped.
#[derive(Debug)]
pub struct Slot<'a> {
    guard: Option<OwnedMutexGuard<()>>,
    pid: String,
    registry: &'a InFlight,
}

/// A move was in flight on the process for longer than [`SETTLE`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("another move on negotiation `{0}` is in flight; try again when it has settled")]
pub struct Busy(pub String);

impl InFlight {
    /// Holds `pid`'s slot, waiting up to `wait` for a change in flight to settle.
    pub async fn hold(&self, pid: &str, wait: Duration) -> Result<Slot<'_>, Busy> {
        let lock = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(pid.to_owned()).or_default().clone()
        };
        let slot = |guard| Slot {
            guard: Some(guard),
            pid: pid.to_owned(),
            registry: self,
        };
        match tokio::time::timeout(wait, lock.lock_owned()).await {
            Ok(guard) => Ok(slot(guard)),
            Err(_) => {
                self.forget_if_idle(pid);
                Err(Busy(pid.to_owned()))
            }
        }
    }

    /// Whether a change of `pid` is being made.
    pub fn is_busy(&self, pid: &str) -> bool {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.get(pid).is_some_and(|lock| lock.try_lock().is_err())
    }

    /// Drops `pid`'s entry when nobody holds or waits for it.
    fn forget_if_idle(&self, pid: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map holds it: nobody holds the slot nor waits for it (a waiter clones
        // the entry under this same lock before it waits).
        if slots
            .get(pid)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            slots.remove(pid);
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.registry.forget_if_idle(&self.pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_change_waits_for_the_first_and_gives_up_after_the_bound() {
        let registry = Arc::new(InFlight::default());
        let first = registry.hold("p", SETTLE).await.unwrap();
        assert!(registry.is_busy("p"));
        assert_eq!(
            registry
                .hold("p", Duration::from_millis(20))
                .await
                .unwrap_err(),
            Busy("p".into())
        );
        // Another process is not held up.
        drop(registry.hold("q", Duration::ZERO).await.unwrap());

        let waiter = {
            let registry = registry.clone();
            tokio::spawn(async move {
                let slot = registry.hold("p", SETTLE).await.map(drop);
                (slot, tokio::time::Instant::now())
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let released = tokio::time::Instant::now();
        drop(first);
        let (slot, at) = waiter.await.unwrap();
        assert!(slot.is_ok());
        assert!(at >= released, "the waiter went ahead before the release");
        assert!(!registry.is_busy("p"));
        assert!(
            registry.slots.lock().unwrap().is_empty(),
            "idle slots are forgotten"
        );
    }
}
