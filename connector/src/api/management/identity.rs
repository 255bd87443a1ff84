//! The management API's view of this connector's identity: its DID, its URL, and each held
//! credential checked again now (signature, trust list, status, validity period), so that an
//! operator sees which credentials still stand and when they expire.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::Value;
use symbolon_identity::Input;

use crate::api::admin::Admin;
use crate::api::error::ApiError;
use crate::context::Connector;
use crate::domain::HeldCredential;

/// Routes of the identity view.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/identity", web::get().to(get_identity));
}

/// This connector's identity and held credentials, each verified now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentityView {
    /// The connector's DID.
    pub did: String,
    /// The base URL it serves at.
    pub url: String,
    /// Whether a trust list is installed (without one, no credential's issuer is trusted).
    pub trust_list: bool,
    /// The held credentials.
    pub credentials: Vec<CheckedCredential>,
}

/// A held credential and the result of verifying it now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckedCredential {
    /// Its wallet key.
    pub key: String,
    /// Its id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its types other than VerifiableCredential.
    pub types: Vec<String>,
    /// Its issuer.
    pub issuer: String,
    /// `vc+jwt` or the Data Integrity cryptosuite.
    pub format: String,
    /// When it was stored (RFC 3339).
    pub stored_at: String,
    /// `validFrom` of the credential, when it states one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// `validUntil` of the credential, when it states one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// Whether it verifies now.
    pub verified: bool,
    /// Why not, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The connector's DID, URL and held credentials, each verified now.
#[utoipa::path(get, path = "/api/v1/identity", security(("admin" = [])),
    responses((status = 200, body = IdentityView), (status = 401, description = "No or wrong admin token")))]
pub(super) async fn get_identity(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let held = connector.store().blocking(|s| s.credentials.list()).await?;
    let verifier = connector.verification().verifier();
    let mut credentials = Vec::with_capacity(held.len());
    for credential in held {
        let report = verifier
            .verify_credential(&Input::from_value(credential.credential.clone()))
            .await;
        credentials.push(checked(credential, report));
    }
    Ok(HttpResponse::Ok().json(IdentityView {
        did: connector.did().to_owned(),
        url: connector.public_url().to_owned(),
        trust_list: connector.verification().trust.installed().is_some(),
        credentials,
    }))
}

fn checked(held: HeldCredential, report: symbolon_identity::Report) -> CheckedCredential {
    let field = |name: &str| {
        report
            .document
            .as_ref()
            .and_then(|d| d.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    CheckedCredential {
        valid_from: field("validFrom"),
        valid_until: field("validUntil"),
        verified: report.verified,
        error: report.error.clone(),
        key: held.key,
        id: held.id,
        types: held.types,
        issuer: held.issuer,
        format: held.format,
        stored_at: held.stored_at,
    }
}
