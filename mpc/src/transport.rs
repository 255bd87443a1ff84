//! The transport seam: authenticated, ordered, point-to-point byte messages
//! between parties numbered `0..n`.
//!
//! The protocols in this crate are written against [`Transport`] only. What
//! the transport must give them (see `SECURITY.md`):
//! - **authenticity**: bytes returned by `recv(from, ..)` were sent by party
//!   `from` (the connector binds a party index to a verified peer identity);
//! - **confidentiality** of shares in transit (noise/TLS in the connector;
//!   the TCP transport here is for loopback benches and examples only);
//! - **order**: messages from one sender arrive in the order sent.
//!
//! The engine sends at most one message per peer per round, so a transport
//! sees few, large frames.

use crate::error::TransportError;
use std::time::Duration;

/// A channel from one party to every other party of a session.
///
/// The interface is blocking: a session runs on its own thread (in an
/// async runtime, inside `spawn_blocking`), and an implementation over
/// async streams can bridge with bounded channels.
pub trait Transport: Send {
    /// Our own index in `0..parties()`.
    fn party(&self) -> usize;
    /// The number of parties.
    fn parties(&self) -> usize;
    /// Queues `msg` for party `to`. Must not block on the peer reading it
    /// beyond ordinary socket back-pressure.
    fn send(&mut self, to: usize, msg: Vec<u8>) -> Result<(), TransportError>;
    /// Waits up to `timeout` for the next message from party `from`.
    fn recv(&mut self, from: usize, timeout: Duration) -> Result<Vec<u8>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn party(&self) -> usize {
        (**self).party()
    }
    fn parties(&self) -> usize {
        (**self).parties()
    }
    fn send(&mut self, to: usize, msg: Vec<u8>) -> Result<(), TransportError> {
        (**self).send(to, msg)
    }
    fn recv(&mut self, from: usize, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        (**self).recv(from, timeout)
    }
}
