//! Contract negotiation over the Dataspace Protocol 2025-1, as provider and as consumer.
//!
//! State changes are driven by messages: a message that arrives is checked against the state
//! machine ([`state`]), applied and stored (flushed) before it is acknowledged; the reply it
//! calls for is sent from a task spawned after the acknowledgement. Waiting for an outcome
//! listens to the changes as they are stored; nothing polls.

pub mod agreement;
pub mod auth;
pub mod claims;
mod consumer;
pub mod messages;
mod operator;
mod provider;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use symbolon_identity::status_list::HttpStatusSource;
use symbolon_identity::{DidResolver, Identity};
use symbolon_policy::Schema;
use tokio::sync::broadcast;

pub use consumer::{StartError, StartNegotiation};
pub use operator::OfferContract;

use self::auth::AuthError;
use self::state::{IllegalTransition, NegotiationState};
use crate::datadir::DataDir;
use crate::store::negotiations::Negotiation;
use crate::store::{Event, Store, StoreError};

/// The protocol's base path on this connector.
pub const DSP_PATH: &str = "/dsp/2025-1";

/// How long an outbound protocol call may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a protocol message was not accepted; maps to the status codes the specification gives.
#[derive(Debug, thiserror::Error)]
pub enum DspError {
    /// 401: the caller is not authenticated.
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// 400: the message is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 400: the message is not allowed in the negotiation's state.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// 404: no such process, or the caller is not party to it.
    #[error("{0}")]
    NotFound(String),
    /// 500: something failed inside (details logged, never sent).
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for DspError {
    fn from(error: StoreError) -> Self {
        DspError::Internal(error.to_string())
    }
}

/// Why an outbound call failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The counterparty could not be reached.
    #[error("cannot reach `{url}`: {reason}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// The counterparty refused.
    #[error("`{url}` answered {status}: {body}")]
    Refused {
        /// Where.
        url: String,
        /// The status code.
        status: u16,
        /// Its answer (truncated).
        body: String,
    },
}

/// The negotiation engine shared by the protocol endpoints and the management API.
#[derive(Clone)]
pub struct Negotiator {
    inner: Arc<Inner>,
}

struct Inner {
    identity: Identity,
    store: Store,
    dir: DataDir,
    resolver: Arc<DidResolver>,
    status_source: Arc<HttpStatusSource>,
    http: reqwest::Client,
    schema: Arc<Schema>,
    dsp_url: String,
    peers: crate::p2p::PeerSlot,
    changes: broadcast::Sender<(String, NegotiationState)>,
}

/// What the engine needs.
pub struct NegotiatorParts {
    /// The connector's identity.
    pub identity: Identity,
    /// The store.
    pub store: Store,
    /// The data directory (for the installed trust list).
    pub dir: DataDir,
    /// The DID resolver.
    pub resolver: Arc<DidResolver>,
    /// Where status lists are fetched from (cached).
    pub status_source: Arc<HttpStatusSource>,
    /// This connector's protocol base URL (`<public url>/dsp/2025-1`).
    pub dsp_url: String,
    /// The peer-network node, once joined (protocol messages to `p2p://` addresses go
    /// through it).
    pub peers: crate::p2p::PeerSlot,
}

impl Negotiator {
    /// Builds the engine.
    pub fn new(parts: NegotiatorParts) -> Self {
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .build()
            .unwrap_or_default();
        let (changes, _) = broadcast::channel(1024);
        Negotiator {
            inner: Arc::new(Inner {
                identity: parts.identity,
                store: parts.store,
                dir: parts.dir,
                resolver: parts.resolver,
                status_source: parts.status_source,
                http,
                schema: Arc::new(Schema::health()),
                dsp_url: parts.dsp_url,
                peers: parts.peers,
                changes,
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The connector's DID.
    pub fn did(&self) -> &str {
        self.inner.identity.did.as_str()
    }

    /// The protocol base URL.
    pub fn dsp_url(&self) -> &str {
        &self.inner.dsp_url
    }

    /// Where a counterparty at `base` should send its messages: this connector's address on
    /// the peer network when `base` is one (`p2p://…`) and the connector has joined it, its
    /// HTTPS protocol URL otherwise.
    pub fn callback_for(&self, base: &str) -> String {
        match self.inner.peers.get() {
            Some(node) if base.starts_with(crate::dsp_p2p::P2P_SCHEME) => {
                crate::dsp_p2p::dsp_address(&node.peer_id())
            }
            _ => self.inner.dsp_url.clone(),
        }
    }

    /// The peer-network node, if joined.
    fn node(&self, url: &str) -> Result<&symbolon_p2p::NodeHandle, SendError> {
        self.inner
            .peers
            .get()
            .ok_or_else(|| SendError::Unreachable {
                url: url.to_owned(),
                reason: "this connector is not on the peer network (start `serve` with `--p2p`)"
                    .into(),
            })
    }

    /// The policy schema.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.inner.schema
    }

    /// The DID resolver.
    pub fn resolver(&self) -> &DidResolver {
        &self.inner.resolver
    }

    /// Records an event; a failure to record is logged (the caller's answer stands).
    pub async fn record(&self, event: Event) {
        if let Err(error) = self.inner.store.events.append(&event).await {
            tracing::error!(%error, kind = %event.kind, "cannot record an event");
        }
    }

    /// Records an authentication failure.
    pub async fn record_auth_failure(&self, path: &str, error: &AuthError) {
        self.record(Event::now(
            "auth.failed",
            self.did(),
            path,
            "refused",
            serde_json::json!({ "code": error.code(), "reason": error.to_string() }),
        ))
        .await;
    }

    /// This connector's signed audit tree head over everything recorded so far.
    async fn tree_head(&self) -> Option<String> {
        let (store, identity) = (self.inner.store.clone(), self.inner.identity.clone());
        match tokio::task::spawn_blocking(move || crate::audit::current_head(&store, &identity))
            .await
        {
            Ok(Ok(head)) => Some(head.jws),
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot sign a tree head");
                None
            }
            Err(error) => {
                tracing::error!(%error, "cannot sign a tree head");
                None
            }
        }
    }

    /// Records the partner's tree head (cross-witnessing); a bad head is recorded as refused.
    async fn witness(&self, partner: &str, head: Option<&str>) {
        let Some(head) = head else { return };
        if let Err(reason) = crate::audit::witness(
            &self.inner.store,
            &self.inner.identity,
            partner,
            head,
            &self.inner.resolver,
        )
        .await
        {
            self.record(Event::now(
                "witness.tree_head",
                self.did(),
                partner,
                "refused",
                serde_json::json!({ "reason": reason }),
            ))
            .await;
        }
    }

    /// The negotiation this connector knows as `pid`, if `caller` is party to it.
    pub fn negotiation_for(&self, pid: &str, caller: &str) -> Result<Negotiation, DspError> {
        match self.inner.store.negotiations.get(pid)? {
            Some(n) if n.counterparty == caller => Ok(n),
            _ => Err(DspError::NotFound(format!(
                "no negotiation `{}` with this caller",
                pid.chars().take(100).collect::<String>()
            ))),
        }
    }

    /// Applies a state change (already checked) and announces it.
    async fn changed(&self, pid: &str, negotiation: &Negotiation, cause: &str) {
        let _ = self.inner.changes.send((pid.to_owned(), negotiation.state));
        self.record(Event::now(
            "negotiation.transition",
            cause,
            pid,
            negotiation.state.as_str(),
            serde_json::json!({
                "role": negotiation.role,
                "offer": negotiation.offer_id,
                "counterparty": negotiation.counterparty,
                "reason": negotiation.reason,
            }),
        ))
        .await;
    }

    /// Waits until the negotiation `pid` is FINALIZED or TERMINATED, or `timeout` passes;
    /// returns it as it then is.
    pub async fn wait_for_outcome(
        &self,
        pid: &str,
        timeout: Duration,
    ) -> Result<Option<Negotiation>, StoreError> {
        let mut changes = self.inner.changes.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let current = self.inner.store.negotiations.get(pid)?;
            if current.as_ref().is_none_or(|n| n.state.is_final()) {
                return Ok(current);
            }
            loop {
                match tokio::time::timeout_at(deadline, changes.recv()).await {
                    Err(_) => return self.inner.store.negotiations.get(pid),
                    Ok(Ok((changed, _))) if changed != pid => continue,
                    Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => break,
                    Ok(Err(broadcast::error::RecvError::Closed)) => {
                        return self.inner.store.negotiations.get(pid)
                    }
                }
            }
        }
    }

    /// Sends a protocol message to `url`, authenticated for `audience`.
    async fn send(
        &self,
        url: &str,
        audience: &str,
        body: &Value,
        token: Option<String>,
    ) -> Result<Value, SendError> {
        let token = token.unwrap_or_else(|| auth::bearer(&self.inner.identity, audience));
        if url.starts_with(crate::dsp_p2p::P2P_SCHEME) {
            return crate::dsp_p2p::send(self.node(url)?, url, "POST", &token, Some(body)).await;
        }
        let response = self
            .inner
            .http
            .post(url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| SendError::Unreachable {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        read_answer(url, response).await
    }

    /// Stores a new negotiation under `pid` (flushed) and announces it, caused by `cause`.
    async fn open_negotiation(
        &self,
        pid: &str,
        negotiation: &Negotiation,
        cause: &str,
    ) -> Result<(), DspError> {
        self.inner
            .store
            .negotiations
            .create(pid, negotiation)
            .await?;
        self.changed(pid, negotiation, cause).await;
        Ok(())
    }

    /// Makes one of this connector's own moves on `pid` (stored and announced); a move the
    /// state no longer allows is logged and skipped.
    async fn own_move(&self, pid: &str, role: state::Role, mv: state::Move) -> Option<Negotiation> {
        let result = self
            .inner
            .store
            .negotiations
            .update(pid, |mut n| {
                n.state = state::transition(n.state, role, mv)?;
                n.updated = now();
                Ok::<_, DspError>(n)
            })
            .await;
        match result {
            Ok(Ok(next)) => {
                self.changed(pid, &next, self.did()).await;
                Some(next)
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, pid, "cannot make the move");
                None
            }
            Err(error) => {
                tracing::error!(%error, pid, "cannot make the move");
                None
            }
        }
    }

    /// Applies a move the counterparty `by` (DID `actor`) made on `pid`: checked against the
    /// state machine, stored (flushed) and announced.
    async fn apply_move(
        &self,
        pid: &str,
        actor: &str,
        by: state::Role,
        mv: state::Move,
        also: impl FnOnce(&mut Negotiation),
    ) -> Result<Negotiation, DspError> {
        let next = self
            .inner
            .store
            .negotiations
            .update(pid, |mut n| {
                n.state = state::transition(n.state, by, mv)?;
                n.updated = now();
                also(&mut n);
                Ok::<_, DspError>(n)
            })
            .await??;
        self.changed(pid, &next, actor).await;
        Ok(next)
    }

    /// Sends a message about the negotiation `pid`; a failure is recorded as an event (the
    /// negotiation stays where it is, and the counterparty can ask for its state).
    async fn tell(&self, pid: &str, url: &str, audience: &str, message: &Value) {
        if let Err(error) = self.send(url, audience, message, None).await {
            self.record(Event::now(
                "negotiation.send_failed",
                self.did(),
                pid,
                "error",
                serde_json::json!({ "reason": error.to_string() }),
            ))
            .await;
        }
    }

    /// Fetches `url` with GET, authenticated for `audience`.
    async fn fetch(&self, url: &str, audience: &str) -> Result<Value, SendError> {
        if url.starts_with(crate::dsp_p2p::P2P_SCHEME) {
            let token = auth::bearer(&self.inner.identity, audience);
            return crate::dsp_p2p::send(self.node(url)?, url, "GET", &token, None).await;
        }
        let response = self
            .inner
            .http
            .get(url)
            .bearer_auth(auth::bearer(&self.inner.identity, audience))
            .send()
            .await
            .map_err(|e| SendError::Unreachable {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        read_answer(url, response).await
    }
}

async fn read_answer(url: &str, response: reqwest::Response) -> Result<Value, SendError> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| SendError::Unreachable {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    if !status.is_success() {
        return Err(SendError::Refused {
            url: url.to_owned(),
            status: status.as_u16(),
            body: String::from_utf8_lossy(&bytes).chars().take(500).collect(),
        });
    }
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| SendError::Refused {
        url: url.to_owned(),
        status: status.as_u16(),
        body: format!("not JSON: {e}"),
    })
}

/// Now, in RFC 3339.
fn now() -> String {
    symbolon_identity::credential::format_time(chrono::Utc::now())
}
