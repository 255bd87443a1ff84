//! The holder's side of issuance: ask an issuer for a credential (its metadata first, then a
//! `CredentialRequestMessage`), follow the request's status, and take the `CredentialMessage`
//! the issuer delivers to this connector's Storage API — only for a request this connector
//! sent to that issuer, and only credentials that verify and are about this connector.

use serde_json::{json, Value};
use symbolon_audit::EventKind;
use symbolon_identity::Input;

use super::messages::{self, Delivery, MessageError};
use super::HOLDER_PATH;
use crate::audit::AuditError;
use crate::context::Connector;
use crate::domain::{new_urn, now, HeldCredential, IssuanceStatus, Onboarding};
use crate::messenger::{Messenger as _, Method, Outbound, SendError};
use crate::negotiation::auth;
use crate::store::StoreError;

/// Why a request could not be sent or followed.
#[derive(Debug, thiserror::Error)]
pub enum OnboardingError {
    /// The issuer could not be reached, or refused.
    #[error("the issuer: {0}")]
    Send(#[from] SendError),
    /// The issuer answered something that is not the protocol's.
    #[error("the issuer's answer: {0}")]
    Answer(#[from] MessageError),
    /// The issuer does not offer the credential type.
    #[error("the issuer `{issuer}` does not offer `{credential_type}`")]
    NotOffered {
        /// The issuer's DID.
        issuer: String,
        /// The type asked for.
        credential_type: String,
    },
    /// This connector has no public URL, so no Credential Service the issuer can reach.
    #[error("this connector serves no public URL for the issuer to deliver to")]
    NoPublicUrl,
    /// No such request.
    #[error("no onboarding request `{0}`")]
    NotFound(String),
    /// The authority's DID cannot be resolved, or its DID document names no issuer service.
    #[error("the authority `{did}`: {reason}")]
    Authority {
        /// The DID given.
        did: String,
        /// Why it names no issuer service.
        reason: String,
    },
    /// The credentials fetched from the issuer were refused.
    #[error("the credentials fetched from the issuer: {0}")]
    Fetched(#[from] DeliveryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a `CredentialMessage` was refused (nothing of it is stored).
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// No request of this connector to that issuer has this `holderPid`.
    #[error("no open credential request `{0}` to this issuer")]
    UnknownRequest(String),
    /// A credential does not verify, or is not this connector's, or not the issuer's.
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit trail failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// The issuer service an authority's DID document names (a service of type `IssuerService`).
pub async fn issuer_service(cx: &Connector, did: &str) -> Result<String, OnboardingError> {
    let refuse = |reason: String| OnboardingError::Authority {
        did: did.chars().take(200).collect(),
        reason,
    };
    let parsed = symbolon_identity::Did::parse(did).map_err(|e| refuse(e.to_string()))?;
    let document = cx
        .verification()
        .resolver
        .resolve(&parsed)
        .await
        .map_err(|e| refuse(format!("cannot resolve it: {e}")))?;
    document
        .get("service")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|s| s.get("type").and_then(Value::as_str) == Some("IssuerService"))
        .and_then(|s| s.get("serviceEndpoint"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            refuse("its DID document names no `IssuerService`; give its URL instead".into())
        })
}

/// Asks the issuer service at `issuer_url` (`…/dcp/issuer`) for `credential_type`: reads its
/// metadata (for its DID), records the request, sends it and records the issuer's answer.
pub async fn request(
    cx: &Connector,
    issuer_url: &str,
    credential_type: &str,
) -> Result<Onboarding, OnboardingError> {
    if cx.public_url().is_empty() {
        return Err(OnboardingError::NoPublicUrl);
    }
    let issuer_url = issuer_url.trim_end_matches('/').to_owned();
    let metadata = cx
        .network()
        .send(Outbound {
            method: Method::Get,
            url: &format!("{issuer_url}/metadata"),
            token: None,
            body: None,
        })
        .await?;
    let issuer = metadata
        .get("issuer")
        .and_then(Value::as_str)
        .filter(|_| metadata.get("type").and_then(Value::as_str) == Some("IssuerMetadata"))
        .ok_or_else(|| MessageError {
            field: "issuer".into(),
            reason: "the metadata name no issuer".into(),
        })?
        .to_owned();
    let offered = metadata
        .get("credentialsSupported")
        .and_then(Value::as_array)
        .is_some_and(|objects| {
            objects
                .iter()
                .any(|o| o.get("credentialType").and_then(Value::as_str) == Some(credential_type))
        });
    if !offered {
        return Err(OnboardingError::NotOffered {
            issuer,
            credential_type: credential_type.to_owned(),
        });
    }
    let at = now();
    let onboarding = Onboarding {
        holder_pid: new_urn(),
        issuer_pid: None,
        issuer: issuer.clone(),
        issuer_url: issuer_url.clone(),
        credential_type: credential_type.to_owned(),
        status: IssuanceStatus::Received,
        reasons: Vec::new(),
        received: Vec::new(),
        renewed_by: None,
        created: at.clone(),
        updated: at,
    };
    let stored = onboarding.clone();
    cx.store()
        .blocking(move |s| s.onboarding.put(&stored))
        .await?;
    let service = format!("{}{HOLDER_PATH}", cx.public_url());
    let message = messages::request_message(&onboarding.holder_pid, credential_type, &service);
    let token = auth::bearer(cx.identity(), &issuer);
    let sent = cx
        .network()
        .send(Outbound {
            method: Method::Post,
            url: &format!("{issuer_url}/credentials"),
            token: Some(&token),
            body: Some(&message),
        })
        .await;
    let answer = match sent {
        Ok(answer) => answer,
        Err(error) => {
            // The issuer has no such request: nothing is left open here either.
            let pid = onboarding.holder_pid.clone();
            cx.store()
                .blocking(move |s| s.onboarding.remove(&pid))
                .await?;
            return Err(error.into());
        }
    };
    let issuer_pid = answer
        .get("issuerPid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (status, reason) = messages::parse_status(&answer)?;
    merge(cx, &onboarding.holder_pid, issuer_pid, status, reason).await
}

/// Asks the issuer for the status of the request `holder_pid` and records it.
pub async fn refresh(cx: &Connector, holder_pid: &str) -> Result<Onboarding, OnboardingError> {
    let (onboarding, issuer_pid) = match awaiting_answer(cx, holder_pid).await? {
        Ok(awaiting) => awaiting,
        Err(settled) => return Ok(settled),
    };
    let token = auth::bearer(cx.identity(), &onboarding.issuer);
    let url = format!(
        "{}/requests/{}",
        onboarding.issuer_url,
        percent_encoding::utf8_percent_encode(&issuer_pid, percent_encoding::NON_ALPHANUMERIC)
    );
    let answer = cx
        .network()
        .send(Outbound {
            method: Method::Get,
            url: &url,
            token: Some(&token),
            body: None,
        })
        .await?;
    let (status, reason) = messages::parse_status(&answer)?;
    merge(cx, holder_pid, Some(issuer_pid), status, reason).await
}

/// Fetches from the issuer the decision on the request `holder_pid`
/// (`GET …/requests/{issuerPid}/credentials`) and takes it as a delivery would be taken: for
/// a holder whose Storage API the issuer's deliveries missed. A request already answered is
/// left as it is.
pub async fn fetch(cx: &Connector, holder_pid: &str) -> Result<Onboarding, OnboardingError> {
    let (onboarding, issuer_pid) = match awaiting_answer(cx, holder_pid).await? {
        Ok(awaiting) => awaiting,
        Err(settled) => return Ok(settled),
    };
    let url = format!(
        "{}/requests/{}/credentials",
        onboarding.issuer_url,
        percent_encoding::utf8_percent_encode(&issuer_pid, percent_encoding::NON_ALPHANUMERIC)
    );
    let fetched = cx
        .network()
        .send(Outbound {
            method: Method::Get,
            url: &url,
            token: Some(&auth::bearer(cx.identity(), &onboarding.issuer)),
            body: None,
        })
        .await?;
    let delivery = messages::parse_credential_message(&fetched)?;
    Ok(receive(cx, &onboarding.issuer, delivery).await?)
}

/// The request `holder_pid` with the issuer's id for it when it still awaits the issuer's
/// answer (`Ok`), or as it stands when it was never accepted or is answered already (`Err`).
async fn awaiting_answer(
    cx: &Connector,
    holder_pid: &str,
) -> Result<Result<(Onboarding, String), Onboarding>, OnboardingError> {
    let key = holder_pid.to_owned();
    let onboarding = cx
        .store()
        .blocking(move |s| s.onboarding.get(&key))
        .await?
        .ok_or_else(|| OnboardingError::NotFound(holder_pid.to_owned()))?;
    match onboarding.issuer_pid.clone() {
        Some(issuer_pid) if onboarding.status == IssuanceStatus::Received => {
            Ok(Ok((onboarding, issuer_pid)))
        }
        _ => Ok(Err(onboarding)),
    }
}

/// Records what the issuer said of request `holder_pid`; a later state is never overwritten
/// by an earlier one (a delivery may overtake the answer to the request).
async fn merge(
    cx: &Connector,
    holder_pid: &str,
    issuer_pid: Option<String>,
    status: IssuanceStatus,
    reason: Option<String>,
) -> Result<Onboarding, OnboardingError> {
    let key = holder_pid.to_owned();
    cx.store()
        .blocking(move |s| {
            s.onboarding.update(
                &key,
                Box::new(move |mut onboarding| {
                    if onboarding.issuer_pid.is_none() {
                        onboarding.issuer_pid = issuer_pid;
                    }
                    // ISSUED is reported only once the credential is in the wallet.
                    if onboarding.status == IssuanceStatus::Received
                        && status == IssuanceStatus::Rejected
                    {
                        onboarding.status = status;
                        onboarding.reasons = reason.into_iter().collect();
                        onboarding.updated = now();
                    }
                    onboarding
                }),
            )
        })
        .await?
        .ok_or_else(|| OnboardingError::NotFound(holder_pid.to_owned()))
}

/// Takes a `CredentialMessage` from `issuer` (the caller): for an open request of this
/// connector to that issuer, verifies every credential and stores them all, or none. The
/// outcome is recorded, unless the caller has no such request.
pub async fn receive(
    cx: &Connector,
    issuer: &str,
    delivery: Delivery,
) -> Result<Onboarding, DeliveryError> {
    let outcome = accept(cx, issuer, &delivery).await;
    if let Err(DeliveryError::UnknownRequest(_)) = outcome {
        // Anyone with a DID can call: only what an issuer this connector asked sends is
        // recorded, so a stranger cannot fill the trail.
        return outcome;
    }
    let audit = cx.audit();
    let types: Vec<&str> = delivery
        .credentials
        .iter()
        .map(|c| c.credential_type.as_str())
        .collect();
    let (result, reason) = match &outcome {
        Ok(_) => ("accepted", Value::Null),
        Err(error) => ("refused", json!(error.to_string())),
    };
    audit
        .record(audit.event(
            EventKind::IssuanceReceived,
            issuer,
            result,
            json!({
                "issuerPid": delivery.issuer_pid,
                "holderPid": delivery.holder_pid,
                "status": delivery.status.as_str(),
                "credentialTypes": types,
                "reason": reason,
            }),
        ))
        .await?;
    if let Ok(onboarding) = &outcome {
        if onboarding.status == IssuanceStatus::Issued {
            super::renewal::retire_renewed(cx, &onboarding.holder_pid).await?;
        }
    }
    outcome
}

async fn accept(
    cx: &Connector,
    issuer: &str,
    delivery: &Delivery,
) -> Result<Onboarding, DeliveryError> {
    let key = delivery.holder_pid.clone();
    let onboarding = cx
        .store()
        .blocking(move |s| s.onboarding.get(&key))
        .await?
        .filter(|o| o.issuer == issuer)
        .filter(|o| {
            o.issuer_pid
                .as_ref()
                .is_none_or(|p| *p == delivery.issuer_pid)
        })
        .ok_or_else(|| DeliveryError::UnknownRequest(delivery.holder_pid.clone()))?;
    let mut held = Vec::new();
    if delivery.status == IssuanceStatus::Issued {
        let verifier = cx.verification().verifier();
        for carried in &delivery.credentials {
            let input = Input::Jwt(carried.payload.clone());
            let report = verifier.verify_credential(&input).await;
            let document = match (report.verified, &report.document) {
                (true, Some(document)) => document.clone(),
                _ => {
                    return Err(DeliveryError::Refused(format!(
                        "a {} does not verify: {}",
                        carried.credential_type,
                        report.error.unwrap_or_default()
                    )))
                }
            };
            let signer = document.get("issuer").and_then(|i| {
                i.as_str()
                    .or_else(|| i.get("id").and_then(Value::as_str))
                    .map(str::to_owned)
            });
            if signer.as_deref() != Some(issuer) {
                return Err(DeliveryError::Refused(format!(
                    "a {} was issued by `{}`, not by the caller",
                    carried.credential_type,
                    signer.unwrap_or_default()
                )));
            }
            let subjects = symbolon_identity::credential::subject_ids(&document);
            if subjects.is_empty() || subjects.iter().any(|s| *s != cx.did()) {
                return Err(DeliveryError::Refused(format!(
                    "a {} is about `{}`, not this connector",
                    carried.credential_type,
                    subjects.join(", ")
                )));
            }
            held.push(HeldCredential::new(
                &input,
                &document,
                report.format.as_deref().unwrap_or(""),
            ));
        }
    }
    for credential in &held {
        cx.audit().capture_documents(&credential.credential).await?;
    }
    let keys: Vec<String> = held.iter().map(|h| h.key.clone()).collect();
    let status = delivery.status;
    let reason = delivery.rejection_reason.clone();
    let issuer_pid = delivery.issuer_pid.clone();
    let pid = onboarding.holder_pid.clone();
    let updated = cx
        .store()
        .blocking(move |s| {
            for credential in &held {
                s.credentials.put(credential)?;
            }
            s.onboarding.update(
                &pid,
                Box::new(move |mut onboarding| {
                    onboarding.issuer_pid = Some(issuer_pid);
                    onboarding.status = status;
                    onboarding.reasons = reason.into_iter().collect();
                    for key in keys {
                        if !onboarding.received.contains(&key) {
                            onboarding.received.push(key);
                        }
                    }
                    onboarding.updated = now();
                    onboarding
                }),
            )
        })
        .await?;
    updated.ok_or(DeliveryError::UnknownRequest(onboarding.holder_pid))
}
