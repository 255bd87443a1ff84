//! The round layer over a [`Transport`]: every message carries a header
//! (version, session id, sender, addressee, round) that is checked on
//! receipt, and each round sends at most one message to each peer.
//!
//! Wire format of one message (all integers little endian):
//!
//! | bytes | field |
//! | --- | --- |
//! | 2 | magic `0x53` and version `1` |
//! | 16 | session id |
//! | 2 | sender index |
//! | 2 | addressee index |
//! | 8 | round number |
//! | rest | payload (for share vectors: 16-byte field elements) |
//!
//! **Failure notices.** A party whose round fails because of a peer (its connection failed,
//! it sent nothing in time or something that was refused) tells every other peer before it
//! stops: a message with the version byte [`NOTICE_VERSION`] whose payload names the failed
//! party (2 bytes) and how it failed (1 byte, [`FailureKind::code`]). A party that receives
//! one fails with [`MpcError::PeerFailed`] naming the failed party, and passes the notice on,
//! so that when a party is killed every survivor names it, not the survivor that happened to
//! stop first.

use crate::error::{FailureKind, MpcError, Result, TransportError};
use crate::field::{element_bits, Fp, ELEMENT_BYTES, MODULUS};
use crate::transport::Transport;
use std::time::{Duration, Instant};

/// Length of the message header in bytes.
pub const HEADER_BYTES: usize = 30;
const MAGIC: [u8; 2] = [0x53, 1];
/// The version byte of a failure notice.
pub const NOTICE_VERSION: u8 = 0xA0;
/// Payload bytes of a failure notice: the failed party and how it failed.
const NOTICE_PAYLOAD: usize = 3;
/// How long a party whose send failed looks for the failure notice the peer sent before it
/// left.
const NOTICE_GRACE: Duration = Duration::from_millis(200);

/// A session id: 16 bytes that every message of the session carries.
pub type SessionId = [u8; 16];

/// A message received in a round: the sender and the payload.
#[derive(Debug)]
pub struct Incoming {
    /// Sender index.
    pub peer: usize,
    bytes: Vec<u8>,
}

impl Drop for Incoming {
    fn drop(&mut self) {
        // Read and done with: the buffer can carry a later message.
        crate::pool::give(std::mem::take(&mut self.bytes));
    }
}

impl Incoming {
    /// The payload after the header.
    pub fn payload(&self) -> &[u8] {
        self.bytes.get(HEADER_BYTES..).unwrap_or(&[])
    }

    /// Parses the payload as exactly `expected` field elements.
    pub fn elements(&self, expected: usize) -> Result<Vec<Fp>> {
        decode_elements(self.payload(), expected, self.peer)
    }
}

/// Decodes `expected` little-endian field elements, rejecting any that is not below p.
pub fn decode_elements(payload: &[u8], expected: usize, peer: usize) -> Result<Vec<Fp>> {
    if !payload.len().is_multiple_of(ELEMENT_BYTES) {
        return Err(MpcError::Malformed {
            peer,
            reason: "payload is not a whole number of field elements",
        });
    }
    let got = payload.len() / ELEMENT_BYTES;
    if got != expected {
        return Err(MpcError::WrongLength {
            peer,
            expected,
            got,
        });
    }
    // Decoded into reserved room: no zeroing pass first.
    let mut out = Vec::with_capacity(expected);
    let mut bad = false;
    out.extend(payload.chunks_exact(ELEMENT_BYTES).map(|c| {
        let v = element_bits(c);
        bad |= v >= MODULUS;
        Fp::new(v)
    }));
    if bad {
        return Err(MpcError::BadShare {
            peer,
            reason: "value is not a field element",
        });
    }
    Ok(out)
}

/// Decodes `out.len()` little-endian field elements from `bytes` (which
/// must hold exactly that many), rejecting any that is not below p.
pub fn decode_into(bytes: &[u8], peer: usize, out: &mut [Fp]) -> Result<()> {
    if bytes.len() != out.len() * ELEMENT_BYTES {
        return Err(MpcError::WrongLength {
            peer,
            expected: out.len(),
            got: bytes.len() / ELEMENT_BYTES,
        });
    }
    let mut bad = false;
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(ELEMENT_BYTES)) {
        let v = element_bits(c);
        bad |= v >= MODULUS;
        *o = Fp::new(v);
    }
    if bad {
        return Err(MpcError::BadShare {
            peer,
            reason: "value is not a field element",
        });
    }
    Ok(())
}

/// Appends field elements to a message buffer.
pub fn push_elements(buf: &mut Vec<u8>, xs: &[Fp]) {
    // Appended element by element into reserved room: no zeroing pass.
    buf.reserve(xs.len() * ELEMENT_BYTES);
    for x in xs {
        buf.extend_from_slice(&x.to_bytes());
    }
}

/// A transport bound to one session: numbered rounds, checked headers,
/// a receive timeout and a byte count.
pub struct Channel<T: Transport> {
    transport: T,
    me: usize,
    n: usize,
    session: SessionId,
    round: u64,
    timeout: Duration,
    bytes_sent: u64,
    waited: Duration,
    notified: bool,
}

impl<T: Transport> core::fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Channel")
            .field("me", &self.me)
            .field("n", &self.n)
            .field("round", &self.round)
            .finish_non_exhaustive()
    }
}

impl<T: Transport> Channel<T> {
    /// Binds `transport` to `session`; a peer silent for longer than `timeout`
    /// in any round makes the round fail.
    pub fn new(transport: T, session: SessionId, timeout: Duration) -> Result<Channel<T>> {
        let me = transport.party();
        let n = transport.parties();
        if me >= n || n > usize::from(u16::MAX) {
            return Err(MpcError::Config(format!(
                "party index {me} out of range for {n} parties"
            )));
        }
        Ok(Channel {
            transport,
            me,
            n,
            session,
            round: 0,
            timeout,
            bytes_sent: 0,
            waited: Duration::ZERO,
            notified: false,
        })
    }

    /// Our party index.
    pub fn party(&self) -> usize {
        self.me
    }

    /// Number of parties.
    pub fn parties(&self) -> usize {
        self.n
    }

    /// The current round number (rounds completed so far).
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The session id.
    pub fn session(&self) -> &SessionId {
        &self.session
    }

    /// Bytes handed to the transport so far, headers included.
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent
    }

    /// Time spent so far waiting for peers' messages (blocked in the
    /// transport's `recv`): what the rounds cost beyond our own work.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// The receive timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Starts a message for `to` in the current round: the header, ready
    /// for the payload to be appended.
    pub fn message(&self, to: usize) -> Vec<u8> {
        self.message_with_capacity(to, 0)
    }

    /// Like [`Channel::message`] with room for `payload` more bytes.
    pub fn message_with_capacity(&self, to: usize, payload: usize) -> Vec<u8> {
        self.message_for_round(to, self.round, payload)
    }

    /// A message stamped for round `round` (a later round than the current
    /// one, sent early with [`Channel::send_ahead`]), with room for
    /// `payload` bytes.
    pub fn message_for_round(&self, to: usize, round: u64, payload: usize) -> Vec<u8> {
        let mut m = crate::pool::take(HEADER_BYTES + payload);
        m.extend_from_slice(&MAGIC);
        m.extend_from_slice(&self.session);
        m.extend_from_slice(&(self.me as u16).to_le_bytes());
        m.extend_from_slice(&(to as u16).to_le_bytes());
        m.extend_from_slice(&round.to_le_bytes());
        m
    }

    /// Sends messages without running a round. Messages built with
    /// [`Channel::message_for_round`] for a later round are taken by the
    /// receivers in that round (messages from one sender arrive in order,
    /// so a sender must send its messages in round order, and must later
    /// skip the rounds it sent in, with [`Channel::skip_rounds`]): lets a
    /// party forward results while it is still receiving
    /// (`Party::open_sum_bounded`'s king). Messages of the current round
    /// (from [`Channel::message`]) may be sent this way too, so that a
    /// party can work while they travel and then run the round with
    /// nothing more to send ([`Channel::exchange`] with no messages).
    pub fn send_ahead(&mut self, out: Vec<(usize, Vec<u8>)>) -> Result<()> {
        let result = self.send_all(out);
        if let Err(error) = &result {
            self.notify_failure(error);
        }
        result
    }

    fn send_all(&mut self, out: Vec<(usize, Vec<u8>)>) -> Result<()> {
        for (to, msg) in out {
            if to == self.me || to >= self.n {
                return Err(MpcError::Config(format!("cannot send to party {to}")));
            }
            self.bytes_sent += msg.len() as u64;
            if let Err(error) = self.transport.send(to, msg) {
                return Err(self.send_failure(to, error));
            }
        }
        Ok(())
    }

    /// Runs one round: sends each `(to, message)` (built with
    /// [`Channel::message`]), then waits for one message from each party in
    /// `from`, in that order, checking every header. Every party must call
    /// this the same number of times, even with nothing to send or receive.
    ///
    /// When the round fails because of a peer, the other peers are told which party failed
    /// (see the module's failure notices) before the error is returned.
    pub fn exchange(
        &mut self,
        out: Vec<(usize, Vec<u8>)>,
        from: &[usize],
    ) -> Result<Vec<Incoming>> {
        let result = self.run_round(out, from);
        if let Err(error) = &result {
            self.notify_failure(error);
        }
        result
    }

    fn run_round(&mut self, out: Vec<(usize, Vec<u8>)>, from: &[usize]) -> Result<Vec<Incoming>> {
        self.send_all(out)?;
        // One deadline for the whole round: a round never waits longer
        // than the timeout, however many peers it waits for.
        let deadline = Instant::now() + self.timeout;
        let mut got = Vec::with_capacity(from.len());
        for &peer in from {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            let received = self.transport.recv(peer, left);
            self.waited += now.elapsed();
            let bytes = received.map_err(|e| match e {
                TransportError::Timeout { peer, .. } => TransportError::Timeout {
                    peer,
                    timeout: self.timeout,
                },
                other => other,
            })?;
            self.check_header(peer, &bytes)?;
            got.push(Incoming { peer, bytes });
        }
        self.round += 1;
        Ok(got)
    }

    /// Why sending to `to` failed: the failure notice `to` sent before it stopped, if one is
    /// waiting (a peer stops because another failed), else the transport's error.
    fn send_failure(&mut self, to: usize, error: TransportError) -> MpcError {
        let deadline = Instant::now() + NOTICE_GRACE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.transport.recv(to, left) {
                Ok(bytes) => {
                    if let Err(notice @ MpcError::PeerFailed { .. }) = self.check_notice(to, &bytes)
                    {
                        return notice;
                    }
                }
                Err(_) => return MpcError::Transport(error),
            }
        }
    }

    /// Tells every peer but the failed one (and the one that told us) that the party `error`
    /// blames failed. Best effort: a peer that is gone is skipped.
    fn notify_failure(&mut self, error: &MpcError) {
        let Some(failed) = error.failed_party() else {
            return;
        };
        if self.notified || failed == self.me {
            return;
        }
        self.notified = true;
        let reporter = match error {
            MpcError::PeerFailed { reporter, .. } => Some(*reporter),
            _ => None,
        };
        let kind = FailureKind::of(error);
        for j in (0..self.n).filter(|&j| j != self.me && j != failed && Some(j) != reporter) {
            let mut m = self.message_with_capacity(j, NOTICE_PAYLOAD);
            if let Some(version) = m.get_mut(1) {
                *version = NOTICE_VERSION;
            }
            m.extend_from_slice(&(failed as u16).to_le_bytes());
            m.push(kind.code());
            // The peer may be gone too; nothing more can be done for it.
            drop(self.transport.send(j, m));
        }
    }

    /// Sends our elements to every peer and receives every peer's, for a
    /// vector of `len` elements: the all-to-all round used by `open`.
    pub fn all_to_all(&mut self, mine: &[Fp]) -> Result<Vec<Vec<Fp>>> {
        let peers: Vec<usize> = (0..self.n).filter(|&j| j != self.me).collect();
        let inc = self.broadcast_elements(mine, &peers)?;
        let mut all: Vec<Vec<Fp>> = vec![Vec::new(); self.n];
        for m in inc {
            let v = m.elements(mine.len())?;
            if let Some(slot) = all.get_mut(m.peer) {
                *slot = v;
            }
        }
        if let Some(slot) = all.get_mut(self.me) {
            *slot = mine.to_vec();
        }
        Ok(all)
    }

    /// Sends the same elements to every peer (encoded once) and receives
    /// one message from each party in `from`.
    pub fn broadcast_elements(&mut self, xs: &[Fp], from: &[usize]) -> Result<Vec<Incoming>> {
        // Encoded once, into the first message; the others copy its payload.
        let mut out: Vec<(usize, Vec<u8>)> = Vec::with_capacity(self.n);
        for j in (0..self.n).filter(|&j| j != self.me) {
            let mut m = self.message_with_capacity(j, xs.len() * ELEMENT_BYTES);
            match out.first() {
                Some((_, first)) => m.extend_from_slice(first.get(HEADER_BYTES..).unwrap_or(&[])),
                None => push_elements(&mut m, xs),
            }
            out.push((j, m));
        }
        self.exchange(out, from)
    }

    /// If `b` is a failure notice from `peer` for this session and us, the error it carries
    /// (or why it is refused); `Ok` when it is no notice.
    fn check_notice(&self, peer: usize, b: &[u8]) -> Result<()> {
        if b.first() != MAGIC.first() || b.get(1) != Some(&NOTICE_VERSION) {
            return Ok(());
        }
        self.check_addressing(peer, b)?;
        let malformed = MpcError::Malformed {
            peer,
            reason: "a failure notice that names no party",
        };
        let payload = b.get(HEADER_BYTES..).unwrap_or(&[]);
        let [lo, hi, code] = payload else {
            return Err(malformed);
        };
        let failed = usize::from(u16::from_le_bytes([*lo, *hi]));
        match FailureKind::from_code(*code) {
            Some(reason) if failed < self.n && failed != peer => Err(MpcError::PeerFailed {
                failed,
                reporter: peer,
                reason,
            }),
            _ => Err(malformed),
        }
    }

    /// Checks the session, sender and addressee of a message from `peer`.
    fn check_addressing(&self, peer: usize, b: &[u8]) -> Result<()> {
        if b.len() < HEADER_BYTES {
            return Err(MpcError::Malformed {
                peer,
                reason: "shorter than a header",
            });
        }
        let field = |r: core::ops::Range<usize>| b.get(r).unwrap_or(&[]);
        if field(2..18) != self.session {
            return Err(MpcError::WrongSession { peer });
        }
        let u16_at = |i: usize| {
            let s = field(i..i + 2);
            usize::from(u16::from_le_bytes([
                s.first().copied().unwrap_or(0),
                s.get(1).copied().unwrap_or(0),
            ]))
        };
        let from = u16_at(18);
        if from != peer {
            return Err(MpcError::WrongSender {
                peer,
                claimed: from,
            });
        }
        let to = u16_at(20);
        if to != self.me {
            return Err(MpcError::Misrouted { peer, to });
        }
        Ok(())
    }

    fn check_header(&self, peer: usize, b: &[u8]) -> Result<()> {
        self.check_notice(peer, b)?;
        if b.len() < HEADER_BYTES {
            return Err(MpcError::Malformed {
                peer,
                reason: "shorter than a header",
            });
        }
        let field = |r: core::ops::Range<usize>| b.get(r).unwrap_or(&[]);
        if field(0..2) != MAGIC {
            return Err(MpcError::Malformed {
                peer,
                reason: "unknown magic or version",
            });
        }
        self.check_addressing(peer, b)?;
        let mut r = [0u8; 8];
        r.copy_from_slice(field(22..30));
        let round = u64::from_le_bytes(r);
        if round != self.round {
            return Err(MpcError::WrongRound {
                peer,
                expected: self.round,
                got: round,
            });
        }
        Ok(())
    }

    /// Advances the round counter without sending or receiving, for a
    /// party that sits out a sub-protocol run by others on the same session.
    pub fn skip_rounds(&mut self, rounds: u64) {
        self.round += rounds;
    }

    /// Gives the transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }
}

#[cfg(test)]
mod tests;
