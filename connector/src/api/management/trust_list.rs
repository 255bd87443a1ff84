//! The trust list in the management API: the installed one (`GET, PUT /api/v1/trust-list`; an
//! installed list is told to the peer network) and the one a peer sent that waits for the
//! operator's approval under `serve --trust-list-approval` (`GET /api/v1/trust-list/pending`,
//! `POST …/pending/approve`, `POST …/pending/reject`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::parse_body;
use crate::api::admin::Admin;
use crate::api::error::ApiError;
use crate::context::Connector;
use crate::trust::updates::{self, UpdateError};

/// Routes of the trust list.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/trust-list")
            .get(get_trust_list)
            .put(put_trust_list),
    )
    .route("/trust-list/pending", web::get().to(get_pending))
    .route(
        "/trust-list/pending/approve",
        web::post().to(approve_pending),
    )
    .route("/trust-list/pending/reject", web::post().to(reject_pending));
}

/// A trust list to install.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TrustListToInstall {
    /// The authority's TrustListCredential, a JWT.
    pub credential: String,
}

/// The installed trust list: `{"credential": JWT, "trust_list": {data_space, anchor, entries},
/// "valid_from"}`.
#[utoipa::path(get, path = "/api/v1/trust-list", security(("admin" = [])),
    responses((status = 200, description = "The installed trust list"), (status = 404, description = "None installed")))]
pub(super) async fn get_trust_list(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let installed = connector
        .verification()
        .trust
        .installed()
        .ok_or_else(|| ApiError::NotFound("no trust list is installed".into()))?;
    let valid_from = installed
        .valid_from
        .map(symbolon_identity::credential::format_time);
    Ok(HttpResponse::Ok().json(json!({
        "credential": installed.credential,
        "trust_list": installed.list,
        "valid_from": valid_from,
    })))
}

/// Verifies and installs a trust list (`{"credential": "<TrustListCredential JWT>"}`), records
/// it and tells it to the authenticated peers, who install it in turn when it is newer than
/// theirs and signed by their list's anchor.
#[utoipa::path(put, path = "/api/v1/trust-list", security(("admin" = [])), request_body = TrustListToInstall,
    responses((status = 200, description = "Installed"), (status = 422, description = "It does not verify"),
              (status = 409, description = "It governs another data space than the peer network joined")))]
pub(super) async fn put_trust_list(
    _: Admin,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: TrustListToInstall = parse_body(&body)?;
    let installed = updates::install_from_operator(&connector, &body.credential)
        .await
        .map_err(api_error)?;
    Ok(HttpResponse::Ok().json(json!({ "trust_list": installed.list })))
}

/// The trust list a peer sent that waits for approval: its `data_space`, `anchor`,
/// `valid_from`, `entries`, `sha256`, `credential`, `from` (the peer's DID) and `received_at`.
#[utoipa::path(get, path = "/api/v1/trust-list/pending", security(("admin" = [])),
    responses((status = 200, description = "The pending trust list"), (status = 404, description = "None waits for approval")))]
pub(super) async fn get_pending(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let pending = connector
        .trust_updates()
        .pending()
        .ok_or_else(|| api_error(UpdateError::NothingPending))?;
    Ok(HttpResponse::Ok().json(pending.view()))
}

/// Installs the pending trust list after verifying it again, records the approval and tells
/// it to the authenticated peers.
#[utoipa::path(post, path = "/api/v1/trust-list/pending/approve", security(("admin" = [])),
    responses((status = 200, description = "Installed"), (status = 404, description = "None waits for approval"),
              (status = 409, description = "It no longer replaces the installed list"),
              (status = 422, description = "It no longer verifies")))]
pub(super) async fn approve_pending(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let installed = updates::approve(&connector).await.map_err(api_error)?;
    Ok(HttpResponse::Ok().json(json!({ "trust_list": installed.list })))
}

/// Drops the pending trust list and records the rejection.
#[utoipa::path(post, path = "/api/v1/trust-list/pending/reject", security(("admin" = [])),
    responses((status = 200, description = "Dropped"), (status = 404, description = "None waits for approval")))]
pub(super) async fn reject_pending(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let rejected = updates::reject(&connector).await.map_err(api_error)?;
    Ok(HttpResponse::Ok().json(json!({ "rejected": rejected.view() })))
}

/// The API's answer to an update that was not taken.
fn api_error(error: UpdateError) -> ApiError {
    match error {
        UpdateError::Trust(
            e @ (crate::trust::TrustError::DataDir(_) | crate::trust::TrustError::Interrupted(_)),
        ) => ApiError::internal(e),
        UpdateError::Trust(e) => ApiError::Unprocessable(e.to_string()),
        UpdateError::NothingPending => ApiError::NotFound(error.to_string()),
        UpdateError::OtherDataSpace { .. } | UpdateError::NoLongerNewer(_) => {
            ApiError::Conflict(error.to_string())
        }
        UpdateError::Audit(e) => e.into(),
    }
}
