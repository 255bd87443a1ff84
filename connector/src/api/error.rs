//! One error type for every HTTP answer: a status code and a JSON body
//! `{"error": <code>, "message": <text>}` with no internals.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 400: a member of the request is invalid; the body names it by its JSON pointer
    /// (`path`).
    #[error("{message}")]
    Invalid {
        /// What is wrong, and why.
        message: String,
        /// The JSON pointer of the offending member.
        path: String,
    },
    /// 401: no or wrong credentials.
    #[error("a valid `Authorization: Bearer` admin token is required")]
    Unauthorized,
    /// 401: a protocol call's self-issued token was refused; the message names why.
    #[error("the self-issued token was refused: {0}")]
    BadToken(String),
    /// 401: a sign-in, or the session it opened, was refused; the message says why.
    #[error("{0}")]
    SignIn(String),
    /// 403: authenticated, but not allowed this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: nothing there.
    #[error("{0}")]
    NotFound(String),
    /// 409: it exists already.
    #[error("{0}")]
    Conflict(String),
    /// 422 with details (e.g. a policy's diagnostics).
    #[error("{message}")]
    Rejected {
        /// What was refused.
        message: String,
        /// Why, as data.
        details: serde_json::Value,
    },
    /// 502: a partner could not be reached or refused.
    #[error("{0}")]
    BadGateway(String),
    /// 413: the body is too large.
    #[error("the request body exceeds {0} bytes")]
    TooLarge(usize),
    /// 422: well-formed but refused.
    #[error("{0}")]
    Unprocessable(String),
    /// 429: the caller is over its rate limit.
    #[error("too many requests from this address; retry in {} s", retry_seconds(*.retry_after))]
    TooManyRequests {
        /// How long until the next request is allowed.
        retry_after: std::time::Duration,
    },
    /// 503: not now; the message says why, `Retry-After` when to ask again.
    #[error("{message}")]
    Unavailable {
        /// Why, in words.
        message: String,
        /// How long until asking again may succeed.
        retry_after: std::time::Duration,
    },
    /// 501: a part of a protocol this connector does not implement.
    #[error("{0}")]
    NotImplemented(String),
    /// 500: something failed inside; the details go to the log, never to the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl ApiError {
    /// A 500 caused by `error` (logged, never sent).
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        ApiError::Internal(Box::new(error))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        ApiError::internal(error)
    }
}

impl From<crate::audit::AuditError> for ApiError {
    /// An event too large for the log refuses the action it records (422); any other failure
    /// to record is a 500.
    fn from(error: crate::audit::AuditError) -> Self {
        use symbolon_audit::{EventError, StoreError};
        match error {
            crate::audit::AuditError::Log(StoreError::Event(
                event @ EventError::TooLarge { .. },
            )) => ApiError::Unprocessable(format!(
                "the action cannot be recorded in the audit trail, so it was not taken: {event}"
            )),
            other => ApiError::internal(other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::internal(error)
    }
}

impl From<super::limits::BodyError> for ApiError {
    fn from(error: super::limits::BodyError) -> Self {
        match error {
            super::limits::BodyError::TooLarge(limit) => ApiError::TooLarge(limit),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) | ApiError::Invalid { .. } => "bad_request",
            ApiError::Unauthorized | ApiError::BadToken(_) | ApiError::SignIn(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::NotImplemented(_) => "not_implemented",
            ApiError::TooLarge(_) => "payload_too_large",
            ApiError::Conflict(_) => "conflict",
            ApiError::Rejected { .. } => "rejected",
            ApiError::BadGateway(_) => "bad_gateway",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }
}

/// Whole seconds to wait, rounded up, at least 1 (for `Retry-After`).
fn retry_seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1)
}

/// The `error` code of an answer with `status` that no [`ApiError`] made (actix's own
/// refusals, unknown routes).
pub fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::LENGTH_REQUIRED => "length_required",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::BAD_GATEWAY => "bad_gateway",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "gateway_timeout",
        status if status.is_server_error() => "internal",
        _ => "error",
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::BadToken(_) | ApiError::SignIn(_) => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Rejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(detail) = self {
            tracing::error!(detail = %detail, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized | ApiError::BadToken(_) | ApiError::SignIn(_) => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::TooManyRequests { retry_after }
            | ApiError::Unavailable { retry_after, .. } => {
                response.insert_header(("Retry-After", retry_seconds(*retry_after).to_string()));
            }
            _ => {}
        }
        let path = match self {
            ApiError::Invalid { path, .. } => Some(path.to_string()),
            _ => None,
        };
        let error = ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
            path,
        };
        let mut body = serde_json::to_value(&error)
            .unwrap_or_else(|_| json!({ "error": error.error, "message": error.message }));
        if let (ApiError::Rejected { details, .. }, Some(object)) = (self, body.as_object_mut()) {
            if let Some(extra) = details.as_object() {
                object.extend(extra.clone());
            }
        }
        response.json(body)
    }
}

/// The body of every error answer of the API: a machine-readable code and the reason in words
/// (some errors add members: `path` for an invalid body, `diagnostics` for a policy that does
/// not check).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The kind of error (`bad_request`, `unauthorized`, `not_found`, `unavailable`, …).
    pub error: String,
    /// Why, in words.
    pub message: String,
    /// For an invalid body: the JSON pointer of the member at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}
