//! The errors of the peer network.

/// The error underneath another, kept with its type for the source chain.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error of the peer network.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The configuration cannot be used.
    #[error("invalid peer network configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
        /// The error underneath, if any.
        #[source]
        source: Option<Source>,
    },
    /// A transport or listener could not be set up.
    #[error("transport: {context}")]
    Transport {
        /// What was being set up.
        context: String,
        /// The error underneath, if any.
        #[source]
        source: Option<Source>,
    },
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
    #[error("the request failed: {context}")]
    Request {
        /// What was being done.
        context: String,
        /// The error underneath, if any.
        #[source]
        source: Option<Source>,
    },
    /// The offer cannot be announced.
    #[error("invalid offer: {0}")]
    InvalidOffer(String),
    /// The node has stopped.
    #[error("the peer network has stopped")]
    Stopped,
}

impl P2pError {
    /// A configuration error with no error underneath.
    pub fn config(reason: impl Into<String>) -> Self {
        P2pError::Config {
            reason: reason.into(),
            source: None,
        }
    }

    /// A transport error while `context`, caused by `source`.
    pub fn transport(context: impl Into<String>, source: impl Into<Source>) -> Self {
        P2pError::Transport {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// A failed request, `context` saying what failed, with no error underneath.
    pub fn request(context: impl Into<String>) -> Self {
        P2pError::Request {
            context: context.into(),
            source: None,
        }
    }

    /// A failed request while `context`, caused by `source`.
    pub fn request_from(context: impl Into<String>, source: impl Into<Source>) -> Self {
        P2pError::Request {
            context: context.into(),
            source: Some(source.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    // Before, the variants held the underlying error as text: its type was lost to callers.
    #[test]
    fn the_error_underneath_keeps_its_type() {
        let error = P2pError::transport(
            "listening on `/ip4/0.0.0.0/tcp/1`",
            std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied"),
        );
        assert_eq!(
            error.to_string(),
            "transport: listening on `/ip4/0.0.0.0/tcp/1`"
        );
        let source = error.source().unwrap();
        let io = source.downcast_ref::<std::io::Error>().unwrap();
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(P2pError::config("empty").source().is_none());
        assert!(P2pError::request("unexpected answer").source().is_none());
    }
}
