//! Re-delivery: when an issuer's `CredentialMessage` does not reach the holder's Storage API
//! (it is down, or unreachable for a while), the issuer tries again with exponential backoff,
//! a bounded number of times. Each failed attempt, and when the next is due, is kept in the
//! issuance record in the store, so a restarted connector goes on where it stopped; every
//! attempt is on the audit trail (`issuance.decided`, with `delivery` and `attempt`). When
//! the attempts are spent, the holder can still fetch what was issued
//! (`GET …/requests/{issuerPid}/credentials`, see [`crate::dcp::holder::refresh`]).

use std::time::Duration;

use chrono::{DateTime, Utc};

use serde_json::json;

use super::delivery;
use super::issuer::IssuanceError;
use crate::context::Connector;
use crate::domain::{IssuanceRequest, IssuanceStatus};
use crate::store::StoreError;

/// The `delivery` of a record whose message arrived.
pub const DELIVERED: &str = "delivered";

/// How an issuer re-delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redelivery {
    /// How often due re-deliveries are looked for.
    pub interval: Duration,
    /// The wait after the first failed attempt; each further failure doubles it, up to
    /// [`MAX_BACKOFF`].
    pub backoff: Duration,
    /// The most attempts, the first included.
    pub max_attempts: u32,
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

impl Default for Redelivery {
    /// Every 30 seconds; 30 seconds after the first failure, then 1, 2, 4 … minutes; 8
    /// attempts (about two hours in all).
    fn default() -> Self {
        Redelivery {
            interval: Duration::from_secs(30),
            backoff: Duration::from_secs(30),
            max_attempts: 8,
        }
    }
}

impl Redelivery {
    /// The wait after `failed` failed attempts (at least one).
    pub fn wait_after(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1).min(20));
        self.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }

    /// When the attempt after `failed` failed attempts at `now` is due: `None` once the
    /// attempts are spent.
    pub fn next_attempt(&self, failed: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if failed >= self.max_attempts {
            return None;
        }
        let wait = chrono::Duration::from_std(self.wait_after(failed)).ok()?;
        now.checked_add_signed(wait)
    }
}

/// Whether `record` waits for a re-delivery due at `now`.
pub fn due(record: &IssuanceRequest, now: DateTime<Utc>) -> bool {
    record.status != IssuanceStatus::Received
        && record.delivery.as_deref() != Some(DELIVERED)
        && record
            .next_delivery
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|at| at.with_timezone(&Utc) <= now)
}

/// Delivers every decision whose re-delivery is due; returns how many were attempted.
pub async fn redeliver_due(cx: &Connector) -> Result<usize, StoreError> {
    let records = cx.store().blocking(|s| s.issuance.list()).await?;
    let now = Utc::now();
    let mut attempted = 0;
    for record in records.into_iter().filter(|r| due(r, now)) {
        attempted += 1;
        let pid = record.issuer_pid.clone();
        if let Err(error) = delivery::deliver(cx, record).await {
            tracing::warn!(%error, issuer_pid = %pid, "issuance: cannot record the re-delivery");
        }
    }
    Ok(attempted)
}

/// Delivers the decision on `pid` to the holder again (after its Credential Service could not
/// be reached); returns the record with the delivery's outcome.
pub async fn redeliver(cx: &Connector, pid: &str) -> Result<IssuanceRequest, IssuanceError> {
    let key = pid.to_owned();
    let record = cx
        .store()
        .blocking(move |s| s.issuance.get(&key))
        .await?
        .ok_or_else(|| IssuanceError::NotFound(pid.to_owned()))?;
    if record.status == IssuanceStatus::Received {
        return Err(IssuanceError::Undecided(pid.to_owned()));
    }
    delivery::deliver(cx, record).await?;
    let key = pid.to_owned();
    cx.store()
        .blocking(move |s| s.issuance.get(&key))
        .await?
        .ok_or_else(|| IssuanceError::NotFound(pid.to_owned()))
}

/// The decision on `pid` as a `CredentialMessage`, fetched by its requester `caller` (when
/// the delivery to its Storage API failed): the record then counts as delivered, its
/// re-deliveries stop, and the fetch is on the audit trail. Another caller's request, or an
/// unknown one, is [`IssuanceError::NotFound`]; one not decided yet
/// [`IssuanceError::Undecided`].
pub async fn fetch(
    cx: &Connector,
    caller: &str,
    pid: &str,
) -> Result<serde_json::Value, IssuanceError> {
    let key = pid.to_owned();
    let record = cx
        .store()
        .blocking(move |s| s.issuance.get(&key))
        .await?
        .filter(|record| record.holder == caller)
        .ok_or_else(|| IssuanceError::NotFound(pid.chars().take(100).collect()))?;
    if record.status == IssuanceStatus::Received {
        return Err(IssuanceError::Undecided(pid.to_owned()));
    }
    let message = super::messages::credential_message(&record);
    if record.delivery.as_deref() != Some(DELIVERED) {
        let mut fetched = record.clone();
        fetched.delivery = Some(DELIVERED.to_owned());
        fetched.next_delivery = None;
        super::issuer::keep(
            cx,
            &fetched,
            json!({ "issuerPid": record.issuer_pid, "delivery": "fetched by the holder",
                    "attempt": record.delivery_attempts }),
        )
        .await?;
    }
    Ok(message)
}

/// Looks for due re-deliveries every `interval` of the connector's [`Redelivery`] while it
/// is open.
pub fn spawn(connector: &Connector) {
    let interval = connector.redelivery().interval;
    connector.every(interval, |connector| async move {
        if let Err(error) = redeliver_due(&connector).await {
            tracing::warn!(%error, "cannot look for credentials to re-deliver");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_a_bound_and_the_attempts_end() {
        let policy = Redelivery {
            interval: Duration::from_secs(1),
            backoff: Duration::from_secs(30),
            max_attempts: 4,
        };
        let waits: Vec<u64> = (1..=4).map(|n| policy.wait_after(n).as_secs()).collect();
        assert_eq!(waits, [30, 60, 120, 240]);
        assert_eq!(policy.wait_after(40), MAX_BACKOFF);
        let now = Utc::now();
        assert_eq!(
            policy.next_attempt(1, now),
            Some(now + chrono::Duration::seconds(30))
        );
        assert_eq!(policy.next_attempt(4, now), None);
    }
}
