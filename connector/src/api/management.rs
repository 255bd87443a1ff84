//! The management API under `/api/v1`: offers, held credentials, negotiations, agreements, the
//! trust list and the event record. Every call needs `Authorization: Bearer <admin token>`;
//! the OpenAPI document at `/api/v1/openapi.json` is generated from this code.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use symbolon_identity::Input;

use super::error::ApiError;
use super::vc::{json_body, require_admin, verifier};
use super::AppState;
use crate::catalog;
use crate::negotiation::{DspError, OfferContract, StartError, StartNegotiation};
use crate::store::agreements::Agreement;
use crate::store::credentials::HeldCredential;
use crate::store::negotiations::Negotiation;
use crate::store::offers::{Offer, OfferKind};
use crate::store::{Event, StoreError};

/// Longest a `POST /api/v1/negotiations` waits for the outcome.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Routes of the management API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/openapi.json", web::get().to(openapi))
            .route("/offers", web::get().to(list_offers))
            .route("/offers", web::post().to(create_offer))
            .route("/offers/{id}", web::get().to(get_offer))
            .route("/offers/{id}", web::delete().to(delete_offer))
            .route("/credentials", web::get().to(list_credentials))
            .route("/credentials", web::post().to(store_credential))
            .route("/negotiations", web::get().to(list_negotiations))
            .route("/negotiations", web::post().to(start_negotiation))
            .route("/negotiations/offers", web::post().to(offer_contract))
            .route("/negotiations/{pid}", web::get().to(get_negotiation))
            .route("/negotiations/{pid}/accept", web::post().to(accept_offer))
            .route(
                "/negotiations/{pid}/terminate",
                web::post().to(terminate_negotiation),
            )
            .route("/agreements", web::get().to(list_agreements))
            .route("/agreements/{id}", web::get().to(get_agreement))
            .route("/trust-list", web::get().to(get_trust_list))
            .route("/trust-list", web::put().to(put_trust_list))
            .route("/events", web::get().to(list_events))
            .route("/peers", web::get().to(list_peers))
            .route("/catalog/federated", web::get().to(federated_catalog)),
    );
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::Internal(error.to_string())
    }
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
}

/// A negotiation to start as consumer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewNegotiation {
    /// What to negotiate.
    #[serde(flatten)]
    pub start: StartNegotiation,
    /// How long to wait for FINALIZED or TERMINATED before answering (seconds, at most 60;
    /// default 30; 0 answers at once).
    #[serde(default)]
    pub wait_seconds: Option<u64>,
}

/// A credential to keep: `{"verifiableCredential": <JWT string or JSON document>}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CredentialToStore {
    /// The credential.
    #[serde(rename = "verifiableCredential")]
    #[schema(value_type = Object)]
    pub verifiable_credential: Value,
}

/// A trust list to install.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TrustListToInstall {
    /// The authority's TrustListCredential, a JWT.
    pub credential: String,
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value = json_body(body)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::BadRequest(format!("field `{path}`: {}", e.into_inner()))
    })
}

fn valid_offer_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// The OpenAPI 3 document of the management API.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "The OpenAPI document")))]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// Lists the offers.
#[utoipa::path(get, path = "/api/v1/offers", security(("admin" = [])),
    responses((status = 200, body = [Offer]), (status = 401, description = "No or wrong admin token")))]
async fn list_offers(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    Ok(HttpResponse::Ok().json(state.store.offers.list()?))
}

/// Creates an offer; its policy must check.
#[utoipa::path(post, path = "/api/v1/offers", security(("admin" = [])), request_body = NewOffer,
    responses((status = 201, body = Offer), (status = 400, description = "Malformed request"),
              (status = 409, description = "The id is taken"),
              (status = 422, description = "The policy does not check; `diagnostics` lists why"),
              (status = 401, description = "No or wrong admin token")))]
async fn create_offer(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let new: NewOffer = parse_body(&body)?;
    if !valid_offer_id(&new.id) {
        return Err(ApiError::BadRequest(
            "field `id`: use 1 to 200 letters, digits, `-`, `_`, `.` or `:`".into(),
        ));
    }
    let schema = state.negotiator.schema();
    if let Err(diagnostics) = catalog::check_policy(&new.id, &new.policy, schema) {
        return Err(ApiError::Rejected {
            message: format!("the policy of offer `{}` does not check", new.id),
            details: json!({ "diagnostics": diagnostics.to_json(), "rendered": diagnostics.render() }),
        });
    }
    let kind = new.kind.unwrap_or(OfferKind::Dataset);
    let action = new.action.unwrap_or_else(|| {
        match kind {
            OfferKind::Dataset => "use",
            OfferKind::Computation => "join_computation",
        }
        .to_owned()
    });
    if !schema.has_action(&action) {
        return Err(ApiError::BadRequest(format!(
            "field `action`: `{action}` is not a policy action; known: {}",
            schema.actions().collect::<Vec<_>>().join(", ")
        )));
    }
    let offer = Offer {
        id: new.id,
        title: new.title,
        description: new.description,
        kind,
        action,
        policy: new.policy,
        created: symbolon_identity::credential::format_time(chrono::Utc::now()),
    };
    if let Err(error) = catalog::odrl_offer(&offer, schema) {
        return Err(ApiError::Rejected {
            message: error.to_string(),
            details: json!({}),
        });
    }
    if !state.store.offers.create(&offer).await? {
        return Err(ApiError::Conflict(format!(
            "an offer `{}` exists already",
            offer.id
        )));
    }
    state
        .negotiator
        .record(Event::now(
            "offer.created",
            state.identity.did.as_str(),
            &offer.id,
            "ok",
            Value::Null,
        ))
        .await;
    if let Some(node) = state.peers.get() {
        crate::p2p::announce(node, &state.negotiator, &offer).await;
    }
    Ok(HttpResponse::Created().json(offer))
}

/// One offer.
#[utoipa::path(get, path = "/api/v1/offers/{id}", security(("admin" = [])),
    responses((status = 200, body = Offer), (status = 404, description = "No such offer")))]
async fn get_offer(
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let offer = state
        .store
        .offers
        .get(&id)?
        .ok_or_else(|| ApiError::NotFound(format!("no offer `{id}`")))?;
    Ok(HttpResponse::Ok().json(offer))
}

/// Deletes an offer (agreements already made stay).
#[utoipa::path(delete, path = "/api/v1/offers/{id}", security(("admin" = [])),
    responses((status = 204), (status = 404, description = "No such offer")))]
async fn delete_offer(
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    if !state.store.offers.delete(&id).await? {
        return Err(ApiError::NotFound(format!("no offer `{id}`")));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Lists the credentials this connector holds.
#[utoipa::path(get, path = "/api/v1/credentials", security(("admin" = [])),
    responses((status = 200, body = [HeldCredential])))]
async fn list_credentials(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    Ok(HttpResponse::Ok().json(state.store.credentials.list()?))
}

/// Verifies and stores a credential issued to this connector:
/// `{"verifiableCredential": <JWT string or JSON>}`.
#[utoipa::path(post, path = "/api/v1/credentials", security(("admin" = [])), request_body = CredentialToStore,
    responses((status = 201, body = HeldCredential), (status = 422, description = "The credential does not verify or is not for this connector")))]
async fn store_credential(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let body = json_body(&body)?;
    let credential = body
        .get("verifiableCredential")
        .cloned()
        .ok_or_else(|| ApiError::BadRequest("missing field `verifiableCredential`".into()))?;
    let input = Input::from_value(credential);
    let report = verifier(&state).verify_credential(&input).await;
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
    if subjects.is_empty() || subjects.iter().any(|s| *s != state.identity.did.as_str()) {
        return Err(ApiError::Unprocessable(format!(
            "the credential is about `{}`, not this connector",
            subjects.join(", ")
        )));
    }
    let held = HeldCredential::new(
        input_value(&input),
        &document,
        report.format.as_deref().unwrap_or(""),
    );
    state.store.credentials.put(&held).await?;
    Ok(HttpResponse::Created().json(held))
}

fn input_value(input: &Input) -> Value {
    match input {
        Input::Jwt(token) => Value::String(token.clone()),
        Input::Json(value) => value.clone(),
    }
}

/// Lists the negotiations.
#[utoipa::path(get, path = "/api/v1/negotiations", security(("admin" = [])),
    responses((status = 200, body = [Negotiation])))]
async fn list_negotiations(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    Ok(HttpResponse::Ok().json(state.store.negotiations.list()?))
}

/// Starts a negotiation as consumer and waits for its outcome (FINALIZED or TERMINATED, with
/// the provider's reasons), or answers its state when `wait_seconds` passes.
#[utoipa::path(post, path = "/api/v1/negotiations", security(("admin" = [])), request_body = NewNegotiation,
    responses((status = 200, body = Negotiation), (status = 400, description = "Malformed request"),
              (status = 502, description = "The provider could not be reached")))]
async fn start_negotiation(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let new: NewNegotiation = parse_body(&body)?;
    let wait = Duration::from_secs(new.wait_seconds.unwrap_or(30)).min(MAX_WAIT);
    let started = state
        .negotiator
        .start(new.start)
        .await
        .map_err(negotiation_error)?;
    let pid = started.consumer_pid.clone();
    Ok(HttpResponse::Ok().json(outcome(&state, &pid, started, wait).await?))
}

/// Waits up to `wait` for negotiation `pid` to end; answers it as it then stands.
async fn outcome(
    state: &AppState,
    pid: &str,
    current: Negotiation,
    wait: Duration,
) -> Result<Negotiation, ApiError> {
    if wait.is_zero() || current.state.is_final() {
        return Ok(current);
    }
    Ok(state
        .negotiator
        .wait_for_outcome(pid, wait)
        .await?
        .unwrap_or(current))
}

/// The answer for a negotiation move the connector refused or could not make.
fn negotiation_error(error: StartError) -> ApiError {
    match error {
        StartError::Invalid(m) => ApiError::BadRequest(m),
        StartError::Send(e) => ApiError::BadGateway(e.to_string()),
        StartError::Internal(DspError::NotFound(m)) => ApiError::NotFound(m),
        StartError::Internal(DspError::Illegal(e)) => ApiError::Conflict(e.to_string()),
        StartError::Internal(e) => ApiError::Internal(e.to_string()),
    }
}

/// Offers one of this connector's offers to a consumer as a contract (a provider-initiated
/// negotiation): answers it OFFERED, with the consumer's process id, or TERMINATED when the
/// consumer could not be reached.
#[utoipa::path(post, path = "/api/v1/negotiations/offers", security(("admin" = [])), request_body = OfferContract,
    responses((status = 200, body = Negotiation), (status = 400, description = "Malformed request or unknown offer")))]
async fn offer_contract(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let offer: OfferContract = parse_body(&body)?;
    let offered = state
        .negotiator
        .offer_contract(offer)
        .await
        .map_err(negotiation_error)?;
    Ok(HttpResponse::Ok().json(offered))
}

/// How a consumer accepts an offer.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AcceptOffer {
    /// The purpose to state to the provider's policy.
    #[serde(default)]
    pub purpose: Option<String>,
    /// How long to wait for FINALIZED or TERMINATED before answering (seconds, at most 60;
    /// default 30; 0 answers at once).
    #[serde(default)]
    pub wait_seconds: Option<u64>,
}

/// Accepts, as consumer, an offer a provider made (the negotiation is OFFERED), presenting
/// the held credentials; waits for the outcome like `POST /api/v1/negotiations`.
#[utoipa::path(post, path = "/api/v1/negotiations/{pid}/accept", security(("admin" = [])), request_body = AcceptOffer,
    responses((status = 200, body = Negotiation), (status = 404, description = "No such negotiation"),
              (status = 409, description = "The negotiation is not OFFERED")))]
async fn accept_offer(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let accept: AcceptOffer = if body.is_empty() {
        AcceptOffer::default()
    } else {
        parse_body(&body)?
    };
    let wait = Duration::from_secs(accept.wait_seconds.unwrap_or(30)).min(MAX_WAIT);
    let accepted = state
        .negotiator
        .accept_offer(&pid, accept.purpose)
        .await
        .map_err(negotiation_error)?;
    Ok(HttpResponse::Ok().json(outcome(&state, &pid, accepted, wait).await?))
}

/// Why an operator terminates a negotiation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TerminateNegotiation {
    /// The reason, sent to the counterparty.
    pub reason: String,
}

/// Terminates a negotiation that is not final, on either side, and tells the counterparty.
#[utoipa::path(post, path = "/api/v1/negotiations/{pid}/terminate", security(("admin" = [])), request_body = TerminateNegotiation,
    responses((status = 200, body = Negotiation), (status = 404, description = "No such negotiation"),
              (status = 409, description = "The negotiation has already ended")))]
async fn terminate_negotiation(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let terminate: TerminateNegotiation = parse_body(&body)?;
    let terminated = state
        .negotiator
        .terminate_by_operator(&pid, terminate.reason)
        .await
        .map_err(negotiation_error)?;
    Ok(HttpResponse::Ok().json(terminated))
}

/// One negotiation, by this connector's process id.
#[utoipa::path(get, path = "/api/v1/negotiations/{pid}", security(("admin" = [])),
    responses((status = 200, body = Negotiation), (status = 404, description = "No such negotiation")))]
async fn get_negotiation(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let negotiation = state
        .store
        .negotiations
        .get(&pid)?
        .ok_or_else(|| ApiError::NotFound(format!("no negotiation `{pid}`")))?;
    Ok(HttpResponse::Ok().json(negotiation))
}

/// Lists the agreements.
#[utoipa::path(get, path = "/api/v1/agreements", security(("admin" = [])),
    responses((status = 200, body = [Agreement])))]
async fn list_agreements(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    Ok(HttpResponse::Ok().json(state.store.agreements.list()?))
}

/// One agreement.
#[utoipa::path(get, path = "/api/v1/agreements/{id}", security(("admin" = [])),
    responses((status = 200, body = Agreement), (status = 404, description = "No such agreement")))]
async fn get_agreement(
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let agreement = state
        .store
        .agreements
        .get(&id)?
        .ok_or_else(|| ApiError::NotFound(format!("no agreement `{id}`")))?;
    Ok(HttpResponse::Ok().json(agreement))
}

/// The installed trust list: `{"credential": JWT, "trust_list": {data_space, anchor, entries}}`.
#[utoipa::path(get, path = "/api/v1/trust-list", security(("admin" = [])),
    responses((status = 200, description = "The installed trust list"), (status = 404, description = "None installed")))]
async fn get_trust_list(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let token = state
        .dir
        .read_text(crate::datadir::TRUST_LIST_FILE)
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| ApiError::NotFound("no trust list is installed".into()))?;
    let trust = crate::trust::trust_list_from_installed(&token);
    Ok(HttpResponse::Ok().json(json!({ "credential": token.trim(), "trust_list": trust })))
}

/// Verifies and installs a trust list: `{"credential": "<TrustListCredential JWT>"}`.
#[utoipa::path(put, path = "/api/v1/trust-list", security(("admin" = [])), request_body = TrustListToInstall,
    responses((status = 200, description = "Installed"), (status = 422, description = "It does not verify")))]
async fn put_trust_list(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let body = json_body(&body)?;
    let token = body
        .get("credential")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::BadRequest("field `credential`: a TrustListCredential JWT is required".into())
        })?;
    let trust = crate::trust::install(&state.dir, token, state.resolver.clone())
        .await
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({ "trust_list": trust })))
}

/// The event record, oldest first.
#[utoipa::path(get, path = "/api/v1/events", security(("admin" = [])),
    responses((status = 200, body = [Event])))]
async fn list_events(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    Ok(HttpResponse::Ok().json(state.store.events.list()?))
}

/// The peers this connector knows: `[{peer_id, did, roles, addresses, last_seen,
/// authenticated, reason, reachable}]`.
#[utoipa::path(get, path = "/api/v1/peers", security(("admin" = [])),
    responses((status = 200, description = "The peers"), (status = 404, description = "Not on the peer network")))]
async fn list_peers(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let node = state.peers.get().ok_or_else(not_on_network)?;
    Ok(HttpResponse::Ok().json(node.peers()))
}

/// The offers authenticated peers announced.
#[utoipa::path(get, path = "/api/v1/catalog/federated", security(("admin" = [])),
    responses((status = 200, description = "The announced offers"), (status = 404, description = "Not on the peer network")))]
async fn federated_catalog(
    request: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    require_admin(&request, &state)?;
    let node = state.peers.get().ok_or_else(not_on_network)?;
    Ok(HttpResponse::Ok().json(node.federated_catalog()))
}

fn not_on_network() -> ApiError {
    ApiError::NotFound(
        "this connector is not on the peer network (start `serve` with `--p2p`)".into(),
    )
}

/// The management API's OpenAPI description.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Symbolon management API", description = "Offers, held credentials, contract negotiations, agreements, the trust list and events of one Symbolon connector."),
    paths(openapi, list_offers, create_offer, get_offer, delete_offer, list_credentials,
          store_credential, list_negotiations, start_negotiation, get_negotiation,
          offer_contract, accept_offer, terminate_negotiation,
          list_agreements, get_agreement, get_trust_list, put_trust_list, list_events,
          list_peers, federated_catalog),
    components(schemas(Offer, OfferKind, NewOffer, HeldCredential, Negotiation, NewNegotiation,
                       StartNegotiation, OfferContract, AcceptOffer, TerminateNegotiation, Agreement, Event, CredentialToStore, TrustListToInstall,
                       crate::negotiation::state::NegotiationState,
                       crate::negotiation::state::Role)),
    modifiers(&AdminTokenScheme)
)]
pub struct ManagementApi;

/// Declares the `admin` bearer-token security scheme.
struct AdminTokenScheme;

impl utoipa::Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document, as JSON.
pub fn document() -> utoipa::openapi::OpenApi {
    <ManagementApi as utoipa::OpenApi>::openapi()
}
