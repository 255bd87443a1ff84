//! The Issuer Service's decisions: a request is received, checked against the registry of
//! organisations and the issuance policy, and issued, rejected or queued for the operator;
//! issued credentials carry a status entry and are delivered to the holder's Credential
//! Service. Every step is an audit event.

use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use symbolon_audit::EventKind;
use symbolon_identity::Format;
use symbolon_policy::{Policies, Request, Schema};

use super::delivery;
use super::messages::CredentialRequest;
use crate::audit::AuditError;
use crate::context::Connector;
use crate::domain::{
    now, Approval, IssuanceRequest, IssuanceStatus, IssuedPayload, IssuerConfig, Organisation,
};
use crate::issuer::{StatusError, StatusRegistry};
use crate::store::StoreError;

/// The action an issuance policy permits.
pub const ISSUANCE_ACTION: &str = "enroll";

/// Why an issuance step failed (a refusal of the request itself is a `REJECTED` state, not an
/// error).
#[derive(Debug, thiserror::Error)]
pub enum IssuanceError {
    /// No request with this id (or not the caller's).
    #[error("no issuance request `{0}`")]
    NotFound(String),
    /// The request was decided already.
    #[error("the issuance request `{pid}` is {status} already")]
    Decided {
        /// The request.
        pid: String,
        /// Its state.
        status: &'static str,
    },
    /// The request is not decided yet: there is nothing to deliver.
    #[error("the issuance request `{0}` is not decided yet")]
    Undecided(String),
    /// The holder's Credential Service is unknown or not allowed.
    #[error("field `{field}`: {reason}")]
    CredentialService {
        /// The member that named it.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit trail failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The requester is not in the issuer's registry of organisations: nothing is stored,
    /// recorded, resolved or delivered for it.
    #[error("`{0}` is not in the issuer's registry of organisations")]
    NotRegistered(String),
    /// The requester has too many requests here already.
    #[error("`{holder}` has {limit} requests here already; wait for them to be decided")]
    TooManyRequests {
        /// The requester.
        holder: String,
        /// The limit.
        limit: usize,
    },
    /// The status registry failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

/// Undecided requests one registered organisation may have at a time.
pub const MAX_UNDECIDED_PER_HOLDER: usize = 16;

/// The issuer's process id for `holder`'s request `holder_pid`: derived, so a repeated request
/// finds the record of the first.
pub fn issuer_pid(holder: &str, holder_pid: &str) -> String {
    let digest = Sha256::digest(format!("{holder}\n{holder_pid}").as_bytes());
    format!("urn:symbolon:issuance:{}", hex::encode(&digest[..16]))
}

/// Checks an issuance policy's text; the diagnostics, rendered, when it does not check.
pub fn check_policy(text: &str) -> Result<Policies, symbolon_policy::Diagnostics> {
    Policies::from_sources(&[("issuance policy", text)], Arc::new(Schema::health()))
}

/// Receives `request` from `holder`: stores it (or finds the same request sent before),
/// records it and, unless the operator decides, decides it. Returns the record.
pub async fn receive(
    cx: &Connector,
    status: &StatusRegistry,
    holder: &str,
    request: CredentialRequest,
) -> Result<IssuanceRequest, IssuanceError> {
    // A stranger makes the issuer keep, record, resolve or call nothing.
    let (config, organisation, data_space) = settings(cx, holder).await?;
    if organisation.is_none() {
        return Err(IssuanceError::NotRegistered(holder.to_owned()));
    }
    let pid = issuer_pid(holder, &request.holder_pid);
    let (key, owner) = (pid.clone(), holder.to_owned());
    let (known, undecided) = cx
        .store()
        .blocking(move |s| -> Result<_, StoreError> {
            let all = s.issuance.list()?;
            let known = all.iter().any(|r| r.issuer_pid == key);
            let undecided = all
                .iter()
                .filter(|r| r.holder == owner && r.status == IssuanceStatus::Received)
                .count();
            Ok((known, undecided))
        })
        .await?;
    if !known && undecided >= MAX_UNDECIDED_PER_HOLDER {
        return Err(IssuanceError::TooManyRequests {
            holder: holder.to_owned(),
            limit: MAX_UNDECIDED_PER_HOLDER,
        });
    }
    let credential_service =
        delivery::credential_service(cx, holder, request.credential_service).await?;
    let at = now();
    let record = IssuanceRequest {
        issuer_pid: pid,
        holder_pid: request.holder_pid,
        holder: holder.to_owned(),
        credential_types: request.credential_types,
        credential_service: Some(credential_service),
        status: IssuanceStatus::Received,
        reasons: Vec::new(),
        issued: Vec::new(),
        delivery: None,
        delivery_attempts: 0,
        next_delivery: None,
        created: at.clone(),
        updated: at,
    };
    let stored = record.clone();
    let created = cx
        .store()
        .blocking(move |s| s.issuance.create(&stored))
        .await?;
    let audit = cx.audit();
    audit
        .record(audit.event(
            EventKind::IssuanceRequested,
            holder,
            if created { "received" } else { "repeated" },
            json!({
                "issuerPid": record.issuer_pid,
                "holderPid": record.holder_pid,
                "credentialTypes": record.credential_types,
                "repeated": !created,
            }),
        ))
        .await?;
    if !created {
        let pid = record.issuer_pid.clone();
        return cx
            .store()
            .blocking(move |s| s.issuance.get(&pid))
            .await?
            .ok_or(IssuanceError::NotFound(record.issuer_pid));
    }
    let verdict = evaluate(
        &config,
        organisation.as_ref(),
        data_space.as_deref(),
        &record,
    );
    match (config.approval, verdict) {
        (Approval::Manual, Verdict::Permit) => queue(cx, record, Vec::new()).await,
        (Approval::Manual, Verdict::Deny(advice)) if organisation.is_some() => {
            queue(cx, record, advice).await
        }
        (_, Verdict::Deny(reasons)) => finish(cx, record, Err(reasons), "policy").await,
        (Approval::Auto, Verdict::Permit) => {
            let issued = issue_all(cx, status, &record, organisation, data_space, &config).await?;
            finish(cx, record, issued, "policy").await
        }
    }
}

/// The operator approves the received request `pid`: its credentials are issued and
/// delivered.
pub async fn approve(
    cx: &Connector,
    status: &StatusRegistry,
    pid: &str,
) -> Result<IssuanceRequest, IssuanceError> {
    let record = undecided(cx, pid).await?;
    let (config, organisation, data_space) = settings(cx, &record.holder).await?;
    let issued = issue_all(cx, status, &record, organisation, data_space, &config).await?;
    finish(cx, record, issued, "operator").await
}

/// The operator rejects the received request `pid` for `reason`.
pub async fn reject(
    cx: &Connector,
    pid: &str,
    reason: &str,
) -> Result<IssuanceRequest, IssuanceError> {
    let record = undecided(cx, pid).await?;
    finish(cx, record, Err(vec![reason.to_owned()]), "operator").await
}

async fn undecided(cx: &Connector, pid: &str) -> Result<IssuanceRequest, IssuanceError> {
    let key = pid.to_owned();
    let record = cx
        .store()
        .blocking(move |s| s.issuance.get(&key))
        .await?
        .ok_or_else(|| IssuanceError::NotFound(pid.to_owned()))?;
    if record.status != IssuanceStatus::Received {
        return Err(IssuanceError::Decided {
            pid: pid.to_owned(),
            status: record.status.as_str(),
        });
    }
    Ok(record)
}

/// The issuer's settings, `holder`'s registry entry and the data space credentials are for
/// (the trust list's, when one is installed).
async fn settings(
    cx: &Connector,
    holder: &str,
) -> Result<(IssuerConfig, Option<Organisation>, Option<String>), IssuanceError> {
    let key = holder.to_owned();
    let (config, organisation) = cx
        .store()
        .blocking(move |s| -> Result<_, StoreError> {
            let registry = s.issuance.registry()?;
            Ok((
                s.issuance.config()?,
                registry.organisations.get(&key).cloned(),
            ))
        })
        .await?;
    let trusted = cx.verification().trust.list().map(|list| list.data_space);
    let data_space = trusted.or_else(|| organisation.as_ref()?.data_space_id.clone());
    Ok((config, organisation, data_space))
}

/// What the registry and the issuance policy say of a request.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Permit,
    Deny(Vec<String>),
}

fn evaluate(
    config: &IssuerConfig,
    organisation: Option<&Organisation>,
    data_space: Option<&str>,
    request: &IssuanceRequest,
) -> Verdict {
    let Some(organisation) = organisation else {
        return Verdict::Deny(vec![format!(
            "`{}` is not in the issuer's registry of organisations",
            request.holder
        )]);
    };
    let Some(data_space) = data_space else {
        return Verdict::Deny(vec![
            "the issuer knows no data space: it has no trust list and the registry names none"
                .into(),
        ]);
    };
    if let Some(own) = &organisation.data_space_id {
        if own != data_space {
            return Verdict::Deny(vec![format!(
                "the registry puts `{}` in data space `{own}`, not `{data_space}`",
                request.holder
            )]);
        }
    }
    let Some(text) = &config.policy else {
        return if config.approval == Approval::Manual {
            Verdict::Permit
        } else {
            Verdict::Deny(vec!["no issuance policy is configured".into()])
        };
    };
    let policies = match check_policy(text) {
        Ok(policies) => policies,
        Err(diagnostics) => {
            return Verdict::Deny(vec![format!(
                "the issuance policy does not check: {}",
                diagnostics.render()
            )])
        }
    };
    let mut reasons = Vec::new();
    for credential_type in &request.credential_types {
        let attributes = json!({
            "action": ISSUANCE_ACTION,
            "offer": credential_type,
            "holder": {
                "id": request.holder,
                "role": organisation.role,
                "legal_name": organisation.legal_name,
                "registration_number": organisation.registration_number,
                "member_of": data_space,
            },
        });
        let mut question = match Request::from_json(policies.schema(), &attributes) {
            Ok(question) => question,
            Err(error) => {
                reasons.push(format!(
                    "the registry entry does not fit the policy: {error}"
                ));
                continue;
            }
        };
        question.set_now_if_missing(policies.schema());
        let decision = policies.evaluate(&question);
        if !decision.is_permit() {
            reasons.extend(decision.reasons());
        }
    }
    if reasons.is_empty() {
        Verdict::Permit
    } else {
        Verdict::Deny(reasons)
    }
}

/// Stores `record` and records where it stands (`issuance.decided`, with `details`).
pub(super) async fn keep(
    cx: &Connector,
    record: &IssuanceRequest,
    details: serde_json::Value,
) -> Result<(), IssuanceError> {
    let stored = record.clone();
    cx.store()
        .blocking(move |s| s.issuance.put(&stored))
        .await?;
    record_delivery(cx, record, details).await
}

/// Records where `record` stands on the audit trail (`issuance.decided`, with `details`).
pub(super) async fn record_delivery(
    cx: &Connector,
    record: &IssuanceRequest,
    details: serde_json::Value,
) -> Result<(), IssuanceError> {
    let audit = cx.audit();
    audit
        .record(audit.event(
            EventKind::IssuanceDecided,
            &record.holder,
            record.status.as_str(),
            details,
        ))
        .await?;
    Ok(())
}

/// Leaves `record` for the operator, with the policy's advice.
async fn queue(
    cx: &Connector,
    mut record: IssuanceRequest,
    advice: Vec<String>,
) -> Result<IssuanceRequest, IssuanceError> {
    record.reasons = advice;
    let details = json!({ "issuerPid": record.issuer_pid, "decidedBy": "operator (pending)",
                          "advice": record.reasons });
    keep(cx, &record, details).await?;
    Ok(record)
}

/// The subject claims of `credential_type` for `holder`, from its registry entry; why not.
fn subject(
    credential_type: &str,
    holder: &str,
    organisation: &Organisation,
    data_space: &str,
) -> Result<Value, String> {
    match credential_type {
        "DataSpaceMembershipCredential" => {
            let mut claims = json!({
                "id": holder,
                "legalName": organisation.legal_name,
                "registrationNumber": organisation.registration_number,
                "role": organisation.role,
                "dataSpaceId": data_space,
            });
            if let Some(public) = organisation.public_sector {
                claims["publicSector"] = public.into();
            }
            Ok(claims)
        }
        "TrialSiteCredential" => match (&organisation.trial_id, &organisation.site_id) {
            (Some(trial), Some(site)) => {
                Ok(json!({ "id": holder, "trialId": trial, "siteId": site }))
            }
            _ => Err(format!(
                "the registry names no trial and site for `{holder}`"
            )),
        },
        other => Err(format!("`{other}` is not issued here")),
    }
}

/// Issues every credential `record` asks for, each with a status entry; the reasons when one
/// cannot be issued (then none is).
async fn issue_all(
    cx: &Connector,
    status: &StatusRegistry,
    record: &IssuanceRequest,
    organisation: Option<Organisation>,
    data_space: Option<String>,
    config: &IssuerConfig,
) -> Result<Result<Vec<IssuedPayload>, Vec<String>>, IssuanceError> {
    let (Some(organisation), Some(data_space)) = (organisation, data_space) else {
        return Ok(Err(vec![format!(
            "`{}` is not in the issuer's registry of organisations, or no data space is known",
            record.holder
        )]));
    };
    let identity = cx.identity();
    let issued_at = chrono::Utc::now();
    let mut documents = Vec::new();
    for credential_type in &record.credential_types {
        let drafts = if credential_type == permits::TYPE {
            permits::documents(
                identity.did.as_str(),
                &record.holder,
                &organisation,
                issued_at,
            )
        } else {
            subject(credential_type, &record.holder, &organisation, &data_space).map(|claims| {
                let until = issued_at + config.validity();
                vec![json!({
                    "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
                    "type": ["VerifiableCredential", credential_type],
                    "issuer": identity.did.as_str(),
                    "validFrom": symbolon_identity::credential::format_time(issued_at),
                    "validUntil": symbolon_identity::credential::format_time(until),
                    "credentialSubject": claims,
                })]
            })
        };
        let drafts = match drafts {
            Ok(drafts) => drafts,
            Err(reason) => return Ok(Err(vec![reason])),
        };
        for document in drafts {
            if let Err(error) = symbolon_identity::credential::validate(&document) {
                return Ok(Err(vec![format!("{credential_type}: {error}")]));
            }
            documents.push((credential_type.clone(), document));
        }
    }
    let mut issued = Vec::new();
    for (credential_type, mut document) in documents {
        let registry = status.clone();
        let base = registry.public_url().to_owned();
        document = tokio::task::spawn_blocking(move || {
            registry.assign(&mut document, &base).map(|_| document)
        })
        .await
        .map_err(StoreError::from)??;
        let signed =
            match symbolon_identity::issue_credential(identity, document, Format::Jwt).await {
                Ok(signed) => signed.to_text(),
                Err(error) => return Ok(Err(vec![format!("{credential_type}: {error}")])),
            };
        let id = symbolon_identity::verify::peek_jwt_payload(&signed)
            .and_then(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        let audit = cx.audit();
        audit
            .record(audit.event_with_document(
                EventKind::CredentialIssued,
                id.clone(),
                "ok",
                "credential",
                json!(signed),
            ))
            .await?;
        issued.push(IssuedPayload {
            credential_type,
            id,
            payload: signed,
        });
    }
    Ok(Ok(issued))
}

/// Records the decision on `record` (issued credentials, or the reasons of a rejection),
/// unless another decided first, and delivers it to the holder in the background.
async fn finish(
    cx: &Connector,
    mut record: IssuanceRequest,
    outcome: Result<Vec<IssuedPayload>, Vec<String>>,
    decided_by: &str,
) -> Result<IssuanceRequest, IssuanceError> {
    match outcome {
        Ok(issued) => {
            record.status = IssuanceStatus::Issued;
            record.issued = issued;
            record.reasons = Vec::new();
        }
        Err(reasons) => {
            record.status = IssuanceStatus::Rejected;
            record.reasons = reasons;
        }
    }
    record.updated = now();
    let stored = record.clone();
    if !cx
        .store()
        .blocking(move |s| s.issuance.decide(&stored))
        .await?
    {
        let current = undecided(cx, &record.issuer_pid).await;
        return Err(current.err().unwrap_or(IssuanceError::Decided {
            pid: record.issuer_pid,
            status: "decided",
        }));
    }
    let audit = cx.audit();
    audit
        .record(audit.event(
            EventKind::IssuanceDecided,
            &record.holder,
            record.status.as_str(),
            json!({
                "issuerPid": record.issuer_pid,
                "decidedBy": decided_by,
                "reasons": record.reasons,
                "credentials": record.issued.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            }),
        ))
        .await?;
    let weak = cx.downgrade();
    let delivered = record.clone();
    tokio::spawn(async move {
        if let Some(cx) = weak.upgrade() {
            if let Err(error) = delivery::deliver(&cx, delivered).await {
                tracing::warn!(%error, "issuance: cannot record the delivery");
            }
        }
    });
    Ok(record)
}

pub mod permits;

#[cfg(test)]
mod tests;
