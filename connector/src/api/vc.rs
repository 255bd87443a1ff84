//! The W3C VC-API: issue, verify credentials and presentations, status lists, DID resolution.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use symbolon_identity::status_list::StatusPurpose;
use symbolon_identity::{limits, Did, Expectations, Format, Input, Verifier};

use super::error::ApiError;
use super::{AppState, MAX_BODY_BYTES};
use crate::issuer::list_url;

/// Routes of the VC-API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/credentials/issue", web::post().to(issue))
        .route("/credentials/status", web::post().to(update_status))
        .route("/credentials/verify", web::post().to(verify_credential))
        .route("/presentations/verify", web::post().to(verify_presentation))
        .route("/status/{list}", web::get().to(status_list))
        .route("/identifiers/{did}", web::get().to(resolve_did));
}

/// The token of an `Authorization: Bearer <token>` header, if any.
pub fn bearer(request: &HttpRequest) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Checks `Authorization: Bearer <admin token>` in constant time.
pub fn require_admin(request: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let token = bearer(request).ok_or(ApiError::Unauthorized)?;
    if state.admin_token.matches(token.trim()) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// Parses a JSON body after checking its size and nesting depth.
pub fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    limits::check_input(body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))
}

async fn issue(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let body = json_body(&body)?;
    let mut credential = required_member(&body, "credential")?;
    let options = body.get("options").cloned().unwrap_or_else(|| json!({}));
    let format: Format = options
        .get("format")
        .and_then(Value::as_str)
        .unwrap_or("jwt")
        .parse()
        .map_err(ApiError::BadRequest)?;
    if let Some(object) = credential.as_object_mut() {
        object
            .entry("issuer")
            .or_insert_with(|| state.identity.did.as_str().into());
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
        let registry = state.status.clone();
        let base = state.public_url.clone();
        credential =
            web::block(move || registry.assign(&mut credential, &base).map(|_| credential))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    let signed = symbolon_identity::issue_credential(&state.identity, credential, format)
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    tracing::info!(issuer = %state.identity.did, "credential issued");
    let issued = signed.to_text();
    let credential_id = symbolon_identity::verify::peek_jwt_payload(&issued)
        .or_else(|| serde_json::from_str::<Value>(&issued).ok())
        .and_then(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    state
        .negotiator
        .record(crate::store::Event::now(
            "credential.issued",
            state.identity.did.as_str(),
            credential_id,
            "ok",
            json!({ "credential": issued }),
        ))
        .await;
    Ok(HttpResponse::Created()
        .json(json!({ "verifiableCredential": signed.to_enveloped("vc+jwt") })))
}

async fn update_status(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
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
    let registry = state.status.clone();
    let changed_id = id.clone();
    let record = web::block(move || {
        let mut last = None;
        for (purpose, value) in changes {
            last = Some(registry.set(&changed_id, purpose, value));
        }
        last
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    match record {
        None => Err(ApiError::BadRequest("`credentialStatus` is empty".into())),
        Some(Err(crate::issuer::StatusError::UnknownCredential(id))) => Err(ApiError::NotFound(
            format!("no credential `{id}` with a status entry"),
        )),
        Some(Err(error)) => Err(ApiError::Internal(error.to_string())),
        Some(Ok(record)) => {
            tracing::info!(credential = %id, revoked = record.revoked, suspended = record.suspended, "credential status changed");
            state
                .negotiator
                .record(crate::store::Event::now(
                    "credential.status",
                    state.identity.did.as_str(),
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
                .await;
            Ok(HttpResponse::Ok().json(json!({"credentialId": id, "statusIndex": record.index, "revoked": record.revoked, "suspended": record.suspended})))
        }
    }
}

/// A verifier with the status list cache and the installed trust list.
pub(crate) fn verifier(state: &AppState) -> Verifier {
    let mut verifier =
        Verifier::new(state.resolver.clone()).with_status_source(state.status_source.clone());
    if let Ok(Some(token)) = state.dir.read_text(crate::datadir::TRUST_LIST_FILE) {
        if let Some(trust) = crate::trust::trust_list_from_installed(&token) {
            verifier = verifier.with_trust_list(trust);
        }
    }
    verifier
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
        .ok_or_else(|| ApiError::BadRequest(format!("the body needs `{name}`")))
}

async fn verify_credential(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&body)?;
    let credential = required_member(&body, "verifiableCredential")?;
    let report = verifier(&state)
        .verify_credential(&Input::from_value(credential))
        .await;
    Ok(report_response(&report))
}

async fn verify_presentation(
    state: web::Data<AppState>,
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
            .ok_or_else(|| ApiError::BadRequest("`options.challenge` is required".into()))?,
        audience: option("domain")
            .ok_or_else(|| ApiError::BadRequest("`options.domain` is required".into()))?,
    };
    let verifier = verifier(&state).with_nonce_store(state.nonces.clone());
    let input = Input::from_value(presentation.clone());
    let report = verifier.verify_presentation(&input, &expected).await;
    state
        .negotiator
        .record(crate::store::Event::now(
            "presentation.verified",
            state.identity.did.as_str(),
            report.signer.clone().unwrap_or_else(|| "unknown".into()),
            if report.verified { "ok" } else { "refused" },
            json!({ "presentation": presentation, "error": report.error, "challenge": expected.challenge, "domain": expected.audience }),
        ))
        .await;
    Ok(report_response(&report))
}

async fn status_list(
    state: web::Data<AppState>,
    list: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let purpose = StatusPurpose::parse(&list).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no status list `{}`",
            list.chars().take(64).collect::<String>()
        ))
    })?;
    let url = list_url(&state.public_url, purpose);
    let registry = state.status.clone();
    let identity = state.identity.clone();
    let token = web::block(move || registry.publish(&identity, purpose, &url))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/vc+jwt"))
        .insert_header((header::CACHE_CONTROL, "max-age=30"))
        .body(token))
}

async fn resolve_did(state: web::Data<AppState>, did: web::Path<String>) -> HttpResponse {
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
    match state.resolver.resolve(&parsed).await {
        Ok(document) => HttpResponse::Ok().json(json!({
            "@context": "https://w3id.org/did-resolution/v1",
            "didDocument": document,
            "didResolutionMetadata": { "contentType": "application/did+ld+json" },
            "didDocumentMetadata": {},
        })),
        Err(error) => {
            let status = match error.resolution_code() {
                "notFound" => actix_web::http::StatusCode::NOT_FOUND,
                "internalError" => actix_web::http::StatusCode::BAD_GATEWAY,
                _ => actix_web::http::StatusCode::BAD_REQUEST,
            };
            failure(status, &error)
        }
    }
}
