//! Fetching over HTTP on a caller's behalf: which addresses may be reached (the
//! [`AddressPolicy`]), which URLs may be fetched over plain HTTP (only those whose host is a
//! loopback host), and a bounded GET.
//!
//! Shared by the status list fetcher, did:web resolution and the connector's messenger, so
//! that all draw the line in the same place. URLs are parsed, never matched by prefix:
//! `http://127.0.0.1.example.org/`, `http://localhost.evil.com/` and
//! `http://localhost@evil.com/` are not loopback, and a URL with user information is refused.

mod address;

use std::net::{Ipv4Addr, Ipv6Addr};

pub use address::{AddressClass, AddressError, AddressPolicy, PolicyResolver};

/// How long a client keeps an idle connection for reuse: well under the 5 s keep-alive of
/// Symbolon's servers (actix-web's default, and a common one), so that a request is never
/// written into a connection the server is closing at that moment — a race that fails the
/// request with "connection closed before message completed" and that a client cannot retry
/// safely for a POST. Every HTTP client of the connector that sends more than one request is
/// built with it.
pub const IDLE_CONNECTION_REUSE: std::time::Duration = std::time::Duration::from_secs(2);

/// A client builder for addresses an operator named (its own connector, a URL source), not
/// checked by an [`AddressPolicy`], that reuses an idle connection for
/// [`IDLE_CONNECTION_REUSE`] only.
pub fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_idle_timeout(IDLE_CONNECTION_REUSE)
}

/// The error of parsing a URL (`url::ParseError`, named through `reqwest`).
pub type UrlParseError = <reqwest::Url as std::str::FromStr>::Err;

/// Why an HTTP GET failed. The messages name the upstream answer (for the operator's logs);
/// what a caller is told is [`HttpError::public_reason`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The address policy refused the URL or an address its host resolves to.
    #[error(transparent)]
    Refused(#[from] AddressError),
    /// The request could not be sent or got no answer.
    #[error("fetching `{url}` failed: {source}")]
    Request {
        /// The URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with a status other than success.
    #[error("`{url}` answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: reqwest::StatusCode,
    },
    /// The body could not be read.
    #[error("reading the body of `{url}` failed: {source}")]
    Read {
        /// The URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The body is larger than the limit.
    #[error("the body of `{url}` exceeds {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
}

impl HttpError {
    /// The HTTP status, when the server answered with a failure status.
    pub fn status(&self) -> Option<reqwest::StatusCode> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// What a caller who triggered the fetch may be told: the address policy's refusal, or
    /// that no usable answer came — never the upstream status, body or transport error, which
    /// would make the fetcher a port and path scanner.
    pub fn public_reason(&self) -> String {
        match self {
            HttpError::Refused(refusal) => refusal.to_string(),
            _ => "no usable answer".to_owned(),
        }
    }
}

/// GETs `url` and reads a successful answer's body, refusing one larger than `limit` bytes.
pub(crate) async fn get_limited(
    request: reqwest::RequestBuilder,
    url: &str,
    limit: usize,
) -> Result<Vec<u8>, HttpError> {
    let quoted = || crate::error::quote(url);
    let mut response =
        request
            .send()
            .await
            .map_err(|source| match AddressError::find(&source) {
                Some(refusal) => HttpError::Refused(refusal.clone()),
                None => HttpError::Request {
                    url: quoted(),
                    source,
                },
            })?;
    let status = response.status();
    if !status.is_success() {
        return Err(HttpError::Status {
            url: quoted(),
            status,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|source| HttpError::Read {
        url: quoted(),
        source,
    })? {
        if body.len() + chunk.len() > limit {
            return Err(HttpError::TooLarge {
                url: quoted(),
                limit,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether `host` is a loopback host: exactly `localhost`, an IPv4 address in `127.0.0.0/8`,
/// or the IPv6 address `::1` (with or without the URL brackets, as in `[::1]`).
pub fn is_loopback_host(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return ip.is_loopback();
    }
    let bracketed = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    bracketed
        .parse::<Ipv6Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `url` is a plain `http` URL that may be fetched: it must parse as a URL without
/// user information and its host must be a loopback host (see [`is_loopback_host`]). Whether
/// loopback may be reached at all is the [`AddressPolicy`]'s to say.
pub fn plain_http_allowed(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|parsed| {
        parsed.scheme() == "http"
            && parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.host_str().is_some_and(is_loopback_host)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_exact() {
        for host in ["localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "localhost.evil.com",
            "127.0.0.1.example.org",
            "evil-localhost",
            "128.0.0.1",
            "10.0.0.1",
            "::2",
            "[::1",
            "example.com",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn plain_http_only_on_a_loopback_host() {
        for url in [
            "http://127.0.0.1/list",
            "http://127.0.0.1:8080/list",
            "http://127.1.2.3/list",
            "http://localhost/list",
            "http://localhost:9/list",
            "http://[::1]/list",
            "http://[::1]:8443/list",
        ] {
            assert!(plain_http_allowed(url), "{url}");
        }
        for url in [
            "http://127.0.0.1.example.org/list",
            "http://localhost.evil.com/list",
            "http://localhost@evil.com/",
            "http://127.0.0.1@evil.com/",
            "http://127.0.0.1:80@evil.com/",
            "http://[::1]@evil.com/",
            "http://evil.com@localhost/list",
            "http://127.0.0.1@127.0.0.2:8080/list",
            "http://localhostevil.com/",
            "http://example.com/list",
            "https://localhost/list",
            "ftp://127.0.0.1/list",
            "http://",
            "not a url",
            "",
        ] {
            assert!(!plain_http_allowed(url), "{url}");
        }
    }
}
