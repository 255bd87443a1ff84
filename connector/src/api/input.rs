//! A request's input as typed values, with errors that name the field at fault: JSON bodies
//! ([`parse_body`]) and query strings ([`Query`]).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::limits::json_body;

/// Parses a request body as `T`, naming the field at fault.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value = json_body(body)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::BadRequest(field_error(Part::Body, &path, &e.into_inner().to_string()))
    })
}

/// A query string parsed as `T`; a malformed one is a 400 naming the parameter.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> Query<T> {
    /// Parses `query` (without the `?`).
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let parser = form_urlencoded::parse(query.as_bytes());
        serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(parser))
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                ApiError::BadRequest(field_error(Part::Query, &path, &e.into_inner().to_string()))
            })
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Query::parse(request.query_string()))
    }
}

/// Which part of the request an error is about.
#[derive(Debug, Clone, Copy)]
enum Part {
    Body,
    Query,
}

impl Part {
    fn member(self) -> &'static str {
        match self {
            Part::Body => "field",
            Part::Query => "query parameter",
        }
    }

    fn whole(self) -> &'static str {
        match self {
            Part::Body => "the body",
            Part::Query => "the query string",
        }
    }
}

/// Most characters of a caller's text repeated in an error.
const MAX_ECHO: usize = 200;

/// An error message naming the member at `path` (serde_path_to_error's form, `.` for the
/// whole) for serde's `message`. serde reports a missing or unknown member on its parent,
/// naming the member in the message: the name is taken from there, so that no error says
/// "field `.`".
fn field_error(part: Part, path: &str, message: &str) -> String {
    let message: String = message
        .split(" at line ")
        .next()
        .unwrap_or_default()
        .chars()
        .take(MAX_ECHO)
        .collect();
    let at = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, rest)| (name.to_owned(), rest.to_owned()))
    };
    if let Some((name, _)) = named("missing field `") {
        return format!("{} `{}` is missing", part.member(), at(&name));
    }
    if let Some((name, rest)) = named("unknown field `") {
        // The path of an unknown member already ends with it.
        let full = if path == name || path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            at(&name)
        };
        let expected = rest.trim_start_matches(',').trim();
        return format!("{} `{full}` is not known; {expected}", part.member());
    }
    if path == "." || path.is_empty() {
        return format!("{}: {message}", part.whole());
    }
    format!("{} `{path}`: {message}", part.member())
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "only parsed")]
    struct Inner {
        size: u64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code, reason = "only parsed")]
    struct Outer {
        id: String,
        inner: Inner,
    }

    fn body_error(body: &str) -> String {
        match parse_body::<Outer>(body.as_bytes()) {
            Err(ApiError::BadRequest(message)) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn body_errors_name_the_field_never_dot() {
        assert_eq!(
            body_error(r#"{"inner": {"size": 1}}"#),
            "field `id` is missing"
        );
        assert_eq!(
            body_error(r#"{"id": "a", "inner": {}}"#),
            "field `inner.size` is missing"
        );
        assert!(body_error(r#"{"id": 7, "inner": {"size": 1}}"#)
            .starts_with("field `id`: invalid type"));
        assert!(
            body_error(r#"{"id": "a", "inner": {"size": -1}}"#).starts_with("field `inner.size`: ")
        );
        let unknown = body_error(r#"{"id": "a", "inner": {"size": 1}, "x": 1}"#);
        assert!(
            unknown.starts_with("field `x` is not known; expected `id` or `inner`"),
            "{unknown}"
        );
        assert!(body_error("7").starts_with("the body: invalid type"));
        for body in [r#"{"inner": {"size": 1}}"#, "7", r#"{"id": 7}"#] {
            assert!(!body_error(body).contains("`.`"), "{body}");
        }
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "only parsed")]
    struct Sizes {
        from: u64,
        to: Option<u64>,
    }

    fn query_error(query: &str) -> String {
        match Query::<Sizes>::parse(query) {
            Err(ApiError::BadRequest(message)) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn query_errors_name_the_parameter() {
        assert_eq!(Query::<Sizes>::parse("from=3&to=9").unwrap().to, Some(9));
        assert_eq!(query_error("to=9"), "query parameter `from` is missing");
        assert!(query_error("from=abc").starts_with("query parameter `from`: "));
        assert!(query_error("from=1&to=-2").starts_with("query parameter `to`: "));
    }
}
