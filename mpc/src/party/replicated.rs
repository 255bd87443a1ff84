//! Three-party replicated XOR sharing of bit vectors, for boolean circuits
//! (`crate::boolean`) beside the Shamir arithmetic.
//!
//! A vector of secret 64-bit words v is split as v = s₀ ⊕ s₁ ⊕ s₂ and party i
//! holds (sᵢ, sᵢ₊₁) (indices mod 3): any two parties can reconstruct, any
//! single party sees two uniformly random words. XOR and constants are
//! local; an AND of two shared vectors costs one round in which each party
//! sends one word per word to its predecessor (Araki, Furukawa, Lindell, Nof
//! and Ohara, CCS 2016):
//!
//!   zᵢ = (xᵢ ∧ (yᵢ ⊕ yᵢ₊₁)) ⊕ (xᵢ₊₁ ∧ yᵢ) ⊕ αᵢ,
//!
//! which covers the nine products xⱼ ∧ yₖ once each over i = 0, 1, 2, with
//! αᵢ = F{i,i+1} ⊕ F{i−1,i} from the keys of our two pairs, so that
//! α₀ ⊕ α₁ ⊕ α₂ = 0 and each zᵢ is masked by a stream its receiver lacks.
//!
//! Randomness comes from keys of unordered pairs derived for this module
//! only ([`LABEL`]); every use takes fresh stream numbers from a counter that
//! all parties advance alike (they run the same operations in the same
//! order), so no stream is ever used twice. Semi-honest security with at
//! most one corrupt party, as for the rest of the engine.

use super::*;
use crate::prg::FpStream;
use zeroize::Zeroize;

/// The label of the keys of unordered pairs used for replicated sharing.
pub(super) const LABEL: &[u8] = b"symbolon-mpc/pair-replicated/v1";

/// One party's shares of a vector of secret words (64 secret bits each) in
/// three-party replicated XOR sharing: the value is s₀ ⊕ s₁ ⊕ s₂, and party
/// i holds sᵢ (`own`) and sᵢ₊₁ (`next`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BitShares {
    own: Vec<u64>,
    next: Vec<u64>,
}

impl core::fmt::Debug for BitShares {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BitShares")
            .field("words", &self.own.len())
            .finish_non_exhaustive()
    }
}

impl Drop for BitShares {
    fn drop(&mut self) {
        self.own.zeroize();
        self.next.zeroize();
    }
}

impl BitShares {
    /// Shares of `len` zero words (every share zero).
    pub fn zeros(len: usize) -> BitShares {
        BitShares {
            own: vec![0; len],
            next: vec![0; len],
        }
    }

    /// Builds shares from our two share vectors (of equal length).
    pub fn from_parts(own: Vec<u64>, next: Vec<u64>) -> Result<BitShares> {
        if own.len() != next.len() {
            return Err(MpcError::LengthMismatch {
                left: own.len(),
                right: next.len(),
            });
        }
        Ok(BitShares { own, next })
    }

    /// Number of shared words.
    pub fn len(&self) -> usize {
        self.own.len()
    }

    /// Whether no word is shared.
    pub fn is_empty(&self) -> bool {
        self.own.is_empty()
    }

    /// Our share sᵢ.
    pub fn own(&self) -> &[u64] {
        &self.own
    }

    /// Our share sᵢ₊₁.
    pub fn next(&self) -> &[u64] {
        &self.next
    }

    /// XORs `other` into these shares (local); lengths must match.
    pub fn xor_assign(&mut self, other: &BitShares) -> Result<()> {
        if other.len() != self.len() {
            return Err(MpcError::LengthMismatch {
                left: self.len(),
                right: other.len(),
            });
        }
        for (a, b) in self.own.iter_mut().zip(&other.own) {
            *a ^= b;
        }
        for (a, b) in self.next.iter_mut().zip(&other.next) {
            *a ^= b;
        }
        Ok(())
    }

    /// The XOR of two shared vectors (local).
    pub fn xor(&self, other: &BitShares) -> Result<BitShares> {
        if other.len() != self.len() {
            return Err(MpcError::LengthMismatch {
                left: self.len(),
                right: other.len(),
            });
        }
        let xor = |a: &[u64], b: &[u64]| a.iter().zip(b).map(|(x, y)| x ^ y).collect();
        Ok(BitShares {
            own: xor(&self.own, &other.own),
            next: xor(&self.next, &other.next),
        })
    }

    /// The words `range` of the vector.
    pub fn slice(&self, range: core::ops::Range<usize>) -> Result<BitShares> {
        match (self.own.get(range.clone()), self.next.get(range.clone())) {
            (Some(o), Some(n)) => Ok(BitShares {
                own: o.to_vec(),
                next: n.to_vec(),
            }),
            _ => Err(MpcError::LengthMismatch {
                left: range.end,
                right: self.len(),
            }),
        }
    }

    /// The vectors one after the other.
    pub fn concat(parts: &[&BitShares]) -> BitShares {
        let len = parts.iter().map(|p| p.len()).sum();
        let mut out = BitShares {
            own: Vec::with_capacity(len),
            next: Vec::with_capacity(len),
        };
        for p in parts {
            out.own.extend_from_slice(&p.own);
            out.next.extend_from_slice(&p.next);
        }
        out
    }

    /// Applies `f` to both share vectors: for linear maps of the words
    /// (permutations, bit moves, XORs of words), which commute with sharing.
    pub fn map_linear(&self, mut f: impl FnMut(&[u64]) -> Vec<u64>) -> Result<BitShares> {
        BitShares::from_parts(f(&self.own), f(&self.next))
    }
}

fn push_words(out: &mut Vec<u8>, words: &[u64]) {
    out.reserve(words.len() * 8);
    for w in words {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

fn decode_words(payload: &[u8], expected: usize, peer: usize) -> Result<Vec<u64>> {
    if payload.len() != expected * 8 {
        return Err(MpcError::WrongLength {
            peer,
            expected,
            got: payload.len() / 8,
        });
    }
    Ok(payload
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect())
}

impl<T: Transport> Party<T> {
    fn require_three(&self) -> Result<()> {
        if self.n == 3 && self.t == 1 {
            Ok(())
        } else {
            Err(config_err(format!(
                "replicated sharing needs exactly 3 parties with t = 1, not n = {}, t = {}",
                self.n, self.t
            )))
        }
    }

    fn prev(&self) -> usize {
        (self.me + 2) % 3
    }

    fn succ(&self) -> usize {
        (self.me + 1) % 3
    }

    /// Reserves `count` fresh stream numbers.
    fn take_streams(&mut self, count: u64) -> u64 {
        let first = self.replicated_streams;
        self.replicated_streams += count;
        first
    }

    fn pair_stream(&self, peer: usize, stream: u64) -> Result<FpStream> {
        self.replicated_keys
            .get(peer)
            .and_then(Option::as_ref)
            .map(|k| k.stream(stream))
            .ok_or_else(|| config_err("missing replicated-sharing pair key"))
    }

    fn pair_words(&self, peer: usize, stream: u64, len: usize) -> Result<Vec<u64>> {
        let mut out = vec![0u64; len];
        self.pair_stream(peer, stream)?.fill_u64(&mut out);
        Ok(out)
    }

    /// Shares of `len` uniformly random words nobody knows (no message):
    /// sᵢ comes from the key of the pair {i − 1, i}.
    pub fn replicated_random(&mut self, len: usize) -> Result<BitShares> {
        self.require_three()?;
        let s = self.take_streams(1);
        let own = self.pair_words(self.prev(), s, len)?;
        let next = self.pair_words(self.succ(), s, len)?;
        BitShares::from_parts(own, next)
    }

    /// XORs the public words `constant` into the shared value (local: the
    /// holders of s₀ change it).
    pub fn replicated_xor_public(&self, x: &mut BitShares, constant: &[u64]) -> Result<()> {
        if constant.len() != x.len() {
            return Err(MpcError::LengthMismatch {
                left: x.len(),
                right: constant.len(),
            });
        }
        let target = match self.me {
            0 => Some(&mut x.own),
            2 => Some(&mut x.next),
            _ => None,
        };
        if let Some(t) = target {
            for (a, c) in t.iter_mut().zip(constant) {
                *a ^= c;
            }
        }
        Ok(())
    }

    /// Every party shares its words in one round: `mine` are ours, `lens[p]`
    /// the number of words of party p. Returns one shared vector per party.
    ///
    /// Owner o takes sₒ from the pair {o, o + 2} and sₒ₊₁ from {o, o + 1}
    /// (both known to it and to the party that also holds them) and sends
    /// sₒ₊₂ = v ⊕ sₒ ⊕ sₒ₊₁ to both others.
    pub fn replicated_input_all(&mut self, mine: &[u64], lens: &[usize]) -> Result<Vec<BitShares>> {
        self.require_three()?;
        if lens.len() != 3 || lens.get(self.me) != Some(&mine.len()) {
            return Err(config_err(
                "replicated input: one length per party, ours first",
            ));
        }
        let base = self.take_streams(3);
        let (me, prev, succ) = (self.me, self.prev(), self.succ());
        let stream = |o: usize| base + o as u64;
        let own = self.pair_words(prev, stream(me), mine.len())?;
        let next = self.pair_words(succ, stream(me), mine.len())?;
        let third: Vec<u64> = mine
            .iter()
            .zip(own.iter().zip(&next))
            .map(|(v, (a, b))| v ^ a ^ b)
            .collect();
        let out = [succ, prev]
            .into_iter()
            .map(|j| {
                let mut m = self.chan.message_with_capacity(j, third.len() * 8);
                push_words(&mut m, &third);
                (j, m)
            })
            .collect();
        let got = self.chan.exchange(out, &[prev, succ])?;
        let mut blocks: Vec<BitShares> = vec![BitShares::default(); 3];
        for inc in got {
            let o = inc.peer;
            let len = lens.get(o).copied().unwrap_or(0);
            let received = decode_words(inc.payload(), len, o)?;
            let shares = if o == prev {
                // We are o + 1: (sₒ₊₁ from our pair with o, sₒ₊₂ received).
                BitShares::from_parts(self.pair_words(prev, stream(o), len)?, received)?
            } else {
                // We are o + 2: (sₒ₊₂ received, sₒ from our pair with o).
                BitShares::from_parts(received, self.pair_words(succ, stream(o), len)?)?
            };
            if let Some(slot) = blocks.get_mut(o) {
                *slot = shares;
            }
        }
        if let Some(slot) = blocks.get_mut(me) {
            *slot = BitShares::from_parts(own, next)?;
        }
        Ok(blocks)
    }

    /// The ANDs of the given pairs of shared vectors, in one round.
    pub fn replicated_and(&mut self, pairs: &[(&BitShares, &BitShares)]) -> Result<Vec<BitShares>> {
        self.require_three()?;
        if let Some((x, y)) = pairs.iter().find(|(x, y)| x.len() != y.len()) {
            return Err(MpcError::LengthMismatch {
                left: x.len(),
                right: y.len(),
            });
        }
        let total: usize = pairs.iter().map(|(x, _)| x.len()).sum();
        let s = self.take_streams(1);
        let (prev, succ) = (self.prev(), self.succ());
        let mut z = self.pair_words(succ, s, total)?;
        let mut alpha = self.pair_words(prev, s, total)?;
        let mut at = 0;
        for (x, y) in pairs {
            let dst = z.get_mut(at..at + x.len()).unwrap_or(&mut []);
            let mask = alpha.get(at..at + x.len()).unwrap_or(&[]);
            for (((d, m), (xo, xn)), (yo, yn)) in dst
                .iter_mut()
                .zip(mask)
                .zip(x.own.iter().zip(&x.next))
                .zip(y.own.iter().zip(&y.next))
            {
                *d ^= m ^ (xo & (yo ^ yn)) ^ (xn & yo);
            }
            at += x.len();
        }
        alpha.zeroize();
        let mut m = self.chan.message_with_capacity(prev, &z.len() * 8);
        push_words(&mut m, &z);
        let got = self.chan.exchange(vec![(prev, m)], &[succ])?;
        let inc = got.first().ok_or(MpcError::Unlucky("no message"))?;
        let zn = decode_words(inc.payload(), total, succ)?;
        // Cut the outputs off the end, so that the last one takes the buffers.
        let (mut z, mut zn) = (z, zn);
        let mut out = Vec::with_capacity(pairs.len());
        for (x, _) in pairs.iter().rev() {
            let at = z.len().saturating_sub(x.len());
            let (own, next) = if at == 0 {
                (core::mem::take(&mut z), core::mem::take(&mut zn))
            } else {
                (z.split_off(at), zn.split_off(at))
            };
            out.push(BitShares::from_parts(own, next)?);
        }
        out.reverse();
        Ok(out)
    }

    /// Opens the shared words to every party (one round: each party sends
    /// its sᵢ₊₁ to its predecessor, which lacks it).
    pub fn replicated_open(&mut self, x: &BitShares) -> Result<Vec<u64>> {
        self.require_three()?;
        let (prev, succ) = (self.prev(), self.succ());
        let mut m = self.chan.message_with_capacity(prev, &x.next.len() * 8);
        push_words(&mut m, &x.next);
        let got = self.chan.exchange(vec![(prev, m)], &[succ])?;
        let inc = got.first().ok_or(MpcError::Unlucky("no message"))?;
        let missing = decode_words(inc.payload(), x.len(), succ)?;
        Ok(x.own
            .iter()
            .zip(&x.next)
            .zip(&missing)
            .map(|((a, b), c)| a ^ b ^ c)
            .collect())
    }

    /// Opens the shared words to `receiver` only (one message, from the
    /// party after it, which holds the share it lacks); `None` elsewhere.
    pub fn replicated_open_to(
        &mut self,
        x: &BitShares,
        receiver: usize,
    ) -> Result<Option<Vec<u64>>> {
        self.require_three()?;
        if receiver > 2 {
            return Err(config_err("no such party"));
        }
        let helper = (receiver + 1) % 3;
        let out = if self.me == helper {
            let mut m = self.chan.message_with_capacity(receiver, &x.next.len() * 8);
            push_words(&mut m, &x.next);
            vec![(receiver, m)]
        } else {
            Vec::new()
        };
        let from: &[usize] = if self.me == receiver { &[helper] } else { &[] };
        let got = self.chan.exchange(out, from)?;
        match got.first() {
            Some(inc) => {
                let missing = decode_words(inc.payload(), x.len(), helper)?;
                Ok(Some(
                    x.own
                        .iter()
                        .zip(&x.next)
                        .zip(&missing)
                        .map(|((a, b), c)| a ^ b ^ c)
                        .collect(),
                ))
            }
            None => Ok(None),
        }
    }

    /// A fresh 32-byte seed known to parties `a` and `b` only (from their
    /// pair key; no message): `None` at the third party.
    pub fn replicated_pair_seed(
        &mut self,
        a: usize,
        b: usize,
    ) -> Result<Option<Zeroizing<[u8; 32]>>> {
        self.require_three()?;
        let s = self.take_streams(1);
        let other = match self.me {
            m if m == a => b,
            m if m == b => a,
            _ => return Ok(None),
        };
        let words = Zeroizing::new(self.pair_words(other, s, 4)?);
        let mut seed = Zeroizing::new([0u8; 32]);
        for (chunk, w) in seed.chunks_exact_mut(8).zip(words.iter()) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        Ok(Some(seed))
    }

    /// Our share of the value as a two-party XOR sharing among the parties
    /// other than `outsider`: `None` for the outsider. Party `outsider + 1`
    /// takes sₒ₊₁ ⊕ sₒ₊₂, party `outsider + 2` takes sₒ.
    pub fn replicated_to_pair(&self, x: &BitShares, outsider: usize) -> Option<Vec<u64>> {
        if self.me == (outsider + 1) % 3 {
            Some(x.own.iter().zip(&x.next).map(|(a, b)| a ^ b).collect())
        } else if self.me == (outsider + 2) % 3 {
            Some(x.next.clone())
        } else {
            None
        }
    }

    /// Turns a two-party XOR sharing held by the parties other than
    /// `outsider` (as [`Party::replicated_to_pair`] makes, possibly permuted
    /// by both alike) back into replicated shares of `len` words, in one
    /// round between the two: with c the outsider, s′_c comes from the pair
    /// {c, c + 2}, s′_c₊₁ from {c, c + 1}, and the two exchange their part of
    /// s′_c₊₂ masked by the stream the other lacks.
    pub fn replicated_from_pair(
        &mut self,
        outsider: usize,
        mine: Option<&[u64]>,
        len: usize,
    ) -> Result<BitShares> {
        self.require_three()?;
        if outsider > 2 {
            return Err(config_err("no such party"));
        }
        let s = self.take_streams(1);
        let me = self.me;
        let c = outsider;
        let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
        if me == c {
            // (s′_c, s′_c₊₁) from our pairs with c + 2 and c + 1; no message.
            let own = self.pair_words(c2, s, len)?;
            let next = self.pair_words(c1, s, len)?;
            self.chan.exchange(Vec::new(), &[])?;
            return BitShares::from_parts(own, next);
        }
        let mine = mine.ok_or_else(|| config_err("a pair member must supply its share"))?;
        if mine.len() != len {
            return Err(MpcError::LengthMismatch {
                left: mine.len(),
                right: len,
            });
        }
        let other = if me == c1 { c2 } else { c1 };
        // c + 1 knows s′_c₊₁ (pair with c); c + 2 knows s′_c (pair with c).
        let known = self.pair_words(c, s, len)?;
        let part: Vec<u64> = mine.iter().zip(&known).map(|(a, b)| a ^ b).collect();
        let mut m = self.chan.message_with_capacity(other, &part.len() * 8);
        push_words(&mut m, &part);
        let got = self.chan.exchange(vec![(other, m)], &[other])?;
        let inc = got.first().ok_or(MpcError::Unlucky("no message"))?;
        let theirs = decode_words(inc.payload(), len, other)?;
        let last: Vec<u64> = part.iter().zip(&theirs).map(|(a, b)| a ^ b).collect();
        if me == c1 {
            BitShares::from_parts(known, last)
        } else {
            BitShares::from_parts(last, known)
        }
    }
}
