//! Row tags by ElGamal in Ristretto255, for any number of parties.
//!
//! Parties 0..=t draw ElGamal key shares; the joint key is their sum (any
//! coalition of at most t parties misses one). Every party encrypts H(id) of
//! each of its records under the joint key and sends the ciphertexts to the
//! shuffle's first leader (party 0). The ciphertexts travel with the
//! shuffle ([`crate::shuffle::shuffle`]); then each of parties 0, 1, …, t in
//! turn raises every ciphertext to a fresh secret scalar s_i and removes its
//! own key share x_i: (a, b) ↦ (s_i·a, s_i·b − (s_i·x_i)·a), an encryption
//! of s_i·M under the remaining parties' keys, which it passes to the next
//! party only. The last party's output is the plaintext S·H(id) (S = Π s_i,
//! which nobody knows), published as each row's tag.

use super::{hello, share_rows, Rows};
use crate::elgamal::{self, Ciphertext};
use crate::error::{MpcError, Result};
use crate::field::Fp;
use crate::group::{double_compress, par_map, par_ranges, POINT_BYTES};
use crate::party::Party;
use crate::shuffle::{first_leader, hash_id, shuffle};
use crate::transport::Transport;
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::MultiscalarMul;
use rand::rngs::OsRng;
use zeroize::Zeroize;

/// Shares the rows, shuffles them and tags them (see the module).
pub(super) fn shuffle_and_tag<T: Transport, I: AsRef<[u8]> + Sync>(
    party: &mut Party<T>,
    ids: &[I],
    columns: &[Vec<Fp>],
) -> Result<(Rows, Vec<[u8; POINT_BYTES]>)> {
    let me = party.index();
    let n = party.parties();
    let others: Vec<usize> = (0..n).filter(|&j| j != me).collect();
    // 1. Sizes and key shares (parties 0..=t; any t parties miss one).
    let holders = party.threshold() + 1;
    let mut x = if me < holders {
        Scalar::random(&mut OsRng)
    } else {
        Scalar::ZERO
    };
    let h_me = &x * RISTRETTO_BASEPOINT_TABLE;
    let super::Hello {
        sizes,
        ncols,
        extras,
    } = hello(party, ids.len(), columns.len(), h_me.compress().as_bytes())?;
    let mut key = h_me;
    for (peer, p) in extras {
        let h = CompressedRistretto::from_slice(&p)
            .ok()
            .and_then(|c| c.decompress())
            .ok_or(MpcError::BadPoint { peer })?;
        key += h;
    }
    // 2. Ciphertexts of H(id), published.
    let key_table = RistrettoBasepointTable::create(&key);
    let mine_cts: Vec<Ciphertext> = par_map(ids, |id| {
        let rho = Scalar::random(&mut OsRng);
        Ciphertext::encrypt_with(&hash_id(id.as_ref()), &key_table, &rho)
    });
    // Only the shuffle's first leader needs them.
    let leader = first_leader(party.threshold());
    let mut per_party: Vec<Vec<Ciphertext>> = vec![Vec::new(); n];
    let chan = party.channel();
    let out = if me == leader {
        Vec::new()
    } else {
        let body = elgamal::encode_doubled(&mine_cts);
        let mut m = chan.message_with_capacity(leader, body.len());
        m.extend_from_slice(&body);
        vec![(leader, m)]
    };
    let from: &[usize] = if me == leader { &others } else { &[] };
    for m in chan.exchange(out, from)? {
        let expected = sizes.get(m.peer).copied().unwrap_or(0);
        if let Some(slot) = per_party.get_mut(m.peer) {
            *slot = elgamal::decode(m.payload(), expected, m.peer)?;
        }
    }
    if let Some(slot) = per_party.get_mut(me) {
        // The others' arrive doubled; every row must be treated alike.
        *slot = if me == leader {
            mine_cts.iter().map(elgamal::doubled).collect()
        } else {
            Vec::new()
        };
    }
    let cts: Vec<Ciphertext> = per_party.concat();
    let total: usize = sizes.iter().sum();

    let rows = share_rows(party, columns, &sizes, &ncols)?;
    // 3. Shuffle rows and ciphertexts together.
    let (table, mut cts) = shuffle(party, &rows.columns, total, cts, &key, 0)?;
    // 4. Blind and decrypt along the chain 0, 1, …, t: party i turns an
    //    encryption of M under x_i + … + x_t into one of s_i·M under
    //    x_{i+1} + … + x_t: (a, b) ↦ (s_i·a, s_i·b − (s_i·x_i)·a), and
    //    passes it to party i + 1 only. The last one's b is the tag S·M
    //    (S = Π s_i), which it publishes to all.
    let mut compressed: Vec<[u8; POINT_BYTES]> = Vec::new();
    for i in 0..holders {
        let last = i + 1 == holders;
        let chan_out = if i == me {
            let mut s = Scalar::random(&mut OsRng);
            let mut sx = s * x;
            let mut minus_sx = -sx;
            let next: Vec<Ciphertext> = par_map(&cts, |c| Ciphertext {
                a: if last { c.a } else { c.a * s },
                b: RistrettoPoint::multiscalar_mul([s, minus_sx], [c.b, c.a]),
            });
            s.zeroize();
            sx.zeroize();
            minus_sx.zeroize();
            cts = Vec::new();
            if last {
                let tags: Vec<RistrettoPoint> = next.iter().map(|c| c.b).collect();
                compressed =
                    par_ranges(tags.len(), |r| double_compress(tags.get(r).unwrap_or(&[])));
                Some((others.clone(), compressed.concat()))
            } else {
                Some((vec![i + 1], elgamal::encode_doubled(&next)))
            }
        } else {
            None
        };
        let chan = party.channel();
        let out = match chan_out {
            Some((to, body)) => to
                .into_iter()
                .map(|j| {
                    let mut m = chan.message_with_capacity(j, body.len());
                    m.extend_from_slice(&body);
                    (j, m)
                })
                .collect(),
            None => Vec::new(),
        };
        let from: Vec<usize> = if (last && me != i) || (!last && me == i + 1) {
            vec![i]
        } else {
            Vec::new()
        };
        let got = chan.exchange(out, &from)?;
        let Some(m) = got.first() else { continue };
        if last {
            // The tags are only compared, so they are not decompressed.
            let body = m.payload();
            if body.len() != total * POINT_BYTES {
                return Err(MpcError::WrongLength {
                    peer: i,
                    expected: total,
                    got: body.len() / POINT_BYTES,
                });
            }
            compressed = body
                .chunks_exact(POINT_BYTES)
                .map(|c| {
                    let mut t = [0u8; POINT_BYTES];
                    t.copy_from_slice(c);
                    t
                })
                .collect();
        } else {
            cts = elgamal::decode(m.payload(), total, i)?;
        }
    }

    x.zeroize();
    Ok((
        Rows {
            columns: table,
            ncols: rows.ncols,
        },
        compressed,
    ))
}
