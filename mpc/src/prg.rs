//! Pseudorandom shares from pairwise seeds.
//!
//! Every pair of parties shares a 32-byte seed from session set-up. When
//! party `d` deals a sharing, the shares of the `t` parties after it (mod n)
//! are not sent: both sides expand them from the pair's key with ChaCha,
//! on a stream named by the round (ChaCha12, the round count of `rand`'s `StdRng`). This is the pseudorandom-secret-sharing
//! idea applied per dealer: it cuts the bytes of every input and every
//! multiplication by the fraction `t / (n − 1)`.

use crate::channel::SessionId;
use crate::field::{Fp, ELEMENT_BYTES};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A key for the one-way stream from a dealer to a receiver.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PairKey([u8; 32]);

impl core::fmt::Debug for PairKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PairKey").finish_non_exhaustive()
    }
}

impl PairKey {
    /// Derives the key for dealer → receiver from the pair's seed.
    pub fn derive(seed: &[u8; 32], session: &SessionId, dealer: usize, receiver: usize) -> PairKey {
        let mut h = Sha256::new();
        h.update(b"symbolon-mpc/pair-stream/v1");
        h.update(seed);
        h.update(session);
        h.update((dealer as u64).to_le_bytes());
        h.update((receiver as u64).to_le_bytes());
        PairKey(h.finalize().into())
    }

    /// `len` pseudorandom field elements for the given round.
    pub fn expand(&self, round: u64, len: usize) -> Vec<Fp> {
        let mut rng = ChaCha12Rng::from_seed(self.0);
        rng.set_stream(round);
        let mut buf = vec![0u8; len * ELEMENT_BYTES];
        rng.fill_bytes(&mut buf);
        let out = buf
            .chunks_exact(ELEMENT_BYTES)
            .map(|c| {
                let mut b = [0u8; ELEMENT_BYTES];
                b.copy_from_slice(c);
                Fp::from_random_bytes(b)
            })
            .collect();
        buf.zeroize();
        out
    }
}
