//! The Dataspace Protocol over the peer network: its HTTP requests, carried whole (method,
//! path, `Authorization`, JSON body) in libp2p request-response messages between
//! authenticated peers, and answered by the same protocol endpoints that serve HTTPS.
//!
//! A counterparty's protocol address on the peer network is `p2p://<PeerId>/dsp/2025-1`
//! (a PeerId names an Ed25519 did:key, so the address also names the DID). A request
//! arriving over the peer network must carry a self-issued token whose issuer is the peer
//! that sent it, and may only reach the protocol's paths; it is then handed to the same
//! [`ProtocolService`] that answers HTTPS, where it is checked exactly as any other call.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use symbolon_identity::net::{AddressError, AddressPolicy};
use symbolon_p2p::{IncomingRequest, NodeHandle, PeerId};

use super::{ProtocolRequest, ProtocolService, DSP_PATH};
use crate::messenger::Method;

/// The scheme of protocol addresses on the peer network.
pub const P2P_SCHEME: &str = "p2p://";

/// A protocol request as it travels over the peer network.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CarriedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, starting with `/dsp/2025-1/` (or `/.well-known/dspace-version`).
    pub path: String,
    /// The `Authorization` header's value.
    #[serde(default)]
    pub authorization: Option<String>,
    /// The JSON body of a `POST`.
    #[serde(default)]
    pub body: Option<Value>,
}

impl CarriedRequest {
    /// The request as the peer network carries it.
    pub fn to_value(&self) -> Value {
        // Strings and a JSON value: serialising cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CarriedAnswer {
    /// The HTTP status the endpoint answered.
    pub status: u16,
    /// The endpoint's JSON answer (`null` when it had none).
    #[serde(default)]
    pub body: Value,
}

/// This connector's protocol address on the peer network.
pub fn dsp_address(peer_id: &PeerId) -> String {
    format!("{P2P_SCHEME}{peer_id}{DSP_PATH}")
}

/// Splits `p2p://<peer>/<path>` into the peer (a PeerId or did:key) and the path.
pub fn split(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix(P2P_SCHEME)?;
    let (peer, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    (!peer.is_empty()).then_some((peer, path))
}

/// Checks a counterparty's `callbackAddress`: an http(s) URL that `policy` allows (parsed:
/// https, plain http only to a loopback host, no user information, no query or fragment, an
/// address literal of an allowed class — host names are checked again when they are
/// resolved), or the peer-network address of the caller itself (`caller` is its DID), so that
/// nobody can direct this connector's messages to another peer.
pub fn check_callback(
    callback: &str,
    caller: &str,
    policy: AddressPolicy,
) -> Result<(), CallbackError> {
    if !callback.starts_with(P2P_SCHEME) {
        let url = policy.check_url(callback).map_err(CallbackError::Address)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(CallbackError::QueryOrFragment);
        }
        return Ok(());
    }
    let (peer, path) = split(callback).ok_or(CallbackError::Scheme)?;
    let did = peer
        .parse::<PeerId>()
        .ok()
        .and_then(|id| symbolon_p2p::did_of_peer(&id).ok())
        .ok_or_else(|| CallbackError::NotPeerId(peer.chars().take(100).collect()))?;
    if did.as_str() == caller && path.trim_end_matches('/') == DSP_PATH {
        Ok(())
    } else {
        Err(CallbackError::OtherPeer)
    }
}

/// Why a `callbackAddress` is refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallbackError {
    /// Neither http(s) nor `p2p://`.
    #[error("must be an http(s) URL or a p2p:// address")]
    Scheme,
    /// An http(s) URL the address policy refuses.
    #[error("is refused: {0}")]
    Address(#[source] AddressError),
    /// An http(s) URL with a query or a fragment (paths are appended to it).
    #[error("must not have a query or a fragment")]
    QueryOrFragment,
    /// A `p2p://` address of another peer, or not of its protocol path.
    #[error("names another peer than the caller's, or not its protocol path")]
    OtherPeer,
    /// The peer part is no PeerId.
    #[error("`{0}` is not a PeerId")]
    NotPeerId(String),
}

/// Answers protocol requests arriving over the peer network with `service`, until the node
/// stops.
pub fn serve(node: &NodeHandle, service: ProtocolService) {
    let Some(mut incoming) = node.incoming_requests() else {
        tracing::warn!("protocol requests over the peer network are already being served");
        return;
    };
    tokio::spawn(async move {
        while let Some(request) = incoming.recv().await {
            let service = service.clone();
            tokio::spawn(async move {
                let IncomingRequest {
                    from,
                    payload,
                    responder,
                    ..
                } = request;
                let answer = answer(&service, &from, payload).await;
                let answer = serde_json::to_value(answer).unwrap_or(Value::Null);
                if let Err(error) = responder.respond(answer).await {
                    tracing::debug!(%error, peer = %from, "a protocol answer was not delivered");
                }
            });
        }
    });
}

/// The answer to one carried request from the peer whose DID is `from`.
async fn answer(service: &ProtocolService, from: &str, payload: Value) -> CarriedAnswer {
    let refuse = |status: u16, message: &str| CarriedAnswer {
        status,
        body: serde_json::json!({ "message": message }),
    };
    if crate::trust::distribution::is_message(&payload) {
        let (status, body) =
            crate::trust::distribution::receive(service.connector(), from, &payload).await;
        return CarriedAnswer { status, body };
    }
    if crate::revocation::is_message(&payload) {
        let (status, body) = crate::revocation::receive(service.connector(), from, &payload);
        return CarriedAnswer { status, body };
    }
    let request: CarriedRequest = match serde_json::from_value(payload) {
        Ok(request) => request,
        Err(e) => return refuse(400, &format!("not a carried protocol request: {e}")),
    };
    if !allowed_path(&request.path) {
        return refuse(
            404,
            "only Dataspace Protocol paths are served over the peer network",
        );
    }
    let method = match request.method.as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        other => {
            return refuse(
                405,
                &format!(
                    "method `{}` is not served",
                    other.chars().take(16).collect::<String>()
                ),
            )
        }
    };
    let body = match &request.body {
        Some(body) => serde_json::to_vec(body).unwrap_or_default(),
        None => Vec::new(),
    };
    let response = service
        .handle(ProtocolRequest {
            method,
            path: &request.path,
            authorization: request.authorization.as_deref(),
            body: &body,
            peer: Some(from),
        })
        .await;
    CarriedAnswer {
        status: response.status,
        body: response.body,
    }
}

/// Whether `path` is one the peer network may reach: the protocol's, nothing else (no
/// management API, no VC-API), and no way out of them.
fn allowed_path(path: &str) -> bool {
    let protocol = path == "/.well-known/dspace-version"
        || path
            .strip_prefix(DSP_PATH)
            .is_some_and(|rest| rest.starts_with('/'));
    protocol
        && !path.contains("..")
        && !path.contains("//")
        && path.chars().all(|c| c.is_ascii_graphic())
        && !path.contains(['?', '#', '%', '\\'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_peer_and_path() {
        assert_eq!(
            split("p2p://12D3KooWabc/dsp/2025-1/negotiations/request"),
            Some(("12D3KooWabc", "/dsp/2025-1/negotiations/request"))
        );
        assert_eq!(split("p2p://12D3KooWabc"), Some(("12D3KooWabc", "")));
        assert_eq!(split("p2p:///dsp"), None);
        assert_eq!(split("https://x/dsp"), None);
    }

    #[test]
    fn a_p2p_callback_must_be_the_callers_own() {
        let key = symbolon_identity::KeyPair::generate(symbolon_identity::KeyAlgorithm::Ed25519);
        let did = symbolon_identity::Did::key(&key.public_key());
        let peer = key.public_key().peer_id().unwrap();
        let own = dsp_address(&peer);
        let policy = AddressPolicy::PUBLIC_ONLY;
        let check = |callback: &str, caller: &str| check_callback(callback, caller, policy);
        assert!(check(&own, did.as_str()).is_ok());
        assert!(check("https://c.example/dsp/2025-1", did.as_str()).is_ok());
        assert!(check(&own, "did:key:z6MkOther").is_err());
        assert!(check(&format!("p2p://{peer}/api/v1"), did.as_str()).is_err());
        assert!(check("p2p://not-a-peer/dsp/2025-1", did.as_str()).is_err());
        assert!(check("ftp://x", did.as_str()).is_err());
    }

    #[test]
    fn an_http_callback_must_pass_the_address_policy() {
        let caller = "did:key:z6MkCaller";
        for (callback, why) in [
            ("http://127.0.0.1:9/dsp", "--allow-private-callbacks"),
            ("https://10.0.0.1/dsp", "--allow-private-callbacks"),
            (
                "https://169.254.169.254/latest",
                "--allow-private-callbacks",
            ),
            ("https://localhost/dsp", "--allow-private-callbacks"),
            ("http://c.example/dsp", "plain http only on a loopback host"),
            ("https://c.example/dsp?x=1", "query or a fragment"),
            ("https://c.example/dsp#x", "query or a fragment"),
            ("https://u@c.example/dsp", "user information"),
            ("https://0.0.0.0/dsp", "unspecified"),
        ] {
            let error = check_callback(callback, caller, AddressPolicy::PUBLIC_ONLY)
                .unwrap_err()
                .to_string();
            assert!(error.contains(why), "{callback}: {error}");
        }
        let private = AddressPolicy::ALLOW_PRIVATE;
        assert!(check_callback("http://127.0.0.1:9/dsp", caller, private).is_ok());
        let error = check_callback("http://127.0.0.1@127.0.0.2:9/dsp", caller, private)
            .unwrap_err()
            .to_string();
        assert!(error.contains("user information"), "{error}");
    }

    #[test]
    fn only_protocol_paths_are_served() {
        assert!(allowed_path("/dsp/2025-1/negotiations/request"));
        assert!(allowed_path("/dsp/2025-1/catalog/datasets/ward-statistics"));
        assert!(allowed_path("/.well-known/dspace-version"));
        for refused in [
            "/api/v1/offers",
            "/credentials/issue",
            "/dsp/2025-1",
            "/dsp/2025-1x/negotiations",
            "/dsp/2025-1/../api/v1/offers",
            "/dsp/2025-1//x",
            "/dsp/2025-1/negotiations?x=1",
            "/dsp/2025-1/%2e%2e/api",
            "/dsp/2025-1/a b",
        ] {
            assert!(!allowed_path(refused), "{refused}");
        }
    }
}
