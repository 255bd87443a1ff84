//! The protocol's endpoints, from a method and a path: one table for every transport.

use crate::messenger::Method;

/// The protocol's base path on this connector.
pub const DSP_PATH: &str = "/dsp/2025-1";

/// Where the protocol versions are published (unauthenticated).
pub const VERSION_PATH: &str = "/.well-known/dspace-version";

/// An endpoint of the protocol, with the process or dataset id its path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /.well-known/dspace-version`.
    Version,
    /// `POST /catalog/request`.
    CatalogRequest,
    /// `GET /catalog/datasets/:id`.
    Dataset(String),
    /// `POST /negotiations/request`.
    InitialRequest,
    /// `POST /negotiations/offers`.
    InitialOffer,
    /// `GET /negotiations/:pid`.
    Negotiation(String),
    /// `POST /negotiations/:pid/request`.
    CounterRequest(String),
    /// `POST /negotiations/:pid/offers`.
    CounterOffer(String),
    /// `POST /negotiations/:pid/events`.
    Event(String),
    /// `POST /negotiations/:pid/agreement`.
    Agreement(String),
    /// `POST /negotiations/:pid/agreement/verification`.
    Verification(String),
    /// `POST /negotiations/:pid/termination`.
    Termination(String),
    /// `POST /transfers/request` (provider).
    TransferRequest,
    /// `GET /transfers/:pid` (either side).
    Transfer(String),
    /// `POST /transfers/:pid/start` (either side).
    TransferStart(String),
    /// `POST /transfers/:pid/completion` (either side).
    TransferCompletion(String),
    /// `POST /transfers/:pid/suspension` (either side).
    TransferSuspension(String),
    /// `POST /transfers/:pid/termination` (either side).
    TransferTermination(String),
}

/// Why a request names no endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No endpoint has this path.
    #[error("no protocol endpoint at `{0}`")]
    NotFound(String),
    /// The endpoint does not answer this method.
    #[error("the protocol endpoint `{path}` does not answer {method}")]
    MethodNotAllowed {
        /// The path.
        path: String,
        /// The method.
        method: &'static str,
    },
}

impl Route {
    /// Whether the route belongs to the catalog (its errors are `CatalogError`s).
    pub fn is_catalog(&self) -> bool {
        matches!(self, Route::CatalogRequest | Route::Dataset(_))
    }

    /// Whether the route belongs to the transfer process (its errors are `TransferError`s).
    pub fn is_transfer(&self) -> bool {
        matches!(
            self,
            Route::TransferRequest
                | Route::Transfer(_)
                | Route::TransferStart(_)
                | Route::TransferCompletion(_)
                | Route::TransferSuspension(_)
                | Route::TransferTermination(_)
        )
    }

    /// The process id the path names, if any.
    pub fn pid(&self) -> Option<&str> {
        match self {
            Route::Negotiation(pid)
            | Route::CounterRequest(pid)
            | Route::CounterOffer(pid)
            | Route::Event(pid)
            | Route::Agreement(pid)
            | Route::Verification(pid)
            | Route::Termination(pid)
            | Route::Transfer(pid)
            | Route::TransferStart(pid)
            | Route::TransferCompletion(pid)
            | Route::TransferSuspension(pid)
            | Route::TransferTermination(pid) => Some(pid),
            _ => None,
        }
    }
}

/// The endpoint `method` and `path` name.
pub fn route(method: Method, path: &str) -> Result<Route, RouteError> {
    let not_found = || RouteError::NotFound(path.chars().take(200).collect());
    if path == VERSION_PATH {
        return expect(method, Method::Get, path, Route::Version);
    }
    let rest = path.strip_prefix(DSP_PATH).ok_or_else(not_found)?;
    let segments: Vec<String> = rest
        .strip_prefix('/')
        .ok_or_else(not_found)?
        .split('/')
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    if segments.iter().any(String::is_empty) {
        return Err(not_found());
    }
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (route, wanted) = match segments.as_slice() {
        ["catalog", "request"] => (Route::CatalogRequest, Method::Post),
        ["catalog", "datasets", id] => (Route::Dataset((*id).to_owned()), Method::Get),
        ["negotiations", "request"] => (Route::InitialRequest, Method::Post),
        ["negotiations", "offers"] => (Route::InitialOffer, Method::Post),
        ["negotiations", pid] => (Route::Negotiation((*pid).to_owned()), Method::Get),
        ["negotiations", pid, "request"] => {
            (Route::CounterRequest((*pid).to_owned()), Method::Post)
        }
        ["negotiations", pid, "offers"] => (Route::CounterOffer((*pid).to_owned()), Method::Post),
        ["negotiations", pid, "events"] => (Route::Event((*pid).to_owned()), Method::Post),
        ["negotiations", pid, "agreement"] => (Route::Agreement((*pid).to_owned()), Method::Post),
        ["negotiations", pid, "agreement", "verification"] => {
            (Route::Verification((*pid).to_owned()), Method::Post)
        }
        ["negotiations", pid, "termination"] => {
            (Route::Termination((*pid).to_owned()), Method::Post)
        }
        ["transfers", "request"] => (Route::TransferRequest, Method::Post),
        ["transfers", pid] => (Route::Transfer((*pid).to_owned()), Method::Get),
        ["transfers", pid, "start"] => (Route::TransferStart((*pid).to_owned()), Method::Post),
        ["transfers", pid, "completion"] => {
            (Route::TransferCompletion((*pid).to_owned()), Method::Post)
        }
        ["transfers", pid, "suspension"] => {
            (Route::TransferSuspension((*pid).to_owned()), Method::Post)
        }
        ["transfers", pid, "termination"] => {
            (Route::TransferTermination((*pid).to_owned()), Method::Post)
        }
        _ => return Err(not_found()),
    };
    expect(method, wanted, path, route)
}

fn expect(method: Method, wanted: Method, path: &str, route: Route) -> Result<Route, RouteError> {
    if method == wanted {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed {
            path: path.chars().take(200).collect(),
            method: method.as_str(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_is_routed() {
        let cases = [
            (Method::Get, VERSION_PATH, Route::Version),
            (
                Method::Post,
                "/dsp/2025-1/catalog/request",
                Route::CatalogRequest,
            ),
            (
                Method::Get,
                "/dsp/2025-1/catalog/datasets/ward",
                Route::Dataset("ward".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/negotiations/request",
                Route::InitialRequest,
            ),
            (
                Method::Post,
                "/dsp/2025-1/negotiations/offers",
                Route::InitialOffer,
            ),
            (
                Method::Get,
                "/dsp/2025-1/negotiations/urn:uuid:1",
                Route::Negotiation("urn:uuid:1".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/negotiations/p/request",
                Route::CounterRequest("p".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/negotiations/p/offers",
                Route::CounterOffer("p".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/negotiations/p/events",
                Route::Event("p".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/negotiations/p/agreement",
                Route::Agreement("p".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/negotiations/p/agreement/verification",
                Route::Verification("p".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/negotiations/p/termination",
                Route::Termination("p".into()),
            ),
            (
                Method::Get,
                "/dsp/2025-1/negotiations/urn%3Auuid%3A1",
                Route::Negotiation("urn:uuid:1".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/transfers/request",
                Route::TransferRequest,
            ),
            (
                Method::Get,
                "/dsp/2025-1/transfers/urn:uuid:t",
                Route::Transfer("urn:uuid:t".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/transfers/t/start",
                Route::TransferStart("t".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/transfers/t/completion",
                Route::TransferCompletion("t".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/transfers/t/suspension",
                Route::TransferSuspension("t".into()),
            ),
            (
                Method::Post,
                "/dsp/2025-1/transfers/t/termination",
                Route::TransferTermination("t".into()),
            ),
        ];
        for (method, path, expected) in cases {
            assert_eq!(route(method, path), Ok(expected), "{path}");
        }
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        for path in [
            "/api/v1/offers",
            "/dsp/2025-1",
            "/dsp/2025-1/",
            "/dsp/2025-1x/catalog/request",
            "/dsp/2025-1/catalog",
            "/dsp/2025-1//request",
            "/dsp/2025-1/negotiations/p/unknown",
            "/dsp/2025-1/transfers",
            "/dsp/2025-1/transfers/t/resume",
        ] {
            assert!(
                matches!(route(Method::Post, path), Err(RouteError::NotFound(_))),
                "{path}"
            );
        }
        assert!(matches!(
            route(Method::Get, "/dsp/2025-1/negotiations/request"),
            Err(RouteError::MethodNotAllowed { .. })
        ));
        assert!(matches!(
            route(Method::Post, "/dsp/2025-1/transfers/t"),
            Err(RouteError::MethodNotAllowed { .. })
        ));
        assert!(matches!(
            route(Method::Get, "/dsp/2025-1/transfers/request"),
            Err(RouteError::MethodNotAllowed { .. })
        ));
        assert!(matches!(
            route(Method::Post, VERSION_PATH),
            Err(RouteError::MethodNotAllowed { .. })
        ));
    }
}
