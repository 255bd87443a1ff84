//! The W3C VC-API: issue, verify credentials and presentations, status lists, DID resolution.
//! Issuing and status changes need the admin token; the others anyone may call, within the
//! rate limit, and a verification is recorded as a bounded summary (the digest of what was
//! sent, the verdict), never the body.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};
use symbolon_audit::EventKind;
use symbolon_identity::status_list::StatusPurpose;
use symbolon_identity::{Did, Expectations, Format, Input};

use super::admin::Admin;
use super::error::ApiError;
use super::limits::json_body;
use super::throttle::Throttled;
use crate::audit::bounds;
use crate::context::Connector;
use crate::issuer::{list_url, StatusError, StatusRegistry};

/// Routes of the VC-API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/credentials/issue").post(issue))
        .service(web::resource("/credentials/status").post(update_status))
        .service(web::resource("/credentials/verify").post(verify_credential))
        .service(web::resource("/presentations/verify").post(verify_presentation))
        .service(web::resource("/status/{list}").get(status_list))
        .service(web::resource("/identifiers/{did}").get(resolve_did));
}

async fn issue(
    _: Admin,
    connector: web::Data<Connector>,
    registry: web::Data<StatusRegistry>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&body)?;
    let mut credential = required_member(&body, "credential")?;
    let options = body.get("options").cloned().unwrap_or_else(|| json!({}));
    let format: Format = options
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("jwt")
        .parse()
        .map_err(ApiError::BadRequest)?;
    let identity = connector.identity();
    if let Some(object) = credential.as_object_mut() {
        object
            .entry("issuer")
            .or_insert_with(|| identity.did.as_str().into());
        object.entry("validFrom").or_insert_with(|| {
            symbolon_identity::credential::format_time(chrono::Utc::now()).into()
        });
    }
    if options
        .get("credentialStatus")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        symbolon_identity::credential::validate(&credential)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let registry = registry.clone();
        let base = registry.public_url().to_owned();
        credential =
            web::block(move || registry.assign(&mut credential, &base).map(|_| credential))
                .await?
                .map_err(ApiError::internal)?;
    }
    let signed = symbolon_identity::issue_credential(identity, credential, format)
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let issued = signed.to_text();
    let credential_id = symbolon_identity::verify::peek_jwt_payload(&issued)
        .or_else(|| serde_json::from_str::<Value>(&issued).ok())
        .and_then(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    let audit = connector.audit();
    audit
        .record(audit.event_with_document(
            EventKind::CredentialIssued,
            credential_id,
            "ok",
            "credential",
            json!(issued),
        ))
        .await?;
    tracing::info!(issuer = %identity.did, "credential issued");
    Ok(HttpResponse::Created()
        .json(json!({ "verifiableCredential": signed.to_enveloped("vc+jwt") })))
}

async fn update_status(
    _: Admin,
    connector: web::Data<Connector>,
    registry: web::Data<StatusRegistry>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&body)?;
    let id = body
        .get("credentialId")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::BadRequest("the body needs `credentialId`".into()))?
        .to_owned();
    let updates = body
        .get("credentialStatus")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::BadRequest("the body needs a `credentialStatus` array".into()))?;
    let mut changes = Vec::new();
    for update in updates {
        let purpose = update
            .get("statusPurpose")
            .and_then(Value::as_str)
            .and_then(StatusPurpose::parse)
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "each update needs `statusPurpose`: revocation or suspension".into(),
                )
            })?;
        let value = update
            .get("status")
            .and_then(Value::as_bool)
            .ok_or_else(|| ApiError::BadRequest("each update needs a boolean `status`".into()))?;
        if purpose == StatusPurpose::Revocation && !value {
            return Err(ApiError::Unprocessable(
                "a revocation cannot be undone".into(),
            ));
        }
        changes.push((purpose, value));
    }
    let registry = registry.into_inner();
    let changed_id = id.clone();
    let record = web::block(move || {
        let mut last = None;
        for (purpose, value) in changes {
            last = Some(registry.set(&changed_id, purpose, value));
        }
        last
    })
    .await?;
    match record {
        None => Err(ApiError::BadRequest("`credentialStatus` is empty".into())),
        Some(Err(StatusError::UnknownCredential(id))) => Err(ApiError::NotFound(format!(
            "no credential `{id}` with a status entry"
        ))),
        Some(Err(error)) => Err(ApiError::internal(error)),
        Some(Ok(record)) => {
            tracing::info!(credential = %id, revoked = record.revoked, suspended = record.suspended, "credential status changed");
            let audit = connector.audit();
            audit
                .record(audit.event(
                    EventKind::CredentialStatus,
                    &id,
                    if record.revoked {
                        "revoked"
                    } else if record.suspended {
                        "suspended"
                    } else {
                        "active"
                    },
                    json!({ "revoked": record.revoked, "suspended": record.suspended }),
                ))
                .await?;
            Ok(HttpResponse::Ok().json(json!({"credentialId": id, "statusIndex": record.index, "revoked": record.revoked, "suspended": record.suspended})))
        }
    }
}

fn report_response(report: &symbolon_identity::Report) -> HttpResponse {
    if report.verified {
        HttpResponse::Ok().json(report)
    } else if report.outcome("format") == Some(symbolon_identity::Outcome::Failed) {
        HttpResponse::BadRequest().json(report)
    } else {
        HttpResponse::UnprocessableEntity().json(report)
    }
}

/// The member `name` of a request body, or a 400 naming it.
fn required_member(body: &Value, name: &str) -> Result<Value, ApiError> {
    body.get(name)
        .cloned()
        .ok_or_else(|| ApiError::BadRequest(format!("field `{name}` is missing")))
}

async fn verify_credential(
    _: Throttled,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&body)?;
    let credential = required_member(&body, "verifiableCredential")?;
    let report = connector
        .verification()
        .public_verifier(connector.did())
        .verify_credential(&Input::from_value(credential.clone()))
        .await;
    // A stranger's call: the trail records a bounded summary, never the body itself.
    let audit = connector.audit();
    let subject = report
        .document
        .as_ref()
        .and_then(|document| document.get("id"))
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    audit
        .record(audit.event(
            EventKind::CredentialVerified,
            subject,
            if report.verified { "ok" } else { "refused" },
            json!({
                "digest": bounds::digest(&credential),
                "error": report.error,
            }),
        ))
        .await?;
    Ok(report_response(&report))
}

async fn verify_presentation(
    _: Throttled,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&body)?;
    let presentation = required_member(&body, "verifiablePresentation")?;
    let option = |name: &str| {
        body.pointer(&format!("/options/{name}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let expected = Expectations {
        challenge: option("challenge")
            .ok_or_else(|| ApiError::BadRequest("field `options.challenge` is missing".into()))?,
        audience: option("domain")
            .ok_or_else(|| ApiError::BadRequest("field `options.domain` is missing".into()))?,
    };
    let verifier = connector
        .verification()
        .public_verifier(connector.did())
        .with_nonce_store(std::sync::Arc::new(connector.store().presentation_nonces()));
    let input = Input::from_value(presentation.clone());
    let report = verifier.verify_presentation(&input, &expected).await;
    // A stranger's call: the trail records a bounded summary, never the body itself.
    let audit = connector.audit();
    audit
        .record(audit.event(
            EventKind::PresentationVerified,
            report.signer.as_deref().unwrap_or("unknown"),
            if report.verified { "ok" } else { "refused" },
            json!({
                "digest": bounds::digest(&presentation),
                "error": report.error,
                "challenge": expected.challenge,
                "domain": expected.audience,
            }),
        ))
        .await?;
    Ok(report_response(&report))
}

async fn status_list(
    _: Throttled,
    connector: web::Data<Connector>,
    registry: web::Data<StatusRegistry>,
    list: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let purpose = StatusPurpose::parse(&list).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no status list `{}`",
            list.chars().take(64).collect::<String>()
        ))
    })?;
    let url = list_url(registry.public_url(), purpose);
    let registry = registry.into_inner();
    let identity = connector.identity().clone();
    let token = web::block(move || registry.publish(&identity, purpose, &url))
        .await?
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/vc+jwt"))
        .insert_header((header::CACHE_CONTROL, "max-age=30"))
        .body(token))
}

async fn resolve_did(
    _: Throttled,
    connector: web::Data<Connector>,
    did: web::Path<String>,
) -> HttpResponse {
    let failure = |status: actix_web::http::StatusCode, error: &symbolon_identity::DidError| {
        HttpResponse::build(status).json(json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "didDocument": null,
            "didResolutionMetadata": { "error": error.resolution_code(), "message": error.to_string() },
            "didDocumentMetadata": {},
        }))
    };
    let parsed = match Did::parse(&did) {
        Ok(parsed) => parsed,
        Err(error) => return failure(actix_web::http::StatusCode::BAD_REQUEST, &error),
    };
    match connector.verification().resolver.resolve(&parsed).await {
        Ok(document) => HttpResponse::Ok().json(json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "didDocument": document,
            "didResolutionMetadata": { "contentType": "application/did+ld+json" },
            "didDocumentMetadata": {},
        })),
        Err(error) => {
            let status = match error.resolution_code() {
                _ if matches!(error, symbolon_identity::DidError::Refused { .. }) => {
                    actix_web::http::StatusCode::BAD_REQUEST
                }
                "notFound" => actix_web::http::StatusCode::NOT_FOUND,
                "internalError" => actix_web::http::StatusCode::BAD_GATEWAY,
                _ => actix_web::http::StatusCode::BAD_REQUEST,
            };
            failure(status, &error)
        }
    }
}
