//! Delivery of an issuer's decision to the holder's Credential Service (its Storage API), and
//! where that service is: named by the request, or by the holder's DID document, and allowed
//! by the address policy.

use chrono::Utc;
use serde_json::{json, Value};
use symbolon_identity::credential::format_time;
use symbolon_identity::Did;

use super::issuer::IssuanceError;
use super::messages;
use super::redelivery::DELIVERED;
use crate::context::Connector;
use crate::domain::IssuanceRequest;
use crate::messenger::{Messenger as _, Method, Outbound};
use crate::negotiation::auth;

/// Sends `record`'s `CredentialMessage` to the holder's Credential Service and records whether
/// it arrived: on failure, the attempt and when the next is due (see
/// [`super::redelivery`]), or that the attempts are spent and the holder must fetch it.
pub(super) async fn deliver(
    cx: &Connector,
    mut record: IssuanceRequest,
) -> Result<(), IssuanceError> {
    let Some(service) = record.credential_service.clone() else {
        return Ok(());
    };
    let url = format!("{}/credentials", service.trim_end_matches('/'));
    let token = auth::bearer(cx.identity(), &record.holder);
    let message = messages::credential_message(&record);
    let sent = cx
        .network()
        .send(Outbound {
            method: Method::Post,
            url: &url,
            token: Some(&token),
            body: Some(&message),
        })
        .await;
    let attempt = record.delivery_attempts.saturating_add(1);
    let outcome = match &sent {
        Ok(_) => {
            record.next_delivery = None;
            DELIVERED.to_owned()
        }
        Err(error) => {
            record.delivery_attempts = attempt;
            let next = cx.redelivery().next_attempt(attempt, Utc::now());
            record.next_delivery = next.map(format_time);
            match next {
                Some(at) => format!(
                    "not delivered (attempt {attempt}, next at {}): {error}",
                    format_time(at)
                ),
                None => format!(
                    "not delivered after {attempt} attempts, the last: {error}; the holder \
                     can fetch it"
                ),
            }
        }
    };
    tracing::info!(issuer_pid = %record.issuer_pid, %outcome, "issuance: credential message");
    record.delivery = Some(outcome.clone());
    let pid = record.issuer_pid.clone();
    let (delivery, attempts, next) = (
        record.delivery.clone(),
        record.delivery_attempts,
        record.next_delivery.clone(),
    );
    // Only the delivery's own fields: a decision taken meanwhile is kept.
    cx.store()
        .blocking(move |s| -> Result<(), crate::store::StoreError> {
            if let Some(mut current) = s.issuance.get(&pid)? {
                current.delivery = delivery;
                current.delivery_attempts = attempts;
                current.next_delivery = next;
                s.issuance.put(&current)?;
            }
            Ok(())
        })
        .await?;
    super::issuer::record_delivery(
        cx,
        &record,
        json!({ "issuerPid": record.issuer_pid, "delivery": outcome, "attempt": attempt }),
    )
    .await?;
    Ok(())
}

/// The holder's Credential Service: named in the request (checked against the address
/// policy), else the `CredentialService` of its DID document.
pub(super) async fn credential_service(
    cx: &Connector,
    holder: &str,
    named: Option<String>,
) -> Result<String, IssuanceError> {
    let refuse = |field, reason: String| IssuanceError::CredentialService { field, reason };
    let url = match named {
        Some(url) => url,
        None => {
            let did = Did::parse(holder).map_err(|e| refuse("iss", e.to_string()))?;
            let document = cx
                .verification()
                .resolver
                .resolve(&did)
                .await
                .map_err(|e| refuse("iss", format!("cannot resolve the holder's DID: {e}")))?;
            service_of(&document).ok_or_else(|| {
                refuse(
                    messages::CREDENTIAL_SERVICE_MEMBER,
                    "the holder's DID document names no CredentialService; name it in this member"
                        .into(),
                )
            })?
        }
    };
    cx.network()
        .policy()
        .check_url(&url)
        .map_err(|e| refuse(messages::CREDENTIAL_SERVICE_MEMBER, e.to_string()))?;
    Ok(url)
}

/// The `CredentialService` endpoint a DID document names.
pub(crate) fn service_of(document: &Value) -> Option<String> {
    document
        .get("service")?
        .as_array()?
        .iter()
        .find(|s| s.get("type").and_then(Value::as_str) == Some("CredentialService"))?
        .get("serviceEndpoint")?
        .as_str()
        .map(str::to_owned)
}
