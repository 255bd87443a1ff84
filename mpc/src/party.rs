//! [`Party`]: one participant's view of an MPC session over Shamir shares.

use crate::channel::{decode_into, push_elements, Channel, Incoming, SessionId};
use crate::error::{MpcError, Result};
use crate::field::{element_bits, Factor, Fp, ELEMENT_BYTES};
use crate::prg::{PairKey, CHUNK};
use crate::secret::SecretVec;
use crate::shamir::{
    axpy, axpy_factor, base_plus_factor, lagrange_at, over_denominator, point, reconstruct_with,
    scale_into, scale_slice,
};
use crate::transport::Transport;
use rand::rngs::OsRng;
use rand::RngCore;
use std::time::Duration;
use zeroize::Zeroizing;

mod multiply;
mod open;
mod plan;
mod prss;
mod replicated;
mod ring;

use plan::{line_plan, plan, DealPlan};
pub use replicated::BitShares;

/// Parameters every party of a session must agree on.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The session id carried in every message; a fresh random one per session.
    pub session_id: SessionId,
    /// The corruption threshold t (shares are of degree t; any t parties
    /// learn nothing). `None` picks the largest allowed, ⌊(n − 1) / 2⌋.
    pub threshold: Option<usize>,
    /// How long to wait for any one message before failing the session.
    pub timeout: Duration,
}

impl SessionConfig {
    /// A configuration with the largest threshold and a 10-second timeout.
    pub fn new(session_id: SessionId) -> SessionConfig {
        SessionConfig {
            session_id,
            threshold: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> SessionConfig {
        self.timeout = timeout;
        self
    }

    /// Sets the threshold.
    pub fn with_threshold(mut self, t: usize) -> SessionConfig {
        self.threshold = Some(t);
        self
    }
}

/// Elements per message of [`Party::open_sum`] (1 MiB of shares).
const SUM_PIECE: usize = 1 << 16;

/// What a dealer deals: a vector, or the element-wise product of two
/// (formed piece by piece, never stored whole).
#[derive(Clone, Copy)]
enum Secrets<'a> {
    Plain(&'a [Fp]),
    Product(&'a [Fp], &'a [Fp]),
    /// `len` values that `fill(at, out)` computes piece by piece.
    Computed(usize, &'a dyn Fn(usize, &mut [Fp])),
}

impl Secrets<'_> {
    fn len(&self) -> usize {
        match self {
            Secrets::Plain(x) => x.len(),
            Secrets::Product(a, b) => a.len().min(b.len()),
            Secrets::Computed(len, _) => *len,
        }
    }

    /// Writes elements `at..at + out.len()` into `out`.
    fn fill(&self, at: usize, out: &mut [Fp]) {
        let end = at + out.len();
        match self {
            Secrets::Plain(x) => copy_into(out, x.get(at..end).unwrap_or(&[])),
            Secrets::Product(a, b) => {
                let (a, b) = (a.get(at..end).unwrap_or(&[]), b.get(at..end).unwrap_or(&[]));
                for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                    *o = x * y;
                }
            }
            Secrets::Computed(_, f) => f(at, out),
        }
    }
}

/// One party of an MPC session: the channel, the pairwise keys and the
/// protocols over Shamir shares of degree t < n/2 (honest majority,
/// semi-honest security; see `SECURITY.md`).
///
/// Every party must call the same operations in the same order with
/// vectors of the same lengths; each call is one or more rounds with one
/// message per peer per round, whatever the vector length.
pub struct Party<T: Transport> {
    chan: Channel<T>,
    me: usize,
    n: usize,
    t: usize,
    out_keys: Vec<Option<PairKey>>,
    in_keys: Vec<Option<PairKey>>,
    // One key per unordered pair {me, j}, for randomness both know (see `prss`).
    pair_keys: Vec<Option<PairKey>>,
    // Keys of unordered pairs for replicated boolean sharing, and the next
    // unused stream number of those keys (see `replicated`).
    replicated_keys: Vec<Option<PairKey>>,
    replicated_streams: u64,
    // One key per unordered pair {me, j} for the check values of `open`.
    check_keys: Vec<Option<PairKey>>,
    plans: Vec<DealPlan>,
    mul_dealers: Vec<usize>,
    mul_coeffs: Vec<Fp>,
}

impl<T: Transport> core::fmt::Debug for Party<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Party")
            .field("me", &self.me)
            .field("n", &self.n)
            .field("t", &self.t)
            .finish_non_exhaustive()
    }
}

fn config_err(msg: impl Into<String>) -> MpcError {
    MpcError::Config(msg.into())
}

impl<T: Transport> Party<T> {
    /// Joins a session: checks parameters and runs the one set-up round in
    /// which every pair of parties agrees on a fresh random seed.
    pub fn new(transport: T, config: &SessionConfig) -> Result<Party<T>> {
        let chan = Channel::new(transport, config.session_id, config.timeout)?;
        let n = chan.parties();
        let me = chan.party();
        if n < 3 {
            return Err(config_err(format!(
                "secret sharing with an honest majority needs at least 3 parties, got {n}"
            )));
        }
        let t = config.threshold.unwrap_or((n - 1) / 2);
        if t == 0 || 2 * t >= n {
            return Err(config_err(format!(
                "threshold {t} must satisfy 1 <= t < n/2 for n = {n}"
            )));
        }
        let mut party = Party {
            chan,
            me,
            n,
            t,
            out_keys: Vec::new(),
            in_keys: Vec::new(),
            pair_keys: Vec::new(),
            replicated_keys: Vec::new(),
            replicated_streams: 0,
            check_keys: Vec::new(),
            plans: Vec::new(),
            mul_dealers: (0..=2 * t).collect(),
            mul_coeffs: Vec::new(),
        };
        party.plans = (0..n).map(|d| plan(d, n, t)).collect::<Result<_>>()?;
        party.mul_coeffs = lagrange_at(
            &party
                .mul_dealers
                .iter()
                .map(|&d| point(d))
                .collect::<Vec<_>>(),
            Fp::ZERO,
        )
        .ok_or(MpcError::Unlucky("repeated point"))?;
        party.setup_seeds()?;
        Ok(party)
    }

    fn setup_seeds(&mut self) -> Result<()> {
        let n = self.n;
        let me = self.me;
        let mut seeds: Vec<Zeroizing<[u8; 32]>> =
            (0..n).map(|_| Zeroizing::new([0u8; 32])).collect();
        let mut out = Vec::new();
        for (j, seed) in seeds.iter_mut().enumerate().skip(me + 1) {
            OsRng.fill_bytes(&mut seed[..]);
            let mut m = self.chan.message(j);
            m.extend_from_slice(&seed[..]);
            out.push((j, m));
        }
        let from: Vec<usize> = (0..me).collect();
        for inc in self.chan.exchange(out, &from)? {
            let p = inc.payload();
            if p.len() != 32 {
                return Err(MpcError::Malformed {
                    peer: inc.peer,
                    reason: "set-up seed is not 32 bytes",
                });
            }
            if let Some(s) = seeds.get_mut(inc.peer) {
                s.copy_from_slice(p);
            }
        }
        let session = *self.chan.session();
        self.out_keys = (0..n)
            .map(|j| {
                seeds
                    .get(j)
                    .filter(|_| j != me)
                    .map(|s| PairKey::derive(s, &session, me, j))
            })
            .collect();
        self.in_keys = (0..n)
            .map(|d| {
                seeds
                    .get(d)
                    .filter(|_| d != me)
                    .map(|s| PairKey::derive(s, &session, d, me))
            })
            .collect();
        self.pair_keys = (0..n)
            .map(|j| {
                seeds.get(j).filter(|_| j != me).map(|s| {
                    PairKey::derive_labelled(prss::LABEL, s, &session, me.min(j), me.max(j))
                })
            })
            .collect();
        self.replicated_keys = (0..n)
            .map(|j| {
                seeds.get(j).filter(|_| j != me).map(|s| {
                    PairKey::derive_labelled(replicated::LABEL, s, &session, me.min(j), me.max(j))
                })
            })
            .collect();
        self.check_keys = (0..n)
            .map(|j| {
                seeds.get(j).filter(|_| j != me).map(|s| {
                    PairKey::derive_labelled(open::CHECK_LABEL, s, &session, me.min(j), me.max(j))
                })
            })
            .collect();
        Ok(())
    }

    /// Our party index.
    pub fn index(&self) -> usize {
        self.me
    }

    /// Number of parties.
    pub fn parties(&self) -> usize {
        self.n
    }

    /// The threshold t.
    pub fn threshold(&self) -> usize {
        self.t
    }

    /// Bytes sent so far by this party, headers included.
    pub fn bytes_sent(&self) -> u64 {
        self.chan.bytes_sent()
    }

    /// Time spent so far waiting for peers' messages.
    pub fn waited(&self) -> Duration {
        self.chan.waited()
    }

    /// Rounds run so far.
    pub fn rounds(&self) -> u64 {
        self.chan.round()
    }

    /// The underlying channel, for two-party protocols (linkage, PSI) run
    /// in the same session.
    pub fn channel(&mut self) -> &mut Channel<T> {
        &mut self.chan
    }

    /// A public vector as a (trivial) sharing.
    pub fn constant(&self, values: &[Fp]) -> SecretVec {
        SecretVec::from_shares(values.to_vec())
    }

    /// One round in which each of `dealers` shares a vector of `len` secrets;
    /// returns our shares, one vector per dealer, in the order of `dealers`.
    /// `mine` must be `Some` exactly when we are a dealer.
    pub fn deal(
        &mut self,
        dealers: &[usize],
        mine: Option<&[Fp]>,
        len: usize,
    ) -> Result<Vec<SecretVec>> {
        let mine = match mine {
            Some(m) if dealers.contains(&self.me) => {
                Some(Secrets::Plain(self.dealer_values(Some(m), len)?))
            }
            Some(_) => return Err(config_err("only dealers supply values")),
            None => None,
        };
        self.deal_secrets(dealers, mine, len)
    }

    /// [`Party::deal`] for secrets given as [`Secrets`] (for example
    /// computed piece by piece, never stored whole).
    fn deal_secrets(
        &mut self,
        dealers: &[usize],
        mine: Option<Secrets<'_>>,
        len: usize,
    ) -> Result<Vec<SecretVec>> {
        let me = self.me;
        let round = self.chan.round();
        self.check_dealers(dealers)?;
        let mut own: Option<Vec<Fp>> = None;
        let out = if dealers.contains(&me) {
            let secrets = mine.ok_or_else(|| config_err("a dealer must supply its values"))?;
            if secrets.len() != len {
                return Err(MpcError::LengthMismatch {
                    left: secrets.len(),
                    right: len,
                });
            }
            let mut v = Vec::with_capacity(len);
            let out = self.deal_out(round, secrets, Fp::ONE, |_, piece| {
                v.extend_from_slice(piece)
            })?;
            own = Some(v);
            out
        } else if mine.is_some() {
            return Err(config_err("only dealers supply values"));
        } else {
            Vec::new()
        };
        let from = self.senders(dealers);
        // Send first; expand the shares that come from pair keys (they need
        // no message) while the peers' messages are on their way; then wait.
        self.chan.send_ahead(out)?;
        let mut seeded = Vec::new();
        for &d in dealers.iter().filter(|&&d| d != me && !from.contains(&d)) {
            seeded.push((d, self.in_key(d)?.expand(round, len)));
        }
        let mut inc = self.chan.exchange(Vec::new(), &from)?;
        let mut result = Vec::with_capacity(dealers.len());
        for &d in dealers {
            let v = if d == me {
                own.take().unwrap_or_default()
            } else if let Some(pos) = inc.iter().position(|m| m.peer == d) {
                inc.swap_remove(pos).elements(len)?
            } else if let Some(pos) = seeded.iter().position(|(j, _)| *j == d) {
                seeded.swap_remove(pos).1
            } else {
                return Err(MpcError::Unlucky("a dealer's shares went missing"));
            };
            result.push(SecretVec::from_shares(v));
        }
        Ok(result)
    }

    fn check_dealers(&self, dealers: &[usize]) -> Result<()> {
        for (i, &d) in dealers.iter().enumerate() {
            if d >= self.n || dealers.get(..i).is_some_and(|p| p.contains(&d)) {
                return Err(config_err(format!("bad dealer list {dealers:?}")));
            }
        }
        Ok(())
    }

    fn dealer_values<'a>(&self, mine: Option<&'a [Fp]>, len: usize) -> Result<&'a [Fp]> {
        let secrets = mine.ok_or_else(|| config_err("a dealer must supply its values"))?;
        if secrets.len() != len {
            return Err(MpcError::LengthMismatch {
                left: secrets.len(),
                right: len,
            });
        }
        Ok(secrets)
    }

    /// The dealers whose shares for us travel as messages (the others'
    /// are expanded from our pair keys).
    fn senders(&self, dealers: &[usize]) -> Vec<usize> {
        dealers
            .iter()
            .copied()
            .filter(|&d| {
                d != self.me
                    && self
                        .plans
                        .get(d)
                        .is_some_and(|p| !p.seeded.contains(&self.me))
            })
            .collect()
    }

    fn in_key(&self, d: usize) -> Result<&PairKey> {
        self.in_keys
            .get(d)
            .and_then(Option::as_ref)
            .ok_or_else(|| config_err("missing pair key"))
    }

    fn out_key(&self, j: usize) -> Result<&PairKey> {
        self.out_keys
            .get(j)
            .and_then(Option::as_ref)
            .ok_or_else(|| config_err("missing pair key"))
    }

    /// Our side of dealing `scale · secrets`: the messages for the parties
    /// whose shares are explicit, and our own share handed to `own` piece by
    /// piece (with its offset). Works in cache-sized chunks: the secrets
    /// (which may be products computed on the fly) and the seeded shares
    /// are expanded, combined and encoded without ever being materialised
    /// as whole vectors. The scale is folded into the coefficients, so it
    /// costs nothing.
    fn deal_out(
        &self,
        round: u64,
        secrets: Secrets<'_>,
        scale: Fp,
        mut own: impl FnMut(usize, &[Fp]),
    ) -> Result<Vec<(usize, Vec<u8>)>> {
        let me = self.me;
        let len = secrets.len();
        let plan = self.plans.get(me).ok_or_else(|| config_err("no plan"))?;
        let mut streams = plan
            .seeded
            .iter()
            .map(|&j| self.out_key(j).map(|k| k.stream(round)))
            .collect::<Result<Vec<_>>>()?;
        let mut out: Vec<(usize, Vec<u8>)> = plan
            .explicit
            .iter()
            .filter(|(k, _)| *k != me)
            .map(|(k, _)| (*k, self.chan.message_with_capacity(*k, len * ELEMENT_BYTES)))
            .collect();
        let mut seeded: Zeroizing<Vec<[Fp; CHUNK]>> =
            Zeroizing::new(vec![[Fp::ZERO; CHUNK]; streams.len()]);
        let mut v: Zeroizing<[Fp; CHUNK]> = Zeroizing::new([Fp::ZERO; CHUNK]);
        let mut x: Zeroizing<[Fp; CHUNK]> = Zeroizing::new([Fp::ZERO; CHUNK]);
        let mut slope: Zeroizing<[Fp; CHUNK]> = Zeroizing::new([Fp::ZERO; CHUNK]);
        let line = line_plan(plan, scale)?;
        let explicit: Vec<(usize, Factor, Vec<Factor>)> = plan
            .explicit
            .iter()
            .map(|(party, coeffs)| {
                let c0 = coeffs.first().copied().unwrap_or(Fp::ZERO) * scale;
                let rest = coeffs.iter().skip(1).map(|&c| Factor::of(c)).collect();
                (*party, Factor::of(c0), rest)
            })
            .collect();
        let mut emit = |party: usize, at: usize, piece: &[Fp]| {
            if party == me {
                own(at, piece);
            } else if let Some((_, m)) = out.iter_mut().find(|(j, _)| *j == party) {
                push_elements(m, piece);
            }
        };
        let mut at = 0;
        while at < len {
            let k = CHUNK.min(len - at);
            let sec = x.get_mut(..k).unwrap_or(&mut []);
            secrets.fill(at, sec);
            for (st, buf) in streams.iter_mut().zip(seeded.iter_mut()) {
                st.fill(buf.get_mut(..k).unwrap_or(&mut []));
            }
            let piece = v.get_mut(..k).unwrap_or(&mut []);
            if let Some(line) = &line {
                // t = 1: the line through (0, s′) (s′ = scale·s) and
                // (x_q, r) is s′ + m·x with m = (r − s′)/x_q, and every
                // explicit share is s′ + m·x_k or r + m·(x_k − x_q) for a
                // small factor (see `plan::Explicit`): at most one full
                // multiplication per element instead of two per share.
                let r = seeded
                    .first()
                    .map_or(&[][..], |b| b.get(..k).unwrap_or(&[]));
                let m = slope.get_mut(..k).unwrap_or(&mut []);
                scale_slice(sec, line.scale);
                for ((mi, &si), &ri) in m.iter_mut().zip(sec.iter()).zip(r) {
                    *mi = ri - si;
                }
                scale_slice(m, line.inv_xq);
                for e in &line.explicit {
                    let base = if e.from_seeded { r } else { &*sec };
                    base_plus_factor(piece, base, e.factor, m);
                    emit(e.party, at, piece);
                }
            } else {
                for (party, c0, rest) in &explicit {
                    copy_into(piece, sec);
                    scale_slice(piece, *c0);
                    for (&cj, buf) in rest.iter().zip(seeded.iter()) {
                        axpy_factor(piece, cj, buf);
                    }
                    emit(*party, at, piece);
                }
            }
            at += k;
        }
        Ok(out)
    }

    /// Party `owner` secret-shares `values` (which only it passes, as
    /// `Some`); everyone gets shares of a vector of public length `len`.
    pub fn input(&mut self, owner: usize, values: Option<&[Fp]>, len: usize) -> Result<SecretVec> {
        let mine = if owner == self.me { values } else { None };
        if owner == self.me && values.is_none() {
            return Err(config_err("the input owner must supply its values"));
        }
        self.deal(&[owner], mine, len)?
            .pop()
            .ok_or(MpcError::Unlucky("empty deal"))
    }

    /// Every party shares a vector of the same length in one round; element
    /// `i` of the result is party `i`'s input.
    pub fn input_all(&mut self, values: &[Fp]) -> Result<Vec<SecretVec>> {
        let all: Vec<usize> = (0..self.n).collect();
        self.deal(&all, Some(values), values.len())
    }

    /// Every party inputs a vector of the same length and everyone gets
    /// shares of their element-wise sum, in one round and without holding
    /// each party's shares separately: the secure sum of a study.
    pub fn input_sum(&mut self, values: &[Fp]) -> Result<SecretVec> {
        let all: Vec<usize> = (0..self.n).collect();
        let ones = vec![Fp::ONE; self.n];
        self.deal_combine(&all, Some(values), values.len(), &ones)
            .map(SecretVec::from_shares)
    }

    /// A synchronisation round with no payload (every party waits for every other).
    pub fn barrier(&mut self) -> Result<()> {
        self.chan.all_to_all(&[]).map(|_| ())
    }
}

/// acc += (the field elements in `payload`), checking there are `len` of
/// them and that each is below p: decoded and added in one pass.
fn accumulate(payload: &[u8], len: usize, peer: usize, acc: &mut [Fp]) -> Result<()> {
    check_payload(payload, len, peer)?;
    let mut bad = false;
    for (a, c) in acc.iter_mut().zip(payload.chunks_exact(ELEMENT_BYTES)) {
        let v = element_bits(c);
        bad |= v >= crate::field::MODULUS;
        *a += Fp::new(v);
    }
    if bad {
        return Err(MpcError::BadShare {
            peer,
            reason: "value is not a field element",
        });
    }
    Ok(())
}

/// Checks that `payload` holds exactly `len` field elements' bytes.
fn check_payload(payload: &[u8], len: usize, peer: usize) -> Result<()> {
    if payload.len() != len * ELEMENT_BYTES {
        return Err(if payload.len().is_multiple_of(ELEMENT_BYTES) {
            MpcError::WrongLength {
                peer,
                expected: len,
                got: payload.len() / ELEMENT_BYTES,
            }
        } else {
            MpcError::Malformed {
                peer,
                reason: "payload is not a whole number of field elements",
            }
        });
    }
    Ok(())
}

/// Copies as much of `src` as fits into `dst` (never panics on a length
/// mismatch, which the callers rule out anyway).
fn copy_into(dst: &mut [Fp], src: &[Fp]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s;
    }
}
