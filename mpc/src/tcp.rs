//! A [`Transport`] over plain TCP, for loopback benches and examples.
//!
//! Frames are a little-endian `u64` length then the bytes; every frame is
//! checked against a size cap before it is read. Each connection has a reader
//! thread that hands frames to the session, so a party never blocks on a peer
//! that is busy writing to it; the queue is bounded. There is no encryption or peer authentication
//! here beyond the handshake's party index: use it on 127.0.0.1, and give the
//! connector's authenticated, encrypted streams to a deployment.

use crate::error::TransportError;
use crate::transport::Transport;
use std::io::{IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

const HELLO_MAGIC: [u8; 4] = *b"SYMP";

/// Frames a reader thread queues before it stops reading (and TCP pushes
/// back on the sender). Most protocols keep a few frames in flight per
/// peer; `open_sum` streams one per 65536 elements, and past this bound its
/// sender just waits for the king, which drains them in order.
const QUEUE_FRAMES: usize = 64;

/// Options for [`TcpTransport::connect`].
#[derive(Debug, Clone)]
pub struct TcpConfig {
    /// How long to keep trying to reach every peer.
    pub connect_timeout: Duration,
    /// The largest frame accepted from a peer, in bytes.
    pub max_frame: u64,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            connect_timeout: Duration::from_secs(10),
            max_frame: 1 << 30,
        }
    }
}

type Frame = Result<Vec<u8>, TransportError>;

/// One party's TCP connections to all the others (a full mesh).
pub struct TcpTransport {
    me: usize,
    n: usize,
    // INVARIANT: `None` exactly at index `me`.
    writers: Vec<Option<TcpStream>>,
    readers: Vec<Option<Receiver<Frame>>>,
    streams: Vec<TcpStream>,
}

impl core::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TcpTransport")
            .field("me", &self.me)
            .field("n", &self.n)
            .finish_non_exhaustive()
    }
}

fn io(peer: usize) -> impl FnOnce(std::io::Error) -> TransportError {
    move |source| TransportError::Io { peer, source }
}

impl TcpTransport {
    /// Connects party `me` to every other party. `addrs[j]` is where party
    /// `j` listens; `listener` is our own (bound to `addrs[me]`). Party `i`
    /// dials every `j < i` and accepts every `j > i`.
    pub fn connect(
        me: usize,
        listener: &TcpListener,
        addrs: &[SocketAddr],
        config: &TcpConfig,
    ) -> Result<TcpTransport, TransportError> {
        let n = addrs.len();
        if me >= n || n > usize::from(u16::MAX) {
            return Err(TransportError::Handshake(format!(
                "party index {me} out of range for {n} parties"
            )));
        }
        let deadline = Instant::now() + config.connect_timeout;
        let mut conns: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
        for (j, addr) in addrs.iter().enumerate().take(me) {
            let mut s = dial(addr, deadline, j)?;
            let mut hello = [0u8; 8];
            hello[..4].copy_from_slice(&HELLO_MAGIC);
            hello[4..6].copy_from_slice(&(me as u16).to_le_bytes());
            hello[6..8].copy_from_slice(&(n as u16).to_le_bytes());
            s.write_all(&hello).map_err(io(j))?;
            if let Some(c) = conns.get_mut(j) {
                *c = Some(s);
            }
        }
        listener.set_nonblocking(true).map_err(io(me))?;
        let mut missing = n - me - 1;
        while missing > 0 {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).map_err(io(me))?;
                    s.set_read_timeout(Some(Duration::from_secs(5)))
                        .map_err(io(me))?;
                    let mut hello = [0u8; 8];
                    if s.read_exact(&mut hello).is_err() {
                        continue;
                    }
                    let (magic, rest) = hello.split_at(4);
                    let idx = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
                    let their_n = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
                    if magic != HELLO_MAGIC || their_n != n || idx <= me || idx >= n {
                        return Err(TransportError::Handshake(format!(
                            "unexpected hello (party {idx} of {their_n})"
                        )));
                    }
                    let slot = conns
                        .get_mut(idx)
                        .ok_or(TransportError::NoSuchPeer { peer: idx })?;
                    if slot.is_some() {
                        return Err(TransportError::Handshake(format!(
                            "party {idx} connected twice"
                        )));
                    }
                    s.set_read_timeout(None).map_err(io(idx))?;
                    *slot = Some(s);
                    missing -= 1;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        return Err(TransportError::Handshake(format!(
                            "{missing} parties did not connect within {:?}",
                            config.connect_timeout
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(io(me)(e)),
            }
        }
        let mut writers = Vec::with_capacity(n);
        let mut readers = Vec::with_capacity(n);
        let mut streams = Vec::new();
        for (j, c) in conns.into_iter().enumerate() {
            match c {
                None => {
                    writers.push(None);
                    readers.push(None);
                }
                Some(s) => {
                    s.set_nodelay(true).map_err(io(j))?;
                    let r = s.try_clone().map_err(io(j))?;
                    streams.push(s.try_clone().map_err(io(j))?);
                    let (tx, rx) = sync_channel(QUEUE_FRAMES);
                    let cap = config.max_frame;
                    std::thread::Builder::new()
                        .name(format!("mpc-tcp-{me}-from-{j}"))
                        .spawn(move || read_loop(r, j, cap, &tx))
                        .map_err(io(j))?;
                    writers.push(Some(s));
                    readers.push(Some(rx));
                }
            }
        }
        Ok(TcpTransport {
            me,
            n,
            writers,
            readers,
            streams,
        })
    }
}

fn dial(addr: &SocketAddr, deadline: Instant, peer: usize) -> Result<TcpStream, TransportError> {
    loop {
        match TcpStream::connect_timeout(addr, Duration::from_millis(500)) {
            Ok(s) => return Ok(s),
            Err(e) => {
                if Instant::now() >= deadline {
                    return Err(io(peer)(e));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn read_loop(mut s: TcpStream, peer: usize, cap: u64, tx: &SyncSender<Frame>) {
    loop {
        let mut len = [0u8; 8];
        if let Err(e) = s.read_exact(&mut len) {
            let err = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                TransportError::Disconnected { peer }
            } else {
                io(peer)(e)
            };
            drop(tx.send(Err(err)));
            return;
        }
        let len = u64::from_le_bytes(len);
        if len > cap {
            drop(tx.send(Err(TransportError::TooLarge { peer, len, cap })));
            drop(s.shutdown(Shutdown::Both));
            return;
        }
        // `len <= cap`, and the cap is a usize-sized configuration value.
        // Read straight into the spare capacity: no zeroing pass first.
        let want = usize::try_from(len).unwrap_or(0);
        let mut buf = crate::pool::take(want);
        match (&mut s).take(len).read_to_end(&mut buf) {
            Ok(got) if got == want => {}
            Ok(_) => {
                drop(tx.send(Err(TransportError::Disconnected { peer })));
                return;
            }
            Err(e) => {
                drop(tx.send(Err(io(peer)(e))));
                return;
            }
        }
        if tx.send(Ok(buf)).is_err() {
            return;
        }
    }
}

impl Transport for TcpTransport {
    fn party(&self) -> usize {
        self.me
    }

    fn parties(&self) -> usize {
        self.n
    }

    fn send(&mut self, to: usize, msg: Vec<u8>) -> Result<(), TransportError> {
        let w = self
            .writers
            .get_mut(to)
            .and_then(Option::as_mut)
            .ok_or(TransportError::NoSuchPeer { peer: to })?;
        write_frame(w, &msg).map_err(io(to))?;
        crate::pool::give(msg);
        Ok(())
    }

    fn recv(&mut self, from: usize, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        let r = self
            .readers
            .get(from)
            .and_then(Option::as_ref)
            .ok_or(TransportError::NoSuchPeer { peer: from })?;
        match r.recv_timeout(timeout) {
            Ok(frame) => frame,
            Err(RecvTimeoutError::Timeout) => Err(TransportError::Timeout {
                peer: from,
                timeout,
            }),
            Err(RecvTimeoutError::Disconnected) => Err(TransportError::Disconnected { peer: from }),
        }
    }
}

/// Writes one frame, its length and its bytes, with as few system calls as
/// the socket allows (one, usually: a separate write of the 8-byte length
/// would cost a call, and with `TCP_NODELAY` a packet and a wake-up of the
/// peer's reader, of its own).
fn write_frame(w: &mut impl Write, msg: &[u8]) -> std::io::Result<()> {
    let len = (msg.len() as u64).to_le_bytes();
    let (mut head, mut body): (&[u8], &[u8]) = (&len, msg);
    while !head.is_empty() || !body.is_empty() {
        let written = if head.is_empty() {
            w.write(body)
        } else {
            w.write_vectored(&[IoSlice::new(head), IoSlice::new(body)])
        };
        match written {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(k) => {
                let from_head = k.min(head.len());
                head = head.get(from_head..).unwrap_or(&[]);
                body = body.get(k - from_head..).unwrap_or(&[]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Drop for TcpTransport {
    fn drop(&mut self) {
        for s in &self.streams {
            drop(s.shutdown(Shutdown::Both));
        }
    }
}

/// Binds `n` listeners on 127.0.0.1 with OS-chosen ports; returns them with their addresses.
pub fn loopback_listeners(n: usize) -> Result<(Vec<TcpListener>, Vec<SocketAddr>), TransportError> {
    let mut ls = Vec::with_capacity(n);
    let mut addrs = Vec::with_capacity(n);
    for i in 0..n {
        let l = TcpListener::bind("127.0.0.1:0").map_err(io(i))?;
        addrs.push(l.local_addr().map_err(io(i))?);
        ls.push(l);
    }
    Ok((ls, addrs))
}

/// `n` free addresses on 127.0.0.1, chosen by the OS and released again, as the
/// comma-separated list that party processes started on this machine take (each binds its
/// own; another program could take a port in between, which local runs accept).
pub fn free_loopback_addr_list(n: usize) -> Result<String, TransportError> {
    let (listeners, addrs) = loopback_listeners(n)?;
    drop(listeners);
    Ok(addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `step` bytes per call.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let k = buf.len().min(self.step);
            self.out.extend_from_slice(&buf[..k]);
            Ok(k)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn frames_survive_short_writes() {
        let msg: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for step in [1, 3, 8, 9, 100, 5000] {
            let mut w = Trickle {
                out: Vec::new(),
                step,
            };
            write_frame(&mut w, &msg).unwrap();
            assert_eq!(w.out[..8], 1000u64.to_le_bytes());
            assert_eq!(w.out[8..], msg[..]);
            let mut empty = Trickle {
                out: Vec::new(),
                step,
            };
            write_frame(&mut empty, &[]).unwrap();
            assert_eq!(empty.out, 0u64.to_le_bytes());
        }
    }

    #[test]
    fn free_addresses_are_distinct_loopback_ports() {
        let list = free_loopback_addr_list(3).unwrap();
        let addrs: Vec<SocketAddr> = list.split(',').map(|a| a.parse().unwrap()).collect();
        assert_eq!(addrs.len(), 3);
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() != 0));
        assert!(addrs[0] != addrs[1] && addrs[1] != addrs[2] && addrs[0] != addrs[2]);
    }

    #[test]
    fn mesh_of_three_exchanges_and_detects_close() {
        let (ls, addrs) = loopback_listeners(3).unwrap();
        let handles: Vec<_> = ls
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let addrs = addrs.clone();
                std::thread::spawn(move || {
                    TcpTransport::connect(i, &l, &addrs, &TcpConfig::default()).unwrap()
                })
            })
            .collect();
        let mut ts: Vec<TcpTransport> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let t = Duration::from_secs(2);
        for (i, tr) in ts.iter_mut().enumerate() {
            for j in 0..3 {
                if i != j {
                    tr.send(j, vec![i as u8, j as u8]).unwrap();
                }
            }
        }
        for (j, tr) in ts.iter_mut().enumerate() {
            for i in 0..3 {
                if i != j {
                    assert_eq!(tr.recv(i, t).unwrap(), vec![i as u8, j as u8]);
                }
            }
        }
        let last = ts.pop().unwrap();
        drop(last);
        assert!(ts[0].recv(2, t).is_err());
    }
}
