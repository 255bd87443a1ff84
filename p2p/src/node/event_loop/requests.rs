//! The request-response protocol: the node's requests to peers and their answers, and the
//! peers' requests, each served according to where the sender's handshake stands.

use std::sync::atomic::Ordering;

use libp2p::request_response::{OutboundFailure, OutboundRequestId, ResponseChannel};
use libp2p::PeerId;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::{EventLoop, Outbound};
use crate::error::P2pError;
use crate::node::{IncomingRequest, Responder};
use crate::peers::Auth;
use crate::protocol::{Request, Response};

/// Most requests queued per peer while its authentication is pending.
const MAX_QUEUED_PER_PEER: usize = 32;

impl EventLoop {
    /// Sends an application request to an authenticated peer; any other peer is answered at
    /// once with why it is not authenticated.
    pub(super) fn send_request(
        &mut self,
        peer: PeerId,
        payload: Value,
        reply: oneshot::Sender<Result<Value, P2pError>>,
    ) {
        let state = self
            .shared
            .view()
            .peers
            .peers
            .get(&peer)
            .map(|p| (p.auth(), p.did.clone()));
        let (reason, did) = match state {
            Some((Auth::Authenticated, _)) => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .rr
                    .send_request(&peer, Request::App { payload });
                self.outbound.insert(id, Outbound::App(reply));
                return;
            }
            Some((Auth::Refused(reason), did)) => (reason, did),
            Some((Auth::Pending, did)) => ("authentication pending".into(), did),
            Some((Auth::Unreachable, did)) => ("unreachable".into(), did),
            None => ("unknown peer".into(), peer.to_base58()),
        };
        let _ = reply.send(Err(P2pError::NotAuthenticated { peer: did, reason }));
    }

    /// Handles a peer's request: challenges are always answered; the rest is served once the
    /// peer is authenticated, queued while its handshake is under way, refused otherwise.
    pub(super) fn on_request(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: ResponseChannel<Response>,
    ) {
        if let Request::Challenge { nonce } = request {
            self.answer_challenge(peer, nonce, channel);
            return;
        }
        let auth = self.shared.view().peers.peers.get(&peer).map(|p| p.auth());
        match auth {
            Some(Auth::Authenticated) => self.serve(peer, request, channel),
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

    /// Serves the requests `peer` sent before it authenticated.
    pub(super) fn serve_queued(&mut self, peer: PeerId) {
        for (request, channel) in self.queued.remove(&peer).unwrap_or_default() {
            self.serve(peer, request, channel);
        }
    }

    /// Refuses the requests a refused `peer` sent before its handshake ended.
    pub(super) fn refuse_queued(&mut self, peer: PeerId, reason: &str) {
        for (_, channel) in self.queued.remove(&peer).unwrap_or_default() {
            self.answer_error(channel, &format!("not authenticated: {reason}"));
        }
    }

    /// Answers a request with a refusal for `reason`.
    pub(super) fn answer_error(&mut self, channel: ResponseChannel<Response>, reason: &str) {
        let _ = self.swarm.behaviour_mut().rr.send_response(
            channel,
            Response::Error {
                reason: reason.to_owned(),
            },
        );
    }

    /// Serves a request from an authenticated peer.
    fn serve(&mut self, peer: PeerId, request: Request, channel: ResponseChannel<Response>) {
        match request {
            Request::Challenge { .. } => {}
            Request::Catalog { announcements } => self.on_catalog(peer, announcements, channel),
            Request::App { payload } => self.deliver(peer, payload, channel),
        }
    }

    /// Hands an application request to the application, or refuses it when the application
    /// takes none or is busy.
    fn deliver(&mut self, peer: PeerId, payload: Value, channel: ResponseChannel<Response>) {
        let commands = self.command_tx.upgrade();
        let (Some(commands), true) = (commands, self.shared.incoming_taken.load(Ordering::SeqCst))
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
                mpsc::error::TrySendError::Full(i) | mpsc::error::TrySendError::Closed(i) => i,
            };
            self.answer_error(incoming.responder.channel, "the connector is busy");
        }
    }

    /// Handles the answer to one of the node's requests.
    pub(super) fn on_response(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        response: Response,
    ) {
        match self.outbound.remove(&request_id) {
            Some(Outbound::Challenge { nonce }) => self.on_challenge_answer(peer, nonce, response),
            Some(Outbound::App(reply)) => {
                let result = match response {
                    Response::App { payload } => Ok(payload),
                    Response::Error { reason } => Err(P2pError::Refused(reason)),
                    _ => Err(P2pError::request("unexpected answer")),
                };
                let _ = reply.send(result);
            }
            Some(Outbound::Catalog) | None => {}
        }
    }

    /// Handles one of the node's requests that got no answer.
    pub(super) fn on_outbound_failure(
        &mut self,
        peer: PeerId,
        request_id: OutboundRequestId,
        error: &OutboundFailure,
    ) {
        match self.outbound.remove(&request_id) {
            Some(Outbound::App(reply)) => {
                let _ = reply.send(Err(P2pError::request(error.to_string())));
            }
            Some(Outbound::Challenge { nonce }) => self.on_challenge_failed(peer, &nonce, error),
            Some(Outbound::Catalog) | None => {}
        }
    }
}
