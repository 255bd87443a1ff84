//! ElGamal over Ristretto255, as used by the private record linkage:
//! encryption under a joint key, re-randomisation, exponentiation of both
//! components (which blinds the plaintext), and (de)serialisation.

use crate::error::{MpcError, Result};
use crate::group::{double_compress, par_map, par_ranges, POINT_BYTES};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;

/// Bytes of one serialised ciphertext.
pub const CIPHERTEXT_BYTES: usize = 2 * POINT_BYTES;

/// An ElGamal ciphertext (g^ρ, m·h^ρ), written additively (ρ·G, M + ρ·H).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ciphertext {
    /// ρ·G.
    pub a: RistrettoPoint,
    /// M + ρ·H.
    pub b: RistrettoPoint,
}

impl Ciphertext {
    /// Encrypts `m` under public key `h` with randomness `rho`.
    pub fn encrypt(m: &RistrettoPoint, h: &RistrettoPoint, rho: &Scalar) -> Ciphertext {
        Ciphertext {
            a: rho * RISTRETTO_BASEPOINT_TABLE,
            b: m + rho * h,
        }
    }

    /// The same plaintext under fresh randomness (adds an encryption of 0).
    pub fn rerandomize(&self, h: &RistrettoPoint, rho: &Scalar) -> Ciphertext {
        Ciphertext {
            a: self.a + rho * RISTRETTO_BASEPOINT_TABLE,
            b: self.b + rho * h,
        }
    }

    /// [`Ciphertext::encrypt`] with a precomputed table of the key, which
    /// makes both multiplications fixed-base (about twice as fast).
    pub fn encrypt_with(
        m: &RistrettoPoint,
        h: &RistrettoBasepointTable,
        rho: &Scalar,
    ) -> Ciphertext {
        Ciphertext {
            a: rho * RISTRETTO_BASEPOINT_TABLE,
            b: m + rho * h,
        }
    }

    /// [`Ciphertext::rerandomize`] with a precomputed table of the key.
    pub fn rerandomize_with(&self, h: &RistrettoBasepointTable, rho: &Scalar) -> Ciphertext {
        Ciphertext {
            a: self.a + rho * RISTRETTO_BASEPOINT_TABLE,
            b: self.b + rho * h,
        }
    }

    /// Raises both components to `s`: an encryption of s·M under the same key.
    pub fn pow(&self, s: &Scalar) -> Ciphertext {
        Ciphertext {
            a: self.a * s,
            b: self.b * s,
        }
    }
}

/// Serialises the *doubles* of the ciphertexts, 2·(a, b) — an encryption
/// of 2·M with randomness 2ρ — compressed in batches, several times cheaper
/// than [`encode`] (which takes an inverse square root per point). Whoever
/// uses it must treat every ciphertext of the list alike (doubling its own
/// copies too), so that equal plaintexts stay equal.
pub fn encode_doubled(cts: &[Ciphertext]) -> Vec<u8> {
    let pts: Vec<RistrettoPoint> = cts.iter().flat_map(|c| [c.a, c.b]).collect();
    par_ranges(pts.len(), |r| double_compress(pts.get(r).unwrap_or(&[]))).concat()
}

/// `c + c`: what a receiver of [`encode_doubled`] gets, computed locally.
pub fn doubled(c: &Ciphertext) -> Ciphertext {
    Ciphertext {
        a: c.a + c.a,
        b: c.b + c.b,
    }
}

/// Serialises ciphertexts (two compressed points each).
pub fn encode(cts: &[Ciphertext]) -> Vec<u8> {
    let parts = par_map(cts, |c| {
        let mut out = [0u8; CIPHERTEXT_BYTES];
        out[..POINT_BYTES].copy_from_slice(c.a.compress().as_bytes());
        out[POINT_BYTES..].copy_from_slice(c.b.compress().as_bytes());
        out
    });
    parts.concat()
}

/// Parses exactly `expected` ciphertexts, rejecting invalid points.
pub fn decode(payload: &[u8], expected: usize, peer: usize) -> Result<Vec<Ciphertext>> {
    if payload.len() != expected * CIPHERTEXT_BYTES {
        return Err(MpcError::WrongLength {
            peer,
            expected,
            got: payload.len() / CIPHERTEXT_BYTES,
        });
    }
    let chunks: Vec<&[u8]> = payload.chunks_exact(CIPHERTEXT_BYTES).collect();
    par_map(&chunks, |c| {
        let (a, b) = c.split_at(POINT_BYTES);
        let a = CompressedRistretto::from_slice(a).ok()?.decompress()?;
        let b = CompressedRistretto::from_slice(b).ok()?.decompress()?;
        Some(Ciphertext { a, b })
    })
    .into_iter()
    .map(|c| c.ok_or(MpcError::BadPoint { peer }))
    .collect()
}
