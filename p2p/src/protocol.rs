//! The wire format of the request-response protocol.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The request-response protocol id for connector-to-connector messages.
pub const PROTOCOL_NAME: &str = "/symbolon/1";

/// The Kademlia protocol id.
pub(crate) const KAD_PROTOCOL: &str = "/symbolon/kad/1";

/// The identify protocol version string.
pub(crate) const IDENTIFY_VERSION: &str = "/symbolon/id/1";

/// Largest request read (1 MiB).
pub(crate) const MAX_REQUEST_BYTES: u64 = 1024 * 1024;

/// Largest response read (10 MiB).
pub(crate) const MAX_RESPONSE_BYTES: u64 = 10 * 1024 * 1024;

/// Largest gossipsub message (an announcement).
pub(crate) const MAX_ANNOUNCEMENT_BYTES: usize = 256 * 1024;

/// A request from one connector to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Request {
    /// Authentication: present your membership credential bound to this nonce and my DID.
    Challenge {
        /// A fresh random nonce.
        nonce: String,
    },
    /// The sender's current announcements (maybe none), sent once it authenticated the
    /// receiver, so that a peer that joins later learns the offers announced before it came;
    /// and once more in answer to the receiver's first catalog.
    Catalog {
        /// Compact JWS announcements.
        announcements: Vec<String>,
    },
    /// An application message (e.g. a Dataspace Protocol message).
    App {
        /// The message.
        payload: Value,
    },
}

/// An answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Response {
    /// The presentation answering a challenge (a compact JWS).
    Presentation {
        /// The `vp+jwt`.
        presentation: String,
    },
    /// Received.
    Ack,
    /// The application's answer.
    App {
        /// The answer.
        payload: Value,
    },
    /// Refused, with the reason.
    Error {
        /// Why.
        reason: String,
    },
}
