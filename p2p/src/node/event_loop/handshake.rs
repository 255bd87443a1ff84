//! Authenticating peers: the node challenges every peer on its first connection, answers the
//! peers' challenges, and drives each peer's [`Handshake`] through
//! [`crate::handshake::transition`], doing what each new state calls for.

use libp2p::request_response::{OutboundFailure, ResponseChannel};
use libp2p::PeerId;
use symbolon_identity::{Did, Identity, Secured};

use super::{EventLoop, Internal, Outbound};
use crate::announce::Catalog;
use crate::auth::{self, did_of_peer, HandshakeError};
use crate::behaviour::UNAUTHENTICATED_SCORE;
use crate::handshake::{Handshake, HandshakeEvent, HandshakeState};
use crate::peers::{P2pEvent, Peer};
use crate::protocol::{Request, Response};

/// How long a refused peer keeps its connection, so that it reads the refusal.
const REFUSAL_GRACE: std::time::Duration = std::time::Duration::from_millis(300);
/// Most challenges answered at once.
pub(super) const MAX_ANSWERING: usize = 16;
/// Longest challenge the node answers.
const MAX_NONCE_CHARS: usize = 128;
/// Most challenges one connection's handshake sends when they are lost with a connection.
const MAX_CHALLENGES: u8 = 3;

impl EventLoop {
    /// Starts a handshake on the first connection to `peer`: sends the challenge and arms
    /// the timeout.
    pub(super) fn start_handshake(&mut self, peer: PeerId, did: &Did) {
        let nonce = auth::fresh_nonce();
        {
            let mut view = self.shared.view();
            let entry = view.peers.entry(peer, did.as_str());
            entry.handshake = Some(Handshake::start(nonce.clone()));
            entry.refusal = None;
        }
        self.send_challenge(peer, nonce);
    }

    /// Sends the challenge `nonce` to `peer` and arms its timeout.
    fn send_challenge(&mut self, peer: PeerId, nonce: String) {
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

    /// Handles the answer to the challenge `nonce`.
    pub(super) fn on_challenge_answer(&mut self, peer: PeerId, nonce: String, answer: Response) {
        match answer {
            Response::Presentation { presentation } => {
                let event = HandshakeEvent::PresentationReceived;
                if self.advance(peer, &nonce, event, |_, _| {}).is_some() {
                    self.verify(peer, nonce, presentation);
                }
            }
            Response::Error { reason } => {
                let reason = format!("no presentation: {reason}");
                self.fail(peer, &nonce, HandshakeEvent::PresentationMissing, reason);
            }
            _ => {
                let reason = "answered the challenge without a presentation".to_owned();
                self.fail(peer, &nonce, HandshakeEvent::PresentationMissing, reason);
            }
        }
    }

    /// Handles the failure of the challenge `nonce`. A peer that did not answer in time or does
    /// not speak the protocol is refused. A challenge lost with its connection is not the
    /// peer's doing (two nodes dialling each other at once open two connections, and one may
    /// close under the challenge): it is sent again, with a fresh nonce, while another
    /// connection to the peer remains, up to [`MAX_CHALLENGES`] times; with none left, the
    /// last connection's closing ends the handshake, so that the peer reads as unreachable
    /// (not refused) and is challenged anew when it connects again.
    pub(super) fn on_challenge_failed(
        &mut self,
        peer: PeerId,
        nonce: &str,
        error: &OutboundFailure,
    ) {
        let lost = matches!(
            error,
            OutboundFailure::ConnectionClosed
                | OutboundFailure::Io(_)
                | OutboundFailure::DialFailure
        );
        if lost && self.challenge_again(peer, nonce) {
            return;
        }
        let reason = format!("authentication exchange failed: {error}");
        self.fail(peer, nonce, HandshakeEvent::PresentationMissing, reason);
    }

    /// Replaces `peer`'s handshake whose challenge `nonce` was lost with a new challenge, if
    /// the peer is still connected and the handshake has attempts left. Returns whether the
    /// loss is dealt with (a new challenge sent, or nothing to do), `false` when the peer is to
    /// be refused.
    fn challenge_again(&mut self, peer: PeerId, nonce: &str) -> bool {
        let connected = self.swarm.is_connected(&peer);
        let fresh = {
            let mut view = self.shared.view();
            let Some(entry) = view.peers.peers.get_mut(&peer) else {
                return true;
            };
            let Some(handshake) = entry
                .handshake
                .as_ref()
                .filter(|h| h.is_for(nonce) && h.state() == HandshakeState::ChallengeSent)
            else {
                // An earlier handshake's challenge, or one the peer has answered since.
                return true;
            };
            if !connected {
                // The last connection's closing ends the handshake.
                return true;
            }
            if handshake.attempt() >= MAX_CHALLENGES {
                return false;
            }
            let fresh = auth::fresh_nonce();
            entry.handshake = Some(handshake.retry(fresh.clone()));
            fresh
        };
        tracing::debug!(%peer, "challenge lost with its connection; sent again");
        self.send_challenge(peer, fresh);
        true
    }

    /// Checks a presentation in a task of its own; the result comes back as
    /// [`Internal::Verified`].
    fn verify(&self, peer: PeerId, nonce: String, presentation: String) {
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
                Err(e) => Err(HandshakeError::from(e)),
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

    /// Handles the verifier's result for the challenge `nonce`.
    pub(super) fn on_verified(
        &mut self,
        peer: PeerId,
        nonce: &str,
        result: Result<auth::Verified, HandshakeError>,
    ) {
        match result {
            Ok(verified) => {
                let roles = verified.roles;
                let authenticated = self.advance(peer, nonce, HandshakeEvent::Verified, |p, _| {
                    p.roles = roles.clone();
                });
                if let Some(did) = authenticated {
                    self.authenticated(peer, did, roles);
                }
            }
            Err(error) => {
                let event = HandshakeEvent::VerificationFailed;
                self.fail(peer, nonce, event, error.to_string());
            }
        }
    }

    /// Refuses a peer whose handshake `nonce` did not end in time.
    pub(super) fn on_auth_timeout(&mut self, peer: PeerId, nonce: &str) {
        let seconds = self.settings.auth_timeout.as_secs_f64();
        let reason = format!("no valid presentation within {seconds} s");
        self.fail(peer, nonce, HandshakeEvent::TimedOut, reason);
    }

    /// Closes the handshake when the last connection to `peer` closed.
    pub(super) fn on_last_connection_closed(&mut self, peer: PeerId) {
        let did = {
            let mut view = self.shared.view();
            view.peers.peers.get_mut(&peer).map(|entry| {
                entry.connected = false;
                if let Some(handshake) = entry.handshake.as_mut() {
                    if let Err(illegal) = handshake.apply(HandshakeEvent::ConnectionClosed) {
                        tracing::debug!(%peer, %illegal, "handshake event ignored");
                    }
                }
                entry.did.clone()
            })
        };
        self.queued.remove(&peer);
        self.catalog_answered.remove(&peer);
        if let Some(did) = did {
            self.shared.emit(P2pEvent::PeerDisconnected {
                peer_id: peer.to_base58(),
                did,
            });
        }
    }

    /// Answers `peer`'s challenge with a presentation of the node's membership credential,
    /// signed in a task of its own (the answer comes back as [`Internal::Answered`]) so that
    /// the swarm task never waits for it. When [`MAX_ANSWERING`] answers are being made
    /// already, the challenge is refused as busy.
    pub(super) fn answer_challenge(
        &mut self,
        peer: PeerId,
        nonce: String,
        channel: ResponseChannel<Response>,
    ) {
        let Ok(permit) = self.answering.clone().try_acquire_owned() else {
            let busy = Response::Error {
                reason: "the node is busy answering challenges; try again".into(),
            };
            let _ = self.swarm.behaviour_mut().rr.send_response(channel, busy);
            return;
        };
        let identity = self.settings.identity.clone();
        let membership = self.settings.membership.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let response = presentation(&identity, &membership, peer, &nonce).await;
            let _ = tx.send(Internal::Answered { channel, response }).await;
            drop(permit);
        });
    }

    /// Applies `event` to `peer`'s handshake if it is the one challenged with `nonce` (an
    /// event for another nonce belongs to an earlier connection and is dropped). `record`
    /// writes what comes with the new state under the same lock, so that the handles never
    /// see the state without it. Returns the peer's DID when the event applied.
    fn advance(
        &mut self,
        peer: PeerId,
        nonce: &str,
        event: HandshakeEvent,
        record: impl FnOnce(&mut Peer, &mut Catalog),
    ) -> Option<String> {
        let mut view = self.shared.view();
        let view = &mut *view;
        let entry = view.peers.peers.get_mut(&peer)?;
        let handshake = entry.handshake.as_mut().filter(|h| h.is_for(nonce))?;
        if let Err(illegal) = handshake.apply(event) {
            tracing::debug!(%peer, %illegal, "handshake event ignored");
            return None;
        }
        record(entry, &mut view.catalog);
        Some(entry.did.clone())
    }

    /// Applies an `event` that refuses the peer, and refuses it for `reason` if it applied.
    fn fail(&mut self, peer: PeerId, nonce: &str, event: HandshakeEvent, reason: String) {
        let refused = self.advance(peer, nonce, event, |entry, catalog| {
            // INVARIANT: every event `fail` is given leads to `Refused`, whose reason is
            // recorded with it.
            debug_assert_eq!(
                entry.handshake.as_ref().map(Handshake::state),
                Some(HandshakeState::Refused)
            );
            entry.refusal = Some(reason.clone());
            entry.roles.clear();
            catalog.remove_issuer(&entry.did);
        });
        if let Some(did) = refused {
            self.refused(peer, did, reason);
        }
    }

    /// Lets an authenticated peer in: gossip, its queued requests, the node's offers; and asks
    /// the network again for peers, now that one more answers.
    fn authenticated(&mut self, peer: PeerId, did: String, roles: Vec<String>) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .set_application_score(&peer, 0.0);
        self.shared.emit(P2pEvent::PeerAuthenticated {
            peer_id: peer.to_base58(),
            did,
            roles,
        });
        self.serve_queued(peer);
        self.send_catalog(peer);
        // The Kademlia bootstrap made on joining asked the peers known then, which may not yet
        // have known a peer that joined just before this one (a peer enters a routing table
        // once identify has run); Kademlia's own bootstrap on a new routing-table entry is
        // skipped while that first one runs. Asking again once a peer is authenticated finds
        // such a peer in moments rather than at the next periodic bootstrap.
        if let Err(error) = self.swarm.behaviour_mut().kad.bootstrap() {
            tracing::debug!(%error, "kademlia bootstrap");
        }
    }

    /// Shuts a refused peer out: reports it, answers its queued requests and disconnects it
    /// once it has had the time to read the refusal.
    fn refused(&mut self, peer: PeerId, did: String, reason: String) {
        tracing::info!(%peer, %did, %reason, "peer refused");
        self.shared.emit(P2pEvent::PeerRefused {
            peer_id: peer.to_base58(),
            did,
            reason: reason.clone(),
        });
        self.swarm.behaviour_mut().kad.remove_peer(&peer);
        self.refuse_queued(peer, &reason);
        self.later(REFUSAL_GRACE, Internal::Disconnect { peer });
    }
}

/// The presentation answering `peer`'s challenge.
async fn presentation(
    identity: &Identity,
    membership: &Secured,
    peer: PeerId,
    nonce: &str,
) -> Response {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_CHARS {
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
        Err(error) => Response::Error {
            reason: error.to_string(),
        },
    }
}
