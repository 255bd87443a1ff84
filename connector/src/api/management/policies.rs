//! The management API's plain-language reading of a usage policy:
//! `POST /api/v1/policies/reading {"policy": "<text>"}` answers `{"reading": [<one sentence per
//! policy>]}`, or 422 with the checker's `diagnostics` when the policy does not check (as
//! creating an offer would).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::parse_body;
use crate::api::admin::Admin;
use crate::api::error::ApiError;
use crate::context::Connector;

/// Routes of policy readings.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/policies/reading", web::post().to(read_policy));
}

/// A policy to read.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PolicyText {
    /// The usage policy text.
    pub policy: String,
}

/// The policy in plain words, one sentence per policy, once it checks against the data space's
/// schema.
#[utoipa::path(post, path = "/api/v1/policies/reading", security(("admin" = [])), request_body = PolicyText,
    responses((status = 200, description = "`{reading: [sentence]}`"),
              (status = 422, description = "The policy does not check; `diagnostics` lists why")))]
pub(super) async fn read_policy(
    _: Admin,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let text: PolicyText = parse_body(&body)?;
    let schema = connector.offers().schema().clone();
    let set = web::block(move || {
        symbolon_policy::parse_and_check(&[("policy", &text.policy)], &schema)
    })
    .await?
    .map_err(|diagnostics| ApiError::Rejected {
        message: "the policy does not check".into(),
        details: json!({ "diagnostics": diagnostics.to_json(), "rendered": diagnostics.render() }),
    })?;
    Ok(HttpResponse::Ok().json(json!({ "reading": symbolon_policy::describe(&set) })))
}
