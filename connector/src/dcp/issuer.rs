//! The Issuer Service's decisions: a request is received, checked against the registry of
//! organisations and the issuance policy, and issued, rejected or queued for the operator;
//! issued credentials carry a status entry and are delivered to the holder's Credential
//! Service. Every step is an audit event.

use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use symbolon_audit::EventKind;
use symbolon_identity::{Did, Format};
use symbolon_policy::{Policies, Request, Schema};

use super::messages::{self, CredentialRequest};
use crate::audit::AuditError;
use crate::context::Connector;
use crate::domain::{
    now, Approval, IssuanceRequest, IssuanceStatus, IssuedPayload, IssuerConfig, Organisation,
};
use crate::issuer::{StatusError, StatusRegistry};
use crate::messenger::{Messenger as _, Method, Outbound};
use crate::negotiation::auth;
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
    /// The status registry failed.
    #[error(transparent)]
    Status(#[from] StatusError),
}

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
    let credential_service = credential_service(cx, holder, request.credential_service).await?;
    let at = now();
    let record = IssuanceRequest {
        issuer_pid: issuer_pid(holder, &request.holder_pid),
        holder_pid: request.holder_pid,
        holder: holder.to_owned(),
        credential_types: request.credential_types,
        credential_service: Some(credential_service),
        status: IssuanceStatus::Received,
        reasons: Vec::new(),
        issued: Vec::new(),
        delivery: None,
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
    let (config, organisation, data_space) = settings(cx, holder).await?;
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
            let issued = issue_all(cx, status, &record, organisation, data_space).await?;
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
    let (_, organisation, data_space) = settings(cx, &record.holder).await?;
    let issued = issue_all(cx, status, &record, organisation, data_space).await?;
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

/// Leaves `record` for the operator, with the policy's advice.
async fn queue(
    cx: &Connector,
    mut record: IssuanceRequest,
    advice: Vec<String>,
) -> Result<IssuanceRequest, IssuanceError> {
    record.reasons = advice;
    let stored = record.clone();
    cx.store()
        .blocking(move |s| s.issuance.put(&stored))
        .await?;
    let audit = cx.audit();
    audit
        .record(audit.event(
            EventKind::IssuanceDecided,
            &record.holder,
            IssuanceStatus::Received.as_str(),
            json!({ "issuerPid": record.issuer_pid, "decidedBy": "operator (pending)", "advice": record.reasons }),
        ))
        .await?;
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
        "DataSpaceMembershipCredential" => Ok(json!({
            "id": holder,
            "legalName": organisation.legal_name,
            "registrationNumber": organisation.registration_number,
            "role": organisation.role,
            "dataSpaceId": data_space,
        })),
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
) -> Result<Result<Vec<IssuedPayload>, Vec<String>>, IssuanceError> {
    let (Some(organisation), Some(data_space)) = (organisation, data_space) else {
        return Ok(Err(vec![format!(
            "`{}` is not in the issuer's registry of organisations, or no data space is known",
            record.holder
        )]));
    };
    let identity = cx.identity();
    let mut documents = Vec::new();
    for credential_type in &record.credential_types {
        let claims = match subject(credential_type, &record.holder, &organisation, &data_space) {
            Ok(claims) => claims,
            Err(reason) => return Ok(Err(vec![reason])),
        };
        let document = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
            "type": ["VerifiableCredential", credential_type],
            "issuer": identity.did.as_str(),
            "validFrom": now(),
            "credentialSubject": claims,
        });
        if let Err(error) = symbolon_identity::credential::validate(&document) {
            return Ok(Err(vec![format!("{credential_type}: {error}")]));
        }
        documents.push((credential_type.clone(), document));
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
            if let Err(error) = deliver(&cx, delivered).await {
                tracing::warn!(%error, "issuance: cannot record the delivery");
            }
        }
    });
    Ok(record)
}

/// Sends `record`'s `CredentialMessage` to the holder's Credential Service and records whether
/// it arrived.
async fn deliver(cx: &Connector, mut record: IssuanceRequest) -> Result<(), IssuanceError> {
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
    let outcome = match &sent {
        Ok(_) => "delivered".to_owned(),
        Err(error) => format!("not delivered: {error}"),
    };
    tracing::info!(issuer_pid = %record.issuer_pid, %outcome, "issuance: credential message");
    record.delivery = Some(outcome.clone());
    let stored = record.clone();
    cx.store()
        .blocking(move |s| s.issuance.put(&stored))
        .await?;
    let audit = cx.audit();
    audit
        .record(audit.event(
            EventKind::IssuanceDecided,
            &record.holder,
            record.status.as_str(),
            json!({ "issuerPid": record.issuer_pid, "delivery": outcome }),
        ))
        .await?;
    Ok(())
}

/// The holder's Credential Service: named in the request (checked against the address
/// policy), else the `CredentialService` of its DID document.
async fn credential_service(
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
fn service_of(document: &Value) -> Option<String> {
    document
        .get("service")?
        .as_array()?
        .iter()
        .find(|s| s.get("type").and_then(Value::as_str) == Some("CredentialService"))?
        .get("serviceEndpoint")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(types: &[&str]) -> IssuanceRequest {
        IssuanceRequest {
            issuer_pid: issuer_pid("did:key:z6Mk", "h-1"),
            holder_pid: "h-1".into(),
            holder: "did:key:z6Mk".into(),
            credential_types: types.iter().map(|t| (*t).to_owned()).collect(),
            credential_service: None,
            status: IssuanceStatus::Received,
            reasons: Vec::new(),
            issued: Vec::new(),
            delivery: None,
            created: now(),
            updated: now(),
        }
    }

    fn hospital() -> Organisation {
        Organisation {
            legal_name: "Ziekenhuis B.V.".into(),
            registration_number: "KvK-1".into(),
            role: "Hospital".into(),
            data_space_id: Some("hds".into()),
            trial_id: None,
            site_id: None,
        }
    }

    #[test]
    fn the_issuer_pid_is_the_same_for_a_repeated_request_only() {
        assert_eq!(issuer_pid("did:a", "1"), issuer_pid("did:a", "1"));
        assert_ne!(issuer_pid("did:a", "1"), issuer_pid("did:b", "1"));
        assert_ne!(issuer_pid("did:a", "1"), issuer_pid("did:a", "2"));
    }

    #[test]
    fn the_registry_and_the_policy_decide() {
        let policy = r#"policy "p" { permit enroll on offer "DataSpaceMembershipCredential" when holder.role == "Hospital" and holder.member_of == "hds" }"#;
        let config = IssuerConfig {
            approval: Approval::Auto,
            policy: Some(policy.into()),
        };
        let asked = request(&["DataSpaceMembershipCredential"]);
        let organisation = hospital();
        assert_eq!(
            evaluate(&config, Some(&organisation), Some("hds"), &asked),
            Verdict::Permit
        );
        let Verdict::Deny(reasons) = evaluate(&config, None, Some("hds"), &asked) else {
            panic!("a stranger is denied")
        };
        assert!(reasons[0].contains("registry"), "{reasons:?}");
        let Verdict::Deny(reasons) = evaluate(&config, Some(&organisation), Some("other"), &asked)
        else {
            panic!("another data space is denied")
        };
        assert!(reasons[0].contains("data space"), "{reasons:?}");
        let trial = request(&["TrialSiteCredential"]);
        assert!(matches!(
            evaluate(&config, Some(&organisation), Some("hds"), &trial),
            Verdict::Deny(_)
        ));
        let silent = IssuerConfig {
            approval: Approval::Auto,
            policy: None,
        };
        assert!(matches!(
            evaluate(&silent, Some(&organisation), Some("hds"), &asked),
            Verdict::Deny(_)
        ));
    }

    #[test]
    fn claims_come_from_the_registry_and_a_trial_site_needs_its_trial() {
        let organisation = hospital();
        let claims = subject(
            "DataSpaceMembershipCredential",
            "did:x",
            &organisation,
            "hds",
        )
        .unwrap();
        assert_eq!(claims["role"], "Hospital");
        assert_eq!(claims["dataSpaceId"], "hds");
        assert!(subject("TrialSiteCredential", "did:x", &organisation, "hds").is_err());
    }

    #[test]
    fn the_credential_service_of_a_did_document() {
        let document = json!({"service": [
            {"type": "LinkedDomains", "serviceEndpoint": "https://a.example"},
            {"type": "CredentialService", "serviceEndpoint": "https://h.example/dcp/holder"}
        ]});
        assert_eq!(
            service_of(&document).as_deref(),
            Some("https://h.example/dcp/holder")
        );
        assert_eq!(service_of(&json!({})), None);
    }
}
