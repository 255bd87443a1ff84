//! The peer table and the events reported to the application.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use libp2p::{Multiaddr, PeerId};
use serde::Serialize;

use crate::handshake::{Handshake, HandshakeState};

/// Most addresses remembered per peer.
const MAX_ADDRESSES: usize = 16;

/// A peer as the management API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerInfo {
    /// The peer's PeerId (base58).
    pub peer_id: String,
    /// The peer's did:key, derived from its PeerId.
    pub did: String,
    /// The roles its verified membership credential gives it.
    pub roles: Vec<String>,
    /// Its known listen addresses.
    pub addresses: Vec<String>,
    /// When it was last heard from (RFC 3339).
    pub last_seen: String,
    /// Whether its presentation was verified on its current connection.
    pub authenticated: bool,
    /// Why it is not authenticated: the refusal, `authentication pending`, or `unreachable`.
    pub reason: Option<String>,
    /// Whether a connection to it is open.
    pub reachable: bool,
}

/// Something the audit trail records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum P2pEvent {
    /// The node listens on an address (with `/p2p/<PeerId>`).
    Listening {
        /// The address.
        address: String,
    },
    /// A peer's presentation verified.
    PeerAuthenticated {
        /// Its PeerId.
        peer_id: String,
        /// Its DID.
        did: String,
        /// Its verified roles.
        roles: Vec<String>,
    },
    /// A peer's presentation failed, or it did not present one in time; it was disconnected.
    PeerRefused {
        /// Its PeerId.
        peer_id: String,
        /// Its DID.
        did: String,
        /// Why, in words.
        reason: String,
    },
    /// An announcement was stored in the federated catalog.
    AnnouncementAccepted {
        /// The announcing DID.
        issuer: String,
        /// The offer's id.
        offer_id: String,
        /// The peer it arrived from.
        from: String,
    },
    /// An announcement was dropped.
    AnnouncementDropped {
        /// The signer, when known.
        issuer: Option<String>,
        /// The peer it arrived from.
        from: String,
        /// Why, in words.
        reason: String,
    },
    /// The last connection to a peer closed.
    PeerDisconnected {
        /// Its PeerId.
        peer_id: String,
        /// Its DID.
        did: String,
    },
    /// A session stream was dropped: its peer is not authenticated, or nothing takes it.
    StreamRefused {
        /// Its PeerId.
        peer_id: String,
        /// Its DID.
        did: String,
        /// Why, in words.
        reason: String,
    },
    /// A peer could not be reached.
    PeerUnreachable {
        /// Its PeerId.
        peer_id: String,
        /// Its DID.
        did: String,
        /// Why, in words.
        reason: String,
    },
}

/// Where a peer stands, as requests and the management API see it (derived from its
/// handshake and its last refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// Connected; its presentation is awaited.
    Pending,
    /// Its presentation verified.
    Authenticated,
    /// Refused for the reason given.
    Refused(String),
    /// Not connected (any more).
    Unreachable,
}

/// One peer's entry.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub did: String,
    pub roles: Vec<String>,
    pub addresses: BTreeSet<Multiaddr>,
    pub last_seen: DateTime<Utc>,
    pub connected: bool,
    /// The handshake on the current (or last) connection; `None` before the first.
    pub handshake: Option<Handshake>,
    /// Why the peer was last refused; cleared when a new handshake starts.
    // INVARIANT: `Some` whenever the handshake is `Refused`.
    pub refusal: Option<String>,
}

impl Peer {
    /// Whether the peer's presentation verified on its current connection.
    pub(crate) fn is_authenticated(&self) -> bool {
        self.handshake
            .as_ref()
            .is_some_and(|h| h.state() == HandshakeState::Authenticated)
    }

    /// Where the peer stands.
    pub(crate) fn auth(&self) -> Auth {
        match self.handshake.as_ref().map(Handshake::state) {
            Some(HandshakeState::Authenticated) => Auth::Authenticated,
            Some(state) if state.is_pending() => Auth::Pending,
            _ => match &self.refusal {
                Some(reason) => Auth::Refused(reason.clone()),
                None => Auth::Unreachable,
            },
        }
    }
}

/// The peer table.
#[derive(Debug, Default)]
pub(crate) struct PeerTable {
    pub peers: HashMap<PeerId, Peer>,
}

impl PeerTable {
    /// The entry of `peer`, created when new.
    pub(crate) fn entry(&mut self, peer: PeerId, did: &str) -> &mut Peer {
        self.peers.entry(peer).or_insert_with(|| Peer {
            did: did.to_owned(),
            roles: Vec::new(),
            addresses: BTreeSet::new(),
            last_seen: Utc::now(),
            connected: false,
            handshake: None,
            refusal: None,
        })
    }

    /// Marks `peer` as heard from now.
    pub(crate) fn seen(&mut self, peer: &PeerId) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.last_seen = Utc::now();
        }
    }

    /// Adds a listen address.
    pub(crate) fn add_address(&mut self, peer: &PeerId, address: Multiaddr) {
        if let Some(p) = self.peers.get_mut(peer) {
            if p.addresses.len() < MAX_ADDRESSES {
                p.addresses.insert(address);
            }
        }
    }

    /// Whether `peer` is authenticated.
    pub(crate) fn is_authenticated(&self, peer: &PeerId) -> bool {
        self.peers.get(peer).is_some_and(Peer::is_authenticated)
    }

    /// Whether the peer whose DID is `did` is authenticated.
    pub(crate) fn did_is_authenticated(&self, did: &str) -> bool {
        self.peers
            .values()
            .any(|p| p.did == did && p.is_authenticated())
    }

    /// Whether `peer` was refused.
    pub(crate) fn is_refused(&self, peer: &PeerId) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|p| matches!(p.auth(), Auth::Refused(_)))
    }

    /// The table as the management API shows it, sorted by DID.
    pub(crate) fn list(&self) -> Vec<PeerInfo> {
        let mut list: Vec<PeerInfo> = self
            .peers
            .iter()
            .map(|(id, p)| (id, p, p.auth()))
            .map(|(id, p, auth)| PeerInfo {
                peer_id: id.to_base58(),
                did: p.did.clone(),
                roles: p.roles.clone(),
                addresses: p.addresses.iter().map(ToString::to_string).collect(),
                last_seen: p
                    .last_seen
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                authenticated: auth == Auth::Authenticated,
                reason: match auth {
                    Auth::Authenticated => None,
                    Auth::Pending => Some("authentication pending".to_owned()),
                    Auth::Refused(reason) => Some(reason),
                    Auth::Unreachable => Some("unreachable".to_owned()),
                },
                reachable: p.connected,
            })
            .collect();
        list.sort_by(|a, b| a.did.cmp(&b.did));
        list
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use crate::handshake::HandshakeEvent as E;

    #[test]
    fn where_a_peer_stands_follows_its_handshake_and_last_refusal() {
        let mut table = PeerTable::default();
        let id = PeerId::random();
        let peer = table.entry(id, "did:key:z");
        assert_eq!(peer.auth(), Auth::Unreachable);
        peer.handshake = Some(Handshake::start("n".into()));
        assert_eq!(peer.auth(), Auth::Pending);
        let handshake = peer.handshake.as_mut().unwrap();
        handshake.apply(E::PresentationReceived).unwrap();
        handshake.apply(E::Verified).unwrap();
        assert!(peer.is_authenticated());
        assert!(table.did_is_authenticated("did:key:z") && table.is_authenticated(&id));
        let peer = table.peers.get_mut(&id).unwrap();
        peer.handshake
            .as_mut()
            .unwrap()
            .apply(E::ConnectionClosed)
            .unwrap();
        assert_eq!(peer.auth(), Auth::Unreachable);

        peer.handshake = Some(Handshake::start("m".into()));
        peer.handshake.as_mut().unwrap().apply(E::TimedOut).unwrap();
        peer.refusal = Some("too slow".into());
        assert_eq!(peer.auth(), Auth::Refused("too slow".into()));
        peer.handshake
            .as_mut()
            .unwrap()
            .apply(E::ConnectionClosed)
            .unwrap();
        assert!(table.is_refused(&id));
        let info = &table.list()[0];
        assert!(!info.authenticated && info.reason.as_deref() == Some("too slow"));
    }
}
