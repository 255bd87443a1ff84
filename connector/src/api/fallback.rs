//! JSON answers for what no handler answers: an unknown route (404), a method a route does not
//! answer (405), and actix's own refusals — an oversized body (413), a malformed query string,
//! path or JSON body (400). With these, every 4xx and 5xx answer is `{"error", "message"}`.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::error::{code_for, ApiError};
use super::limits::MAX_BODY_BYTES;

/// Most characters of a request's path repeated in an error.
const MAX_ECHO: usize = 200;

/// Sets the extractors' limits and error handlers: every refusal is an [`ApiError`].
pub fn configure_extractors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .app_data(
            web::JsonConfig::default()
                .limit(MAX_BODY_BYTES)
                .error_handler(|error, _| json_error(error).into()),
        )
        .app_data(web::QueryConfig::default().error_handler(|error, _| {
            ApiError::BadRequest(format!("the query string is not valid: {error}")).into()
        }))
        .app_data(web::PathConfig::default().error_handler(|error, _| {
            ApiError::BadRequest(format!("the path is not valid: {error}")).into()
        }));
}

fn json_error(error: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match error {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => ApiError::TooLarge(MAX_BODY_BYTES),
        E::ContentType => ApiError::BadRequest("the body must be `application/json`".into()),
        other => ApiError::BadRequest(format!("malformed JSON: {other}")),
    }
}

/// The answer to a request no route takes: 404.
pub async fn no_route(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no endpoint at `{}`",
        echo(request.path())
    )))
}

/// A middleware that turns every error answer whose body is not JSON (actix's own: 405, 413, a
/// payload that broke off) into `{"error", "message"}`, keeping its status and headers
/// (`Allow`, `Retry-After`).
pub fn json_errors<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(to_json)
}

fn to_json<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(is_json_media_type);
    if is_json {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let message = message(&response);
    let (request, original) = response.into_parts();
    let mut answer = HttpResponse::build(status);
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.append_header((name.clone(), value.clone()));
        }
    }
    let answer = answer.json(json!({ "error": code_for(status), "message": message }));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(request, answer).map_into_right_body(),
    ))
}

/// Whether a `Content-Type` is JSON: `application/json` or a `+json` type (a DID resolution
/// result, `application/ld+json;profile=…`, is JSON already and is left as it is).
fn is_json_media_type(value: &str) -> bool {
    let media_type = value.split(';').next().unwrap_or_default().trim();
    media_type == "application/json" || media_type.ends_with("+json")
}

/// What went wrong, in words, for an answer no [`ApiError`] made.
fn message<B>(response: &ServiceResponse<B>) -> String {
    let request = response.request();
    match response.status() {
        StatusCode::NOT_FOUND => format!("no endpoint at `{}`", echo(request.path())),
        StatusCode::METHOD_NOT_ALLOWED => format!(
            "`{}` does not answer {}",
            echo(request.path()),
            request.method()
        ),
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("the request body exceeds {MAX_BODY_BYTES} bytes")
        }
        status if status.is_server_error() => "internal error".into(),
        status => match response.response().error() {
            Some(error) => echo(&error.to_string()),
            None => status
                .canonical_reason()
                .unwrap_or("the request was refused")
                .to_owned(),
        },
    }
}

fn echo(text: &str) -> String {
    text.chars().take(MAX_ECHO).collect()
}
