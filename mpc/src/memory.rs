//! An in-memory [`Transport`] for tests and single-process simulations.

use crate::error::TransportError;
use crate::transport::Transport;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// One party's end of an in-memory network built by [`MemoryTransport::network`].
///
/// Dropping it closes its channels, so peers waiting on it fail at once with
/// [`TransportError::Disconnected`].
pub struct MemoryTransport {
    me: usize,
    n: usize,
    // INVARIANT: `tx[j]` / `rx[j]` are `None` exactly for j == me.
    tx: Vec<Option<Sender<Vec<u8>>>>,
    rx: Vec<Option<Receiver<Vec<u8>>>>,
}

impl core::fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryTransport")
            .field("me", &self.me)
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}

impl MemoryTransport {
    /// Builds a fully connected network of `n` parties; element `i` is party `i`'s end.
    pub fn network(n: usize) -> Vec<MemoryTransport> {
        let mut tx: Vec<Vec<Option<Sender<Vec<u8>>>>> =
            (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
        let mut rx: Vec<Vec<Option<Receiver<Vec<u8>>>>> =
            (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
        for (i, row) in tx.iter_mut().enumerate() {
            for (j, slot) in row.iter_mut().enumerate() {
                if i != j {
                    let (s, r) = channel();
                    *slot = Some(s);
                    if let Some(cell) = rx.get_mut(j).and_then(|v| v.get_mut(i)) {
                        *cell = Some(r);
                    }
                }
            }
        }
        tx.into_iter()
            .zip(rx)
            .enumerate()
            .map(|(me, (tx, rx))| MemoryTransport { me, n, tx, rx })
            .collect()
    }
}

impl Transport for MemoryTransport {
    fn party(&self) -> usize {
        self.me
    }

    fn parties(&self) -> usize {
        self.n
    }

    fn send(&mut self, to: usize, msg: Vec<u8>) -> Result<(), TransportError> {
        let s = self
            .tx
            .get(to)
            .and_then(Option::as_ref)
            .ok_or(TransportError::NoSuchPeer { peer: to })?;
        s.send(msg)
            .map_err(|_| TransportError::Disconnected { peer: to })
    }

    fn recv(&mut self, from: usize, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        let r = self
            .rx
            .get(from)
            .and_then(Option::as_ref)
            .ok_or(TransportError::NoSuchPeer { peer: from })?;
        r.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => TransportError::Timeout {
                peer: from,
                timeout,
            },
            RecvTimeoutError::Disconnected => TransportError::Disconnected { peer: from },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_in_order_and_reports_drops() {
        let mut net = MemoryTransport::network(3);
        let mut c = net.pop().unwrap();
        let mut b = net.pop().unwrap();
        let mut a = net.pop().unwrap();
        a.send(1, vec![1]).unwrap();
        a.send(1, vec![2]).unwrap();
        let t = Duration::from_millis(50);
        assert_eq!(b.recv(0, t).unwrap(), vec![1]);
        assert_eq!(b.recv(0, t).unwrap(), vec![2]);
        assert!(matches!(
            b.recv(2, t),
            Err(TransportError::Timeout { peer: 2, .. })
        ));
        drop(c.send(0, vec![]));
        drop(a);
        assert!(matches!(
            b.recv(0, t),
            Err(TransportError::Disconnected { peer: 0 })
        ));
        assert!(matches!(
            c.send(2, vec![]),
            Err(TransportError::NoSuchPeer { peer: 2 })
        ));
    }
}
