//! The audit API under `/api/v1/audit`: the signed tree head, entries, inclusion and
//! consistency proofs, and the export bundle. Readable with the admin token, or by a caller
//! presenting a valid `AuditorCredential` (read-only): a self-issued token whose `vp` claim is
//! a presentation bound to the token's `jti` and to this connector's DID.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use symbolon_identity::{Expectations, Input};

use super::error::ApiError;
use super::vc::verifier;
use super::AppState;
use crate::negotiation::auth;
use crate::store::Event;

/// Routes of the audit API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/audit")
            .route("/head", web::get().to(head))
            .route("/entries", web::get().to(entries))
            .route("/proof/inclusion", web::get().to(inclusion))
            .route("/proof/consistency", web::get().to(consistency))
            .route("/export", web::get().to(export)),
    );
}

/// Who may read the trail.
enum Reader {
    Admin,
    Auditor(String),
}

async fn reader(request: &HttpRequest, state: &AppState) -> Result<Reader, ApiError> {
    if super::vc::require_admin(request, state).is_ok() {
        return Ok(Reader::Admin);
    }
    let token = super::vc::bearer(request);
    let negotiator = &state.negotiator;
    let caller = auth::authenticate(
        token,
        negotiator.did(),
        negotiator.resolver(),
        &state.store.nonces,
    )
    .await
    .map_err(|_| ApiError::Unauthorized)?;
    let presentation = caller.presentation.ok_or(ApiError::Unauthorized)?;
    let Some(trust) = crate::trust::installed(&state.dir) else {
        return Err(ApiError::Unauthorized);
    };
    let report = verifier(state)
        .with_trust_list(trust)
        .with_nonce_store(std::sync::Arc::new(state.store.nonces.for_presentations()))
        .verify_presentation(
            &Input::Jwt(presentation),
            &Expectations {
                challenge: caller.jti.clone(),
                audience: negotiator.did().to_owned(),
            },
        )
        .await;
    let auditor = report.verified
        && report.signer.as_deref() == Some(caller.did.as_str())
        && report
            .credentials
            .iter()
            .any(|c| c.verified && c.types.iter().any(|t| t == "AuditorCredential"));
    negotiator
        .record(Event::now(
            "audit.access",
            negotiator.did(),
            &caller.did,
            if auditor { "ok" } else { "refused" },
            json!({ "error": report.error }),
        ))
        .await;
    if auditor {
        Ok(Reader::Auditor(caller.did))
    } else {
        Err(ApiError::Unauthorized)
    }
}

fn audit_error(error: impl std::fmt::Display) -> ApiError {
    let text = error.to_string();
    if text.contains("range") || text.contains("not within") || text.contains("index") {
        ApiError::BadRequest(text)
    } else {
        ApiError::Internal(text)
    }
}

async fn head(request: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    reader(&request, &state).await?;
    let (store, identity) = (state.store.clone(), state.identity.clone());
    let signed = web::block(move || crate::audit::current_head(&store, &identity))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(HttpResponse::Ok().json(json!({ "head": signed.head, "jws": signed.jws })))
}

/// `from` and `to` of a range.
#[derive(Debug, Deserialize)]
struct Range {
    from: Option<u64>,
    to: Option<u64>,
}

async fn entries(
    request: HttpRequest,
    state: web::Data<AppState>,
    range: web::Query<Range>,
) -> Result<HttpResponse, ApiError> {
    reader(&request, &state).await?;
    let log = state.store.events.log();
    let from = range.from.unwrap_or(0);
    let to = range.to.unwrap_or_else(|| log.len()).min(log.len());
    let to = to.min(from.saturating_add(symbolon_audit::store::MAX_ENTRIES_PER_READ));
    if from > to {
        return Err(ApiError::BadRequest(format!(
            "`from` ({from}) is beyond `to` ({to}) or the log's size ({})",
            log.len()
        )));
    }
    let entries = log.entries(from, to).map_err(audit_error)?;
    Ok(HttpResponse::Ok()
        .json(json!({ "from": from, "to": to, "tree_size": log.len(), "entries": entries })))
}

/// `index` of an inclusion proof.
#[derive(Debug, Deserialize)]
struct Index {
    index: u64,
}

async fn inclusion(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Index>,
) -> Result<HttpResponse, ApiError> {
    reader(&request, &state).await?;
    let (store, identity) = (state.store.clone(), state.identity.clone());
    web::block(move || crate::audit::current_head(&store, &identity))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    let proof = state
        .store
        .events
        .log()
        .inclusion_proof(query.index)
        .map_err(audit_error)?;
    Ok(HttpResponse::Ok().json(proof))
}

/// `from` and `to` of a consistency proof.
#[derive(Debug, Deserialize)]
struct Sizes {
    from: u64,
    to: u64,
}

async fn consistency(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<Sizes>,
) -> Result<HttpResponse, ApiError> {
    reader(&request, &state).await?;
    let proof = state
        .store
        .events
        .log()
        .consistency_proof(query.from, query.to)
        .map_err(audit_error)?;
    Ok(HttpResponse::Ok().json(proof))
}

async fn export(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Reader::Auditor(did) = reader(&request, &state).await? {
        tracing::info!(auditor = %did, "audit bundle exported to an auditor");
    }
    let (store, identity) = (state.store.clone(), state.identity.clone());
    let mut bundle = web::block(move || crate::audit::export(&store, &identity))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    crate::audit::add_web_documents(&mut bundle, &state.resolver).await;
    Ok(HttpResponse::Ok().json(bundle))
}
