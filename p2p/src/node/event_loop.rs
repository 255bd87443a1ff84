//! The swarm task: handles swarm events, commands and verification results.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use libp2p::futures::StreamExt as _;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::SwarmEvent;
use libp2p::{gossipsub, identify, kad, mdns, Multiaddr, PeerId, Swarm};
use serde_json::Value;
use symbolon_identity::{Did, DidResolver, Identity, Secured, Verifier};
use tokio::sync::{mpsc, oneshot};

use super::{Command, IncomingRequest, Responder, Shared};
use crate::announce::{self, sign_announcement, Announcement, Dropped};
use crate::auth::{self, did_of_peer};
use crate::behaviour::{Behaviour, BehaviourEvent, UNAUTHENTICATED_SCORE};
use crate::error::P2pError;
use crate::peers::{Auth, P2pEvent};
use crate::protocol::{Request, Response};

/// Most requests queued per peer while its authentication is pending.
const MAX_QUEUED_PER_PEER: usize = 32;
/// Most announcements accepted in one catalog message.
const MAX_CATALOG_BATCH: usize = 1000;
/// How long a refused peer keeps its connection, so that it reads the refusal.
const REFUSAL_GRACE: Duration = Duration::from_millis(300);
/// How long a listener may take to report its address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

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
    Verified {
        peer: PeerId,
        nonce: String,
        result: Result<auth::Verified, String>,
    },
    AuthTimeout {
        peer: PeerId,
        nonce: String,
    },
    Disconnect {
        peer: PeerId,
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
    resolver: DidResolver,
    topic: gossipsub::IdentTopic,
    own_offers: HashMap<String, Value>,
    sequence: u64,
    outbound: HashMap<OutboundRequestId, Outbound>,
    queued: HashMap<PeerId, Vec<(Request, ResponseChannel<Response>)>>,
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
            .map_err(|e| P2pError::Config(format!("gossipsub topic: {e}")))?;
        let (internal_tx, internal_rx) = mpsc::channel(256);
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
            resolver: DidResolver::offline(),
            topic,
            own_offers: HashMap::new(),
            sequence,
            outbound: HashMap::new(),
            queued: HashMap::new(),
        })
    }

    /// Opens the listeners and waits until each has an address.
    pub(crate) async fn listen(&mut self, addresses: &[Multiaddr]) -> Result<(), P2pError> {
        let mut waiting = HashSet::new();
        for address in addresses {
            let id = self
                .swarm
                .listen_on(address.clone())
                .map_err(|e| P2pError::Transport(format!("listening on `{address}`: {e}")))?;
            waiting.insert(id);
        }
        let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
        while !waiting.is_empty() {
            let event = tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .map_err(|_| P2pError::Transport("a listener reported no address".into()))?;
            match &event {
                SwarmEvent::NewListenAddr { listener_id, .. } => {
                    waiting.remove(listener_id);
                }
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason,
                    ..
                } if waiting.contains(listener_id) => {
                    return Err(P2pError::Transport(format!(
                        "a listener closed: {reason:?}"
                    )));
                }
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(P2pError::Transport(format!("a listener failed: {error}")));
                }
                _ => {}
            }
            self.on_swarm_event(event).await;
        }
        Ok(())
    }

    /// Dials the bootstrap peers and starts a Kademlia bootstrap.
    pub(crate) fn bootstrap(&mut self, peers: Vec<(PeerId, Multiaddr)>) {
        if peers.is_empty() {
            return;
        }
        for (peer, address) in peers {
            let mut plain = address.clone();
            if matches!(plain.iter().last(), Some(Protocol::P2p(_))) {
                plain.pop();
            }
            self.swarm.behaviour_mut().kad.add_address(&peer, plain);
            if let Err(error) = self.swarm.dial(address) {
                tracing::debug!(%peer, %error, "bootstrap dial failed");
            }
        }
        if let Err(error) = self.swarm.behaviour_mut().kad.bootstrap() {
            tracing::debug!(%error, "kademlia bootstrap");
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event).await,
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
                Some(internal) = self.internal_rx.recv() => self.on_internal(internal).await,
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
                Ok(event) => self.on_swarm_event(event).await,
                Err(_) => break,
            }
        }
        self.shared.view().listen.clear();
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Announce { offer, reply } => {
                let _ = reply.send(self.announce(offer).await);
            }
            Command::Publish { token, reply } => {
                let result = self.publish(token.into_bytes());
                let _ = reply.send(result);
            }
            Command::Request {
                peer,
                payload,
                reply,
            } => {
                let state = self
                    .shared
                    .view()
                    .peers
                    .peers
                    .get(&peer)
                    .map(|p| (p.auth.clone(), p.did.clone()));
                match state {
                    Some((Auth::Authenticated, _)) => {
                        let id = self
                            .swarm
                            .behaviour_mut()
                            .rr
                            .send_request(&peer, Request::App { payload });
                        self.outbound.insert(id, Outbound::App(reply));
                    }
                    other => {
                        let (reason, did) = match other {
                            Some((Auth::Refused(reason), did)) => (reason, did),
                            Some((Auth::Pending, did)) => ("authentication pending".into(), did),
                            Some((_, did)) => ("unreachable".into(), did),
                            None => ("unknown peer".into(), peer.to_base58()),
                        };
                        let _ = reply.send(Err(P2pError::NotAuthenticated { peer: did, reason }));
                    }
                }
            }
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
                    .map_err(|e| P2pError::Request(format!("dial: {e}")));
                let _ = reply.send(result);
            }
            Command::Shutdown { reply } => {
                let _ = reply.send(());
            }
        }
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence = self.sequence.saturating_add(1);
        self.sequence
    }

    async fn announce(&mut self, offer: Value) -> Result<Announcement, P2pError> {
        let sequence = self.next_sequence();
        let token = sign_announcement(
            &self.settings.identity.key,
            &self.settings.data_space,
            &offer,
            sequence,
        )?;
        let own = self.settings.identity.did.clone();
        let mut announcement = announce::check(
            &token,
            &own,
            &self.settings.data_space,
            |_: &str| true,
            &self.resolver,
        )
        .await
        .map_err(|d| P2pError::InvalidOffer(d.reason))?;
        announcement.received_from = self.shared.peer_id.to_base58();
        self.own_offers.insert(announcement.offer_id.clone(), offer);
        self.publish(token.into_bytes())?;
        Ok(announcement)
    }

    fn publish(&mut self, data: Vec<u8>) -> Result<(), P2pError> {
        let topic = self.topic.clone();
        match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(_) | Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => Ok(()),
            Err(gossipsub::PublishError::Duplicate) => Ok(()),
            Err(e) => Err(P2pError::Request(format!("publishing: {e}"))),
        }
    }

    async fn on_internal(&mut self, internal: Internal) {
        match internal {
            Internal::Verified {
                peer,
                nonce,
                result,
            } => {
                let current = {
                    let mut view = self.shared.view();
                    match view.peers.peers.get_mut(&peer) {
                        Some(p) if p.challenge.as_deref() == Some(nonce.as_str()) => {
                            p.challenge = None;
                            true
                        }
                        _ => false,
                    }
                };
                if current {
                    match result {
                        Ok(verified) => self.authenticated(peer, verified.roles).await,
                        Err(reason) => self.refuse(peer, reason),
                    }
                }
            }
            Internal::AuthTimeout { peer, nonce } => {
                let expired = self.shared.view().peers.peers.get(&peer).is_some_and(|p| {
                    p.auth == Auth::Pending && p.challenge.as_deref() == Some(nonce.as_str())
                });
                if expired {
                    let seconds = self.settings.auth_timeout.as_secs_f64();
                    self.refuse(peer, format!("no valid presentation within {seconds} s"));
                }
            }
            Internal::Disconnect { peer } => {
                if self.shared.view().peers.is_refused(&peer) {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
        }
    }

    fn later(&self, delay: Duration, message: Internal) {
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(message).await;
        });
    }

    /// Starts the authentication exchange on a new connection.
    fn challenge(&mut self, peer: PeerId, did: &Did) {
        let nonce = auth::fresh_nonce();
        {
            let mut view = self.shared.view();
            let entry = view.peers.entry(peer, did.as_str());
            entry.auth = Auth::Pending;
            entry.challenge = Some(nonce.clone());
        }
        self.swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(&peer, UNAUTHENTICATED_SCORE);
        let id = self.swarm.behaviour_mut().rr.send_request(
            &peer,
            Request::Challenge {
                nonce: nonce.clone(),
            },
        );
        self.outbound.insert(
            id,
            Outbound::Challenge {
                nonce: nonce.clone(),
            },
        );
        self.later(
            self.settings.auth_timeout,
            Internal::AuthTimeout { peer, nonce },
        );
    }

    async fn authenticated(&mut self, peer: PeerId, roles: Vec<String>) {
        let did = {
            let mut view = self.shared.view();
            let Some(entry) = view.peers.peers.get_mut(&peer) else {
                return;
            };
            entry.auth = Auth::Authenticated;
            entry.roles = roles.clone();
            entry.did.clone()
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(&peer, 0.0);
        self.shared.emit(P2pEvent::PeerAuthenticated {
            peer_id: peer.to_base58(),
            did,
            roles,
        });
        for (request, channel) in self.queued.remove(&peer).unwrap_or_default() {
            self.serve(peer, request, channel).await;
        }
        self.send_catalog(peer);
    }

    /// Sends `peer` the node's current offers, freshly signed.
    fn send_catalog(&mut self, peer: PeerId) {
        let offers: Vec<Value> = self.own_offers.values().cloned().collect();
        if offers.is_empty() {
            return;
        }
        let mut announcements = Vec::with_capacity(offers.len());
        for offer in offers {
            let sequence = self.next_sequence();
            match sign_announcement(
                &self.settings.identity.key,
                &self.settings.data_space,
                &offer,
                sequence,
            ) {
                Ok(token) => announcements.push(token),
                Err(error) => tracing::warn!(%error, "an own offer cannot be signed"),
            }
        }
        let id = self
            .swarm
            .behaviour_mut()
            .rr
            .send_request(&peer, Request::Catalog { announcements });
        self.outbound.insert(id, Outbound::Catalog);
    }

    fn refuse(&mut self, peer: PeerId, reason: String) {
        let did = {
            let mut view = self.shared.view();
            let Some(entry) = view.peers.peers.get_mut(&peer) else {
                return;
            };
            entry.auth = Auth::Refused(reason.clone());
            entry.roles.clear();
            entry.challenge = None;
            let did = entry.did.clone();
            view.catalog.remove_issuer(&did);
            did
        };
        tracing::info!(%peer, %did, %reason, "peer refused");
        self.shared.emit(P2pEvent::PeerRefused {
            peer_id: peer.to_base58(),
            did,
            reason: reason.clone(),
        });
        self.swarm.behaviour_mut().kad.remove_peer(&peer);
        for (_, channel) in self.queued.remove(&peer).unwrap_or_default() {
            let _ = self.swarm.behaviour_mut().rr.send_response(
                channel,
                Response::Error {
                    reason: format!("not authenticated: {reason}"),
                },
            );
        }
        self.later(REFUSAL_GRACE, Internal::Disconnect { peer });
    }

    fn maybe_dial(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
        if peer == self.shared.peer_id
            || self.swarm.is_connected(&peer)
            || self.shared.view().peers.is_refused(&peer)
            || addresses.is_empty()
        {
            return;
        }
        let options = DialOpts::peer_id(peer)
            .addresses(addresses)
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .build();
        if let Err(error) = self.swarm.dial(options) {
            tracing::debug!(%peer, %error, "dial failed");
        }
    }

    async fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
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
            } => {
                let Ok(did) = did_of_peer(&peer_id) else {
                    // Not an Ed25519 key: it cannot be a connector's DID.
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                };
                {
                    let mut view = self.shared.view();
                    let entry = view.peers.entry(peer_id, did.as_str());
                    entry.connected = true;
                    entry.last_seen = chrono::Utc::now();
                    if endpoint.is_dialer() {
                        let mut address = endpoint.get_remote_address().clone();
                        if matches!(address.iter().last(), Some(Protocol::P2p(_))) {
                            address.pop();
                        }
                        view.peers.add_address(&peer_id, address);
                    }
                }
                if num_established.get() == 1 {
                    self.challenge(peer_id, &did);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                let did = {
                    let mut view = self.shared.view();
                    view.peers.peers.get_mut(&peer_id).map(|entry| {
                        entry.connected = false;
                        entry.challenge = None;
                        if !matches!(entry.auth, Auth::Refused(_)) {
                            entry.auth = Auth::Unreachable;
                        }
                        entry.did.clone()
                    })
                };
                self.queued.remove(&peer_id);
                if let Some(did) = did {
                    self.shared.emit(P2pEvent::PeerDisconnected {
                        peer_id: peer_id.to_base58(),
                        did,
                    });
                }
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } if !self.swarm.is_connected(&peer) => {
                let Ok(did) = did_of_peer(&peer) else {
                    return;
                };
                {
                    let mut view = self.shared.view();
                    let entry = view.peers.entry(peer, did.as_str());
                    entry.connected = false;
                    if !matches!(entry.auth, Auth::Refused(_)) {
                        entry.auth = Auth::Unreachable;
                    }
                }
                self.shared.emit(P2pEvent::PeerUnreachable {
                    peer_id: peer.to_base58(),
                    did: did.to_string(),
                    reason: error.to_string(),
                });
            }
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event).await,
            _ => {}
        }
    }

    async fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let mut view = self.shared.view();
                view.peers.seen(&peer_id);
                if view.peers.is_refused(&peer_id) {
                    return;
                }
                for address in info.listen_addrs.into_iter().take(16) {
                    if is_dialable(&address) {
                        self.swarm
                            .behaviour_mut()
                            .kad
                            .add_address(&peer_id, address.clone());
                        view.peers.add_address(&peer_id, address);
                    }
                }
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, addresses, ..
            }) => {
                let addresses = addresses.iter().cloned().collect();
                self.maybe_dial(peer, addresses);
            }
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer, address) in found {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer, address.clone());
                    self.maybe_dial(peer, vec![address]);
                }
            }
            BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => {
                let acceptance = self.on_gossip(propagation_source, message).await;
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            BehaviourEvent::Rr(request_response::Event::Message { peer, message, .. }) => {
                self.shared.view().peers.seen(&peer);
                match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => self.on_request(peer, request, channel).await,
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
            }) => match self.outbound.remove(&request_id) {
                Some(Outbound::App(reply)) => {
                    let _ = reply.send(Err(P2pError::Request(error.to_string())));
                }
                Some(Outbound::Challenge { nonce, .. }) => {
                    let current = self.shared.view().peers.peers.get(&peer).is_some_and(|p| {
                        p.connected && p.challenge.as_deref() == Some(nonce.as_str())
                    });
                    if current {
                        self.refuse(peer, format!("authentication exchange failed: {error}"));
                    }
                }
                Some(Outbound::Catalog) | None => {}
            },
            _ => {}
        }
    }

    async fn on_request(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: ResponseChannel<Response>,
    ) {
        if let Request::Challenge { nonce } = request {
            let identity = self.settings.identity.clone();
            let membership = self.settings.membership.clone();
            let response = presentation(&identity, &membership, peer, &nonce).await;
            let _ = self
                .swarm
                .behaviour_mut()
                .rr
                .send_response(channel, response);
            return;
        }
        let auth = self
            .shared
            .view()
            .peers
            .peers
            .get(&peer)
            .map(|p| p.auth.clone());
        match auth {
            Some(Auth::Authenticated) => self.serve(peer, request, channel).await,
            Some(Auth::Pending) => {
                let queue = self.queued.entry(peer).or_default();
                if queue.len() < MAX_QUEUED_PER_PEER {
                    queue.push((request, channel));
                } else {
                    self.answer_error(channel, "too many requests before authentication");
                }
            }
            Some(Auth::Refused(reason)) => {
                self.answer_error(channel, &format!("not authenticated: {reason}"));
            }
            Some(Auth::Unreachable) | None => self.answer_error(channel, "not authenticated"),
        }
    }

    fn answer_error(&mut self, channel: ResponseChannel<Response>, reason: &str) {
        let _ = self.swarm.behaviour_mut().rr.send_response(
            channel,
            Response::Error {
                reason: reason.to_owned(),
            },
        );
    }

    /// Serves a request from an authenticated peer.
    async fn serve(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Response>) {
        match request {
            Request::Challenge { .. } => {}
            Request::Catalog { announcements } => {
                let Ok(author) = did_of_peer(&peer) else {
                    return;
                };
                for token in announcements.into_iter().take(MAX_CATALOG_BATCH) {
                    let _ = self.receive_announcement(&token, &author, peer).await;
                }
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .rr
                    .send_response(channel, Response::Ack);
            }
            Request::App { payload } => {
                let commands = self.command_tx.upgrade();
                let (Some(commands), true) =
                    (commands, self.shared.incoming_taken.load(Ordering::SeqCst))
                else {
                    self.answer_error(channel, "this connector takes no application requests");
                    return;
                };
                let (from, roles) = self
                    .shared
                    .view()
                    .peers
                    .peers
                    .get(&peer)
                    .map(|p| (p.did.clone(), p.roles.clone()))
                    .unwrap_or_default();
                let incoming = IncomingRequest {
                    from,
                    peer_id: peer,
                    roles,
                    payload,
                    responder: Responder::new(channel, commands),
                };
                if let Err(error) = self.incoming.try_send(incoming) {
                    let incoming = match error {
                        mpsc::error::TrySendError::Full(i)
                        | mpsc::error::TrySendError::Closed(i) => i,
                    };
                    self.answer_error(incoming.responder.channel, "the connector is busy");
                }
            }
        }
    }

    fn on_response(&mut self, peer: PeerId, request_id: OutboundRequestId, response: Response) {
        match self.outbound.remove(&request_id) {
            Some(Outbound::Challenge { nonce }) => match response {
                Response::Presentation { presentation } => {
                    let verifier = self.settings.verifier.clone();
                    let own = self.settings.identity.did.clone();
                    let data_space = self.settings.data_space.clone();
                    let tx = self.internal_tx.clone();
                    tokio::spawn(async move {
                        let result = match did_of_peer(&peer) {
                            Ok(peer_did) => {
                                auth::verify_peer(
                                    &verifier,
                                    &presentation,
                                    &nonce,
                                    &own,
                                    &peer_did,
                                    &data_space,
                                )
                                .await
                            }
                            Err(e) => Err(e.to_string()),
                        };
                        let _ = tx
                            .send(Internal::Verified {
                                peer,
                                nonce,
                                result,
                            })
                            .await;
                    });
                }
                Response::Error { reason } => {
                    self.refuse(peer, format!("no presentation: {reason}"));
                }
                _ => self.refuse(peer, "answered the challenge without a presentation".into()),
            },
            Some(Outbound::App(reply)) => {
                let result = match response {
                    Response::App { payload } => Ok(payload),
                    Response::Error { reason } => Err(P2pError::Refused(reason)),
                    _ => Err(P2pError::Request("unexpected answer".into())),
                };
                let _ = reply.send(result);
            }
            Some(Outbound::Catalog) | None => {}
        }
    }

    async fn on_gossip(
        &mut self,
        from: PeerId,
        message: gossipsub::Message,
    ) -> gossipsub::MessageAcceptance {
        let dropped = |this: &Self, issuer: Option<String>, reason: String| {
            this.shared.emit(P2pEvent::AnnouncementDropped {
                issuer,
                from: from.to_base58(),
                reason,
            });
        };
        if !self.shared.view().peers.is_authenticated(&from) {
            dropped(
                self,
                None,
                "forwarded by a peer that is not authenticated".into(),
            );
            return gossipsub::MessageAcceptance::Ignore;
        }
        let author = match message.source.as_ref().map(did_of_peer) {
            Some(Ok(did)) => did,
            _ => {
                dropped(self, None, "the message has no Ed25519 author".into());
                return gossipsub::MessageAcceptance::Reject;
            }
        };
        let Ok(token) = String::from_utf8(message.data) else {
            dropped(self, None, "not UTF-8".into());
            return gossipsub::MessageAcceptance::Reject;
        };
        match self.receive_announcement(&token, &author, from).await {
            Ok(()) => gossipsub::MessageAcceptance::Accept,
            Err(false) => gossipsub::MessageAcceptance::Ignore,
            Err(true) => gossipsub::MessageAcceptance::Reject,
        }
    }

    /// Checks an announcement by `author` that arrived from `from`, and stores it. The error
    /// says whether the sender misbehaved.
    async fn receive_announcement(
        &mut self,
        token: &str,
        author: &Did,
        from: PeerId,
    ) -> Result<(), bool> {
        let shared = self.shared.clone();
        let is_member = move |did: &str| shared.view().peers.did_is_authenticated(did);
        let checked = announce::check(
            token,
            author,
            &self.settings.data_space,
            is_member,
            &self.resolver,
        )
        .await;
        let result = checked.and_then(|mut announcement| {
            announcement.received_from = from.to_base58();
            let (issuer, offer_id) = (announcement.issuer.clone(), announcement.offer_id.clone());
            self.shared
                .view()
                .catalog
                .accept(
                    announcement,
                    self.settings.announcement_max_age,
                    chrono::Utc::now(),
                )
                .map(|()| (issuer, offer_id))
        });
        match result {
            Ok((issuer, offer_id)) => {
                self.shared.emit(P2pEvent::AnnouncementAccepted {
                    issuer,
                    offer_id,
                    from: from.to_base58(),
                });
                Ok(())
            }
            Err(Dropped {
                reason,
                issuer,
                reject,
            }) => {
                tracing::debug!(%from, %reason, "announcement dropped");
                self.shared.emit(P2pEvent::AnnouncementDropped {
                    issuer,
                    from: from.to_base58(),
                    reason,
                });
                Err(reject)
            }
        }
    }
}

/// Whether an address is worth dialling (not a wildcard or a relay circuit).
fn is_dialable(address: &Multiaddr) -> bool {
    address.iter().all(|p| match p {
        Protocol::Ip4(ip) => !ip.is_unspecified(),
        Protocol::Ip6(ip) => !ip.is_unspecified(),
        Protocol::P2pCircuit => false,
        _ => true,
    })
}

/// The presentation answering `peer`'s challenge.
async fn presentation(
    identity: &Identity,
    membership: &Secured,
    peer: PeerId,
    nonce: &str,
) -> Response {
    if nonce.is_empty() || nonce.len() > 128 {
        return Response::Error {
            reason: "the challenge must be 1 to 128 characters".into(),
        };
    }
    let Ok(challenger) = did_of_peer(&peer) else {
        return Response::Error {
            reason: "not an Ed25519 peer".into(),
        };
    };
    match auth::present(identity, membership, nonce, &challenger).await {
        Ok(presentation) => Response::Presentation { presentation },
        Err(reason) => Response::Error { reason },
    }
}
