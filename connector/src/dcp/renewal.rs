//! Renewal: a credential this connector obtained by request is asked for again from the same
//! issuer once two thirds of its lifetime have passed, so that the new one is in the wallet
//! before the old one expires. `serve` checks every few minutes ([`spawn`]); each request is
//! the ordinary issuance request, decided by the issuer as any other, and the old request
//! records which one renewed it, so it is renewed once. Once the renewal's credentials are
//! stored, the renewed ones leave the wallet ([`retire_renewed`]), on the audit trail.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use symbolon_audit::EventKind;

use super::holder::{self, DeliveryError, OnboardingError};
use crate::context::Connector;
use crate::domain::{HeldCredential, IssuanceStatus, Onboarding};
use crate::store::StoreError;

/// How often `serve` looks for credentials due for renewal, by default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// When `document` (a credential) is due for renewal: two thirds into its lifetime. `None`
/// when it does not expire or its times are unreadable.
pub fn due_at(document: &Value) -> Option<DateTime<Utc>> {
    let time = |name: &str| {
        document
            .get(name)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (from, until) = (time("validFrom")?, time("validUntil")?);
    let lifetime = until.signed_duration_since(from);
    Some(from + lifetime * 2 / 3)
}

/// The document of a held credential (a `vc+jwt`'s payload, or the JSON itself).
fn document_of(held: &HeldCredential) -> Option<Value> {
    match &held.credential {
        Value::String(token) => symbolon_identity::verify::peek_jwt_payload(token),
        other => Some(other.clone()),
    }
}

/// The issued requests whose credentials are due at `now` and not renewed yet. A data permit
/// is not renewed: its validity is the permit's, granted by the health data access body, and
/// asking again would bring the same permit back.
pub fn due(records: &[Onboarding], held: &[HeldCredential], now: DateTime<Utc>) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.status == IssuanceStatus::Issued && r.renewed_by.is_none())
        .filter(|r| r.credential_type != crate::dcp::issuer::permits::TYPE)
        .filter(|r| {
            held.iter()
                .filter(|h| r.received.contains(&h.key))
                .filter_map(document_of)
                .filter_map(|d| due_at(&d))
                .any(|at| at <= now)
        })
        .map(|r| r.holder_pid.clone())
        .collect()
}

/// Asks again for the credentials of every due request; returns what each renewal did.
pub async fn renew_due(
    cx: &Connector,
) -> Result<Vec<(String, Result<Onboarding, OnboardingError>)>, StoreError> {
    let (records, held) = cx
        .store()
        .blocking(|s| -> Result<_, StoreError> {
            Ok((s.onboarding.list()?, s.credentials.list()?))
        })
        .await?;
    let mut outcomes = Vec::new();
    for pid in due(&records, &held, Utc::now()) {
        let Some(old) = records.iter().find(|r| r.holder_pid == pid) else {
            continue;
        };
        let renewed = holder::request(cx, &old.issuer_url, &old.credential_type).await;
        if let Ok(new) = &renewed {
            let (key, by) = (pid.clone(), new.holder_pid.clone());
            cx.store()
                .blocking(move |s| -> Result<(), StoreError> {
                    if let Some(mut old) = s.onboarding.get(&key)? {
                        old.renewed_by = Some(by);
                        s.onboarding.put(&old)?;
                    }
                    Ok(())
                })
                .await?;
            // The successor may have been delivered before the link was stored.
            if let Err(error) = retire_renewed(cx, &new.holder_pid).await {
                tracing::warn!(%error, renewed = %pid, "cannot retire the renewed credential");
            }
        }
        outcomes.push((pid, renewed));
    }
    Ok(outcomes)
}

/// Once the request `renewal` is issued and its credentials are in the wallet, removes from the
/// wallet the credentials of the request it renewed (those not delivered again), and records
/// the removal (`issuance.received`, outcome `superseded`: both requests, the keys and types
/// removed). Returns the wallet keys removed; nothing when there is nothing (left) to remove.
pub async fn retire_renewed(cx: &Connector, renewal: &str) -> Result<Vec<String>, DeliveryError> {
    let key = renewal.to_owned();
    let removed = cx
        .store()
        .blocking(move |s| -> Result<_, StoreError> {
            let records = s.onboarding.list()?;
            let Some(new) = records
                .iter()
                .find(|r| r.holder_pid == key && r.status == IssuanceStatus::Issued)
                .filter(|r| !r.received.is_empty())
            else {
                return Ok(None);
            };
            let Some(old) = records
                .iter()
                .find(|r| r.renewed_by.as_deref() == Some(key.as_str()))
            else {
                return Ok(None);
            };
            let held = s.credentials.list()?;
            let mut removed = Vec::new();
            for credential in held
                .iter()
                .filter(|h| old.received.contains(&h.key) && !new.received.contains(&h.key))
            {
                if s.credentials.remove(&credential.key)? {
                    removed.push((credential.key.clone(), credential.types.clone()));
                }
            }
            Ok(Some((old.holder_pid.clone(), old.issuer.clone(), removed)))
        })
        .await?;
    let Some((old, issuer, removed)) = removed.filter(|(_, _, r)| !r.is_empty()) else {
        return Ok(Vec::new());
    };
    let keys: Vec<String> = removed.iter().map(|(k, _)| k.clone()).collect();
    let types: Vec<String> = removed.into_iter().flat_map(|(_, t)| t).collect();
    let audit = cx.audit();
    audit
        .record(audit.event(
            EventKind::IssuanceReceived,
            &issuer,
            "superseded",
            json!({ "holderPid": old, "renewedBy": renewal, "removed": keys,
                    "credentialTypes": types }),
        ))
        .await?;
    Ok(keys)
}

/// Renews due credentials every `interval` while the connector is open.
pub fn spawn(connector: &Connector, interval: Duration) {
    connector.every(interval, |connector| async move {
        let outcomes = match renew_due(&connector).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                tracing::warn!(%error, "cannot look for credentials to renew");
                return;
            }
        };
        for (pid, outcome) in outcomes {
            match outcome {
                Ok(new) => tracing::info!(
                    renewed = %pid, request = %new.holder_pid,
                    status = new.status.as_str(), "credential renewal requested"
                ),
                Err(error) => tracing::warn!(renewed = %pid, %error, "credential renewal failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_credential_is_due_two_thirds_into_its_life() {
        let document = json!({"validFrom": "2026-01-01T00:00:00Z",
                              "validUntil": "2026-01-04T00:00:00Z"});
        assert_eq!(
            due_at(&document).unwrap().to_rfc3339(),
            "2026-01-03T00:00:00+00:00"
        );
        assert_eq!(due_at(&json!({"validFrom": "2026-01-01T00:00:00Z"})), None);
        assert_eq!(
            due_at(&json!({"validFrom": "x", "validUntil": "2026-01-04T00:00:00Z"})),
            None
        );
    }
}
