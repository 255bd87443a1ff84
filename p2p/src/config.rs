//! The configuration of a [`crate::Node`].

use std::time::Duration;

use libp2p::Multiaddr;
use symbolon_identity::{KeyPair, Secured, Verifier};

/// How a node is set up.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The connector's key: an Ed25519 key whose did:key is the connector's DID. The libp2p
    /// keypair is derived from it, so the PeerId and the DID identify the same key.
    pub identity: KeyPair,
    /// Addresses to listen on, e.g. `/ip4/127.0.0.1/tcp/0` and `/ip4/127.0.0.1/udp/0/quic-v1`.
    pub listen: Vec<Multiaddr>,
    /// Bootstrap peers, each a multiaddr ending in `/p2p/<PeerId>`.
    pub bootstrap: Vec<Multiaddr>,
    /// Whether to discover peers on the local network with mDNS.
    pub mdns: bool,
    /// The data space id; it names the gossipsub topic and must match the trust list's and the
    /// membership credentials'.
    pub data_space: String,
    /// The connector's membership credential, as held in its wallet.
    pub membership: Secured,
    /// The verifier for peers' presentations, with the installed trust list (required) and a
    /// status source. The node adds its own nonce store.
    pub verifier: Verifier,
    /// How long a peer has to complete the authentication exchange.
    pub auth_timeout: Duration,
    /// How long an application request waits for its answer.
    pub request_timeout: Duration,
    /// Announcements older than this are ignored as stale.
    pub announcement_max_age: Duration,
    /// Most peer connections kept at once; further ones are refused (default 256).
    pub max_connections: u32,
    /// Most connections to one peer (default 4: TCP and QUIC, both ways).
    pub max_connections_per_peer: u32,
    /// Most incoming connections still in their handshake (default 64).
    pub max_pending_incoming: u32,
}

impl NodeConfig {
    /// A configuration listening on all interfaces (TCP and QUIC, ports chosen by the system),
    /// with mDNS on and no bootstrap peers.
    pub fn new(
        identity: KeyPair,
        data_space: impl Into<String>,
        membership: Secured,
        verifier: Verifier,
    ) -> Self {
        NodeConfig {
            identity,
            listen: default_listen(),
            bootstrap: Vec::new(),
            mdns: true,
            data_space: data_space.into(),
            membership,
            verifier,
            auth_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            announcement_max_age: Duration::from_secs(600),
            max_connections: 256,
            max_connections_per_peer: 4,
            max_pending_incoming: 64,
        }
    }
}

fn default_listen() -> Vec<Multiaddr> {
    ["/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect()
}
