//! Oblivious shuffle of a secret-shared table together with a list of
//! ElGamal ciphertexts, so that no coalition of t parties knows the
//! permutation.
//!
//! For every (t + 1)-subset S of the first 2t + 1 parties, the members of S
//! share a seed (sent by the subset's first member) from which they derive a
//! permutation π_S. With t + 1 members, the Shamir shares convert locally to
//! an additive sharing (member i holds λᵢ·xᵢ with Lagrange coefficients over
//! S); each member permutes its additive share and deals it afresh, and
//! everyone adds the dealt sharings: a new Shamir sharing of π_S(x). The
//! subset's first member (its leader) permutes the ciphertexts; when they
//! leave a leader, it re-randomises them with randomness of its own and
//! passes them to the next subset's leader only (the last leader to the
//! party that needs the result). Any t
//! parties miss at least one subset among the first 2t + 1 parties, so the
//! composed permutation is hidden from them (statistically for the shares,
//! under DDH for the ciphertexts).

use crate::elgamal::{self, Ciphertext};
use crate::error::{MpcError, Result};
use crate::field::Fp;
use crate::group::par_map;
use crate::party::{BitShares, Party};
use crate::secret::SecretVec;
use crate::shamir::{lagrange_at, point};
use crate::transport::Transport;
use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;
use sha2::{Digest, Sha256, Sha512};
use zeroize::Zeroizing;

/// All k-subsets of `0..m`, in lexicographic order.
fn combinations(m: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut cur: Vec<usize> = (0..k).collect();
    if k > m {
        return out;
    }
    loop {
        out.push(cur.clone());
        // Find the rightmost position that can still move right.
        let Some(i) = (0..k)
            .rev()
            .find(|&i| cur.get(i).is_some_and(|&c| c < m - k + i))
        else {
            return out;
        };
        if let Some(c) = cur.get_mut(i) {
            *c += 1;
        }
        let base = cur.get(i).copied().unwrap_or(0);
        for (j, c) in cur.iter_mut().enumerate().skip(i + 1) {
            *c = base + (j - i);
        }
    }
}

/// The subsets whose permutations are composed.
pub fn subsets(t: usize) -> Vec<Vec<usize>> {
    combinations(2 * t + 1, t + 1)
}

/// The party that must hold the ciphertexts when [`shuffle`] starts: the
/// first subset's leader (party 0).
pub fn first_leader(t: usize) -> usize {
    subsets(t)
        .first()
        .and_then(|s| s.first())
        .copied()
        .unwrap_or(0)
}

fn derive(seed: &[u8; 32], label: &[u8]) -> ChaCha12Rng {
    let mut h = Sha256::new();
    h.update(b"symbolon-mpc/shuffle/v1");
    h.update(label);
    h.update(seed);
    ChaCha12Rng::from_seed(h.finalize().into())
}

/// A uniformly random permutation of `0..n` from a seed (Fisher–Yates).
pub(crate) fn permutation(seed: &[u8; 32], n: usize) -> Vec<usize> {
    let mut rng = derive(seed, b"permutation");
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.gen_range(0..=i);
        p.swap(i, j);
    }
    p
}

/// `new[perm[r]] = old[r]`.
fn apply<V: Clone + Default>(perm: &[usize], old: &[V]) -> Vec<V> {
    let mut new = vec![V::default(); old.len()];
    for (&to, v) in perm.iter().zip(old) {
        if let Some(slot) = new.get_mut(to) {
            *slot = v.clone();
        }
    }
    new
}

/// One round: the first member of each subset sends a fresh seed to the others.
fn group_seeds<T: Transport>(
    party: &mut Party<T>,
    subs: &[Vec<usize>],
) -> Result<Vec<Option<Zeroizing<[u8; 32]>>>> {
    let me = party.index();
    let n = party.parties();
    let mut seeds: Vec<Option<Zeroizing<[u8; 32]>>> = vec![None; subs.len()];
    let mut bodies: Vec<Vec<u8>> = vec![Vec::new(); n];
    for (s, slot) in subs.iter().zip(seeds.iter_mut()) {
        if s.first() == Some(&me) {
            let mut seed = Zeroizing::new([0u8; 32]);
            OsRng.fill_bytes(&mut seed[..]);
            for &j in s.iter().skip(1) {
                if let Some(b) = bodies.get_mut(j) {
                    b.extend_from_slice(&seed[..]);
                }
            }
            *slot = Some(seed);
        }
    }
    let chan = party.channel();
    let out = bodies
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(j, b)| {
            let mut m = chan.message_with_capacity(j, b.len());
            m.extend_from_slice(b);
            (j, m)
        })
        .collect();
    let mut leaders: Vec<usize> = subs
        .iter()
        .filter(|s| s.contains(&me))
        .filter_map(|s| s.first().copied())
        .filter(|&l| l != me)
        .collect();
    leaders.sort_unstable();
    leaders.dedup();
    let inc = chan.exchange(out, &leaders)?;
    for m in inc {
        let mut chunks = m.payload().chunks_exact(32);
        for (s, slot) in subs.iter().zip(seeds.iter_mut()) {
            if s.first() == Some(&m.peer) && s.contains(&me) {
                let c = chunks.next().ok_or(MpcError::Malformed {
                    peer: m.peer,
                    reason: "too few shuffle seeds",
                })?;
                let mut seed = Zeroizing::new([0u8; 32]);
                seed.copy_from_slice(c);
                *slot = Some(seed);
            }
        }
        if chunks.next().is_some() || !chunks.remainder().is_empty() {
            return Err(MpcError::Malformed {
                peer: m.peer,
                reason: "unexpected shuffle seed bytes",
            });
        }
    }
    Ok(seeds)
}

/// Shuffles the rows of a shared table (`columns`, all of `rows` rows) and
/// the ciphertext list (one per row) with the same hidden permutation.
///
/// Only [`first_leader`] passes the ciphertexts (the others an empty list);
/// the shuffled ciphertexts are returned to party `deliver_to` only, the
/// others get an empty list. Every party gets its shares of the table.
pub fn shuffle<T: Transport>(
    party: &mut Party<T>,
    columns: &[SecretVec],
    rows: usize,
    cts: Vec<Ciphertext>,
    key: &RistrettoPoint,
    deliver_to: usize,
) -> Result<(Vec<SecretVec>, Vec<Ciphertext>)> {
    if let Some(c) = columns.iter().find(|c| c.len() != rows) {
        return Err(MpcError::LengthMismatch {
            left: c.len(),
            right: rows,
        });
    }
    let me = party.index();
    let subs = subsets(party.threshold());
    if me == first_leader(party.threshold()) && cts.len() != rows {
        return Err(MpcError::LengthMismatch {
            left: cts.len(),
            right: rows,
        });
    }
    let seeds = group_seeds(party, &subs)?;
    // Re-randomising with a table of the key: fixed-base multiplications only.
    let key_table = RistrettoBasepointTable::create(key);
    let mut cols: Vec<SecretVec> = columns.to_vec();
    let mut cts = cts;
    for (j, (s, seed)) in subs.iter().zip(&seeds).enumerate() {
        let perm = seed.as_ref().map(|sd| permutation(sd, rows));
        cols = permute_columns(party, s, perm.as_deref(), &cols, rows)?;
        let leader = s.first().copied().unwrap_or(0);
        let next = subs
            .get(j + 1)
            .and_then(|s| s.first())
            .copied()
            .unwrap_or(deliver_to);
        let chan = party.channel();
        let mut out = Vec::new();
        if me == leader {
            let perm = perm.unwrap_or_default();
            cts = apply(&perm, &cts);
            // Re-randomised (and sent doubled, as every list of the linkage
            // is) only when it leaves this leader, with randomness only the
            // leader knows: consecutive permutations by one leader then need
            // one re-randomisation (with randomness the subset shared, a
            // coalition knowing a later subset's seed could strip it and
            // link across an honest subset's permutation).
            if next != me {
                let mut rng = ChaCha12Rng::from_rng(OsRng)
                    .map_err(|_| MpcError::Unlucky("no OS randomness"))?;
                let rhos: Vec<Scalar> = (0..rows)
                    .map(|_| {
                        let mut w = [0u8; 64];
                        rng.fill_bytes(&mut w);
                        Scalar::from_bytes_mod_order_wide(&w)
                    })
                    .collect();
                let pairs: Vec<(Ciphertext, Scalar)> = cts.into_iter().zip(rhos).collect();
                let fresh = par_map(&pairs, |(c, r)| c.rerandomize_with(&key_table, r));
                let body = elgamal::encode_doubled(&fresh);
                let mut m = chan.message_with_capacity(next, body.len());
                m.extend_from_slice(&body);
                out.push((next, m));
                cts = Vec::new();
            }
        }
        let from: &[usize] = if me == next && next != leader {
            &[leader]
        } else {
            &[]
        };
        let inc = chan.exchange(out, from)?;
        if let Some(m) = inc.first() {
            cts = elgamal::decode(m.payload(), rows, leader)?;
        }
    }
    Ok((cols, cts))
}

/// One subset's step on the shared columns: the members turn their shares
/// into an additive sharing over the subset, permute it by `perm` (known to
/// the members only) and deal it afresh; everyone adds the dealt sharings.
fn permute_columns<T: Transport>(
    party: &mut Party<T>,
    subset: &[usize],
    perm: Option<&[usize]>,
    cols: &[SecretVec],
    rows: usize,
) -> Result<Vec<SecretVec>> {
    let me = party.index();
    let k = cols.len();
    let mine: Option<Zeroizing<Vec<Fp>>> = match (perm, subset.iter().position(|&m| m == me)) {
        (Some(perm), Some(pos)) => {
            let xs: Vec<Fp> = subset.iter().map(|&m| point(m)).collect();
            let lambda = lagrange_at(&xs, Fp::ZERO)
                .and_then(|l| l.get(pos).copied())
                .ok_or(MpcError::Unlucky("repeated point"))?;
            let mut flat = Zeroizing::new(Vec::with_capacity(k * rows));
            for c in cols {
                let scaled: Vec<Fp> = c.shares().iter().map(|&x| lambda * x).collect();
                flat.extend(apply(perm, &scaled));
            }
            Some(flat)
        }
        _ => None,
    };
    let ones = vec![Fp::ONE; subset.len()];
    let flat = party.deal_combine(
        subset,
        mine.as_deref().map(|v| v.as_slice()),
        k * rows,
        &ones,
    )?;
    SecretVec::from_shares(flat).split(&vec![rows; k])
}

/// `new[perm[r]] = old[r]` for rows of `width` words.
pub(crate) fn apply_rows(perm: &[usize], old: &[u64], width: usize) -> Vec<u64> {
    let mut new = vec![0u64; old.len()];
    for (&to, row) in perm.iter().zip(old.chunks_exact(width.max(1))) {
        if let Some(slot) = new.get_mut(to * width..(to + 1) * width) {
            slot.copy_from_slice(row);
        }
    }
    new
}

/// Shuffles the rows of a shared table (`columns`, all of `rows` rows) and
/// of replicated shares of `width` words per row (three parties only) with
/// the same hidden permutation.
///
/// For each pair subset, the pair turns the replicated shares into a
/// two-party XOR sharing ([`Party::replicated_to_pair`]), both permute it,
/// and they share it back to all three ([`Party::replicated_from_pair`]);
/// the outsider sees only fresh pseudorandom shares.
pub fn shuffle_with_words<T: Transport>(
    party: &mut Party<T>,
    columns: &[SecretVec],
    rows: usize,
    words: BitShares,
    width: usize,
) -> Result<(Vec<SecretVec>, BitShares)> {
    if let Some(c) = columns.iter().find(|c| c.len() != rows) {
        return Err(MpcError::LengthMismatch {
            left: c.len(),
            right: rows,
        });
    }
    if words.len() != rows * width {
        return Err(MpcError::LengthMismatch {
            left: words.len(),
            right: rows * width,
        });
    }
    if party.parties() != 3 {
        return Err(MpcError::Config(
            "shuffling replicated shares needs exactly three parties".into(),
        ));
    }
    let subs = subsets(party.threshold());
    let seeds = group_seeds(party, &subs)?;
    let mut cols: Vec<SecretVec> = columns.to_vec();
    let mut words = words;
    for (s, seed) in subs.iter().zip(&seeds) {
        let perm = seed.as_ref().map(|sd| permutation(sd, rows));
        cols = permute_columns(party, s, perm.as_deref(), &cols, rows)?;
        let outsider = (0..3).find(|p| !s.contains(p)).unwrap_or(0);
        let mine = match (party.replicated_to_pair(&words, outsider), &perm) {
            (Some(pair), Some(perm)) => Some(Zeroizing::new(apply_rows(perm, &pair, width))),
            _ => None,
        };
        words = party.replicated_from_pair(
            outsider,
            mine.as_deref().map(|v| v.as_slice()),
            rows * width,
        )?;
    }
    Ok((cols, words))
}

/// Hashes identifiers to points for the private linkage (domain-separated).
pub fn hash_id(id: &[u8]) -> RistrettoPoint {
    let mut input = b"symbolon-mpc/private-linkage/v1".to_vec();
    input.extend_from_slice(id);
    RistrettoPoint::hash_from_bytes::<Sha512>(&input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_cover_every_coalition() {
        for t in 1..=3 {
            let subs = subsets(t);
            for coalition in combinations(2 * t + 1, t) {
                assert!(subs
                    .iter()
                    .any(|s| s.iter().all(|m| !coalition.contains(m))));
            }
        }
        assert_eq!(subsets(1), vec![vec![0, 1], vec![0, 2], vec![1, 2]]);
    }

    #[test]
    fn permutations_are_permutations() {
        let p = permutation(&[9u8; 32], 100);
        let mut q = p.clone();
        q.sort_unstable();
        assert_eq!(q, (0..100).collect::<Vec<_>>());
        assert_eq!(apply(&p, &(0..100).collect::<Vec<usize>>()).len(), 100);
    }
}
