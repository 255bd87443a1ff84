//! Dropouts, malformed and misrouted messages: every honest party that
//! meets one fails with a clear error, within the timeout, and no party
//! that depends on the misbehaving one returns a result.

use crate::sim::{config, run_with};
use std::time::{Duration, Instant};
use symbolon_mpc::encoding::IntCodec;
use symbolon_mpc::{MemoryTransport, MpcError, Transport, TransportError};

#[derive(Clone, Copy, Debug)]
enum Fault {
    Honest,
    Truncate,
    WrongSession,
    WrongSender,
    Misroute,
    WrongRound,
    NotAFieldElement,
    ShiftShare,
    ExtraElement,
}

/// A transport that corrupts its first message after session set-up.
struct Evil {
    inner: MemoryTransport,
    fault: Fault,
    done: bool,
}

impl Transport for Evil {
    fn party(&self) -> usize {
        self.inner.party()
    }
    fn parties(&self) -> usize {
        self.inner.parties()
    }
    fn send(&mut self, to: usize, mut msg: Vec<u8>) -> Result<(), TransportError> {
        let round = u64::from_le_bytes(msg[22..30].try_into().unwrap());
        if round >= 1 && !self.done {
            self.done = true;
            match self.fault {
                Fault::Honest => {}
                Fault::Truncate => msg.truncate(10),
                Fault::WrongSession => msg[5] ^= 1,
                Fault::WrongSender => msg[18] ^= 3,
                Fault::Misroute => msg[20] = msg[20].wrapping_add(1) % 4,
                Fault::WrongRound => msg[22] = msg[22].wrapping_add(1),
                Fault::NotAFieldElement => msg[30..46].fill(0xff),
                Fault::ShiftShare => msg[30] ^= 1,
                Fault::ExtraElement => msg.extend_from_slice(&[0u8; 16]),
            }
        }
        self.inner.send(to, msg)
    }
    fn recv(&mut self, from: usize, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        self.inner.recv(from, timeout)
    }
}

/// Four parties; party 0 misbehaves on its first message after set-up,
/// which goes to party 1 in the opening of a shared vector.
fn run_fault(fault: Fault) -> Vec<symbolon_mpc::Result<Vec<i128>>> {
    let ts: Vec<Evil> = MemoryTransport::network(4)
        .into_iter()
        .enumerate()
        .map(|(i, inner)| Evil {
            inner,
            fault: if i == 0 { fault } else { Fault::Honest },
            done: false,
        })
        .collect();
    run_with(ts, config().with_timeout(Duration::from_secs(5)), |p| {
        let c = IntCodec::new(32)?;
        let x = p.constant(&c.encode(&[7, 8])?);
        let y = p.open(&x)?;
        let z = p.mul(&x, &x)?;
        let w = p.open(&z)?;
        Ok(y.iter().chain(&w).map(|v| v.to_i128()).collect())
    })
}

#[test]
fn honest_run_of_the_fault_harness_succeeds() {
    for r in run_fault(Fault::Honest) {
        assert_eq!(r.unwrap(), vec![7, 8, 49, 64]);
    }
}

fn victim_error(fault: Fault) -> MpcError {
    let mut res = run_fault(fault);
    res.remove(1).expect_err("party 1 must reject the message")
}

#[test]
fn malformed_messages_are_rejected() {
    assert!(matches!(
        victim_error(Fault::Truncate),
        MpcError::Malformed { peer: 0, .. }
    ));
    assert!(matches!(
        victim_error(Fault::WrongSession),
        MpcError::WrongSession { peer: 0 }
    ));
    // In the opening, party 0 sends party 1 (which is not its predecessor)
    // a check value, one element, instead of its shares.
    assert!(matches!(
        victim_error(Fault::ExtraElement),
        MpcError::WrongLength {
            peer: 0,
            expected: 1,
            got: 2
        }
    ));
}

#[test]
fn misrouted_messages_are_rejected() {
    assert!(matches!(
        victim_error(Fault::WrongSender),
        MpcError::WrongSender {
            peer: 0,
            claimed: 3
        }
    ));
    assert!(matches!(
        victim_error(Fault::Misroute),
        MpcError::Misrouted { peer: 0, to: 2 }
    ));
    let e = victim_error(Fault::WrongRound);
    assert!(matches!(
        e,
        MpcError::WrongRound {
            peer: 0,
            expected: 1,
            got: 2
        }
    ));
    assert_eq!(
        e.to_string(),
        "message from party 0 is for round 2, expected round 1"
    );
}

#[test]
fn shares_that_do_not_fit_are_rejected() {
    assert!(matches!(
        victim_error(Fault::NotAFieldElement),
        MpcError::BadShare { peer: 0, .. }
    ));
    // A share off the polynomial: 4 parties, t = 1, so the redundancy shows it.
    assert!(matches!(
        victim_error(Fault::ShiftShare),
        MpcError::BadShare { .. }
    ));
}

#[test]
fn a_silent_party_makes_every_other_party_fail_within_the_timeout() {
    let timeout = Duration::from_millis(300);
    let ts = MemoryTransport::network(4);
    let res = run_with(ts, config().with_timeout(timeout), move |p| {
        if p.index() == 2 {
            // Joins, then stops answering while keeping its channels open.
            std::thread::sleep(Duration::from_millis(2500));
            return Ok(None);
        }
        let start = Instant::now();
        let x = p.constant(&[symbolon_mpc::Fp::ONE]);
        let outcome = p.mul(&x, &x).and_then(|y| p.open(&y));
        Ok(Some((start.elapsed(), outcome.map(|v| v[0].to_i128()))))
    });
    for (i, r) in res.into_iter().enumerate() {
        if i == 2 {
            continue;
        }
        let (elapsed, outcome) = r.unwrap().unwrap();
        let e = outcome.expect_err("an honest party returned a result");
        // It timed out, or another party that did told it so. (Which party it names depends
        // on scheduling: on a loaded machine a working party can be late too.)
        assert!(
            matches!(
                e,
                MpcError::Transport(
                    TransportError::Timeout { .. } | TransportError::Disconnected { .. }
                ) | MpcError::PeerFailed {
                    reason: symbolon_mpc::FailureKind::Timeout,
                    ..
                }
            ),
            "party {i}: {e}"
        );
        // Gave up within the timeout (plus scheduling slack), long before
        // the silent party woke up.
        assert!(
            elapsed < timeout + Duration::from_millis(1200),
            "party {i} took {elapsed:?}"
        );
    }
}

#[test]
fn a_party_that_leaves_makes_the_others_fail_at_once() {
    let ts = MemoryTransport::network(3);
    let start = Instant::now();
    let res = run_with(ts, config().with_timeout(Duration::from_secs(30)), |p| {
        if p.index() == 0 {
            return Err(MpcError::Config("left".to_owned()));
        }
        let x = p.constant(&[symbolon_mpc::Fp::ONE]);
        Ok(p.open(&x)?[0].to_i128())
    });
    assert!(res.iter().all(|r| r.is_err()));
    assert!(matches!(
        &res[1],
        Err(MpcError::Transport(TransportError::Disconnected {
            peer: 0
        }))
    ));
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn bad_parameters_are_rejected() {
    let res = run_with(
        MemoryTransport::network(4),
        config().with_threshold(2),
        |_| Ok(()),
    );
    assert!(res.iter().all(|r| matches!(r, Err(MpcError::Config(_)))));
    let res = run_with(MemoryTransport::network(2), config(), |_| Ok(()));
    assert!(res.iter().all(|r| matches!(r, Err(MpcError::Config(_)))));
}

#[test]
fn a_tcp_party_that_disconnects_makes_the_others_fail() {
    use symbolon_mpc::tcp::loopback_listeners;
    use symbolon_mpc::{Party, TcpConfig, TcpTransport};
    let (ls, addrs) = loopback_listeners(3).unwrap();
    let start = Instant::now();
    let hs: Vec<_> = ls
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let addrs = addrs.clone();
            std::thread::spawn(move || -> symbolon_mpc::Result<()> {
                let t = TcpTransport::connect(i, &l, &addrs, &TcpConfig::default())?;
                let mut p = Party::new(t, &config().with_timeout(Duration::from_secs(20)))?;
                if i == 1 {
                    return Ok(()); // drops the sockets
                }
                let x = p.constant(&[symbolon_mpc::Fp::ONE]);
                p.open(&x).map(|_| ())
            })
        })
        .collect();
    let res: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(res[0].is_err() && res[2].is_err());
    assert!(
        matches!(
            &res[0],
            Err(MpcError::Transport(
                TransportError::Disconnected { peer: 1 } | TransportError::Io { peer: 1, .. }
            ))
        ),
        "{:?}",
        res[0]
    );
    assert_eq!(
        res[2].as_ref().err().and_then(MpcError::failed_party),
        Some(1),
        "{:?}",
        res[2]
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// A TCP party that is killed: after `sends` messages it closes every socket at once, as the
/// kernel does for a killed process, and answers nothing more.
struct Killed {
    inner: Option<symbolon_mpc::TcpTransport>,
    me: usize,
    n: usize,
    sends: usize,
}

impl Transport for Killed {
    fn party(&self) -> usize {
        self.me
    }
    fn parties(&self) -> usize {
        self.n
    }
    fn send(&mut self, to: usize, msg: Vec<u8>) -> Result<(), TransportError> {
        if self.sends == 0 {
            self.inner = None; // killed: its sockets close
        }
        self.sends = self.sends.saturating_sub(1);
        match self.inner.as_mut() {
            Some(inner) => inner.send(to, msg),
            None => Err(TransportError::Disconnected { peer: to }),
        }
    }
    fn recv(&mut self, from: usize, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        match self.inner.as_mut() {
            Some(inner) => inner.recv(from, timeout),
            None => Err(TransportError::Disconnected { peer: from }),
        }
    }
}

// Before: party 1 killed in a secure sum over TCP; the king (party 0) named party 1, but
// party 2, waiting on the king, blamed the king, which had only stopped because of party 1.
#[test]
fn a_killed_party_is_named_by_every_survivor() {
    killed_party_is_named(false);
}

// The same for the bounded sum, whose king sends each piece's sum ahead of its round.
#[test]
fn a_killed_party_is_named_by_every_survivor_of_a_bounded_sum() {
    killed_party_is_named(true);
}

fn killed_party_is_named(bounded: bool) {
    use symbolon_mpc::tcp::loopback_listeners;
    use symbolon_mpc::{Party, TcpConfig, TcpTransport};
    let (ls, addrs) = loopback_listeners(3).unwrap();
    let hs: Vec<_> = ls
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let addrs = addrs.clone();
            std::thread::spawn(move || -> symbolon_mpc::Result<Vec<i128>> {
                let t = TcpTransport::connect(i, &l, &addrs, &TcpConfig::default())?;
                // Party 1 sends its set-up seed to party 2, then dies as it sends its input.
                let sends = if i == 1 { 1 } else { usize::MAX };
                let t = Killed {
                    inner: Some(t),
                    me: i,
                    n: 3,
                    sends,
                };
                let mut p = Party::new(t, &config().with_timeout(Duration::from_secs(20)))?;
                let x = vec![symbolon_mpc::Fp::ONE; 1000];
                let sum: Vec<i128> = if bounded {
                    p.open_sum_bounded(&x, 8)?
                        .into_iter()
                        .map(i128::from)
                        .collect()
                } else {
                    p.open_sum(&x)?.iter().map(|v| v.to_i128()).collect()
                };
                Ok(sum)
            })
        })
        .collect();
    let res: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    for survivor in [0, 2] {
        let error = res[survivor]
            .as_ref()
            .expect_err("a survivor returned a result");
        assert_eq!(
            error.failed_party(),
            Some(1),
            "party {survivor} blames the wrong party: {error}"
        );
        assert!(
            error.to_string().contains("party 1"),
            "party {survivor}: {error}"
        );
    }
}
