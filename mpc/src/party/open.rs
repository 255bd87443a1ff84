//! Opening shared values: secure aggregation (`open_sum`), opening to everyone, and opening to
//! chosen recipients only.

use super::ring;
use super::*;
use crate::channel::HEADER_BYTES;
use crate::field::Lazy;

impl<T: Transport> Party<T> {
    /// Secure aggregation: every party contributes a vector of the same
    /// length and every party learns only the element-wise sum, in two
    /// pipelined passes (2⌈len / 65536⌉ rounds, none of which waits for an
    /// answer to the previous one).
    ///
    /// Party 0 (the *king*) collects: every other party sends it its vector
    /// plus a pairwise mask, where each pair of non-king parties {i, j}
    /// shares one pseudorandom mask that i adds and j subtracts (expanded
    /// from their pair key), so the masks cancel in the sum. The king adds
    /// its own vector and sends the sum to everyone. The masked vectors of
    /// any two honest non-king parties are uniformly random to anyone who
    /// lacks their pair key, so a coalition of at most n − 2 parties
    /// (so at least t) learns nothing but the sum; without the king a
    /// coalition sees only the sum. Bytes: 2(n − 1) vectors instead of the
    /// n(n − 1) of an all-to-all exchange, and each non-king party expands
    /// n − 2 masks. Use it when the sum itself is the output; use
    /// [`Party::input_sum`] when the sum must stay secret for further
    /// computation.
    pub fn open_sum(&mut self, values: &[Fp]) -> Result<Vec<Fp>> {
        const KING: usize = 0;
        let len = values.len();
        // Pipelined in pieces: the parties send every piece without waiting
        // (one round each), the king sums each as it arrives and sends the
        // sums back the same way. Small messages let the allocator reuse
        // buffers and let the king work while the others are still masking.
        let pieces = len.div_ceil(SUM_PIECE).max(1);
        let range = |k: usize| k * SUM_PIECE..((k + 1) * SUM_PIECE).min(len);
        let round = self.chan.round();
        let me = self.me;
        if me == KING {
            let from: Vec<usize> = (1..self.n).collect();
            let mut sum = values.to_vec();
            for k in 0..pieces {
                let r = range(k);
                let part = sum.get_mut(r.clone()).unwrap_or(&mut []);
                for m in &self.chan.exchange(Vec::new(), &from)? {
                    accumulate(m.payload(), r.len(), m.peer, part)?;
                }
            }
            for k in 0..pieces {
                self.chan
                    .broadcast_elements(sum.get(range(k)).unwrap_or(&[]), &[])?;
            }
            return Ok(sum);
        }
        let mut streams = Vec::new();
        for j in (1..self.n).filter(|&j| j != me) {
            // One mask per unordered pair: the lower index's stream, added
            // by the lower index and subtracted by the higher.
            let key = if me < j {
                self.out_key(j)?
            } else {
                self.in_key(j)?
            };
            streams.push((me < j, key.stream(round)));
        }
        let mut masked: Zeroizing<[Fp; CHUNK]> = Zeroizing::new([Fp::ZERO; CHUNK]);
        let mut mask: Zeroizing<[Fp; CHUNK]> = Zeroizing::new([Fp::ZERO; CHUNK]);
        for k in 0..pieces {
            let part = values.get(range(k)).unwrap_or(&[]);
            let mut msg = self
                .chan
                .message_with_capacity(KING, part.len() * ELEMENT_BYTES);
            for piece in part.chunks(CHUNK) {
                let k = piece.len();
                let out = masked.get_mut(..k).unwrap_or(&mut []);
                copy_into(out, piece);
                for (add, st) in &mut streams {
                    let r = mask.get_mut(..k).unwrap_or(&mut []);
                    st.fill(r);
                    if *add {
                        for (o, &x) in out.iter_mut().zip(r.iter()) {
                            *o += x;
                        }
                    } else {
                        for (o, &x) in out.iter_mut().zip(r.iter()) {
                            *o -= x;
                        }
                    }
                }
                push_elements(&mut msg, out);
            }
            self.chan.exchange(vec![(KING, msg)], &[])?;
        }
        let mut sum = vec![Fp::ZERO; len];
        for k in 0..pieces {
            let r = range(k);
            let inc = self.chan.exchange(Vec::new(), &[KING])?;
            let first = inc.first().ok_or(MpcError::Unlucky("no message"))?;
            check_payload(first.payload(), r.len(), KING)?;
            decode_into(first.payload(), KING, sum.get_mut(r).unwrap_or(&mut []))?;
        }
        Ok(sum)
    }

    /// Secure aggregation of bounded integers, as [`Party::open_sum`] but
    /// in the ring of ⌈(bits + ⌈log₂ n⌉)/8⌉ bytes (at most 8 bytes per
    /// element on the wire instead of 16; 5 for 33-bit inputs of 3 parties).
    ///
    /// Every value must be the encoding of an integer in
    /// [−2^(bits−1), 2^(bits−1)) (as `IntCodec(bits)` produces), and
    /// bits + ⌈log₂ n⌉ ≤ 64, so that the sum of all parties' values fits
    /// in a signed 64-bit integer and its residue modulo 2^64 determines it;
    /// the result is that sum as an integer: the value of what
    /// [`Party::open_sum`] returns for the same inputs, in 8 bytes per
    /// element instead of a 16-byte field element. A value outside the
    /// range is rejected with `OutOfRange` before anything is sent (the
    /// error names no value). Privacy is the same as `open_sum`'s: the
    /// pairwise masks are uniform in Z/2^64 and cancel in the sum, so the
    /// masked vectors of any two honest non-king parties are uniformly
    /// random given their sum.
    pub fn open_sum_bounded(&mut self, values: &[Fp], bits: u32) -> Result<Vec<i64>> {
        const KING: usize = 0;
        let log_n = usize::BITS - (self.n - 1).leading_zeros();
        if bits == 0 || bits + log_n > 64 {
            return Err(MpcError::Config(format!(
                "open_sum_bounded: {bits} bits for {} parties exceed 64 bits",
                self.n
            )));
        }
        let half = 1i128 << (bits - 1);
        // The centred value is in [−half, half) exactly when the canonical
        // one is below half or at least p − half (half ≤ 2^63 ≪ p/2).
        let (low, high) = (half as u128, crate::field::MODULUS - half as u128);
        if values
            .iter()
            .fold(false, |bad, v| bad | (v.value() >= low && v.value() < high))
        {
            return Err(MpcError::OutOfRange {
                value: "an input of open_sum_bounded".into(),
                min: (-half).to_string(),
                max: (half - 1).to_string(),
            });
        }
        // Two's complement residue modulo 2^64 (the range check above
        // makes it determine the value).
        let ring = |v: &Fp| v.to_ring64();
        // The sum lies in [−2^(bits+log_n−1), 2^(bits+log_n−1)), so its residue
        // modulo 2^(8·width) determines it: only `width` bytes per element
        // travel, and the masks are uniform in that smaller ring too.
        let width = (bits + log_n).div_ceil(8) as usize;
        let shift = 64 - 8 * width as u32;
        let sign_extend = |s: u64| ((s << shift) as i64) >> shift;
        let len = values.len();
        let pieces = len.div_ceil(SUM_PIECE).max(1);
        let range = |k: usize| k * SUM_PIECE..((k + 1) * SUM_PIECE).min(len);
        let round = self.chan.round();
        let me = self.me;
        if me == KING {
            // Each piece's sum goes back as soon as it is formed, stamped
            // for the round in which the others will read it (after their
            // `pieces` rounds of sending), so summing, sending and the
            // others' decoding overlap.
            let from: Vec<usize> = (1..self.n).collect();
            // One piece of sums at a time (reused), converted into the
            // result as soon as it is sent: no whole-length ring vector.
            let mut part: Zeroizing<Vec<u64>> = Zeroizing::new(Vec::with_capacity(SUM_PIECE));
            let mut result = Vec::with_capacity(len);
            for k in 0..pieces {
                let r = range(k);
                part.clear();
                part.extend(values.get(r.clone()).unwrap_or(&[]).iter().map(ring));
                for m in &self.chan.exchange(Vec::new(), &from)? {
                    let payload = m.payload();
                    check_ring_payload(payload, r.len(), width, m.peer)?;
                    for (i, s) in part.iter_mut().enumerate() {
                        *s = s.wrapping_add(ring::read(payload, i * width, width));
                    }
                }
                let down = round + (pieces + k) as u64;
                // (`ring::push` needs 8 bytes of room past the last element.)
                let mut first = self.chan.message_for_round(1, down, part.len() * width + 8);
                ring::push(&mut first, &part, width);
                let mut out = Vec::with_capacity(self.n - 1);
                for j in 2..self.n {
                    let mut m = self.chan.message_for_round(j, down, part.len() * width);
                    m.extend_from_slice(first.get(HEADER_BYTES..).unwrap_or(&[]));
                    out.push((j, m));
                }
                out.insert(0, (1, first));
                self.chan.send_ahead(out)?;
                result.extend(part.iter().map(|&s| sign_extend(s)));
            }
            self.chan.skip_rounds(pieces as u64);
            return Ok(result);
        }
        let mut streams = Vec::new();
        for j in (1..self.n).filter(|&j| j != me) {
            let key = if me < j {
                self.out_key(j)?
            } else {
                self.in_key(j)?
            };
            streams.push((me < j, key.stream(round)));
        }
        const PIECE: usize = CHUNK * ELEMENT_BYTES / 8;
        let mut masked: Zeroizing<[u64; PIECE]> = Zeroizing::new([0; PIECE]);
        let mut mask: Zeroizing<[u64; PIECE]> = Zeroizing::new([0; PIECE]);
        for k in 0..pieces {
            let part = values.get(range(k)).unwrap_or(&[]);
            let mut msg = self
                .chan
                .message_with_capacity(KING, part.len() * width + 8);
            for piece in part.chunks(PIECE) {
                let out = masked.get_mut(..piece.len()).unwrap_or(&mut []);
                for (o, v) in out.iter_mut().zip(piece) {
                    *o = ring(v);
                }
                for (add, st) in &mut streams {
                    let r = mask.get_mut(..piece.len()).unwrap_or(&mut []);
                    st.fill_u64(r);
                    if *add {
                        for (o, &x) in out.iter_mut().zip(r.iter()) {
                            *o = o.wrapping_add(x);
                        }
                    } else {
                        for (o, &x) in out.iter_mut().zip(r.iter()) {
                            *o = o.wrapping_sub(x);
                        }
                    }
                }
                ring::push(&mut msg, out, width);
            }
            self.chan.exchange(vec![(KING, msg)], &[])?;
        }
        let mut sum = Vec::with_capacity(len);
        for k in 0..pieces {
            let r = range(k);
            let inc = self.chan.exchange(Vec::new(), &[KING])?;
            let first = inc.first().ok_or(MpcError::Unlucky("no message"))?;
            let payload = first.payload();
            check_ring_payload(payload, r.len(), width, KING)?;
            sum.extend((0..r.len()).map(|i| sign_extend(ring::read(payload, i * width, width))));
        }
        Ok(sum)
    }

    /// Opens a shared vector to every party, checking that all `n` shares
    /// of each element lie on one polynomial of degree t.
    ///
    /// Every party needs t + 1 shares to reconstruct: it gets the shares of
    /// its t successors in full, and from each other peer only a *check
    /// value*, a polynomial hash of that peer's shares under a key drawn
    /// for this round from the key of the pair, which no other party can
    /// compute. It reconstructs from its own and the full shares, predicts
    /// each checking peer's shares from them and compares hashes: a set of
    /// shares not on one polynomial passes a check with probability at
    /// most (len + 3)/p. Bytes: n·t share vectors instead of the n(n − 1)
    /// of sending every share to everyone (half, for three parties). See
    /// `SECURITY.md` ("Opening").
    pub fn open(&mut self, x: &SecretVec) -> Result<Vec<Fp>> {
        let (n, t, me) = (self.n, self.t, self.me);
        let round = self.chan.round();
        let shares = x.shares();
        let mut out: Vec<(usize, Vec<u8>)> = Vec::with_capacity(n - 1);
        let mut encoded: Option<usize> = None;
        for j in (0..n).filter(|&j| j != me) {
            if successor_rank(j, me, n).is_some_and(|r| r <= t) {
                // j is one of our t predecessors: our shares in full, encoded once.
                let mut m = self
                    .chan
                    .message_with_capacity(j, shares.len() * ELEMENT_BYTES);
                match encoded.and_then(|i| out.get(i)) {
                    Some((_, first)) => {
                        m.extend_from_slice(first.get(HEADER_BYTES..).unwrap_or(&[]));
                    }
                    None => {
                        push_elements(&mut m, shares);
                        encoded = Some(out.len());
                    }
                }
                out.push((j, m));
            } else {
                let h = check_value(self.check_key(j)?, round, shares);
                let mut m = self.chan.message_with_capacity(j, ELEMENT_BYTES);
                push_elements(&mut m, &[h]);
                out.push((j, m));
            }
        }
        let peers: Vec<usize> = (0..n).filter(|&j| j != me).collect();
        let inc = self.chan.exchange(out, &peers)?;
        self.reconstruct_checked(x, round, &inc)
    }

    fn check_key(&self, j: usize) -> Result<&PairKey> {
        self.check_keys
            .get(j)
            .and_then(Option::as_ref)
            .ok_or_else(|| config_err("missing pair key"))
    }

    /// The receiving side of [`Party::open`]: reconstructs from our shares
    /// and our t successors' (decoded piece by piece), and checks every
    /// other peer's check value against its predicted shares.
    fn reconstruct_checked(&self, x: &SecretVec, round: u64, inc: &[Incoming]) -> Result<Vec<Fp>> {
        let (n, t, me) = (self.n, self.t, self.me);
        let len = x.len();
        // Base: us and our t successors, in that order.
        let base: Vec<usize> = (0..=t).map(|r| (me + r) % n).collect();
        let mut payloads: Vec<&[u8]> = vec![&[]; t + 1];
        // Per checking peer: its check value (times the denominator of its
        // prediction's coefficients: the hash is linear), the hash and the
        // integer coefficients of the prediction.
        let mut checkers: Vec<(usize, Fp, PolyHash, Vec<Factor>)> = Vec::new();
        let xs: Vec<Fp> = base.iter().map(|&k| point(k)).collect();
        for m in inc {
            match successor_rank(me, m.peer, n).filter(|&r| r <= t) {
                Some(r) => {
                    check_payload(m.payload(), len, m.peer)?;
                    if let Some(slot) = payloads.get_mut(r) {
                        *slot = m.payload();
                    }
                }
                None => {
                    check_payload(m.payload(), 1, m.peer)?;
                    let mut h = [Fp::ZERO];
                    decode_into(m.payload(), m.peer, &mut h)?;
                    let coeffs = lagrange_at(&xs, point(m.peer))
                        .ok_or(MpcError::Unlucky("repeated point"))?;
                    let (coeffs, den) = over_denominator(&coeffs);
                    checkers.push((
                        m.peer,
                        h[0] * den,
                        PolyHash::new(self.check_key(m.peer)?, round),
                        coeffs,
                    ));
                }
            }
        }
        // The secrets are Σ (D·λ_b)·share_b, then times 1/D.
        let (at0, den) = over_denominator(
            &lagrange_at(&xs, Fp::ZERO).ok_or(MpcError::Unlucky("repeated point"))?,
        );
        let inv_den = Factor::of(den.inv().ok_or(MpcError::Unlucky("zero denominator"))?);
        // Built piece by piece in reserved room (no zeroing pass).
        let mut result = Vec::with_capacity(len);
        let mut cols: Zeroizing<Vec<[Fp; CHUNK]>> = Zeroizing::new(vec![[Fp::ZERO; CHUNK]; t + 1]);
        let mut piece: Zeroizing<[Fp; CHUNK]> = Zeroizing::new([Fp::ZERO; CHUNK]);
        let mut at = 0;
        while at < len {
            let k = CHUNK.min(len - at);
            for (r, col) in cols.iter_mut().enumerate() {
                let col = col.get_mut(..k).unwrap_or(&mut []);
                if r == 0 {
                    copy_into(col, x.shares().get(at..at + k).unwrap_or(&[]));
                } else {
                    let peer = base.get(r).copied().unwrap_or(0);
                    let bytes = payloads
                        .get(r)
                        .and_then(|p| p.get(at * ELEMENT_BYTES..(at + k) * ELEMENT_BYTES))
                        .unwrap_or(&[]);
                    decode_into(bytes, peer, col)?;
                }
            }
            let out = piece.get_mut(..k).unwrap_or(&mut []);
            combine_into(out, &at0, &cols);
            scale_slice(out, inv_den);
            result.extend_from_slice(out);
            for (_, _, hash, coeffs) in &mut checkers {
                combine_into(out, coeffs, &cols);
                hash.absorb(out);
            }
            at += k;
        }
        for (peer, h, hash, _) in &checkers {
            if hash.finish() != *h {
                return Err(MpcError::BadShare {
                    peer: *peer,
                    reason: "not on the polynomial of the other shares",
                });
            }
        }
        Ok(result)
    }

    /// Reconstructs from our shares of `x` and one message from every peer,
    /// decoding and checking each peer's shares piece by piece.
    fn reconstruct_from(&self, x: &SecretVec, inc: &[Incoming]) -> Result<Vec<Fp>> {
        let len = x.len();
        let mut payloads: Vec<Option<&[u8]>> = vec![None; self.n];
        for m in inc {
            check_payload(m.payload(), len, m.peer)?;
            if let Some(slot) = payloads.get_mut(m.peer) {
                *slot = Some(m.payload());
            }
        }
        let me = self.me;
        reconstruct_with(self.n, self.t, len, |k, at, out| {
            if k == me {
                copy_into(out, x.shares().get(at..at + out.len()).unwrap_or(&[]));
                return Ok(());
            }
            let bytes = payloads
                .get(k)
                .copied()
                .flatten()
                .and_then(|p| p.get(at * ELEMENT_BYTES..(at + out.len()) * ELEMENT_BYTES))
                .ok_or(MpcError::WrongLength {
                    peer: k,
                    expected: len,
                    got: 0,
                })?;
            decode_into(bytes, k, out)
        })
    }

    /// Opens a shared vector to `recipients` only; they get `Some(values)`,
    /// the others `None`.
    pub fn open_to(&mut self, x: &SecretVec, recipients: &[usize]) -> Result<Option<Vec<Fp>>> {
        let me = self.me;
        let out = recipients
            .iter()
            .copied()
            .filter(|&r| r != me && r < self.n)
            .map(|r| {
                let mut m = self.chan.message_with_capacity(r, x.len() * ELEMENT_BYTES);
                push_elements(&mut m, x.shares());
                (r, m)
            })
            .collect();
        let receiving = recipients.contains(&me);
        let from: Vec<usize> = if receiving {
            (0..self.n).filter(|&j| j != me).collect()
        } else {
            Vec::new()
        };
        let inc = self.chan.exchange(out, &from)?;
        if !receiving {
            return Ok(None);
        }
        self.reconstruct_from(x, &inc).map(Some)
    }
}

/// out = Σ coeffs[r] · cols[r] (over out's length): the first term
/// written, the others added, with no zeroing pass.
fn combine_into(out: &mut [Fp], coeffs: &[Factor], cols: &[[Fp; CHUNK]]) {
    let k = out.len();
    for (r, (&c, col)) in coeffs.iter().zip(cols).enumerate() {
        let col = col.get(..k).unwrap_or(&[]);
        if r == 0 {
            scale_into(out, c, col);
        } else {
            axpy_factor(out, c, col);
        }
    }
}

/// The label of the keys of the check values of [`Party::open`].
pub(super) const CHECK_LABEL: &[u8] = b"symbolon-mpc/open-check/v1";

/// How many steps after `from` (cyclically, among n parties) `to` comes.
fn successor_rank(from: usize, to: usize, n: usize) -> Option<usize> {
    (to != from && to < n && from < n).then(|| (to + n - from) % n)
}

/// A polynomial hash Σᵢ sᵢ·k^(eᵢ) of a vector under a secret key k (one
/// multiplication per element, in four independent lanes: element i goes
/// to lane i mod 4, each lane is a Horner chain in k⁴, and the lanes are
/// combined with 1, k, k², k³, so that distinct elements get distinct
/// exponents below len + 4). Two different vectors of length len collide
/// for at most len + 3 of the p keys. Feed it pieces whose lengths are
/// multiples of 4 but for the last.
struct PolyHash {
    k: Fp,
    k4: Fp,
    // Partially reduced (see `Lazy`): reduced once, in `finish`.
    lanes: [Lazy; 4],
}

impl PolyHash {
    /// The hash keyed by the first element of `key`'s stream for `round`.
    fn new(key: &PairKey, round: u64) -> PolyHash {
        let mut k = [Fp::ZERO];
        key.stream(round).fill(&mut k);
        let k2 = k[0] * k[0];
        PolyHash {
            k: k[0],
            k4: k2 * k2,
            lanes: [Lazy::default(); 4],
        }
    }

    fn absorb(&mut self, xs: &[Fp]) {
        let [a, b, c, d] = &mut self.lanes;
        let k4 = self.k4;
        let mut quads = xs.chunks_exact(4);
        for q in &mut quads {
            if let [w, x, y, z] = q {
                *a = a.mul_add(k4, *w);
                *b = b.mul_add(k4, *x);
                *c = c.mul_add(k4, *y);
                *d = d.mul_add(k4, *z);
            }
        }
        for (lane, &v) in self.lanes.iter_mut().zip(quads.remainder()) {
            *lane = lane.mul_add(k4, v);
        }
    }

    fn finish(&self) -> Fp {
        let [a, b, c, d] = self.lanes.map(Lazy::reduce);
        ((d * self.k + c) * self.k + b) * self.k + a
    }
}

impl Drop for PolyHash {
    fn drop(&mut self) {
        self.k = Fp::ZERO;
        self.k4 = Fp::ZERO;
        self.lanes = [Lazy::default(); 4];
    }
}

/// The check value of `shares` for the pair of `key` in `round`: what a
/// peer that receives no shares from us checks our shares with.
fn check_value(key: &PairKey, round: u64, shares: &[Fp]) -> Fp {
    let mut h = PolyHash::new(key, round);
    h.absorb(shares);
    h.finish()
}

/// Checks that `payload` holds exactly `len` 64-bit words.
/// Checks that `payload` holds `len` ring elements of `width` bytes each.
fn check_ring_payload(payload: &[u8], len: usize, width: usize, peer: usize) -> Result<()> {
    if payload.len() == len * width {
        return Ok(());
    }
    Err(if payload.len().is_multiple_of(width) {
        MpcError::WrongLength {
            peer,
            expected: len,
            got: payload.len() / width,
        }
    } else {
        MpcError::Malformed {
            peer,
            reason: "payload is not a whole number of ring elements",
        }
    })
}
