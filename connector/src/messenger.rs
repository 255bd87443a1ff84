//! How the connector reaches a counterparty: a [`Messenger`] per transport — HTTPS, and the
//! peer network for `p2p://` addresses — and [`Network`], which picks one by the address.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::Value;
use symbolon_identity::net::{AddressError, AddressPolicy};
use symbolon_p2p::{NodeHandle, P2pError};

use crate::protocol::peer::{self, CarriedAnswer, CarriedRequest};

mod refusal;

/// How long an outbound protocol call may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest answer read from a counterparty, in bytes.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Most characters of a refusal's body kept (enough for an error body's reasons; the message
/// shows only those).
const MAX_REFUSAL_CHARS: usize = 4096;

/// The running peer-network node, once joined (empty while the connector is not on it).
pub type PeerSlot = Arc<OnceLock<NodeHandle>>;

/// A request method of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// `GET` or `POST`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One outbound protocol call.
#[derive(Debug, Clone, Copy)]
pub struct Outbound<'a> {
    /// `GET` or `POST`.
    pub method: Method,
    /// Where: an http(s) URL or a `p2p://<PeerId>/…` address.
    pub url: &'a str,
    /// The self-issued token, if the call is authenticated.
    pub token: Option<&'a str>,
    /// The JSON body of a `POST`.
    pub body: Option<&'a Value>,
}

/// Why an outbound call failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The counterparty could not be reached over HTTPS.
    #[error("cannot reach `{url}`: {source}")]
    Http {
        /// Where.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The counterparty could not be reached over the peer network.
    #[error("cannot reach `{url}` over the peer network: {source}")]
    Peer {
        /// Where.
        url: String,
        /// Why.
        #[source]
        source: P2pError,
    },
    /// A `p2p://` address while this connector is not on the peer network.
    #[error("cannot reach `{url}`: this connector is not on the peer network (start `serve` with `--p2p`)")]
    NotOnNetwork {
        /// Where.
        url: String,
    },
    /// The address policy refuses the URL, or an address its host resolves to.
    #[error("cannot reach `{url}`: {source}")]
    Address {
        /// Where.
        url: String,
        /// Why it is refused.
        #[source]
        source: AddressError,
    },
    /// The address is neither an http(s) URL nor a `p2p://` address.
    #[error("`{url}` is neither an http(s) URL nor a p2p:// address")]
    BadAddress {
        /// The address.
        url: String,
    },
    /// The counterparty refused: told by the reason its error body gives, not the raw body.
    #[error("{}", refusal::describe(url, *status, body))]
    Refused {
        /// Where.
        url: String,
        /// The status code.
        status: u16,
        /// Its answer (truncated).
        body: String,
    },
    /// The answer is not JSON.
    #[error("`{url}` answered with malformed JSON: {source}")]
    Malformed {
        /// Where.
        url: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The answer is too large.
    #[error("`{url}` answered more than {MAX_ANSWER_BYTES} bytes")]
    TooLarge {
        /// Where.
        url: String,
    },
}

/// A transport that carries protocol calls to a counterparty and brings back its JSON answer
/// (`null` when it had none); an answer of 400 or more is a refusal.
pub trait Messenger: Send + Sync {
    /// Sends `call` and waits for the answer.
    fn send<'a>(
        &'a self,
        call: Outbound<'a>,
    ) -> impl Future<Output = Result<Value, SendError>> + Send + 'a;
}

/// Protocol calls over HTTPS (plain HTTP only to a loopback host, for test setups on one
/// machine), with certificate checks, without following redirects, and only to the
/// addresses its [`AddressPolicy`] allows: each URL is parsed and checked, and host names are
/// resolved by a resolver that checks every address (so the call goes to a checked address).
#[derive(Debug, Clone)]
pub struct HttpsMessenger {
    client: reqwest::Client,
    policy: AddressPolicy,
}

impl HttpsMessenger {
    /// A messenger under `policy` whose calls time out after 10 seconds.
    pub fn new(policy: AddressPolicy) -> Self {
        let client = policy
            .client_builder()
            .timeout(SEND_TIMEOUT)
            .build()
            .unwrap_or_default();
        HttpsMessenger { client, policy }
    }

    /// The address policy it follows.
    pub fn policy(&self) -> AddressPolicy {
        self.policy
    }
}

impl Default for HttpsMessenger {
    /// A messenger that reaches public addresses only.
    fn default() -> Self {
        HttpsMessenger::new(AddressPolicy::PUBLIC_ONLY)
    }
}

impl Messenger for HttpsMessenger {
    async fn send<'a>(&'a self, call: Outbound<'a>) -> Result<Value, SendError> {
        let url = call.url;
        let refused = |source| SendError::Address {
            url: url.to_owned(),
            source,
        };
        let http = |source: reqwest::Error| match AddressError::find(&source) {
            Some(refusal) => refused(refusal.clone()),
            None => SendError::Http {
                url: url.to_owned(),
                source,
            },
        };
        let checked = self.policy.check_url(url).map_err(refused)?;
        let mut request = match call.method {
            Method::Get => self.client.get(checked),
            Method::Post => self
                .client
                .post(checked)
                .json(&call.body.unwrap_or(&Value::Null)),
        };
        if let Some(token) = call.token {
            request = request.bearer_auth(token);
        }
        let mut response = request.send().await.map_err(http)?;
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(SendError::TooLarge {
                    url: url.to_owned(),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        if status >= 400 {
            return Err(SendError::Refused {
                url: url.to_owned(),
                status,
                body: String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(MAX_REFUSAL_CHARS)
                    .collect(),
            });
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|source| SendError::Malformed {
            url: url.to_owned(),
            source,
        })
    }
}

/// Protocol calls carried whole over the peer network to the peer a `p2p://` address names.
#[derive(Debug, Clone, Default)]
pub struct PeerMessenger {
    slot: PeerSlot,
}

impl PeerMessenger {
    /// A messenger over the node `slot` will hold once the connector joins.
    pub fn new(slot: PeerSlot) -> Self {
        PeerMessenger { slot }
    }

    /// The node, once joined.
    pub fn node(&self) -> Option<&NodeHandle> {
        self.slot.get()
    }

    /// Where the node goes once joined.
    pub fn slot(&self) -> &PeerSlot {
        &self.slot
    }
}

impl Messenger for PeerMessenger {
    async fn send<'a>(&'a self, call: Outbound<'a>) -> Result<Value, SendError> {
        let url = call.url;
        let node = self.node().ok_or_else(|| SendError::NotOnNetwork {
            url: url.to_owned(),
        })?;
        let (peer, path) = peer::split(url).ok_or_else(|| SendError::BadAddress {
            url: url.to_owned(),
        })?;
        let request = CarriedRequest {
            method: call.method.as_str().to_owned(),
            path: path.to_owned(),
            authorization: call.token.map(|token| format!("Bearer {token}")),
            body: call.body.cloned(),
        };
        let failed = |source| SendError::Peer {
            url: url.to_owned(),
            source,
        };
        let answer = node
            .request(peer, request.to_value())
            .await
            .map_err(failed)?;
        let answer: CarriedAnswer =
            serde_json::from_value(answer).map_err(|source| SendError::Malformed {
                url: url.to_owned(),
                source,
            })?;
        if answer.status >= 400 {
            return Err(SendError::Refused {
                url: url.to_owned(),
                status: answer.status,
                body: answer
                    .body
                    .to_string()
                    .chars()
                    .take(MAX_REFUSAL_CHARS)
                    .collect(),
            });
        }
        Ok(answer.body)
    }
}

/// Both transports, and this connector's own protocol addresses.
#[derive(Debug, Clone)]
pub struct Network {
    https: HttpsMessenger,
    peers: PeerMessenger,
    dsp_url: String,
}

impl Network {
    /// The network of a connector whose protocol base URL is `dsp_url`, reaching over HTTPS
    /// the addresses `policy` allows.
    pub fn new(dsp_url: String, peers: PeerSlot, policy: AddressPolicy) -> Self {
        Network {
            https: HttpsMessenger::new(policy),
            peers: PeerMessenger::new(peers),
            dsp_url,
        }
    }

    /// The address policy of calls over HTTPS.
    pub fn policy(&self) -> AddressPolicy {
        self.https.policy()
    }

    /// This connector's protocol base URL over HTTPS.
    pub fn dsp_url(&self) -> &str {
        &self.dsp_url
    }

    /// The peer-network side.
    pub fn peers(&self) -> &PeerMessenger {
        &self.peers
    }

    /// Where a counterparty at `base` should send its messages: this connector's address on
    /// the peer network when `base` is one and the connector has joined it, its HTTPS
    /// protocol URL otherwise.
    pub fn callback_for(&self, base: &str) -> String {
        match self.peers.node() {
            Some(node) if base.starts_with(peer::P2P_SCHEME) => peer::dsp_address(&node.peer_id()),
            _ => self.dsp_url.clone(),
        }
    }
}

impl Messenger for Network {
    async fn send<'a>(&'a self, call: Outbound<'a>) -> Result<Value, SendError> {
        if call.url.starts_with(peer::P2P_SCHEME) {
            self.peers.send(call).await
        } else if call.url.starts_with("https://") || call.url.starts_with("http://") {
            self.https.send(call).await
        } else {
            Err(SendError::BadAddress {
                url: call.url.to_owned(),
            })
        }
    }
}
