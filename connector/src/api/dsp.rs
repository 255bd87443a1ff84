//! The Dataspace Protocol 2025-1 HTTPS binding: every request under the protocol's base path
//! (and the version document) goes whole to the transport-neutral [`ProtocolService`].

use actix_web::http::{header, Method as HttpMethod, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::throttle::Throttled;
use crate::messenger::Method;
use crate::protocol::{ProtocolRequest, ProtocolService, DSP_PATH, VERSION_PATH};

/// Routes of the protocol.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(VERSION_PATH, web::to(endpoint))
        .service(web::scope(DSP_PATH).default_service(web::to(endpoint)));
}

/// Hands one HTTPS request to the protocol service and renders its answer (anyone may call,
/// within the rate limit; the service authenticates).
async fn endpoint(
    _: Throttled,
    request: HttpRequest,
    service: web::Data<ProtocolService>,
    body: web::Bytes,
) -> HttpResponse {
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
            body: &body,
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
