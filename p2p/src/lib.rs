//! Symbolon's peer network: connectors find each other over libp2p and authenticate each
//! other by the credentials they present.
//!
//! A [`Node`] runs one libp2p swarm in one tokio task: TCP (Noise, Yamux) and QUIC transports,
//! `identify`, mDNS (switchable), Kademlia with bootstrap peers, a gossipsub topic per data space
//! (`symbolon/<data space>/offers`), a request-response protocol ([`PROTOCOL_NAME`]) and raw
//! session streams ([`SESSION_PROTOCOL`], for MPC shares) between authenticated peers. The
//! application talks to it through a cloneable [`NodeHandle`]. Peers' presentations and the
//! signatures of announcements are checked outside the swarm task; the results come back to
//! it through a bounded channel.
//!
//! # Identity and authentication
//! The libp2p key is the did:key's Ed25519 key, so a peer's DID is derived from the PeerId the
//! Noise handshake authenticated ([`did_of_peer`]), never from what the peer says. Right after a
//! connection opens each side sends the other a fresh challenge; the answer is a presentation of
//! the peer's `DataSpaceMembershipCredential` bound to the challenge and to the challenger's DID.
//! It is checked with the identity crate's `Verifier` (signature, validity, revocation, trusted
//! issuer), plus: the holder is the PeerId's DID, the data space is ours, the challenge was
//! never accepted before. A peer that fails is recorded with the reason ([`PeerInfo::reason`]),
//! answered with an error, ignored on gossipsub and disconnected. Each peer's handshake is an
//! explicit state machine (challenge sent, awaiting verification, authenticated, refused,
//! closed); the crate's `README.md` lists its transitions.
//!
//! # Announcements
//! [`NodeHandle::announce`] signs an offer as a compact JWS by the node's DID and publishes it
//! on the data space's topic (gossipsub, signed messages). A receiver keeps it only when the
//! JWS verifies, its signer is the DID of the gossipsub message's author, the signer and the
//! forwarder are authenticated peers, it is for this data space, fresh and not a replay. The
//! [`NodeHandle::federated_catalog`] is the latest accepted announcement per issuer and offer.
//!
//! Every outcome is reported as a [`P2pEvent`] for the audit trail.

#![recursion_limit = "256"]

mod announce;
mod auth;
mod behaviour;
mod config;
mod error;
mod handshake;
mod node;
mod peers;
mod protocol;
mod streams;

pub use announce::{sign_announcement, Announcement, ANNOUNCEMENT_TYPE};
pub use auth::{did_of_peer, peer_of_did};
pub use config::NodeConfig;
pub use error::P2pError;
pub use node::{IncomingRequest, Node, NodeHandle, Responder};
pub use peers::{P2pEvent, PeerInfo};
pub use protocol::PROTOCOL_NAME;
pub use streams::{SessionStream, SESSION_PROTOCOL};

pub use libp2p::{futures, multiaddr, Multiaddr, PeerId, Stream};
