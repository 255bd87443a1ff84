//! Record linkage on pseudonyms by commutative blinding over Ristretto255.
//!
//! Every party holds records keyed by a patient identifier. The parties
//! jointly compute, for each record, the pseudonym H(id)^(k₀·k₁·…·kₙ₋₁)
//! with each party's secret key kᵢ, so equal identifiers get equal
//! pseudonyms and nobody can compute a pseudonym alone.
//!
//! Protocol (n + 1 rounds, all lists travel at once):
//! 1. party P masks its points with a fresh scalar r_P: H(id)^r_P;
//! 2. for n − 1 rounds every list moves one party to the right and is
//!    raised to that party's key; a list is never seen unmasked by anyone
//!    but its owner, and its points are fresh random-looking values (DDH);
//! 3. the n-th hop returns each list to its owner, who removes r_P and
//!    applies its own key: it now holds its records' pseudonyms;
//! 4. one round in which every party sends the sorted set of its
//!    pseudonyms to every other; each computes the common pseudonyms (held
//!    by every party) in sorted order: the row order of the joint table.
//!
//! Every party then inputs its attributes in that row order (see
//! [`Linked::align`]), and the study runs on secret shares.
//!
//! What it reveals (see `SECURITY.md`): no identifier leaves its holder; the
//! sets of pseudonyms are visible to all parties, so each party learns the
//! size of every pairwise and joint overlap and which of *its own* records
//! are among the common ones. Attributes stay secret.
//!
//! When the holders must not learn which of their records matched, use
//! [`crate::joint::link_private`] instead: it builds the joint table with
//! secret membership, at the cost of an oblivious shuffle.

use crate::channel::Channel;
use crate::error::{MpcError, Result};
use crate::group::{
    decode_points, hash_to_points, mul_compress, push_points, split_points, POINT_BYTES,
};
use crate::transport::Transport;
use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use std::collections::{BTreeSet, HashMap};
use zeroize::Zeroize;

const DOMAIN: &[u8] = b"symbolon-mpc/linkage/v1";

/// The result of linkage for one party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    /// Number of records common to all parties (rows of the joint table).
    pub rows: usize,
    /// For each of our records (in our order), its row in the joint table,
    /// or `None` if it is not held by every party.
    pub row_of: Vec<Option<usize>>,
}

impl Linked {
    /// Arranges one of our attribute columns in joint-table row order.
    pub fn align<V: Clone + Default>(&self, column: &[V]) -> Result<Vec<V>> {
        if column.len() != self.row_of.len() {
            return Err(MpcError::LengthMismatch {
                left: column.len(),
                right: self.row_of.len(),
            });
        }
        let mut out = vec![V::default(); self.rows];
        for (v, r) in column.iter().zip(&self.row_of) {
            if let Some(slot) = r.and_then(|r| out.get_mut(r)) {
                *slot = v.clone();
            }
        }
        Ok(out)
    }
}

/// Runs linkage with every party of `chan`; `ids` are our records' identifiers.
pub fn link<T: Transport, I: AsRef<[u8]> + Sync>(
    chan: &mut Channel<T>,
    ids: &[I],
) -> Result<Linked> {
    let n = chan.parties();
    let me = chan.party();
    let next = (me + 1) % n;
    let prev = (me + n - 1) % n;
    let mut key = Scalar::random(&mut OsRng);
    let mut mask = Scalar::random(&mut OsRng);
    let points = hash_to_points(DOMAIN, ids);
    let mut current = mul_compress(&points, &mask);
    for hop in 0..n {
        let mut m = chan.message_with_capacity(next, current.len() * POINT_BYTES);
        push_points(&mut m, &current);
        let inc = chan.exchange(vec![(next, m)], &[prev])?;
        let inc = inc.first().ok_or(MpcError::Unlucky("no message"))?;
        let pts = decode_points(inc.payload(), prev)?;
        if hop + 1 < n {
            current = mul_compress(&pts, &key);
        } else {
            // Our own list is back: remove the mask, apply our key.
            if pts.len() != ids.len() {
                return Err(MpcError::WrongLength {
                    peer: prev,
                    expected: ids.len(),
                    got: pts.len(),
                });
            }
            let unmask = mask.invert() * key;
            current = mul_compress(&pts, &unmask);
        }
    }
    key.zeroize();
    mask.zeroize();
    // Exchange sorted pseudonym sets.
    let mine: BTreeSet<[u8; POINT_BYTES]> = current.iter().copied().collect();
    let sorted: Vec<[u8; POINT_BYTES]> = mine.iter().copied().collect();
    let peers: Vec<usize> = (0..n).filter(|&j| j != me).collect();
    let out = peers
        .iter()
        .map(|&j| {
            let mut m = chan.message_with_capacity(j, sorted.len() * POINT_BYTES);
            push_points(&mut m, &sorted);
            (j, m)
        })
        .collect();
    let mut common = mine;
    for inc in chan.exchange(out, &peers)? {
        let theirs: std::collections::HashSet<[u8; POINT_BYTES]> =
            split_points(inc.payload(), inc.peer)?.into_iter().collect();
        common.retain(|p| theirs.contains(p));
    }
    let index: HashMap<[u8; POINT_BYTES], usize> =
        common.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    Ok(Linked {
        rows: common.len(),
        row_of: current.iter().map(|p| index.get(p).copied()).collect(),
    })
}
