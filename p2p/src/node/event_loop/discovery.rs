//! Finding and reaching peers: bootstrap, dialing, identify, Kademlia and mDNS, and the peer
//! table's record of connections opening and failing.

use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::DialError;
use libp2p::{identify, Multiaddr, PeerId};

use super::EventLoop;
use crate::auth::did_of_peer;
use crate::peers::P2pEvent;

/// Most listen addresses taken from one identify message.
const MAX_IDENTIFY_ADDRESSES: usize = 16;

impl EventLoop {
    /// Dials the bootstrap peers and starts a Kademlia bootstrap.
    pub(crate) fn bootstrap(&mut self, peers: Vec<(PeerId, Multiaddr)>) {
        if peers.is_empty() {
            return;
        }
        for (peer, address) in peers {
            self.swarm
                .behaviour_mut()
                .kad
                .add_address(&peer, without_peer(address.clone()));
            if let Err(error) = self.swarm.dial(address) {
                tracing::debug!(%peer, %error, "bootstrap dial failed");
            }
        }
        if let Err(error) = self.swarm.behaviour_mut().kad.bootstrap() {
            tracing::debug!(%error, "kademlia bootstrap");
        }
    }

    /// Dials a discovered peer unless it is ourselves, connected, refused or has no address.
    pub(super) fn maybe_dial(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
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

    /// Records a new connection; the first one to a peer starts its handshake.
    pub(super) fn on_connection_established(
        &mut self,
        peer: PeerId,
        endpoint: &ConnectedPoint,
        established: u32,
    ) {
        let Ok(did) = did_of_peer(&peer) else {
            // Not an Ed25519 key: it cannot be a connector's DID.
            let _ = self.swarm.disconnect_peer_id(peer);
            return;
        };
        {
            let mut view = self.shared.view();
            let entry = view.peers.entry(peer, did.as_str());
            entry.connected = true;
            entry.last_seen = chrono::Utc::now();
            if endpoint.is_dialer() {
                let address = without_peer(endpoint.get_remote_address().clone());
                view.peers.add_address(&peer, address);
            }
        }
        if established == 1 {
            self.start_handshake(peer, &did);
        }
    }

    /// Records a failed dial of a peer that has no connection.
    pub(super) fn on_unreachable(&mut self, peer: PeerId, error: &DialError) {
        let Ok(did) = did_of_peer(&peer) else {
            return;
        };
        // INVARIANT: with no connection the peer's handshake is closed (or was never
        // started), so the entry reads as unreachable or refused.
        self.shared.view().peers.entry(peer, did.as_str()).connected = false;
        self.shared.emit(P2pEvent::PeerUnreachable {
            peer_id: peer.to_base58(),
            did: did.to_string(),
            reason: error.to_string(),
        });
    }

    /// Learns a peer's listen addresses from its identify message.
    pub(super) fn on_identified(&mut self, peer: PeerId, info: identify::Info) {
        let mut view = self.shared.view();
        view.peers.seen(&peer);
        if view.peers.is_refused(&peer) {
            return;
        }
        for address in info.listen_addrs.into_iter().take(MAX_IDENTIFY_ADDRESSES) {
            if is_dialable(&address) {
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer, address.clone());
                view.peers.add_address(&peer, address);
            }
        }
    }

    /// Adds the peers mDNS found to Kademlia and dials them.
    pub(super) fn on_mdns(&mut self, found: Vec<(PeerId, Multiaddr)>) {
        for (peer, address) in found {
            self.swarm
                .behaviour_mut()
                .kad
                .add_address(&peer, address.clone());
            self.maybe_dial(peer, vec![address]);
        }
    }
}

/// `address` without a trailing `/p2p/<PeerId>`.
fn without_peer(mut address: Multiaddr) -> Multiaddr {
    if matches!(address.iter().last(), Some(Protocol::P2p(_))) {
        address.pop();
    }
    address
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn wildcards_and_circuits_are_not_dialed_and_peer_suffixes_are_cut() {
        let address: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        assert!(is_dialable(&address));
        assert!(!is_dialable(&"/ip4/0.0.0.0/tcp/4001".parse().unwrap()));
        assert!(!is_dialable(&"/ip6/::/tcp/4001".parse().unwrap()));
        let peer = PeerId::random();
        let full = address.clone().with_p2p(peer).unwrap();
        assert_eq!(without_peer(full), address);
        assert_eq!(without_peer(address.clone()), address);
    }
}
