//! The node: one task owns the swarm; cloneable handles send it commands.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::request_response::ResponseChannel;
use libp2p::{Multiaddr, PeerId};
use serde_json::Value;
use symbolon_identity::nonce::MemoryNonceStore;
use symbolon_identity::{Did, TrustList};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::announce::{Announcement, Catalog};
use crate::auth::{did_of_peer, parse_peer};
use crate::config::NodeConfig;
use crate::error::P2pError;
use crate::peers::{P2pEvent, PeerInfo, PeerTable};
use crate::protocol::Response;
use crate::streams::SessionStream;

mod event_loop;

/// Depth of the command queue.
const COMMAND_QUEUE: usize = 256;
/// Depth of the queue of incoming application requests.
const INCOMING_QUEUE: usize = 64;
/// Depth of the event broadcast (a slow receiver loses the oldest events).
const EVENT_QUEUE: usize = 1024;

/// Starts nodes.
#[derive(Debug)]
pub struct Node;

impl Node {
    /// Starts a node: builds the swarm, waits until every listener has an address, dials the
    /// bootstrap peers and runs the swarm in a tokio task.
    pub async fn start(config: NodeConfig) -> Result<NodeHandle, P2pError> {
        let key = crate::auth::libp2p_keypair(&config.identity)?;
        if config.data_space.is_empty() {
            return Err(P2pError::config("the data space id is empty"));
        }
        let trust = config
            .verifier
            .trust_list()
            .ok_or_else(|| P2pError::config("the verifier has no trust list installed"))?;
        if trust.data_space != config.data_space {
            return Err(P2pError::config(format!(
                "the trust list governs data space `{}`, not `{}`",
                trust.data_space, config.data_space
            )));
        }
        let mut bootstrap = Vec::new();
        for address in &config.bootstrap {
            match address.iter().last() {
                Some(Protocol::P2p(peer)) => bootstrap.push((peer, address.clone())),
                _ => {
                    return Err(P2pError::config(format!(
                        "bootstrap address `{address}` does not end in /p2p/<PeerId>"
                    )))
                }
            }
        }
        let peer_id = key.public().to_peer_id();
        let did = did_of_peer(&peer_id)?;
        let limits = crate::behaviour::Limits {
            connections: config.max_connections,
            per_peer: config.max_connections_per_peer,
            pending_incoming: config.max_pending_incoming,
        };
        let swarm =
            crate::behaviour::build_swarm(key, config.mdns, config.request_timeout, limits)?;

        let control = swarm.behaviour().stream.new_control();
        let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let (streams_tx, streams_rx) = mpsc::channel(crate::streams::INCOMING_STREAMS);
        let (incoming_tx, incoming_rx) = mpsc::channel(INCOMING_QUEUE);
        let (events, _) = broadcast::channel(EVENT_QUEUE);
        let shared = Arc::new(Shared {
            peer_id,
            did: did.clone(),
            view: Mutex::new(View::default()),
            events,
            incoming: Mutex::new(Some(incoming_rx)),
            incoming_taken: AtomicBool::new(false),
            streams: Mutex::new(Some(streams_rx)),
            streams_taken: AtomicBool::new(false),
            control: control.clone(),
            version: watch::Sender::new(0),
        });
        crate::streams::accept(control, shared.clone(), streams_tx)?;
        let verifier = config
            .verifier
            .clone()
            .with_nonce_store(Arc::new(MemoryNonceStore::default()));
        let mut event_loop = event_loop::EventLoop::new(
            swarm,
            event_loop::Settings {
                identity: symbolon_identity::Identity {
                    key: config.identity.clone(),
                    did,
                },
                membership: config.membership.clone(),
                verifier,
                data_space: config.data_space.clone(),
                auth_timeout: config.auth_timeout,
                announcement_max_age: config.announcement_max_age,
            },
            shared.clone(),
            command_rx,
            command_tx.downgrade(),
            incoming_tx,
        )?;
        event_loop.listen(&config.listen).await?;
        event_loop.bootstrap(bootstrap);
        tokio::spawn(event_loop.run());
        Ok(NodeHandle {
            commands: command_tx,
            shared,
        })
    }
}

/// What the handles read without asking the swarm task.
#[derive(Debug, Default)]
pub(crate) struct View {
    pub peers: PeerTable,
    pub catalog: Catalog,
    pub listen: Vec<Multiaddr>,
}

pub(crate) struct Shared {
    pub peer_id: PeerId,
    pub did: Did,
    pub view: Mutex<View>,
    pub events: broadcast::Sender<P2pEvent>,
    pub incoming: Mutex<Option<mpsc::Receiver<IncomingRequest>>>,
    pub incoming_taken: AtomicBool,
    pub streams: Mutex<Option<mpsc::Receiver<SessionStream>>>,
    pub streams_taken: AtomicBool,
    pub control: libp2p_stream::Control,
    /// Bumped on every change of the view.
    pub version: watch::Sender<u64>,
}

impl Shared {
    pub(crate) fn view(&self) -> MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn emit(&self, event: P2pEvent) {
        tracing::debug!(?event, "p2p event");
        // No receiver is not an error: nobody listens yet.
        let _ = self.events.send(event);
    }

    pub(crate) fn changed(&self) {
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }
}

/// A command to the swarm task.
pub(crate) enum Command {
    Announce {
        offer: Value,
        reply: oneshot::Sender<Result<Announcement, P2pError>>,
    },
    Publish {
        token: String,
        reply: oneshot::Sender<Result<(), P2pError>>,
    },
    Request {
        peer: PeerId,
        payload: Value,
        reply: oneshot::Sender<Result<Value, P2pError>>,
    },
    Respond {
        channel: ResponseChannel<Response>,
        response: Response,
    },
    Dial {
        address: Multiaddr,
        reply: oneshot::Sender<Result<(), P2pError>>,
    },
    ReplaceTrustList {
        list: TrustList,
        reply: oneshot::Sender<Result<(), P2pError>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// A cloneable handle on a running node.
#[derive(Clone)]
pub struct NodeHandle {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("peer_id", &self.shared.peer_id)
            .field("did", &self.shared.did)
            .finish_non_exhaustive()
    }
}

impl NodeHandle {
    /// The node's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.shared.peer_id
    }

    /// The node's DID (the did:key of its PeerId).
    pub fn did(&self) -> &Did {
        &self.shared.did
    }

    /// The addresses the node listens on, each ending in `/p2p/<PeerId>`.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.shared.view().listen.clone()
    }

    /// The peer table, sorted by DID.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.shared.view().peers.list()
    }

    /// The federated catalog: the latest accepted announcement per issuer and offer id, from
    /// other connectors (the node's own offers are not in it).
    pub fn federated_catalog(&self) -> Vec<Announcement> {
        self.shared.view().catalog.list()
    }

    /// The events to record in the audit trail, from now on. A receiver that falls more than
    /// 1024 events behind loses the oldest.
    pub fn events(&self) -> broadcast::Receiver<P2pEvent> {
        self.shared.events.subscribe()
    }

    /// The application requests authenticated peers send; answer each through its
    /// [`Responder`]. There is one receiver: the first call gets it, later calls get `None`.
    /// Until it is taken, application requests are refused.
    pub fn incoming_requests(&self) -> Option<mpsc::Receiver<IncomingRequest>> {
        let taken = self
            .shared
            .incoming
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if taken.is_some() {
            self.shared.incoming_taken.store(true, Ordering::SeqCst);
        }
        taken
    }

    /// The session streams authenticated peers open to this node. There is one receiver: the
    /// first call gets it, later calls get `None`. Until it is taken, incoming session
    /// streams are dropped.
    pub fn session_streams(&self) -> Option<mpsc::Receiver<SessionStream>> {
        let taken = self
            .shared
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if taken.is_some() {
            self.shared.streams_taken.store(true, Ordering::SeqCst);
        }
        taken
    }

    /// Opens a session stream to an authenticated peer (its DID or PeerId).
    pub async fn open_session_stream(&self, peer: &str) -> Result<SessionStream, P2pError> {
        let peer = parse_peer(peer)?;
        crate::streams::open(self.shared.control.clone(), &self.shared, peer).await
    }

    /// Waits until `ready` holds (it is re-checked on every change of the peer table, the
    /// catalog or the listen addresses) or `timeout` passes; returns whether it held.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut ready: impl FnMut(&NodeHandle) -> bool,
    ) -> bool {
        let mut changes = self.shared.version.subscribe();
        let start = tokio::time::Instant::now();
        let deadline = start
            .checked_add(timeout)
            .unwrap_or_else(|| start + Duration::from_secs(86_400));
        loop {
            if ready(self) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return ready(self),
            }
        }
    }

    /// Signs `offer` (a JSON object with a string `id`) and announces it to the data space.
    /// Peers that authenticate later receive the node's current offers directly.
    pub async fn announce(&self, offer: Value) -> Result<Announcement, P2pError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Announce { offer, reply }).await?;
        answer.await.map_err(|_| P2pError::Stopped)?
    }

    /// Publishes an already signed announcement (compact JWS) as it is. Receivers check it
    /// like any other; this exists for relays and for testing receivers against forgeries.
    pub async fn publish_signed(&self, token: String) -> Result<(), P2pError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Publish { token, reply }).await?;
        answer.await.map_err(|_| P2pError::Stopped)?
    }

    /// Sends an application message to an authenticated peer (its DID or PeerId) and waits
    /// for the answer.
    pub async fn request(&self, peer: &str, payload: Value) -> Result<Value, P2pError> {
        let peer = parse_peer(peer)?;
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request {
            peer,
            payload,
            reply,
        })
        .await?;
        answer.await.map_err(|_| P2pError::Stopped)?
    }

    /// Dials an address (e.g. a peer given on the command line).
    pub async fn dial(&self, address: Multiaddr) -> Result<(), P2pError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Dial { address, reply }).await?;
        answer.await.map_err(|_| P2pError::Stopped)?
    }

    /// Checks peers that authenticate from now on against `list` (peers authenticated already
    /// stay so until their connection closes). The list must govern the node's data space:
    /// one for another data space is refused with [`P2pError::Config`] and the node keeps its
    /// list. Peers refused under the old list, and disconnected since, may be dialled again.
    pub async fn replace_trust_list(&self, list: TrustList) -> Result<(), P2pError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::ReplaceTrustList { list, reply }).await?;
        answer.await.map_err(|_| P2pError::Stopped)?
    }

    /// Closes every connection and stops the node. Other handles get [`P2pError::Stopped`].
    pub async fn shutdown(&self) {
        let (reply, answer) = oneshot::channel();
        if self.send(Command::Shutdown { reply }).await.is_ok() {
            let _ = answer.await;
        }
    }

    async fn send(&self, command: Command) -> Result<(), P2pError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| P2pError::Stopped)
    }
}

/// An application request from an authenticated peer.
#[derive(Debug)]
pub struct IncomingRequest {
    /// The sender's DID (derived from its authenticated PeerId).
    pub from: String,
    /// The sender's PeerId.
    pub peer_id: PeerId,
    /// The sender's verified roles.
    pub roles: Vec<String>,
    /// The message.
    pub payload: Value,
    /// Answers it.
    pub responder: Responder,
}

/// Answers one incoming request. Dropping it unanswered lets the request time out.
pub struct Responder {
    channel: ResponseChannel<Response>,
    commands: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder").finish_non_exhaustive()
    }
}

impl Responder {
    pub(crate) fn new(channel: ResponseChannel<Response>, commands: mpsc::Sender<Command>) -> Self {
        Responder { channel, commands }
    }

    /// Answers with `payload`.
    pub async fn respond(self, payload: Value) -> Result<(), P2pError> {
        self.send(Response::App { payload }).await
    }

    /// Answers with a refusal; the requester gets [`P2pError::Refused`] with `reason`.
    pub async fn refuse(self, reason: impl Into<String>) -> Result<(), P2pError> {
        self.send(Response::Error {
            reason: reason.into(),
        })
        .await
    }

    async fn send(self, response: Response) -> Result<(), P2pError> {
        self.commands
            .send(Command::Respond {
                channel: self.channel,
                response,
            })
            .await
            .map_err(|_| P2pError::Stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_send_and_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<NodeHandle>();
    }
}
