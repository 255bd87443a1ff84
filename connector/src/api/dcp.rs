//! The HTTPS binding of the Decentralized Claims Protocol 1.0: the Issuer Service under
//! [`ISSUER_PATH`], and the Credential Service under [`HOLDER_PATH`] (its presentation query
//! and its Storage API). Every call but the metadata needs the caller's self-issued ID token
//! (validated as for the Dataspace Protocol, see [`auth`]); only refused calls count against
//! the caller's rate limit.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError as _};
use serde_json::json;
use symbolon_audit::EventKind;

use super::error::ApiError;
use super::limits::json_body;
use super::throttle::charging_refusals;
use crate::context::Connector;
use crate::dcp::exchange::ExchangeError;
use crate::dcp::holder::{self, DeliveryError};
use crate::dcp::issuer::{self, IssuanceError};
use crate::dcp::messages;
use crate::dcp::query::{self, QueryError};
use crate::dcp::{HOLDER_PATH, ISSUER_PATH};
use crate::issuer::StatusRegistry;
use crate::negotiation::auth::{self, AuthError, Caller};

/// Largest protocol message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Routes of the Issuer Service and the Storage API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(format!("{ISSUER_PATH}/metadata")).get(metadata))
        .service(web::resource(format!("{ISSUER_PATH}/credentials")).post(request_credentials))
        .service(web::resource(format!("{ISSUER_PATH}/requests/{{id}}")).get(request_status))
        .service(
            web::resource(format!("{ISSUER_PATH}/requests/{{id}}/credentials"))
                .get(fetch_credentials),
        )
        .service(web::resource(format!("{HOLDER_PATH}/credentials")).post(store_credentials))
        .service(web::resource(format!("{HOLDER_PATH}/offers")).post(receive_offer))
        .service(
            web::resource(format!("{HOLDER_PATH}/presentations/query")).post(query_presentations),
        );
}

impl From<IssuanceError> for ApiError {
    fn from(error: IssuanceError) -> Self {
        match error {
            IssuanceError::NotFound(_) => ApiError::NotFound(error.to_string()),
            IssuanceError::NotRegistered(_) => ApiError::Rejected {
                message: error.to_string(),
                details: serde_json::json!({ "status": "REJECTED", "reason": "not_registered" }),
            },
            IssuanceError::TooManyRequests { .. } => ApiError::Conflict(error.to_string()),
            IssuanceError::Decided { .. } | IssuanceError::Undecided(_) => {
                ApiError::Conflict(error.to_string())
            }
            IssuanceError::CredentialService { .. } => ApiError::BadRequest(error.to_string()),
            IssuanceError::Audit(error) => error.into(),
            IssuanceError::Store(error) => ApiError::internal(error),
            IssuanceError::Status(error) => ApiError::internal(error),
        }
    }
}

/// The caller of a protocol call, from its token; a refusal is recorded and answered 401
/// naming the cause.
async fn caller(request: &HttpRequest, cx: &Connector) -> Result<Caller, ApiError> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let verification = cx.verification();
    match auth::authenticate(token, cx.did(), &verification.resolver, cx.store()).await {
        Ok(caller) => Ok(caller),
        Err(AuthError::Store(error)) => Err(ApiError::internal(error)),
        Err(error) => {
            let audit = cx.audit();
            audit
                .record(audit.event(
                    EventKind::AuthFailed,
                    request.path().chars().take(200).collect::<String>(),
                    "refused",
                    json!({ "code": error.code(), "reason": error.to_string() }),
                ))
                .await?;
            Err(ApiError::BadToken(format!("{}: {error}", error.code())))
        }
    }
}

fn message_body(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::TooLarge(MAX_MESSAGE_BYTES));
    }
    Ok(json_body(body)?)
}

fn render(answer: Result<HttpResponse, ApiError>) -> HttpResponse {
    answer.unwrap_or_else(|error| error.error_response())
}

/// `GET …/metadata`: the `IssuerMetadata`. A token is optional (a holder reads the issuer's
/// DID here before it can address one); a token sent is checked.
async fn metadata(request: HttpRequest, cx: web::Data<Connector>) -> HttpResponse {
    let answer = async {
        if request.headers().contains_key(header::AUTHORIZATION) {
            caller(&request, &cx).await?;
        }
        Ok(HttpResponse::Ok().json(messages::metadata(cx.did())))
    };
    charging_refusals(&request, async { render(answer.await) }).await
}

/// `POST …/credentials`: a `CredentialRequestMessage`; 201 with `Location` and the
/// `CredentialStatus`. A repeated `holderPid` from the same holder is answered as the first.
async fn request_credentials(
    request: HttpRequest,
    cx: web::Data<Connector>,
    status: web::Data<StatusRegistry>,
    body: web::Bytes,
) -> HttpResponse {
    let answer = async {
        let caller = caller(&request, &cx).await?;
        let message = message_body(&body)?;
        let parsed =
            messages::parse_request(&message).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let record = issuer::receive(&cx, &status, &caller.did, parsed).await?;
        let location = format!(
            "{}{ISSUER_PATH}/requests/{}",
            cx.public_url(),
            percent_encoding::utf8_percent_encode(
                &record.issuer_pid,
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        Ok(HttpResponse::Created()
            .insert_header((header::LOCATION, location))
            .json(messages::status(&record)))
    };
    charging_refusals(&request, async { render(answer.await) }).await
}

/// `GET …/requests/{id}`: the `CredentialStatus`, to the requester only (404 to anyone else).
async fn request_status(
    request: HttpRequest,
    cx: web::Data<Connector>,
    id: web::Path<String>,
) -> HttpResponse {
    let answer = async {
        let caller = caller(&request, &cx).await?;
        let key = id.clone();
        let record = cx
            .store()
            .blocking(move |s| s.issuance.get(&key))
            .await?
            .filter(|record| record.holder == caller.did)
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no issuance request `{}`",
                    id.chars().take(100).collect::<String>()
                ))
            })?;
        Ok(HttpResponse::Ok().json(messages::status(&record)))
    };
    charging_refusals(&request, async { render(answer.await) }).await
}

/// `GET …/requests/{id}/credentials` (an extension of the protocol): the decision as the
/// `CredentialMessage` the Storage API would have been sent, to the requester only (404 to
/// anyone else, 409 while undecided); for a holder whose Storage API the deliveries missed.
async fn fetch_credentials(
    request: HttpRequest,
    cx: web::Data<Connector>,
    id: web::Path<String>,
) -> HttpResponse {
    let answer = async {
        let caller = caller(&request, &cx).await?;
        Ok(HttpResponse::Ok().json(crate::dcp::redelivery::fetch(&cx, &caller.did, &id).await?))
    };
    charging_refusals(&request, async { render(answer.await) }).await
}

/// `POST /dcp/holder/credentials`: the Storage API takes a `CredentialMessage` from an issuer
/// this connector asked.
async fn store_credentials(
    request: HttpRequest,
    cx: web::Data<Connector>,
    body: web::Bytes,
) -> HttpResponse {
    let answer = async {
        let caller = caller(&request, &cx).await?;
        let message = message_body(&body)?;
        let delivery = messages::parse_credential_message(&message)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        match holder::receive(&cx, &caller.did, delivery).await {
            Ok(onboarding) => Ok(HttpResponse::Ok().json(json!({
                "holderPid": onboarding.holder_pid,
                "status": onboarding.status.as_str(),
                "stored": onboarding.received.len(),
            }))),
            Err(error @ DeliveryError::UnknownRequest(_)) => {
                Err(ApiError::NotFound(error.to_string()))
            }
            Err(error @ DeliveryError::Refused(_)) => {
                Err(ApiError::Unprocessable(error.to_string()))
            }
            Err(DeliveryError::Store(error)) => Err(ApiError::internal(error)),
            Err(DeliveryError::Audit(error)) => Err(error.into()),
        }
    };
    charging_refusals(&request, async { render(answer.await) }).await
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Message(_) => ApiError::BadRequest(error.to_string()),
            QueryError::Exchange(ExchangeError::Malformed(_)) => {
                ApiError::BadRequest(error.to_string())
            }
            QueryError::Exchange(ExchangeError::Unsupported { .. }) => {
                ApiError::NotImplemented(error.to_string())
            }
            QueryError::Access(_) => ApiError::Forbidden(error.to_string()),
            QueryError::Present(error) => ApiError::internal(error),
            QueryError::Store(error) => ApiError::internal(error),
            QueryError::Audit(error) => error.into(),
        }
    }
}

/// `POST /dcp/holder/presentations/query`: a verifier's `PresentationQueryMessage`, with its
/// self-issued token carrying the access token this connector minted for it; answered with a
/// `PresentationResponseMessage` of the credentials the token grants.
async fn query_presentations(
    request: HttpRequest,
    cx: web::Data<Connector>,
    body: web::Bytes,
) -> HttpResponse {
    let answer = async {
        let caller = caller(&request, &cx).await?;
        let message = message_body(&body)?;
        let response = query::answer(&cx, &caller, &message).await?;
        Ok(HttpResponse::Ok().json(response))
    };
    charging_refusals(&request, async { render(answer.await) }).await
}

/// `POST /dcp/holder/offers`: an issuer offers credentials (a `CredentialOfferMessage`). Only
/// the issuer itself may offer; the offer is recorded for the operator, who asks for the
/// credential with `symbolon join` if it wants it. Nothing is requested on its own.
async fn receive_offer(
    request: HttpRequest,
    cx: web::Data<Connector>,
    body: web::Bytes,
) -> HttpResponse {
    let answer = async {
        let caller = caller(&request, &cx).await?;
        let message = message_body(&body)?;
        let offer =
            messages::parse_offer(&message).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        if offer.issuer != caller.did {
            return Err(ApiError::Forbidden(
                "field `issuer`: an issuer offers its own credentials only; the token's caller \
                 is another"
                    .into(),
            ));
        }
        let types: Vec<&str> = offer.credentials.iter().map(|(t, _)| t.as_str()).collect();
        let audit = cx.audit();
        let mut event = audit.event(
            EventKind::IssuanceReceived,
            &caller.did,
            "offered",
            json!({ "offered": types, "reasons": offer.credentials.iter().map(|(_, r)| r).collect::<Vec<_>>() }),
        );
        event.actor = caller.did.clone();
        audit.record(event).await?;
        Ok(HttpResponse::Ok().json(json!({ "received": types.len() })))
    };
    charging_refusals(&request, async { render(answer.await) }).await
}
