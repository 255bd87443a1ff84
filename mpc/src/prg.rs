//! Pseudorandom shares from pairwise seeds.
//!
//! Every pair of parties shares a 32-byte seed from session set-up. When
//! party `d` deals a sharing, the shares of the `t` parties after it (mod n)
//! are not sent: both sides expand them from the pair's key on a stream named
//! by the round. This is the pseudorandom-secret-sharing idea applied per
//! dealer: it cuts the bytes of every input and every multiplication by the
//! fraction `t / (n − 1)`.
//!
//! The stream is AES-128 in counter mode keyed by the pair key, with the
//! round number in the upper 64 bits of the counter block (so streams of
//! different rounds never overlap): with AES-NI it runs at several GB/s,
//! several times ChaCha12 in software, and share expansion is on the
//! critical path of every input and multiplication.

use crate::channel::SessionId;
use crate::field::{Fp, ELEMENT_BYTES};
use aes::cipher::{KeyIvInit, StreamCipher};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

type Aes128Ctr = ctr::Ctr128LE<aes::Aes128>;

/// Elements produced per block of work: small enough to stay in L1.
pub const CHUNK: usize = 256;

/// A key for the one-way stream from a dealer to a receiver.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PairKey([u8; 16]);

impl core::fmt::Debug for PairKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PairKey").finish_non_exhaustive()
    }
}

impl PairKey {
    /// Derives the key for dealer → receiver from the pair's seed.
    pub fn derive(seed: &[u8; 32], session: &SessionId, dealer: usize, receiver: usize) -> PairKey {
        Self::derive_labelled(
            b"symbolon-mpc/pair-stream/v2",
            seed,
            session,
            dealer,
            receiver,
        )
    }

    /// Derives a key for another purpose (`label`) from the same seed.
    pub fn derive_labelled(
        label: &[u8],
        seed: &[u8; 32],
        session: &SessionId,
        a: usize,
        b: usize,
    ) -> PairKey {
        let mut h = Sha256::new();
        h.update(label);
        h.update(seed);
        h.update(session);
        h.update((a as u64).to_le_bytes());
        h.update((b as u64).to_le_bytes());
        let mut d: [u8; 32] = h.finalize().into();
        let mut k = [0u8; 16];
        k.copy_from_slice(d.get(..16).unwrap_or(&[0u8; 16]));
        d.zeroize();
        PairKey(k)
    }

    /// The stream of pseudorandom field elements for the given round.
    pub fn stream(&self, round: u64) -> FpStream {
        let iv = (u128::from(round) << 64).to_le_bytes();
        FpStream {
            cipher: Aes128Ctr::new(&self.0.into(), &iv.into()),
            buf: [0u8; CHUNK * ELEMENT_BYTES],
        }
    }

    /// `len` pseudorandom field elements for the given round.
    pub fn expand(&self, round: u64, len: usize) -> Vec<Fp> {
        // Extended piece by piece: no zeroing pass over the whole vector.
        let mut out = Vec::with_capacity(len);
        self.stream(round)
            .for_each_chunk(len, |_, piece| out.extend_from_slice(piece));
        out
    }
}

/// Zeros to encrypt: the keystream is written over a copy of them, not
/// over a buffer zeroed first.
static ZEROS: [u8; CHUNK * ELEMENT_BYTES] = [0; CHUNK * ELEMENT_BYTES];

/// Overwrites `out` (at most `CHUNK · ELEMENT_BYTES` bytes) with the next
/// bytes of the keystream.
fn keystream(cipher: &mut Aes128Ctr, out: &mut [u8]) {
    let zeros = ZEROS.get(..out.len()).unwrap_or(&[]);
    if cipher.apply_keystream_b2b(zeros, out).is_err() {
        // Only on a length mismatch, which the callers rule out.
        out.fill(0);
        cipher.apply_keystream(out);
    }
}

/// A stream of pseudorandom field elements (see [`PairKey::stream`]).
pub struct FpStream {
    cipher: Aes128Ctr,
    buf: [u8; CHUNK * ELEMENT_BYTES],
}

impl core::fmt::Debug for FpStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FpStream").finish_non_exhaustive()
    }
}

impl Drop for FpStream {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

impl FpStream {
    /// Overwrites `out` with the next `out.len()` elements of the stream.
    pub fn fill(&mut self, out: &mut [Fp]) {
        for piece in out.chunks_mut(CHUNK) {
            let bytes = self
                .buf
                .get_mut(..piece.len() * ELEMENT_BYTES)
                .unwrap_or(&mut []);
            keystream(&mut self.cipher, bytes);
            for (o, c) in piece.iter_mut().zip(bytes.chunks_exact(ELEMENT_BYTES)) {
                let mut b = [0u8; ELEMENT_BYTES];
                b.copy_from_slice(c);
                *o = Fp::from_random_bytes(b);
            }
        }
    }

    /// Overwrites `out` with the next `8 · out.len()` bytes of the stream
    /// read as little-endian `u64`s: uniform masks for arithmetic modulo
    /// 2^64 (`Party::open_sum_bounded`). A stream is used for one kind of
    /// value only (each protocol takes its own round numbers).
    pub fn fill_u64(&mut self, out: &mut [u64]) {
        for piece in out.chunks_mut(CHUNK * ELEMENT_BYTES / 8) {
            let bytes = self.buf.get_mut(..piece.len() * 8).unwrap_or(&mut []);
            keystream(&mut self.cipher, bytes);
            for (o, c) in piece.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                *o = u64::from_le_bytes(b);
            }
        }
    }

    /// Calls `f` with consecutive pieces of the next `len` elements (at most
    /// [`CHUNK`] at a time) and the offset of each piece, without
    /// materialising the whole expansion.
    pub fn for_each_chunk(&mut self, len: usize, mut f: impl FnMut(usize, &[Fp])) {
        let mut tmp = [Fp::ZERO; CHUNK];
        let mut at = 0;
        while at < len {
            let k = CHUNK.min(len - at);
            let piece = tmp.get_mut(..k).unwrap_or(&mut []);
            self.fill(piece);
            f(at, piece);
            at += k;
        }
        tmp.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_separated() {
        let k = PairKey::derive(&[1; 32], &[2; 16], 0, 1);
        let a = k.expand(5, 1000);
        assert_eq!(a, k.expand(5, 1000));
        assert_ne!(a, k.expand(6, 1000));
        let mut pieces = Vec::new();
        k.stream(5)
            .for_each_chunk(1000, |at, c| pieces.push((at, c.to_vec())));
        let joined: Vec<Fp> = pieces.iter().flat_map(|(_, c)| c.clone()).collect();
        assert_eq!(joined, a);
        assert_eq!(pieces[1].0, CHUNK);
        let other = PairKey::derive(&[1; 32], &[2; 16], 1, 0);
        assert_ne!(a, other.expand(5, 1000));
    }
}
