//! The Dataspace Protocol 2025-1 HTTPS binding: every request under the protocol's base path
//! (and the version document) goes whole to the transport-neutral [`ProtocolService`].

use actix_web::http::{header, Method as HttpMethod, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::throttle::charging_refusals;
use crate::health::dcat::HEALTHDCAT_CONTEXT_PATH;
use crate::messenger::Method;
use crate::protocol::{ProtocolRequest, ProtocolService, DSP_PATH, VERSION_PATH};

/// Routes of the protocol, and the JSON-LD context its health catalogs name.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(VERSION_PATH, web::to(endpoint))
        .service(web::resource(HEALTHDCAT_CONTEXT_PATH).get(healthdcat_context))
        .service(web::scope(DSP_PATH).default_service(web::to(endpoint)));
}

/// The HealthDCAT-AP context a health catalog's `@context` names: public, static, cacheable.
async fn healthdcat_context() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/ld+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .json(crate::health::dcat::context_document())
}

/// Hands one HTTPS request to the protocol service and renders its answer. Anyone may call;
/// the service authenticates. Only refused requests count against the caller's rate limit, so
/// a stranger is held to it while a partner's callbacks, however many, are not.
async fn endpoint(
    request: HttpRequest,
    service: web::Data<ProtocolService>,
    body: web::Bytes,
) -> HttpResponse {
    charging_refusals(&request, answer(&request, &service, &body)).await
}

/// The protocol service's answer to `request`.
async fn answer(request: &HttpRequest, service: &ProtocolService, body: &[u8]) -> HttpResponse {
    let method = match *request.method() {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        _ => {
            return HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, "GET, POST"))
                .json(serde_json::json!({
                    "error": "method_not_allowed",
                    "message": "the protocol answers GET and POST",
                }))
        }
    };
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let answer = service
        .handle(ProtocolRequest {
            method,
            path: request.path(),
            authorization,
            body,
            peer: None,
        })
        .await;
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    response.json(answer.body)
}
