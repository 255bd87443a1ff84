//! The audit API under `/api/v1/audit`: the signed tree head, entries, inclusion and
//! consistency proofs, and the export bundle. Readable with the admin token, or by an auditor
//! (read-only): a caller presenting a valid `AuditorCredential` — a self-issued token whose
//! `vp` claim is a presentation bound to the token's `jti` and to this connector's DID — or
//! the bearer of a console session opened that way ([`super::console::auditor`]).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use symbolon_audit::EventKind;
use symbolon_identity::{Expectations, Input, Report};

use super::admin::{bearer, Admin};
use super::console::auditor::session_auditor;
use super::error::{ApiError, ErrorBody};
use super::input::Query;
use crate::context::Connector;
use crate::negotiation::auth;

/// Routes of the audit API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/audit")
            .service(web::resource("/head").get(head))
            .service(web::resource("/entries").get(entries))
            .service(web::resource("/proof/inclusion").get(inclusion))
            .service(web::resource("/proof/consistency").get(consistency))
            .service(web::resource("/export").get(export)),
    );
}

/// Who may read the trail.
enum Reader {
    Admin,
    Auditor(String),
}

async fn reader(request: &HttpRequest, connector: &Connector) -> Result<Reader, ApiError> {
    if Admin::check(request).is_ok() {
        return Ok(Reader::Admin);
    }
    if let Some(auditor) = session_auditor(request) {
        return Ok(Reader::Auditor(auditor));
    }
    let verification = connector.verification();
    let caller = auth::authenticate(
        bearer(request),
        connector.did(),
        &verification.resolver,
        connector.store(),
    )
    .await
    .map_err(|_| ApiError::Unauthorized)?;
    if caller.presentation.is_none() || verification.trusted_verifier().is_none() {
        return Err(ApiError::Unauthorized);
    }
    match check_auditor(connector, &caller, "token").await? {
        AuditorCheck::Auditor => Ok(Reader::Auditor(caller.did)),
        AuditorCheck::Refused(_) => Err(ApiError::Unauthorized),
    }
}

/// Whether an authenticated caller is an auditor.
pub(crate) enum AuditorCheck {
    /// It presented a verified `AuditorCredential`.
    Auditor,
    /// It did not; why, in words.
    Refused(String),
}

/// Checks that `caller`'s token carries a verified presentation, signed by the caller and
/// bound to the token's `jti` and this connector's DID (its nonce single-use), of an
/// `AuditorCredential` from an issuer the installed trust list trusts for it. A presentation
/// that was checked is recorded (`audit.access`, with `via` saying how it came: `token` for a
/// call of the audit API, `console` for a sign-in to the console).
pub(crate) async fn check_auditor(
    connector: &Connector,
    caller: &auth::Caller,
    via: &str,
) -> Result<AuditorCheck, ApiError> {
    let Some(presentation) = caller.presentation.clone() else {
        return Ok(AuditorCheck::Refused(
            "the token carries no presentation (`vp` claim): create it with `symbolon audit \
             present`"
                .into(),
        ));
    };
    let Some((verifier, _)) = connector.verification().trusted_verifier() else {
        return Ok(AuditorCheck::Refused(
            "this connector has no trust list installed, so it trusts no issuer of \
             AuditorCredentials"
                .into(),
        ));
    };
    let report = verifier
        .with_nonce_store(std::sync::Arc::new(connector.store().presentation_nonces()))
        .verify_presentation(
            &Input::Jwt(presentation),
            &Expectations {
                challenge: caller.jti.clone(),
                audience: connector.did().to_owned(),
            },
        )
        .await;
    let refused = refusal(&report, &caller.did);
    let audit = connector.audit();
    audit
        .record(audit.event(
            EventKind::AuditAccess,
            &caller.did,
            if refused.is_none() { "ok" } else { "refused" },
            json!({ "via": via, "error": refused }),
        ))
        .await?;
    Ok(refused.map_or(AuditorCheck::Auditor, AuditorCheck::Refused))
}

/// Why `report` does not make `caller` an auditor, in words; `None` when it does.
fn refusal(report: &Report, caller: &str) -> Option<String> {
    if !report.verified {
        return Some(format!(
            "the presentation does not verify: {}",
            report.error.as_deref().unwrap_or("no reason was given")
        ));
    }
    if report.signer.as_deref() != Some(caller) {
        return Some(format!(
            "the presentation is signed by `{}`, not by the token's issuer `{caller}`",
            report.signer.as_deref().unwrap_or("nobody")
        ));
    }
    let auditor = |c: &Report| c.verified && c.types.iter().any(|t| t == "AuditorCredential");
    if report.credentials.iter().any(auditor) {
        return None;
    }
    let presented: Vec<String> = report
        .credentials
        .iter()
        .map(|c| match &c.error {
            Some(error) => format!("{} ({error})", c.types.join(", ")),
            None => c.types.join(", "),
        })
        .collect();
    Some(format!(
        "the presentation holds no verified AuditorCredential from an issuer the trust list \
         trusts for it; it presents: {}",
        if presented.is_empty() {
            "no credential".to_owned()
        } else {
            presented.join("; ")
        }
    ))
}

/// A request for a part of the log that is not there.
fn out_of_range(error: symbolon_audit::StoreError) -> ApiError {
    match error {
        symbolon_audit::StoreError::Range { .. } | symbolon_audit::StoreError::Proof(_) => {
            ApiError::BadRequest(error.to_string())
        }
        other => ApiError::internal(other),
    }
}

/// The latest signed tree head: `{head, jws}` (a fresh one is signed when the log grew).
#[utoipa::path(get, path = "/api/v1/audit/head", tag = "audit", security(("admin" = []), ("auditor_session" = []), ("auditor_token" = [])),
    responses((status = 200, description = "`{head: {log_id, tree_size, root_hash, timestamp}, jws}`: the head and its compact JWS (`typ` symbolon-sth+jwt)"),
              (status = 401, body = ErrorBody, description = "No admin token, auditor session or auditor presentation")))]
pub(crate) async fn head(
    request: HttpRequest,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    reader(&request, &connector).await?;
    let trail = connector.audit().clone();
    let signed = web::block(move || trail.current_head()).await??;
    Ok(HttpResponse::Ok().json(json!({ "head": signed.head, "jws": signed.jws })))
}

/// `from` and `to` of a range.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Range {
    /// The first index (default 0).
    from: Option<u64>,
    /// One past the last index (default: the end; at most a page is read).
    to: Option<u64>,
}

/// A page of the log's entries.
#[utoipa::path(get, path = "/api/v1/audit/entries", tag = "audit", security(("admin" = []), ("auditor_session" = []), ("auditor_token" = [])), params(Range),
    responses((status = 200, description = "`{from, to, tree_size, entries}`: the entries `from`..`to`, each `{index, prev, event}`"),
              (status = 400, body = ErrorBody, description = "`from` is beyond `to` or the log's size"),
              (status = 401, body = ErrorBody, description = "No admin token, auditor session or auditor presentation")))]
pub(crate) async fn entries(
    request: HttpRequest,
    connector: web::Data<Connector>,
    range: Query<Range>,
) -> Result<HttpResponse, ApiError> {
    reader(&request, &connector).await?;
    let log = connector.audit().log();
    let from = range.from.unwrap_or(0);
    let to = range.to.unwrap_or_else(|| log.len()).min(log.len());
    let to = to.min(from.saturating_add(symbolon_audit::store::MAX_ENTRIES_PER_READ));
    if from > to {
        return Err(ApiError::BadRequest(format!(
            "`from` ({from}) is beyond `to` ({to}) or the log's size ({})",
            log.len()
        )));
    }
    let read = log.clone();
    let entries = web::block(move || read.entries(from, to))
        .await?
        .map_err(out_of_range)?;
    Ok(HttpResponse::Ok()
        .json(json!({ "from": from, "to": to, "tree_size": log.len(), "entries": entries })))
}

/// `index` of an inclusion proof, and the tree size it is for (default: the latest signed
/// head's).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Index {
    /// The entry's index.
    index: u64,
    /// The size of the tree the proof is for (default: the latest signed head's).
    tree_size: Option<u64>,
}

/// The inclusion proof of an entry.
#[utoipa::path(get, path = "/api/v1/audit/proof/inclusion", tag = "audit", security(("admin" = []), ("auditor_session" = []), ("auditor_token" = [])), params(Index),
    responses((status = 200, description = "`{index, tree_size, leaf_hash, root_hash, path}` (RFC 9162 §2.1.3)"),
              (status = 400, body = ErrorBody, description = "The index or size is out of range"),
              (status = 401, body = ErrorBody, description = "No admin token, auditor session or auditor presentation")))]
pub(crate) async fn inclusion(
    request: HttpRequest,
    connector: web::Data<Connector>,
    query: Query<Index>,
) -> Result<HttpResponse, ApiError> {
    reader(&request, &connector).await?;
    let trail = connector.audit().clone();
    web::block(move || trail.current_head()).await??;
    let log = connector.audit().log();
    let proof = match query.tree_size {
        Some(size) => log.inclusion_proof_at(query.index, size),
        None => log.inclusion_proof(query.index),
    }
    .map_err(out_of_range)?;
    Ok(HttpResponse::Ok().json(proof))
}

/// `from` and `to` of a consistency proof.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Sizes {
    /// The earlier tree size.
    from: u64,
    /// The later tree size.
    to: u64,
}

/// The consistency proof between two tree sizes.
#[utoipa::path(get, path = "/api/v1/audit/proof/consistency", tag = "audit", security(("admin" = []), ("auditor_session" = []), ("auditor_token" = [])), params(Sizes),
    responses((status = 200, description = "`{old_size, new_size, path}` (RFC 9162 §2.1.4)"),
              (status = 400, body = ErrorBody, description = "The sizes are out of range"),
              (status = 401, body = ErrorBody, description = "No admin token, auditor session or auditor presentation")))]
pub(crate) async fn consistency(
    request: HttpRequest,
    connector: web::Data<Connector>,
    query: Query<Sizes>,
) -> Result<HttpResponse, ApiError> {
    reader(&request, &connector).await?;
    let proof = connector
        .audit()
        .log()
        .consistency_proof(query.from, query.to)
        .map_err(out_of_range)?;
    Ok(HttpResponse::Ok().json(proof))
}

/// The log as an audit bundle (`symbolon-audit-bundle/1`) an auditor verifies offline.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", security(("admin" = []), ("auditor_session" = []), ("auditor_token" = [])),
    responses((status = 200, description = "The bundle: `{format, log_id, entries, heads, did_documents, credentials}`"),
              (status = 401, body = ErrorBody, description = "No admin token, auditor session or auditor presentation")))]
pub(crate) async fn export(
    request: HttpRequest,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    if let Reader::Auditor(did) = reader(&request, &connector).await? {
        tracing::info!(auditor = %did, "audit bundle exported to an auditor");
    }
    let cx = connector.clone().into_inner();
    let bundle = web::block(move || {
        let credentials = cx.store().credentials.list()?;
        cx.audit()
            .export(credentials.into_iter().map(|c| c.credential).collect())
    })
    .await??;
    Ok(HttpResponse::Ok().json(bundle))
}
