//! The operator: a request carrying `Authorization: Bearer <admin token>`, checked in constant
//! time. Handlers that take an [`Admin`] argument answer 401 to anyone else.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};

use super::error::ApiError;
use crate::datadir::AdminToken;

/// Proof that the request carries the admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin(());

/// The token of an `Authorization: Bearer <token>` header, if any (the scheme's case does not
/// matter, RFC 7235 §2.1).
pub fn bearer(request: &HttpRequest) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl Admin {
    /// Checks `request`'s bearer token against the admin token.
    pub fn check(request: &HttpRequest) -> Result<Admin, ApiError> {
        let expected = request
            .app_data::<web::Data<AdminToken>>()
            .ok_or(ApiError::Unauthorized)?;
        let token = bearer(request).ok_or(ApiError::Unauthorized)?;
        if expected.matches(token.trim()) {
            Ok(Admin(()))
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Admin, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Admin::check(request))
    }
}
