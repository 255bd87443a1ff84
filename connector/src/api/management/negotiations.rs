//! The management API's negotiations and agreements: start a negotiation as consumer, offer a
//! contract as provider, the operator's answers on either side (offer, agree, request, accept,
//! verify, terminate), and read what was agreed. A move the counterparty could not be told of
//! leaves the negotiation unchanged and is answered 502; one the state does not allow, 409.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::parse_body;
use crate::api::admin::Admin;
use crate::api::error::ApiError;
use crate::context::Connector;
use crate::domain::{Agreement, Negotiation};
use crate::messenger::SendError;
use crate::negotiation::withdrawal::WithdrawError;
use crate::negotiation::{DspError, Negotiations, OfferContract, StartError, StartNegotiation};

/// Longest a call waits for a negotiation's outcome.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Routes of negotiations and agreements.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/negotiations")
            .get(list_negotiations)
            .post(start_negotiation),
    )
    .service(web::resource("/negotiations/offers").post(offer_contract))
    .service(web::resource("/negotiations/{pid}").get(get_negotiation))
    .service(web::resource("/negotiations/{pid}/accept").post(accept_offer))
    .service(web::resource("/negotiations/{pid}/agree").post(agree_negotiation))
    .service(web::resource("/negotiations/{pid}/offer").post(counter_offer))
    .service(web::resource("/negotiations/{pid}/request").post(counter_request))
    .service(web::resource("/negotiations/{pid}/verify").post(verify_agreement))
    .service(web::resource("/negotiations/{pid}/terminate").post(terminate_negotiation))
    .service(web::resource("/agreements").get(list_agreements))
    .service(web::resource("/agreements/{id}").get(get_agreement))
    .service(web::resource("/agreements/{id}/withdraw").post(withdraw_agreement));
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

/// Why an operator terminates a negotiation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TerminateNegotiation {
    /// The reason, sent to the counterparty.
    pub reason: String,
    /// Terminate here even if the counterparty cannot be told or refuses (the failed send is
    /// recorded). Default `false`: the negotiation is then left unchanged and the call fails.
    #[serde(default)]
    pub force: bool,
}

/// A provider's counter-offer.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CounterOffer {
    /// The ODRL offer to send; it must be one the offer's policy permits (the policy's rules
    /// exactly; duties may be added). Default: the policy's own offer.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub offer: Option<serde_json::Value>,
}

/// A consumer's counter-request.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CounterRequest {
    /// The ODRL offer asked for (for the same dataset). Default: the provider's last offer.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub offer: Option<serde_json::Value>,
    /// The purpose to state to the provider's policy.
    #[serde(default)]
    pub purpose: Option<String>,
}

fn wait(seconds: Option<u64>) -> Duration {
    Duration::from_secs(seconds.unwrap_or(30)).min(MAX_WAIT)
}

/// Lists the negotiations.
#[utoipa::path(get, path = "/api/v1/negotiations", security(("admin" = [])),
    responses((status = 200, body = [Negotiation])))]
pub(super) async fn list_negotiations(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let negotiations = connector
        .store()
        .blocking(|s| s.negotiations.list())
        .await?;
    Ok(HttpResponse::Ok().json(negotiations))
}

/// Starts a negotiation as consumer and waits for its outcome (FINALIZED or TERMINATED, with
/// the provider's reasons), or answers its state when `wait_seconds` passes.
#[utoipa::path(post, path = "/api/v1/negotiations", security(("admin" = [])), request_body = NewNegotiation,
    responses((status = 200, body = Negotiation), (status = 400, description = "Malformed request"),
              (status = 502, description = "The provider could not be reached")))]
pub(super) async fn start_negotiation(
    _: Admin,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let new: NewNegotiation = parse_body(&body)?;
    let service = Negotiations::new(connector.get_ref().clone());
    let named_did = new.start.provider_did.is_some();
    let started = service
        .start(new.start)
        .await
        .map_err(|error| match error {
            // Nothing was sent yet: the provider's catalog or its DID could not be read.
            StartError::Send(e @ SendError::Refused { status: 401, .. }) if named_did => {
                ApiError::BadGateway(format!(
                "cannot ask the provider: {e}; check the provider's DID you gave (`provider_did`, \
                 `--provider-did`): without it, it is read from the provider's \
                 `/.well-known/dspace-version`"
            ))
            }
            StartError::Send(e) => ApiError::BadGateway(format!("cannot ask the provider: {e}")),
            other => negotiation_error(other),
        })?;
    let outcome = outcome(&service, started, wait(new.wait_seconds)).await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// Waits up to `wait` for `current` to end; answers it as it then stands.
async fn outcome(
    service: &Negotiations,
    current: Negotiation,
    wait: Duration,
) -> Result<Negotiation, ApiError> {
    let Some(pid) = current.own_pid().map(str::to_owned) else {
        return Ok(current);
    };
    if wait.is_zero() || current.state.is_final() {
        return Ok(current);
    }
    Ok(service
        .wait_for_outcome(&pid, wait)
        .await?
        .unwrap_or(current))
}

/// The answer for a negotiation move the connector refused or could not make.
fn negotiation_error(error: StartError) -> ApiError {
    match error {
        StartError::Invalid(m) => ApiError::BadRequest(m),
        StartError::Send(e) => ApiError::BadGateway(format!(
            "the counterparty was not told; the negotiation is unchanged: {e}"
        )),
        StartError::Busy(e) => ApiError::Conflict(e.to_string()),
        StartError::Conflict(m) => ApiError::Conflict(m),
        StartError::Answer(e) => {
            ApiError::BadGateway(format!("the counterparty's answer is unusable: {e}"))
        }
        StartError::Internal(DspError::NotFound(m)) => ApiError::NotFound(m),
        StartError::Internal(DspError::Illegal(e)) => ApiError::Conflict(e.to_string()),
        other => ApiError::internal(other),
    }
}

/// Offers one of this connector's offers to a consumer as a contract (a provider-initiated
/// negotiation): answers it OFFERED, with the consumer's process id, or TERMINATED when the
/// consumer could not be reached.
#[utoipa::path(post, path = "/api/v1/negotiations/offers", security(("admin" = [])), request_body = OfferContract,
    responses((status = 200, body = Negotiation), (status = 400, description = "Malformed request or unknown offer")))]
pub(super) async fn offer_contract(
    _: Admin,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let offer: OfferContract = parse_body(&body)?;
    let offered = Negotiations::new(connector.get_ref().clone())
        .offer_contract(offer)
        .await
        .map_err(negotiation_error)?;
    Ok(HttpResponse::Ok().json(offered))
}

/// Accepts, as consumer, an offer a provider made (the negotiation is OFFERED), presenting
/// the held credentials; waits for the outcome like `POST /api/v1/negotiations`.
#[utoipa::path(post, path = "/api/v1/negotiations/{pid}/accept", security(("admin" = [])), request_body = AcceptOffer,
    responses((status = 200, body = Negotiation), (status = 404, description = "No such negotiation"),
              (status = 409, description = "The negotiation is not OFFERED"),
              (status = 502, description = "The provider was not told; the negotiation is unchanged")))]
pub(super) async fn accept_offer(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let accept: AcceptOffer = optional_body(&body)?;
    let service = Negotiations::new(connector.get_ref().clone());
    let accepted = service
        .accept_offer(&pid, accept.purpose)
        .await
        .map_err(negotiation_error)?;
    let outcome = outcome(&service, accepted, wait(accept.wait_seconds)).await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// Terminates a negotiation that is not final, on either side, and tells the counterparty;
/// TERMINATED once it acknowledged (or at once with `force`).
#[utoipa::path(post, path = "/api/v1/negotiations/{pid}/terminate", security(("admin" = [])), request_body = TerminateNegotiation,
    responses((status = 200, body = Negotiation), (status = 404, description = "No such negotiation"),
              (status = 409, description = "The negotiation has already ended"),
              (status = 502, description = "The counterparty was not told; the negotiation is unchanged")))]
pub(super) async fn terminate_negotiation(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let terminate: TerminateNegotiation = parse_body(&body)?;
    let terminated = Negotiations::new(connector.get_ref().clone())
        .terminate_by_operator(&pid, terminate.reason, terminate.force)
        .await
        .map_err(negotiation_error)?;
    Ok(HttpResponse::Ok().json(terminated))
}

/// The body of a move, parsed when there is one, else its default.
fn optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        Ok(T::default())
    } else {
        parse_body(body)
    }
}

/// Agrees, as provider, to a request or acceptance the policy's verdict permits (a `manual`
/// negotiation keeps it as `recommendation`); the agreement carries its obligations. AGREED
/// once the consumer acknowledged it.
#[utoipa::path(post, path = "/api/v1/negotiations/{pid}/agree", security(("admin" = [])),
    responses((status = 200, body = Negotiation), (status = 400, description = "Not a provider's negotiation"),
              (status = 404, description = "No such negotiation"),
              (status = 409, description = "Not REQUESTED or ACCEPTED, or the policy's verdict does not permit"),
              (status = 502, description = "The consumer was not told; the negotiation is unchanged")))]
pub(super) async fn agree_negotiation(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let agreed = Negotiations::new(connector.get_ref().clone())
        .agree_by_operator(&pid)
        .await
        .map_err(negotiation_error)?;
    Ok(HttpResponse::Ok().json(agreed))
}

/// Offers, as provider, other terms in answer to a request (a counter-offer); OFFERED once the
/// consumer acknowledged it.
#[utoipa::path(post, path = "/api/v1/negotiations/{pid}/offer", security(("admin" = [])), request_body = CounterOffer,
    responses((status = 200, body = Negotiation),
              (status = 400, description = "Not a provider's negotiation, or an offer the policy does not permit"),
              (status = 404, description = "No such negotiation"), (status = 409, description = "Not REQUESTED"),
              (status = 502, description = "The consumer was not told; the negotiation is unchanged")))]
pub(super) async fn counter_offer(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let offer: CounterOffer = optional_body(&body)?;
    let offered = Negotiations::new(connector.get_ref().clone())
        .counter_offer(&pid, offer.offer)
        .await
        .map_err(negotiation_error)?;
    Ok(HttpResponse::Ok().json(offered))
}

/// Asks, as consumer, for other terms in answer to an offer (a counter-request), presenting the
/// held credentials; REQUESTED once the provider acknowledged it.
#[utoipa::path(post, path = "/api/v1/negotiations/{pid}/request", security(("admin" = [])), request_body = CounterRequest,
    responses((status = 200, body = Negotiation),
              (status = 400, description = "Not a consumer's negotiation, or an offer for another dataset"),
              (status = 404, description = "No such negotiation"), (status = 409, description = "Not OFFERED"),
              (status = 502, description = "The provider was not told; the negotiation is unchanged")))]
pub(super) async fn counter_request(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: CounterRequest = optional_body(&body)?;
    let requested = Negotiations::new(connector.get_ref().clone())
        .counter_request(&pid, request.offer, request.purpose)
        .await
        .map_err(negotiation_error)?;
    Ok(HttpResponse::Ok().json(requested))
}

/// Verifies, as consumer, the agreement received (a negotiation started in `manual` mode waits
/// for this); VERIFIED once the provider acknowledged it.
#[utoipa::path(post, path = "/api/v1/negotiations/{pid}/verify", security(("admin" = [])),
    responses((status = 200, body = Negotiation), (status = 400, description = "Not a consumer's negotiation"),
              (status = 404, description = "No such negotiation"), (status = 409, description = "Not AGREED"),
              (status = 502, description = "The provider was not told; the negotiation is unchanged")))]
pub(super) async fn verify_agreement(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let verified = Negotiations::new(connector.get_ref().clone())
        .verify_by_operator(&pid)
        .await
        .map_err(negotiation_error)?;
    Ok(HttpResponse::Ok().json(verified))
}

/// One negotiation, by this connector's process id.
#[utoipa::path(get, path = "/api/v1/negotiations/{pid}", security(("admin" = [])),
    responses((status = 200, body = Negotiation), (status = 404, description = "No such negotiation")))]
pub(super) async fn get_negotiation(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = pid.clone();
    let negotiation = connector
        .store()
        .blocking(move |s| s.negotiations.get(&key))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no negotiation `{pid}`")))?;
    Ok(HttpResponse::Ok().json(negotiation))
}

/// Lists the agreements.
#[utoipa::path(get, path = "/api/v1/agreements", security(("admin" = [])),
    responses((status = 200, body = [Agreement])))]
pub(super) async fn list_agreements(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let agreements = connector.store().blocking(|s| s.agreements.list()).await?;
    Ok(HttpResponse::Ok().json(agreements))
}

/// One agreement.
#[utoipa::path(get, path = "/api/v1/agreements/{id}", security(("admin" = [])),
    responses((status = 200, body = Agreement), (status = 404, description = "No such agreement")))]
pub(super) async fn get_agreement(
    _: Admin,
    connector: web::Data<Connector>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = id.clone();
    let agreement = connector
        .store()
        .blocking(move |s| s.agreements.get(&key))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no agreement `{id}`")))?;
    Ok(HttpResponse::Ok().json(agreement))
}

/// Why an agreement is withdrawn.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawAgreement {
    /// Why, in words the consumer is told (1 to 500 characters).
    pub reason: String,
}

/// Withdraws, as provider, an agreement: from now on it admits no transfer, no pull and no MPC
/// session, and its transfers that are not final are terminated (code `agreement-withdrawn`).
#[utoipa::path(post, path = "/api/v1/agreements/{id}/withdraw", security(("admin" = [])),
    request_body = WithdrawAgreement,
    responses((status = 200, body = Agreement), (status = 400, description = "No reason, or one too long"),
              (status = 403, description = "The agreement is another provider's"),
              (status = 404, description = "No such agreement"),
              (status = 409, description = "Withdrawn already")))]
pub(super) async fn withdraw_agreement(
    _: Admin,
    connector: web::Data<Connector>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request: WithdrawAgreement = parse_body(&body)?;
    let withdrawn = Negotiations::new(connector.get_ref().clone())
        .withdraw_agreement(&id, request.reason)
        .await
        .map_err(|error| match error {
            WithdrawError::NotFound(_) => ApiError::NotFound(error.to_string()),
            WithdrawError::NotProvider(_) => ApiError::Forbidden(error.to_string()),
            WithdrawError::AlreadyWithdrawn { .. } => ApiError::Conflict(error.to_string()),
            WithdrawError::Reason(message) => ApiError::Invalid {
                message: format!("field `reason`: {message}"),
                path: "/reason".into(),
            },
            WithdrawError::Store(e) => e.into(),
            WithdrawError::Audit(e) => e.into(),
        })?;
    Ok(HttpResponse::Ok().json(withdrawn))
}
