//! The management API under `/api/v1`: offers, held credentials, events and peers here;
//! negotiations and agreements in [`negotiations`]; transfer processes in [`transfers`]; the
//! trust list and its updates in [`trust_list`]. Every call needs
//! `Authorization: Bearer <admin token>`; the OpenAPI document at `/api/v1/openapi.json` is
//! generated from this code ([`openapi`]).

pub mod identity;
pub mod issuance;
pub mod negotiations;
pub mod openapi;
pub mod policies;
pub mod session_events;
pub mod sessions;
pub mod transfers;
pub mod trust_list;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use symbolon_audit::EventKind;
use symbolon_identity::Input;

use super::admin::Admin;
use super::error::ApiError;
pub(super) use super::input::parse_body;
use super::input::Query;
use crate::catalog::PolicyError;
use crate::context::Connector;
use crate::domain::{now, DataSource, Decision, HeldCredential, InputBinding, Offer, OfferKind};

/// Routes of the management API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .service(web::resource("/openapi.json").get(openapi::serve))
            .service(web::resource("/offers").get(list_offers).post(create_offer))
            .service(
                web::resource("/offers/{id}")
                    .get(get_offer)
                    .delete(delete_offer),
            )
            .service(
                web::resource("/credentials")
                    .get(list_credentials)
                    .post(store_credential),
            )
            .service(web::resource("/credentials/{id}").delete(remove_credential))
            .configure(negotiations::configure)
            .configure(transfers::configure)
            .configure(sessions::configure)
            .configure(session_events::configure)
            .configure(identity::configure)
            .configure(policies::configure)
            .configure(issuance::configure)
            .configure(trust_list::configure)
            .service(web::resource("/events").get(list_events))
            .service(web::resource("/peers").get(list_peers))
            .service(web::resource("/catalog/federated").get(federated_catalog)),
    );
}

/// A new offer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewOffer {
    /// Its id (letters, digits, `-`, `_`, `.`, `:`); policies name it in `on offer "<id>"`.
    pub id: String,
    /// A title.
    pub title: String,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// `dataset` (default) or `computation`.
    #[serde(default)]
    pub kind: Option<OfferKind>,
    /// The action an agreement grants (default `use`, or `join_computation` for a computation).
    #[serde(default)]
    pub action: Option<String>,
    /// The usage policy text.
    pub policy: String,
    /// Where a dataset's data comes from, served to consumers as `HttpData-PULL`: `{"file":
    /// "<path>"}` or `{"directory": "<path>"}` under the data directory's `data/` folder, or
    /// `{"url": "<http(s) URL>"}` the provider relays.
    #[serde(default)]
    pub source: Option<DataSource>,
    /// Where a computation's data lives here, for the MPC sessions run on it: `{"file":
    /// "<csv under data/>", "columns": {"<program column>": "<CSV header>"}, "ids": "<CSV
    /// header of the row identifiers>"}`. Never published.
    #[serde(default)]
    pub binding: Option<InputBinding>,
    /// Who answers requests for it: `auto` (default: the policy decides) or `manual` (the
    /// operator answers from the management API or the CLI).
    #[serde(default)]
    pub decision: Decision,
    /// The European Health Data Space profile (`{}` for every standing rule, or `{"without":
    /// ["advertising-marketing"]}` to drop one, with a warning).
    #[serde(default)]
    pub health: Option<crate::health::HealthTerms>,
}

/// A credential to keep: `{"verifiableCredential": <JWT string or JSON document>}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CredentialToStore {
    /// The credential.
    #[serde(rename = "verifiableCredential")]
    #[schema(value_type = Object)]
    pub verifiable_credential: Value,
}

/// A page of a list: `from` (inclusive) and `to` (exclusive).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct Page {
    /// The first index (default 0).
    pub from: Option<u64>,
    /// One past the last index (default: `from` + 1000, or the end).
    pub to: Option<u64>,
}

fn valid_offer_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// Lists the offers.
#[utoipa::path(get, path = "/api/v1/offers", security(("admin" = [])),
    responses((status = 200, body = [Offer]), (status = 401, description = "No or wrong admin token")))]
async fn list_offers(_: Admin, connector: web::Data<Connector>) -> Result<HttpResponse, ApiError> {
    let offers = connector.store().blocking(|s| s.offers.list()).await?;
    Ok(HttpResponse::Ok().json(offers))
}

/// Creates an offer; its policy must check.
#[utoipa::path(post, path = "/api/v1/offers", security(("admin" = [])), request_body = NewOffer,
    responses((status = 201, body = Offer), (status = 400, description = "Malformed request"),
              (status = 409, description = "The id is taken"),
              (status = 422, description = "The policy does not check; `diagnostics` lists why"),
              (status = 401, description = "No or wrong admin token")))]
async fn create_offer(
    _: Admin,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let new: NewOffer = parse_body(&body)?;
    if !valid_offer_id(&new.id) {
        return Err(ApiError::BadRequest(
            "field `id`: use 1 to 200 letters, digits, `-`, `_`, `.` or `:`".into(),
        ));
    }
    let schema = connector.offers().schema().clone();
    let kind = new.kind.unwrap_or(OfferKind::Dataset);
    let action = new
        .action
        .unwrap_or_else(|| kind.default_action().to_owned());
    if !schema.has_action(&action) {
        return Err(ApiError::BadRequest(format!(
            "field `action`: `{action}` is not a policy action; known: {}",
            schema.actions().collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some(source) = new.source.clone() {
        if kind != OfferKind::Dataset {
            return Err(ApiError::BadRequest(
                "field `source`: only a dataset offer serves data".into(),
            ));
        }
        let root = connector.data_root().to_owned();
        web::block(move || crate::dataplane::source::check(&source, &root))
            .await?
            .map_err(|reason| ApiError::BadRequest(format!("field `source`: {reason}")))?;
    }
    if let Some(binding) = new.binding.clone() {
        if kind != OfferKind::Computation {
            return Err(ApiError::BadRequest(
                "field `binding`: only a computation offer binds input data".into(),
            ));
        }
        let root = connector.data_root().to_owned();
        web::block(move || crate::session::binding::check(&binding, &root))
            .await?
            .map_err(|e| ApiError::BadRequest(format!("field `binding`: {e}")))?;
    }
    let warnings = match &new.health {
        Some(terms) => terms.check().map_err(|e| match e {
            crate::health::HealthTermsError::Dcat(error) => ApiError::Invalid {
                message: error.to_string(),
                path: error.pointer(),
            },
            other => ApiError::BadRequest(other.to_string()),
        })?,
        None => Vec::new(),
    };
    if new.health.as_ref().is_some_and(|t| t.dcat.is_some()) && new.description.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "field `description`: a dataset described by HealthDCAT-AP (`health.dcat`) needs a \
             description"
                .into(),
        ));
    }
    let offer = Offer {
        id: new.id,
        title: new.title,
        description: new.description,
        kind,
        action,
        policy: new.policy,
        source: new.source,
        binding: new.binding,
        decision: new.decision,
        health: new.health,
        created: now(),
    };
    // Compiled once here, kept for the catalog and the decisions that follow.
    match connector.offers().compiled(&offer) {
        Ok(_) => {}
        Err(PolicyError::Check { offer, diagnostics }) => {
            return Err(ApiError::Rejected {
                message: format!("the policy of offer `{offer}` does not check"),
                details: json!({ "diagnostics": diagnostics.to_json(), "rendered": diagnostics.render() }),
            })
        }
        Err(error @ PolicyError::Export { .. }) => {
            return Err(ApiError::Rejected {
                message: error.to_string(),
                details: json!({}),
            })
        }
    }
    let stored = offer.clone();
    if !connector
        .store()
        .blocking(move |s| s.offers.create(&stored))
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "an offer `{}` exists already",
            offer.id
        )));
    }
    let audit = connector.audit();
    let recorded = audit
        .record(audit.event(EventKind::OfferCreated, &offer.id, "ok", Value::Null))
        .await;
    if let Err(error) = recorded {
        // The offer is published only with its record: take it back.
        let id = offer.id.clone();
        connector
            .store()
            .blocking(move |s| s.offers.delete(&id))
            .await?;
        return Err(error.into());
    }
    if connector.network().peers().node().is_some() {
        crate::p2p::announce(&connector, &offer).await?;
    }
    let mut answer = serde_json::to_value(&offer).map_err(ApiError::internal)?;
    if !warnings.is_empty() {
        answer["warnings"] = json!(warnings);
    }
    Ok(HttpResponse::Created().json(answer))
}

/// One offer.
#[utoipa::path(get, path = "/api/v1/offers/{id}", security(("admin" = [])),
    responses((status = 200, body = Offer), (status = 404, description = "No such offer")))]
async fn get_offer(
    _: Admin,
    connector: web::Data<Connector>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = id.clone();
    let offer = connector
        .store()
        .blocking(move |s| s.offers.get(&key))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no offer `{id}`")))?;
    Ok(HttpResponse::Ok().json(offer))
}

/// Deletes an offer (agreements already made stay).
#[utoipa::path(delete, path = "/api/v1/offers/{id}", security(("admin" = [])),
    responses((status = 204), (status = 404, description = "No such offer")))]
async fn delete_offer(
    _: Admin,
    connector: web::Data<Connector>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = id.clone();
    if !connector
        .store()
        .blocking(move |s| s.offers.delete(&key))
        .await?
    {
        return Err(ApiError::NotFound(format!("no offer `{id}`")));
    }
    connector.offers().forget(&id);
    Ok(HttpResponse::NoContent().finish())
}

/// Lists the credentials this connector holds.
#[utoipa::path(get, path = "/api/v1/credentials", security(("admin" = [])),
    responses((status = 200, body = [HeldCredential])))]
async fn list_credentials(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let held = connector.store().blocking(|s| s.credentials.list()).await?;
    Ok(HttpResponse::Ok().json(held))
}

/// Verifies and stores a credential issued to this connector:
/// `{"verifiableCredential": <JWT string or JSON>}`.
#[utoipa::path(post, path = "/api/v1/credentials", security(("admin" = [])), request_body = CredentialToStore,
    responses((status = 201, body = HeldCredential), (status = 422, description = "The credential does not verify or is not for this connector")))]
async fn store_credential(
    _: Admin,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body: CredentialToStore = parse_body(&body)?;
    let input = Input::from_value(body.verifiable_credential);
    let report = connector
        .verification()
        .verifier()
        .verify_credential(&input)
        .await;
    let document = match (report.verified, &report.document) {
        (true, Some(document)) => document.clone(),
        _ => {
            return Err(ApiError::Unprocessable(format!(
                "the credential does not verify: {}",
                report.error.unwrap_or_default()
            )))
        }
    };
    let subjects = symbolon_identity::credential::subject_ids(&document);
    if subjects.is_empty() || subjects.iter().any(|s| *s != connector.did()) {
        return Err(ApiError::Unprocessable(format!(
            "the credential is about `{}`, not this connector",
            subjects.join(", ")
        )));
    }
    let held = HeldCredential::new(&input, &document, report.format.as_deref().unwrap_or(""));
    // Its did:web issuer's document, just resolved to check it, is kept for the audit bundle.
    connector
        .audit()
        .capture_documents(&held.credential)
        .await?;
    let stored = held.clone();
    connector
        .store()
        .blocking(move |s| s.credentials.put(&stored))
        .await?;
    Ok(HttpResponse::Created().json(held))
}

/// Removes a held credential, named by its wallet key or its id (one its issuer revoked, say):
/// it is no longer presented.
#[utoipa::path(delete, path = "/api/v1/credentials/{id}", security(("admin" = [])),
    params(("id" = String, Path, description = "The credential's wallet key or id")),
    responses((status = 204), (status = 404, description = "No such credential in the wallet")))]
async fn remove_credential(
    _: Admin,
    connector: web::Data<Connector>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let name = id.into_inner();
    let wanted = name.clone();
    let removed = connector
        .store()
        .blocking(move |s| {
            let held = s.credentials.list()?;
            match held.iter().find(|c| c.is_named(&wanted)) {
                Some(credential) => s.credentials.remove(&credential.key),
                None => Ok(false),
            }
        })
        .await?;
    if !removed {
        return Err(ApiError::NotFound(format!(
            "no credential `{}` in the wallet",
            name.chars().take(200).collect::<String>()
        )));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// A page of the event record, oldest first: `{from, to, total, events}` (at most 1000 events a
/// page).
#[utoipa::path(get, path = "/api/v1/events", security(("admin" = [])), params(Page),
    responses((status = 200, description = "`{from, to, total, events}`")))]
async fn list_events(
    _: Admin,
    connector: web::Data<Connector>,
    page: Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let total = connector.audit().log().len();
    let from = page.from.unwrap_or(0);
    let to = page
        .to
        .unwrap_or(u64::MAX)
        .min(total)
        .min(from.saturating_add(symbolon_audit::store::MAX_ENTRIES_PER_READ));
    if from > to {
        return Err(ApiError::BadRequest(format!(
            "`from` ({from}) is beyond `to` or the record's size ({total})"
        )));
    }
    let trail = connector.audit().clone();
    let events = web::block(move || trail.events(from, to)).await??;
    Ok(
        HttpResponse::Ok()
            .json(json!({ "from": from, "to": to, "total": total, "events": events })),
    )
}

/// The peers this connector knows: `[{peer_id, did, roles, addresses, last_seen,
/// authenticated, reason, reachable}]`.
#[utoipa::path(get, path = "/api/v1/peers", security(("admin" = [])),
    responses((status = 200, description = "The peers"), (status = 404, description = "Not on the peer network")))]
async fn list_peers(_: Admin, connector: web::Data<Connector>) -> Result<HttpResponse, ApiError> {
    let node = connector
        .network()
        .peers()
        .node()
        .ok_or_else(not_on_network)?;
    Ok(HttpResponse::Ok().json(node.peers()))
}

/// The offers authenticated peers announced.
#[utoipa::path(get, path = "/api/v1/catalog/federated", security(("admin" = [])),
    responses((status = 200, description = "The announced offers"), (status = 404, description = "Not on the peer network")))]
async fn federated_catalog(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let node = connector
        .network()
        .peers()
        .node()
        .ok_or_else(not_on_network)?;
    Ok(HttpResponse::Ok().json(node.federated_catalog()))
}

fn not_on_network() -> ApiError {
    ApiError::NotFound(
        "this connector is not on the peer network (start `serve` with `--p2p`)".into(),
    )
}
