//! The errors an MPC session can end with.

use std::time::Duration;

/// Why a transport could not deliver or receive a message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// No message arrived from the peer before the deadline.
    #[error("party {peer} sent nothing within {timeout:?}")]
    Timeout {
        /// The silent peer.
        peer: usize,
        /// How long we waited.
        timeout: Duration,
    },
    /// The connection to the peer is closed.
    #[error("connection to party {peer} is closed")]
    Disconnected {
        /// The peer whose connection closed.
        peer: usize,
    },
    /// A party index outside `0..n`, or our own index.
    #[error("no channel to party {peer}")]
    NoSuchPeer {
        /// The index asked for.
        peer: usize,
    },
    /// A frame longer than the configured cap.
    #[error("message of {len} bytes from party {peer} exceeds the cap of {cap} bytes")]
    TooLarge {
        /// The sender.
        peer: usize,
        /// Announced length.
        len: u64,
        /// Configured cap.
        cap: u64,
    },
    /// An input/output error on a socket.
    #[error("i/o error with party {peer}: {source}")]
    Io {
        /// The peer concerned.
        peer: usize,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The connection handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(String),
}

/// An error ending an MPC session. Every variant names the party concerned;
/// none carries secret data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MpcError {
    /// The transport failed (timeout, disconnect, oversize frame, ...).
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A message that could not be parsed.
    #[error("malformed message from party {peer}: {reason}")]
    Malformed {
        /// The sender.
        peer: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A message carrying another session's id.
    #[error("message from party {peer} belongs to another session")]
    WrongSession {
        /// The sender.
        peer: usize,
    },
    /// A message whose header names a sender other than the channel it came on.
    #[error("message on the channel of party {peer} claims to come from party {claimed}")]
    WrongSender {
        /// The channel it arrived on.
        peer: usize,
        /// The sender named in the header.
        claimed: usize,
    },
    /// A message addressed to another party.
    #[error("message from party {peer} is addressed to party {to}, not to us")]
    Misrouted {
        /// The sender.
        peer: usize,
        /// The addressee named in the header.
        to: usize,
    },
    /// A message for another round than the one being run.
    #[error("message from party {peer} is for round {got}, expected round {expected}")]
    WrongRound {
        /// The sender.
        peer: usize,
        /// Round we are in.
        expected: u64,
        /// Round in the header.
        got: u64,
    },
    /// A message of the right round but the wrong size or kind.
    #[error("message from party {peer} carries {got} elements, expected {expected}")]
    WrongLength {
        /// The sender.
        peer: usize,
        /// Elements expected.
        expected: usize,
        /// Elements received.
        got: usize,
    },
    /// A share that is not a field element, or that does not lie on the
    /// polynomial the other shares define.
    #[error("share from party {peer} does not fit: {reason}")]
    BadShare {
        /// The party whose share was rejected (best guess for inconsistency).
        peer: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A bad session parameter (party count, threshold, index, sizes).
    #[error("invalid parameters: {0}")]
    Config(String),
    /// A value outside the range of its encoding.
    #[error("value {value} is outside the encodable range [{min}, {max}]")]
    OutOfRange {
        /// The rejected value, as text.
        value: String,
        /// Smallest accepted value.
        min: String,
        /// Largest accepted value.
        max: String,
    },
    /// Vectors of different lengths combined element-wise.
    #[error("length mismatch: {left} vs {right}")]
    LengthMismatch {
        /// Left length.
        left: usize,
        /// Right length.
        right: usize,
    },
    /// A point that is not a valid Ristretto encoding.
    #[error("invalid group element from party {peer}")]
    BadPoint {
        /// The sender.
        peer: usize,
    },
    /// An event of negligible probability (e.g. a random value was zero).
    #[error("negligible-probability event: {0}; retry the session")]
    Unlucky(&'static str),
    /// Another party stopped the session because party `failed` failed it, and said so
    /// before it left: the party to blame is `failed`, not `reporter`.
    #[error("party {failed} failed ({reason}), as party {reporter} reported before it stopped")]
    PeerFailed {
        /// The party that failed.
        failed: usize,
        /// The party that saw it fail and told us.
        reporter: usize,
        /// How it failed.
        reason: FailureKind,
    },
}

/// How a party failed a session, as one party tells the others when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FailureKind {
    /// Its connection closed or broke.
    #[error("its connection failed")]
    Disconnected,
    /// It sent nothing within the round's deadline.
    #[error("it sent nothing in time")]
    Timeout,
    /// It sent a message that was refused (malformed, misrouted, out of round, a bad share).
    #[error("it sent a message that was refused")]
    Refused,
}

impl FailureKind {
    /// How `error` says its party failed.
    pub fn of(error: &MpcError) -> FailureKind {
        match error {
            MpcError::Transport(TransportError::Timeout { .. }) => FailureKind::Timeout,
            MpcError::Transport(_) => FailureKind::Disconnected,
            MpcError::PeerFailed { reason, .. } => *reason,
            _ => FailureKind::Refused,
        }
    }

    /// Its code on the wire.
    pub fn code(self) -> u8 {
        match self {
            FailureKind::Disconnected => 1,
            FailureKind::Timeout => 2,
            FailureKind::Refused => 3,
        }
    }

    /// The kind a wire code names.
    pub fn from_code(code: u8) -> Option<FailureKind> {
        match code {
            1 => Some(FailureKind::Disconnected),
            2 => Some(FailureKind::Timeout),
            3 => Some(FailureKind::Refused),
            _ => None,
        }
    }
}

impl TransportError {
    /// The peer whose connection failed, if the error is about one.
    pub fn peer(&self) -> Option<usize> {
        match self {
            TransportError::Timeout { peer, .. }
            | TransportError::Disconnected { peer }
            | TransportError::TooLarge { peer, .. }
            | TransportError::Io { peer, .. } => Some(*peer),
            TransportError::NoSuchPeer { .. } | TransportError::Handshake(_) => None,
        }
    }
}

impl MpcError {
    /// The party this error blames: the one whose connection failed, that timed out or sent
    /// something wrong (for [`MpcError::PeerFailed`], the party the reporter named, not the
    /// reporter). `None` for local errors (parameters, encodings).
    pub fn failed_party(&self) -> Option<usize> {
        match self {
            MpcError::Transport(error) => error.peer(),
            MpcError::Malformed { peer, .. }
            | MpcError::WrongSession { peer }
            | MpcError::WrongSender { peer, .. }
            | MpcError::Misrouted { peer, .. }
            | MpcError::WrongRound { peer, .. }
            | MpcError::WrongLength { peer, .. }
            | MpcError::BadShare { peer, .. }
            | MpcError::BadPoint { peer } => Some(*peer),
            MpcError::PeerFailed { failed, .. } => Some(*failed),
            MpcError::Config(_)
            | MpcError::OutOfRange { .. }
            | MpcError::LengthMismatch { .. }
            | MpcError::Unlucky(_) => None,
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T> = std::result::Result<T, MpcError>;
