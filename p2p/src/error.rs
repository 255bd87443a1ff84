//! The errors of the peer network.

/// An error of the peer network.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The configuration cannot be used.
    #[error("invalid peer network configuration: {0}")]
    Config(String),
    /// A transport or listener could not be set up.
    #[error("transport: {0}")]
    Transport(String),
    /// The peer reference is neither a PeerId nor an Ed25519 did:key.
    #[error("`{0}` is neither a PeerId nor an Ed25519 did:key DID")]
    BadPeer(String),
    /// The peer has not been authenticated (yet, or it was refused).
    #[error("peer `{peer}` is not authenticated: {reason}")]
    NotAuthenticated {
        /// The peer's DID.
        peer: String,
        /// Why.
        reason: String,
    },
    /// The peer answered with an error.
    #[error("the peer refused the request: {0}")]
    Refused(String),
    /// The request did not reach the peer or got no answer.
    #[error("the request failed: {0}")]
    Request(String),
    /// The offer cannot be announced.
    #[error("invalid offer: {0}")]
    InvalidOffer(String),
    /// The node has stopped.
    #[error("the peer network has stopped")]
    Stopped,
}
