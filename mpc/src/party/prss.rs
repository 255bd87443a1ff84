//! Shared random bits and masks from pairwise randomness, for three parties
//! and t = 1 (pseudorandom secret sharing, as in Cramer–Damgård–Ishai).
//!
//! Each pair {i, j} expands values from a key only the two of them hold
//! ([`LABEL`], derived from their set-up seed; a key used for nothing else).
//! A value v of pair {i, j} is shared without any message: the degree-1
//! polynomial f with f(0) = v and f(x_k) = 0 at the third party k gives i and
//! j the shares f(x_i), f(x_j), and k the share 0, which tells k nothing.
//!
//! - **Masks**: r″ = m₀₁ + m₀₂ + m₁₂, each a uniform 41-bit value of its pair:
//!   every single party misses one term, so the masked opening of
//!   `compare` hides its input exactly as with t + 1 dealers (statistical
//!   distance at most 2^−40), at no cost.
//! - **Bits**: r = u ⊕ b₁₂ with u = b₀₁ ⊕ b₀₂. Party 0 knows u and deals it
//!   (one message, to party 2); [b₁₂] is free as above; the product u·b₁₂
//!   is reduced to degree 1 by parties 1 and 2 only, because party 0's
//!   share of [b₁₂], hence of the degree-2 product, is 0. Every single party
//!   misses b₁₂ or one of b₀₁, b₀₂, so r is uniform to it. Three 16-byte
//!   messages per bit in two rounds, against five for two dealers' bits and
//!   their XOR.

use super::*;
use crate::field::Factor;

/// The label of the keys of unordered pairs.
pub(super) const LABEL: &[u8] = b"symbolon-mpc/pair-prss/v1";

/// Bits of one pair mask (the statistical security plus one).
const MASK_BITS: u32 = 41;

impl<T: Transport> Party<T> {
    /// Shares of `nbits` random bits and of `nmasks` random values in
    /// `[0, 3·2^41)` that no single party knows, in two rounds; `None`
    /// unless the session has three parties and t = 1 (see the module).
    pub(crate) fn prss_bits_and_masks(
        &mut self,
        nbits: usize,
        nmasks: usize,
    ) -> Result<Option<(Vec<Fp>, Vec<Fp>)>> {
        if self.n != 3 || self.t != 1 {
            return Ok(None);
        }
        let me = self.me;
        let round = self.chan.round();
        let words = nbits.div_ceil(64);
        // Our two pairs: the other member j, the left-out party k, our
        // coefficient (x_k − x_me)/x_k for the pair's values, and the
        // pair's words (bits first, then masks).
        let mut pairs = Vec::with_capacity(2);
        for j in (0..3).filter(|&j| j != me) {
            let k = 3 - me - j;
            let key = self
                .pair_keys
                .get(j)
                .and_then(Option::as_ref)
                .ok_or_else(|| config_err("missing pair key"))?;
            let mut w = Zeroizing::new(vec![0u64; words + nmasks]);
            key.stream(round).fill_u64(&mut w);
            let xk = point(k);
            let coeff = (xk - point(me)) * xk.inv().ok_or(MpcError::Unlucky("zero point"))?;
            pairs.push((j, k, coeff, w));
        }
        let bit = |w: &[u64], i: usize| (w.get(i / 64).copied().unwrap_or(0) >> (i % 64)) & 1;
        let mut masks = vec![Fp::ZERO; nmasks];
        for (_, _, coeff, w) in &pairs {
            let tail = w.get(words..).unwrap_or(&[]);
            for (m, &x) in masks.iter_mut().zip(tail) {
                *m += *coeff * Fp::from_u64(x >> (64 - MASK_BITS));
            }
        }
        // Round 1: party 0 deals u = b01 ⊕ b02, formed piece by piece.
        let (w1, w2): (&[u64], &[u64]) = match pairs.as_slice() {
            [a, b] => (&a.3, &b.3),
            _ => (&[], &[]),
        };
        let u_of = |at: usize, out: &mut [Fp]| {
            for (o, i) in out.iter_mut().zip(at..) {
                *o = Fp::from_u64(bit(w1, i) ^ bit(w2, i));
            }
        };
        let mine = (me == 0).then_some(Secrets::Computed(nbits, &u_of));
        let u = self
            .deal_secrets(&[0], mine, nbits)?
            .pop()
            .ok_or(MpcError::Unlucky("empty deal"))?;
        // Our share of [b12]: 0 at party 0, coefficient · b12 at 1 and 2
        // (the coefficient is (x_0 − x_me)/x_0 = −me: a small factor).
        let (b12_words, b12_coeff): (&[u64], Factor) = match pairs.iter().find(|p| p.1 == 0) {
            Some((_, _, coeff, w)) => (w, Factor::of(*coeff)),
            None => (&[], Factor::General(Fp::ZERO)),
        };
        let b12 = |i: usize| {
            if bit(b12_words, i) == 1 {
                b12_coeff.apply(Fp::ONE)
            } else {
                Fp::ZERO
            }
        };
        // Round 2: [u·b12], reshared by parties 1 and 2 (party 0's product
        // share is 0) with their Lagrange coefficients; the local products
        // u_i·b12_i are 0 or u_i times the small coefficient.
        let coeffs = [
            self.mul_coeffs.get(1).copied().unwrap_or_default(),
            self.mul_coeffs.get(2).copied().unwrap_or_default(),
        ];
        let us = u.shares();
        let product = |at: usize, out: &mut [Fp]| {
            for ((o, i), &x) in out.iter_mut().zip(at..).zip(us.get(at..).unwrap_or(&[])) {
                *o = if bit(b12_words, i) == 1 {
                    b12_coeff.apply(x)
                } else {
                    Fp::ZERO
                };
            }
        };
        let mine = (me != 0).then_some(Secrets::Computed(nbits, &product));
        // bits = u + b12 − 2·u·b12, formed in place over the product shares.
        let mut bits = self.deal_combine_with(&[1, 2], mine, nbits, &coeffs)?;
        for ((p, i), &x) in bits.iter_mut().zip(0..).zip(us) {
            *p = x + b12(i) - (*p + *p);
        }
        Ok(Some((bits, masks)))
    }
}
