//! The management API of credential issuance: as issuer, the requests received and the
//! operator's decisions, the registry of organisations and the issuer's settings; as holder,
//! the requests this connector sends (`symbolon join`).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use symbolon_identity::Did;

use super::parse_body;
use crate::api::admin::Admin;
use crate::api::error::ApiError;
use crate::context::Connector;
use crate::dcp::holder::{self, DeliveryError, OnboardingError};
use crate::dcp::issuer;
use crate::domain::{
    IssuanceRequest, IssuanceStatus, IssuerConfig, Onboarding, OrganisationRegistry,
};
use crate::issuer::StatusRegistry;

/// Longest a call waits for an onboarding request's outcome.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// The first pause before asking the issuer again for a decision; it doubles after each ask,
/// up to [`LONGEST_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(10);
/// The longest pause between two asks.
const LONGEST_POLL: Duration = Duration::from_millis(200);

/// Routes of issuance.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/issuer/requests", web::get().to(list_requests))
        .route("/issuer/requests/{id}", web::get().to(get_request))
        .route("/issuer/requests/{id}/approve", web::post().to(approve))
        .route("/issuer/requests/{id}/reject", web::post().to(reject))
        .route("/issuer/requests/{id}/deliver", web::post().to(deliver))
        .route("/issuer/registry", web::get().to(get_registry))
        .route("/issuer/registry", web::put().to(put_registry))
        .route("/issuer/config", web::get().to(get_config))
        .route("/issuer/config", web::put().to(put_config))
        .route("/onboarding", web::get().to(list_onboarding))
        .route("/onboarding", web::post().to(start_onboarding))
        .route("/onboarding/{pid}", web::get().to(get_onboarding))
        .route("/onboarding/{pid}/fetch", web::post().to(fetch_onboarding));
}

/// Why the operator rejects a request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RejectRequest {
    /// The reason, sent to the holder.
    pub reason: String,
}

/// A credential to ask an issuer for.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOnboarding {
    /// The issuer service's URL (`<authority>/dcp/issuer`; a bare base URL gets that path), or
    /// the authority's DID, whose DID document names its `IssuerService`.
    pub authority_url: String,
    /// The credential type (e.g. `DataSpaceMembershipCredential`).
    pub credential_type: String,
    /// Seconds to wait for the outcome (0: answer at once; at most 60).
    #[serde(default)]
    pub wait_seconds: u64,
}

impl From<OnboardingError> for ApiError {
    fn from(error: OnboardingError) -> Self {
        match error {
            OnboardingError::Send(_) | OnboardingError::Answer(_) => {
                ApiError::BadGateway(error.to_string())
            }
            OnboardingError::NotOffered { .. }
            | OnboardingError::NoPublicUrl
            | OnboardingError::Authority { .. } => ApiError::Unprocessable(error.to_string()),
            OnboardingError::NotFound(_) => ApiError::NotFound(error.to_string()),
            OnboardingError::Fetched(DeliveryError::Store(error)) => ApiError::internal(error),
            OnboardingError::Fetched(DeliveryError::Audit(error)) => error.into(),
            OnboardingError::Fetched(_) => ApiError::BadGateway(error.to_string()),
            OnboardingError::Store(error) => ApiError::internal(error),
        }
    }
}

/// The issuance requests received, by issuer pid.
#[utoipa::path(get, path = "/api/v1/issuer/requests", security(("admin" = [])),
    responses((status = 200, body = [IssuanceRequest])))]
pub(super) async fn list_requests(
    _: Admin,
    cx: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let requests = cx.store().blocking(|s| s.issuance.list()).await?;
    Ok(HttpResponse::Ok().json(requests))
}

/// One issuance request.
#[utoipa::path(get, path = "/api/v1/issuer/requests/{id}", security(("admin" = [])),
    responses((status = 200, body = IssuanceRequest), (status = 404, description = "No such request")))]
pub(super) async fn get_request(
    _: Admin,
    cx: web::Data<Connector>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = id.clone();
    let request = cx
        .store()
        .blocking(move |s| s.issuance.get(&key))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no issuance request `{id}`")))?;
    Ok(HttpResponse::Ok().json(request))
}

/// Approves a received request: its credentials are issued (with status entries) and
/// delivered.
#[utoipa::path(post, path = "/api/v1/issuer/requests/{id}/approve", security(("admin" = [])),
    responses((status = 200, body = IssuanceRequest), (status = 404, description = "No such request"),
              (status = 409, description = "Decided already")))]
pub(super) async fn approve(
    _: Admin,
    cx: web::Data<Connector>,
    status: web::Data<StatusRegistry>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let request = issuer::approve(&cx, &status, &id).await?;
    Ok(HttpResponse::Ok().json(request))
}

/// Rejects a received request: `{"reason"}`, sent to the holder.
#[utoipa::path(post, path = "/api/v1/issuer/requests/{id}/reject", security(("admin" = [])),
    request_body = RejectRequest,
    responses((status = 200, body = IssuanceRequest), (status = 404, description = "No such request"),
              (status = 409, description = "Decided already")))]
pub(super) async fn reject(
    _: Admin,
    cx: web::Data<Connector>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: RejectRequest = parse_body(&body)?;
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(ApiError::BadRequest(
            "field `reason`: give 1 to 2000 characters".into(),
        ));
    }
    let request = issuer::reject(&cx, &id, reason).await?;
    Ok(HttpResponse::Ok().json(request))
}

/// Delivers a decided request's credentials (or rejection) to the holder again; the record
/// says whether they arrived (`delivery`).
#[utoipa::path(post, path = "/api/v1/issuer/requests/{id}/deliver", security(("admin" = [])),
    responses((status = 200, body = IssuanceRequest), (status = 404, description = "No such request"),
              (status = 409, description = "Not decided yet")))]
pub(super) async fn deliver(
    _: Admin,
    cx: web::Data<Connector>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(crate::dcp::redelivery::redeliver(&cx, &id).await?))
}

/// The registry of organisations.
#[utoipa::path(get, path = "/api/v1/issuer/registry", security(("admin" = [])),
    responses((status = 200, body = OrganisationRegistry)))]
pub(super) async fn get_registry(
    _: Admin,
    cx: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let registry = cx.store().blocking(|s| s.issuance.registry()).await?;
    Ok(HttpResponse::Ok().json(registry))
}

/// Installs the registry of organisations: `{"organisations": {"<DID>": {legalName,
/// registrationNumber, role, dataSpaceId?, trialId?, siteId?}}}`.
#[utoipa::path(put, path = "/api/v1/issuer/registry", security(("admin" = [])),
    request_body = OrganisationRegistry,
    responses((status = 200, body = OrganisationRegistry), (status = 400, description = "Malformed")))]
pub(super) async fn put_registry(
    _: Admin,
    cx: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let registry: OrganisationRegistry = parse_body(&body)?;
    for (did, organisation) in &registry.organisations {
        if let Err(error) = Did::parse(did) {
            return Err(ApiError::BadRequest(format!(
                "field `organisations`: `{did}` is no DID: {error}"
            )));
        }
        if !symbolon_identity::credential::ROLES.contains(&organisation.role.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "field `organisations/{did}/role`: `{}` is not one of {}",
                organisation.role,
                symbolon_identity::credential::ROLES.join(", ")
            )));
        }
        crate::dcp::issuer::permits::check(did, organisation).map_err(ApiError::BadRequest)?;
    }
    let stored = registry.clone();
    cx.store()
        .blocking(move |s| s.issuance.set_registry(&stored))
        .await?;
    Ok(HttpResponse::Ok().json(registry))
}

/// The issuer's settings.
#[utoipa::path(get, path = "/api/v1/issuer/config", security(("admin" = [])),
    responses((status = 200, body = IssuerConfig)))]
pub(super) async fn get_config(
    _: Admin,
    cx: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let config = cx.store().blocking(|s| s.issuance.config()).await?;
    Ok(HttpResponse::Ok().json(config))
}

/// Sets the issuer's settings: `{"approval": "auto"|"manual", "policy": "<policy text>"}`; the
/// policy must check.
#[utoipa::path(put, path = "/api/v1/issuer/config", security(("admin" = [])),
    request_body = IssuerConfig,
    responses((status = 200, body = IssuerConfig),
              (status = 422, description = "The policy does not check; `diagnostics` lists why")))]
pub(super) async fn put_config(
    _: Admin,
    cx: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let config: IssuerConfig = parse_body(&body)?;
    if let Some(text) = &config.policy {
        if let Err(diagnostics) = issuer::check_policy(text) {
            return Err(ApiError::Rejected {
                message: "the issuance policy does not check".into(),
                details: json!({ "diagnostics": diagnostics.to_json(), "rendered": diagnostics.render() }),
            });
        }
    }
    let stored = config.clone();
    cx.store()
        .blocking(move |s| s.issuance.set_config(&stored))
        .await?;
    Ok(HttpResponse::Ok().json(config))
}

/// The credential requests this connector sent, as holder.
#[utoipa::path(get, path = "/api/v1/onboarding", security(("admin" = [])),
    responses((status = 200, body = [Onboarding])))]
pub(super) async fn list_onboarding(
    _: Admin,
    cx: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let all = cx.store().blocking(|s| s.onboarding.list()).await?;
    Ok(HttpResponse::Ok().json(all))
}

/// One request this connector sent, its status asked of the issuer again while undecided.
#[utoipa::path(get, path = "/api/v1/onboarding/{pid}", security(("admin" = [])),
    responses((status = 200, body = Onboarding), (status = 404, description = "No such request")))]
pub(super) async fn get_onboarding(
    _: Admin,
    cx: web::Data<Connector>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(holder::refresh(&cx, &pid).await?))
}

/// Fetches from the issuer what it decided on one request this connector sent (for when the
/// issuer's deliveries missed this connector's Storage API), and stores it as a delivery.
#[utoipa::path(post, path = "/api/v1/onboarding/{pid}/fetch", security(("admin" = [])),
    responses((status = 200, body = Onboarding), (status = 404, description = "No such request"),
        (status = 502, description = "The issuer cannot be reached, or its answer is refused")))]
pub(super) async fn fetch_onboarding(
    _: Admin,
    cx: web::Data<Connector>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(holder::fetch(&cx, &pid).await?))
}

/// Asks an issuer for a credential: `{authority_url, credential_type, wait_seconds}`; answers
/// the request once decided or when the wait is over (then it is `RECEIVED`).
#[utoipa::path(post, path = "/api/v1/onboarding", security(("admin" = [])),
    request_body = NewOnboarding,
    responses((status = 200, body = Onboarding), (status = 502, description = "The issuer cannot be reached or refused"),
              (status = 422, description = "The issuer does not offer the credential")))]
pub(super) async fn start_onboarding(
    _: Admin,
    cx: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let new: NewOnboarding = parse_body(&body)?;
    let mut url = if new.authority_url.starts_with("did:") {
        holder::issuer_service(&cx, &new.authority_url).await?
    } else {
        new.authority_url.clone()
    };
    url = url.trim_end_matches('/').to_owned();
    if !url.ends_with(crate::dcp::ISSUER_PATH) {
        url.push_str(crate::dcp::ISSUER_PATH);
    }
    let mut onboarding = holder::request(&cx, &url, &new.credential_type).await?;
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(new.wait_seconds).min(MAX_WAIT);
    // An issuer deciding by policy answers within milliseconds: ask again soon, then less
    // often.
    let mut pause = FIRST_POLL;
    while onboarding.status == IssuanceStatus::Received && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_POLL);
        onboarding = holder::refresh(&cx, &onboarding.holder_pid).await?;
    }
    Ok(HttpResponse::Ok().json(onboarding))
}
