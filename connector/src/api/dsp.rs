//! The Dataspace Protocol 2025-1 HTTPS binding: version discovery, catalog and contract
//! negotiation endpoints (provider and consumer callbacks share the base path; a process id
//! names a negotiation on one side only, so its stored role says which side answers).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::vc::json_body;
use super::AppState;
use crate::catalog;
use crate::negotiation::auth::{self, Caller};
use crate::negotiation::messages::{self, Message};
use crate::negotiation::state::Role;
use crate::negotiation::{DspError, DSP_PATH};

/// Routes of the protocol.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/dspace-version", web::get().to(version))
        .service(
            web::scope(DSP_PATH)
                .route("/catalog/request", web::post().to(catalog_request))
                .route("/catalog/datasets/{id}", web::get().to(dataset))
                .route("/negotiations/request", web::post().to(initial_request))
                .route("/negotiations/offers", web::post().to(initial_offer))
                .route("/negotiations/{pid}", web::get().to(negotiation))
                .route(
                    "/negotiations/{pid}/request",
                    web::post().to(counter_request),
                )
                .route("/negotiations/{pid}/offers", web::post().to(counter_offer))
                .route("/negotiations/{pid}/events", web::post().to(event))
                .route("/negotiations/{pid}/agreement", web::post().to(agreement))
                .route(
                    "/negotiations/{pid}/agreement/verification",
                    web::post().to(verification),
                )
                .route(
                    "/negotiations/{pid}/termination",
                    web::post().to(termination),
                ),
        );
}

/// `GET /.well-known/dspace-version` (unauthenticated).
async fn version(state: web::Data<AppState>) -> HttpResponse {
    let did = state.identity.did.as_str();
    HttpResponse::Ok().json(json!({
        "protocolVersions": [{
            "version": "2025-1",
            "path": DSP_PATH,
            "binding": "HTTPS",
            "serviceId": format!("urn:symbolon:service:{did}"),
            "identifierType": format!("did:{}", state.identity.did.method()),
            "participantId": did,
            "auth": {
                "protocol": "symbolon-self-issued-jwt",
                "version": "1.0",
                "profile": ["vc20-bssl/jwt"]
            }
        }]
    }))
}

/// A protocol error as the specification's error body.
struct Refusal {
    error: DspError,
    provider_pid: String,
    consumer_pid: String,
    catalog: bool,
}

impl Refusal {
    fn negotiation(error: DspError, provider_pid: &str, consumer_pid: &str) -> Self {
        Refusal {
            error,
            provider_pid: provider_pid.to_owned(),
            consumer_pid: consumer_pid.to_owned(),
            catalog: false,
        }
    }

    fn catalog(error: DspError) -> Self {
        Refusal {
            error,
            provider_pid: String::new(),
            consumer_pid: String::new(),
            catalog: true,
        }
    }

    fn response(self) -> HttpResponse {
        let status = match &self.error {
            DspError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            DspError::BadRequest(_) | DspError::Illegal(_) => StatusCode::BAD_REQUEST,
            DspError::NotFound(_) => StatusCode::NOT_FOUND,
            DspError::Internal(detail) => {
                tracing::error!(%detail, "internal error in a protocol call");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let reason = vec![self.error.to_string()];
        let code = status.as_u16().to_string();
        let body = if self.catalog {
            messages::build("CatalogError", json!({ "code": code, "reason": reason }))
        } else {
            messages::negotiation_error(&self.provider_pid, &self.consumer_pid, &code, &reason)
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(body)
    }
}

/// Authenticates the caller's self-issued token; a failure is recorded as an event.
async fn caller(request: &HttpRequest, state: &AppState) -> Result<Caller, DspError> {
    let token = super::vc::bearer(request);
    let negotiator = &state.negotiator;
    match auth::authenticate(
        token,
        negotiator.did(),
        negotiator.resolver(),
        &negotiator.store().nonces,
    )
    .await
    {
        Ok(caller) => Ok(caller),
        Err(error) => {
            negotiator.record_auth_failure(request.path(), &error).await;
            Err(DspError::Unauthorized(error))
        }
    }
}

fn parse<M: Message>(body: &[u8]) -> Result<(M, Value), DspError> {
    let value = json_body(body).map_err(|e| DspError::BadRequest(e.to_string()))?;
    let message = messages::parse::<M>(&value).map_err(|e| DspError::BadRequest(e.to_string()))?;
    Ok((message, value))
}

/// The pids a raw message names, for error bodies.
fn pids(body: &[u8], path_pid: &str, role: Option<Role>) -> (String, String) {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    let get = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (mut provider, mut consumer) = (get("providerPid"), get("consumerPid"));
    match role {
        Some(Role::Provider) => provider = provider.or_else(|| Some(path_pid.to_owned())),
        Some(Role::Consumer) => consumer = consumer.or_else(|| Some(path_pid.to_owned())),
        None => {}
    }
    (provider.unwrap_or_default(), consumer.unwrap_or_default())
}

async fn catalog_request(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        caller(&request, &state).await?;
        parse::<messages::CatalogRequestMessage>(&body)?;
        let offers = state.store.offers.list()?;
        Ok::<_, DspError>(catalog::catalog(
            &offers,
            state.identity.did.as_str(),
            state.negotiator.dsp_url(),
            state.negotiator.schema(),
        ))
    }
    .await;
    match result {
        Ok(catalog) => HttpResponse::Ok().json(catalog),
        Err(error) => Refusal::catalog(error).response(),
    }
}

async fn dataset(
    request: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let result = async {
        caller(&request, &state).await?;
        let offer = state.store.offers.get(&id)?.ok_or_else(|| {
            DspError::NotFound(format!(
                "no dataset `{}` in this catalog",
                id.chars().take(100).collect::<String>()
            ))
        })?;
        catalog::dataset_document(
            &offer,
            state.identity.did.as_str(),
            state.negotiator.schema(),
        )
        .map_err(|e| DspError::Internal(e.to_string()))
    }
    .await;
    match result {
        Ok(dataset) => HttpResponse::Ok().json(dataset),
        Err(error) => Refusal::catalog(error).response(),
    }
}

async fn initial_request(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let caller = caller(&request, &state).await?;
        let (message, _) = parse::<messages::ContractRequestMessage>(&body)?;
        state
            .negotiator
            .provider_initial_request(caller, message)
            .await
    }
    .await;
    respond(result, StatusCode::CREATED, &body, "", None)
}

async fn initial_offer(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let caller = caller(&request, &state).await?;
        let (message, _) = parse::<messages::ContractOfferMessage>(&body)?;
        state
            .negotiator
            .consumer_initial_offer(caller, message)
            .await
    }
    .await;
    respond(result, StatusCode::CREATED, &body, "", None)
}

async fn negotiation(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
) -> HttpResponse {
    let result = async {
        let caller = caller(&request, &state).await?;
        state.negotiator.negotiation_state(&pid, &caller)
    }
    .await;
    respond(result, StatusCode::OK, b"", &pid, role_of(&state, &pid))
}

fn role_of(state: &AppState, pid: &str) -> Option<Role> {
    state
        .store
        .negotiations
        .get(pid)
        .ok()
        .flatten()
        .map(|n| n.role)
}

async fn counter_request(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let caller = caller(&request, &state).await?;
        let (message, _) = parse::<messages::ContractRequestMessage>(&body)?;
        state
            .negotiator
            .provider_counter_request(&pid, caller, message)
            .await
    }
    .await;
    respond(result, StatusCode::OK, &body, &pid, Some(Role::Provider))
}

async fn counter_offer(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let caller = caller(&request, &state).await?;
        let (message, _) = parse::<messages::ContractOfferMessage>(&body)?;
        state
            .negotiator
            .consumer_counter_offer(&pid, caller, message)
            .await
    }
    .await;
    respond(result, StatusCode::OK, &body, &pid, Some(Role::Consumer))
}

async fn event(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let role = role_of(&state, &pid);
    let result = async {
        let caller = caller(&request, &state).await?;
        let (message, _) = parse::<messages::ContractNegotiationEventMessage>(&body)?;
        match role {
            Some(Role::Provider) => state.negotiator.provider_event(&pid, caller, message).await,
            Some(Role::Consumer) => state.negotiator.consumer_event(&pid, caller, message).await,
            None => Err(DspError::NotFound(format!("no negotiation `{pid}`"))),
        }
    }
    .await;
    respond(result, StatusCode::OK, &body, &pid, role)
}

async fn agreement(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let caller = caller(&request, &state).await?;
        let (message, raw) = parse::<messages::ContractAgreementMessage>(&body)?;
        state
            .negotiator
            .consumer_agreement(&pid, caller, message, &raw)
            .await
    }
    .await;
    respond(result, StatusCode::OK, &body, &pid, Some(Role::Consumer))
}

async fn verification(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let result = async {
        let caller = caller(&request, &state).await?;
        let (message, _) = parse::<messages::ContractAgreementVerificationMessage>(&body)?;
        state
            .negotiator
            .provider_verification(&pid, caller, message)
            .await
    }
    .await;
    respond(result, StatusCode::OK, &body, &pid, Some(Role::Provider))
}

async fn termination(
    request: HttpRequest,
    state: web::Data<AppState>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let role = role_of(&state, &pid);
    let result = async {
        let caller = caller(&request, &state).await?;
        let (message, _) = parse::<messages::ContractNegotiationTerminationMessage>(&body)?;
        state
            .negotiator
            .terminated_by_counterparty(&pid, caller, message)
            .await
    }
    .await;
    respond(result, StatusCode::OK, &body, &pid, role)
}

fn respond(
    result: Result<Value, DspError>,
    success: StatusCode,
    body: &[u8],
    pid: &str,
    role: Option<Role>,
) -> HttpResponse {
    match result {
        Ok(answer) => HttpResponse::build(success).json(answer),
        Err(error) => {
            let (provider_pid, consumer_pid) = pids(body, pid, role);
            Refusal::negotiation(error, &provider_pid, &consumer_pid).response()
        }
    }
}
