//! The swarm task: one task owns the swarm and `select!`s its events, the handles' commands
//! and the results of work done outside it. Each concern lives in a submodule:
//! [`discovery`] finds, dials and tracks peers, [`handshake`] authenticates them, [`gossip`]
//! carries announcements and [`requests`] carries protocol requests.

mod discovery;
mod gossip;
mod handshake;
mod requests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use libp2p::futures::StreamExt as _;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{gossipsub, identify, kad, mdns, Multiaddr, PeerId, Swarm};
use serde_json::Value;
use symbolon_identity::{DidResolver, Identity, Secured, Verifier};
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{Command, IncomingRequest, Shared};
use crate::auth::{self, HandshakeError};
use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::error::P2pError;
use crate::peers::P2pEvent;
use crate::protocol::{Request, Response};

/// How long a listener may take to report its address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Depth of the queue of results of work done outside the swarm task.
const INTERNAL_QUEUE: usize = 256;

/// What the swarm task knows of the node.
pub(crate) struct Settings {
    pub identity: Identity,
    pub membership: Secured,
    pub verifier: Verifier,
    pub data_space: String,
    pub auth_timeout: Duration,
    pub announcement_max_age: Duration,
}

/// Results of work done outside the swarm task.
enum Internal {
    /// A peer's presentation was checked.
    Verified {
        peer: PeerId,
        nonce: String,
        result: Result<auth::Verified, HandshakeError>,
    },
    /// A peer's authentication timeout passed.
    AuthTimeout { peer: PeerId, nonce: String },
    /// A refused peer has had the time to read its refusal.
    Disconnect { peer: PeerId },
    /// A batch of announcements was checked.
    Checked(gossip::Checked),
    /// The answer to a peer's challenge was made.
    Answered {
        channel: ResponseChannel<Response>,
        response: Response,
    },
}

/// An outbound request awaiting its answer.
enum Outbound {
    Challenge { nonce: String },
    Catalog,
    App(oneshot::Sender<Result<Value, P2pError>>),
}

pub(crate) struct EventLoop {
    swarm: Swarm<Behaviour>,
    settings: Settings,
    shared: Arc<Shared>,
    commands: mpsc::Receiver<Command>,
    command_tx: mpsc::WeakSender<Command>,
    incoming: mpsc::Sender<IncomingRequest>,
    internal_tx: mpsc::Sender<Internal>,
    internal_rx: mpsc::Receiver<Internal>,
    /// Shared with the tasks that check announcements, so that they share its key cache.
    resolver: Arc<DidResolver>,
    /// Permits for batches of announcements checked at once (see [`gossip`]).
    checking: Arc<Semaphore>,
    answering: Arc<Semaphore>,
    topic: gossipsub::IdentTopic,
    own_offers: HashMap<String, Value>,
    sequence: u64,
    outbound: HashMap<OutboundRequestId, Outbound>,
    /// Requests of peers whose handshake is under way, served once they authenticate.
    queued: HashMap<PeerId, Vec<(Request, ResponseChannel<Response>)>>,
    /// Connected peers whose first catalog has been answered with this node's own (see
    /// [`gossip`]); forgotten when the last connection closes.
    catalog_answered: HashSet<PeerId>,
}

impl EventLoop {
    pub(crate) fn new(
        mut swarm: Swarm<Behaviour>,
        settings: Settings,
        shared: Arc<Shared>,
        commands: mpsc::Receiver<Command>,
        command_tx: mpsc::WeakSender<Command>,
        incoming: mpsc::Sender<IncomingRequest>,
    ) -> Result<Self, P2pError> {
        let topic = gossipsub::IdentTopic::new(format!("symbolon/{}/offers", settings.data_space));
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&topic)
            .map_err(|e| P2pError::Config {
                reason: "the gossipsub topic cannot be joined".into(),
                source: Some(e.into()),
            })?;
        let (internal_tx, internal_rx) = mpsc::channel(INTERNAL_QUEUE);
        // Sequence numbers start at the clock so that a restarted node's announcements
        // replace its earlier ones.
        let sequence = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
        Ok(EventLoop {
            swarm,
            settings,
            shared,
            commands,
            command_tx,
            incoming,
            internal_tx,
            internal_rx,
            resolver: Arc::new(DidResolver::offline()),
            checking: Arc::new(Semaphore::new(gossip::MAX_CHECKING)),
            answering: Arc::new(Semaphore::new(handshake::MAX_ANSWERING)),
            topic,
            own_offers: HashMap::new(),
            sequence,
            outbound: HashMap::new(),
            queued: HashMap::new(),
            catalog_answered: HashSet::new(),
        })
    }

    /// Opens the listeners and waits until each has an address.
    pub(crate) async fn listen(&mut self, addresses: &[Multiaddr]) -> Result<(), P2pError> {
        let mut waiting = HashSet::new();
        for address in addresses {
            let id = self
                .swarm
                .listen_on(address.clone())
                .map_err(|e| P2pError::transport(format!("listening on `{address}`"), e))?;
            waiting.insert(id);
        }
        let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
        while !waiting.is_empty() {
            let event = tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .map_err(|_| P2pError::Transport {
                    context: "a listener reported no address".into(),
                    source: None,
                })?;
            match &event {
                SwarmEvent::NewListenAddr { listener_id, .. } => {
                    waiting.remove(listener_id);
                }
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason,
                    ..
                } if waiting.contains(listener_id) => {
                    return Err(P2pError::Transport {
                        context: format!("a listener closed: {reason:?}"),
                        source: None,
                    });
                }
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(P2pError::transport(
                        "a listener failed",
                        std::io::Error::new(error.kind(), error.to_string()),
                    ));
                }
                _ => {}
            }
            self.on_swarm_event(event);
        }
        Ok(())
    }

    pub(crate) async fn run(mut self) {
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        self.close().await;
                        let _ = reply.send(());
                        break;
                    }
                    Some(command) => self.on_command(command).await,
                    None => {
                        self.close().await;
                        break;
                    }
                },
                Some(internal) = self.internal_rx.recv() => self.on_internal(internal),
            }
            self.shared.changed();
        }
        self.shared.changed();
    }

    /// Closes every connection, waiting briefly so that the peers learn of it.
    async fn close(&mut self) {
        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in connected {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        while self.swarm.connected_peers().next().is_some() {
            match tokio::time::timeout_at(deadline, self.swarm.select_next_some()).await {
                Ok(event) => self.on_swarm_event(event),
                Err(_) => break,
            }
        }
        self.shared.view().listen.clear();
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Announce { offer, reply } => {
                let _ = reply.send(self.announce(offer));
            }
            Command::Publish { token, reply } => {
                let result = self.publish(token.into_bytes());
                let _ = reply.send(result);
            }
            Command::Request {
                peer,
                payload,
                reply,
            } => self.send_request(peer, payload, reply),
            Command::Respond { channel, response } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .rr
                    .send_response(channel, response);
            }
            Command::Dial { address, reply } => {
                let result = self
                    .swarm
                    .dial(address)
                    .map_err(|e| P2pError::request_from("dialling", e));
                let _ = reply.send(result);
            }
            Command::ReplaceTrustList { list, reply } => {
                let _ = reply.send(self.replace_trust_list(list));
            }
            Command::Shutdown { reply } => {
                let _ = reply.send(());
            }
        }
    }

    /// Makes `list` the one new peers are checked against, if it governs this data space.
    fn replace_trust_list(&mut self, list: symbolon_identity::TrustList) -> Result<(), P2pError> {
        if list.data_space != self.settings.data_space {
            return Err(P2pError::config(format!(
                "the trust list governs data space `{}`, and this node is on `{}`",
                list.data_space, self.settings.data_space
            )));
        }
        self.settings.verifier = self.settings.verifier.clone().with_trust_list(list);
        let mut view = self.shared.view();
        for peer in view.peers.peers.values_mut() {
            // INVARIANT (peers.rs): a peer whose handshake is `Refused` keeps its reason.
            let refused_now = peer
                .handshake
                .as_ref()
                .map(crate::handshake::Handshake::state)
                == Some(crate::handshake::HandshakeState::Refused);
            if !peer.connected && !refused_now {
                peer.refusal = None;
            }
        }
        tracing::info!("the peer network checks new peers against a new trust list");
        Ok(())
    }

    fn on_internal(&mut self, internal: Internal) {
        match internal {
            Internal::Verified {
                peer,
                nonce,
                result,
            } => self.on_verified(peer, &nonce, result),
            Internal::AuthTimeout { peer, nonce } => self.on_auth_timeout(peer, &nonce),
            Internal::Disconnect { peer } => {
                if self.shared.view().peers.is_refused(&peer) {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
            Internal::Checked(checked) => self.on_checked(checked),
            Internal::Answered { channel, response } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .rr
                    .send_response(channel, response);
            }
        }
    }

    /// Sends `message` to the loop after `delay`.
    fn later(&self, delay: Duration, message: Internal) {
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(message).await;
        });
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                let full = address.with_p2p(self.shared.peer_id).unwrap_or_else(|a| a);
                self.shared.view().listen.push(full.clone());
                self.shared.emit(P2pEvent::Listening {
                    address: full.to_string(),
                });
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                let full = address.with_p2p(self.shared.peer_id).unwrap_or_else(|a| a);
                self.shared.view().listen.retain(|a| *a != full);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => self.on_connection_established(peer_id, &endpoint, num_established.get()),
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => self.on_last_connection_closed(peer_id),
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } if !self.swarm.is_connected(&peer) => self.on_unreachable(peer, &error),
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                self.on_identified(peer_id, info);
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, addresses, ..
            }) => {
                let addresses = addresses.iter().cloned().collect();
                self.maybe_dial(peer, addresses);
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => self.on_mdns(found),
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_gossip(propagation_source, message_id, message),
            BehaviourEvent::Rr(request_response::Event::Message { peer, message, .. }) => {
                self.shared.view().peers.seen(&peer);
                match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => self.on_request(peer, request, channel),
                    request_response::Message::Response {
                        request_id,
                        response,
                    } => self.on_response(peer, request_id, response),
                }
            }
            BehaviourEvent::Rr(request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            }) => self.on_outbound_failure(peer, request_id, &error),
            _ => {}
        }
    }
}
