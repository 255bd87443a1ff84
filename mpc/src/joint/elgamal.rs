//! Private record linkage: builds a joint, secret-shared table of all
//! parties' records, aligned on a common identifier, without revealing to
//! anyone which records matched.
//!
//! 1. Parties 0..=t draw ElGamal key shares; the joint key is their sum
//!    (any coalition of at most t parties misses one).
//! 2. Every party encrypts H(id) of each of its records under the joint key
//!    and sends the ciphertexts to the shuffle's first leader (party 0); it secret-shares its attribute columns
//!    and a presence column (1 on its rows) into a table of all records.
//! 3. The table rows and the ciphertexts are shuffled together with a
//!    permutation no t parties know ([`crate::shuffle`]); the ciphertexts
//!    go from subset leader to subset leader and end at party 0.
//! 4. Each of parties 0, 1, …, t in turn raises every ciphertext to a
//!    fresh secret scalar s_i and removes its own key share x_i:
//!    (a, b) ↦ (s_i·a, s_i·b − (s_i·x_i)·a), an encryption of s_i·M under
//!    the remaining parties' keys, which it passes to the next party only.
//!    The last party's output is the plaintext S·H(id) (S = Π s_i, which
//!    nobody knows), published as each row's tag: equal exactly for equal
//!    identifiers.
//! 5. Rows with equal tags are added together (each party's columns are
//!    zero on the other parties' rows): one row per distinct identifier,
//!    with every party's presence and attributes still secret. The rows
//!    held by every party are marked by a secret 0/1 column.
//!
//! Reveals: each party's record count and column count, the number of
//! distinct identifiers, and how many identifiers are held by how many
//! parties' rows in total (the tag multiplicities), but not which records
//! or which parties. Semi-honest security, DDH in Ristretto255.

use crate::elgamal::{self, Ciphertext};
use crate::error::{MpcError, Result};
use crate::field::Fp;
use crate::group::{double_compress, par_map, par_ranges, POINT_BYTES};
use crate::party::Party;
use crate::secret::SecretVec;
use crate::shuffle::{first_leader, hash_id, shuffle};
use crate::transport::Transport;
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::MultiscalarMul;
use rand::rngs::OsRng;
use std::collections::BTreeMap;
use zeroize::Zeroize;

/// The joint table: one row per distinct identifier over all parties.
#[derive(Debug, Clone)]
pub struct JointTable {
    /// Number of rows.
    pub rows: usize,
    /// `presence[p]`: secret 0/1 per row, whether party p holds the identifier.
    pub presence: Vec<SecretVec>,
    /// `columns[p][c]`: party p's attribute column c per row (0 where absent).
    pub columns: Vec<Vec<SecretVec>>,
    /// Secret 0/1 per row: the identifier is held by every party.
    pub in_all: SecretVec,
}

fn broadcast<T: Transport>(
    party: &mut Party<T>,
    body: &[u8],
    from: &[usize],
) -> Result<Vec<(usize, Vec<u8>)>> {
    let me = party.index();
    let n = party.parties();
    let chan = party.channel();
    let out = (0..n)
        .filter(|&j| j != me)
        .map(|j| {
            let mut m = chan.message_with_capacity(j, body.len());
            m.extend_from_slice(body);
            (j, m)
        })
        .collect();
    Ok(chan
        .exchange(out, from)?
        .into_iter()
        .map(|m| (m.peer, m.payload().to_vec()))
        .collect())
}

/// Runs private linkage: `ids` are our records' identifiers (distinct) and
/// `columns` our encoded attribute columns, one value per record.
pub fn link_private<T: Transport, I: AsRef<[u8]> + Sync>(
    party: &mut Party<T>,
    ids: &[I],
    columns: &[Vec<Fp>],
) -> Result<JointTable> {
    let me = party.index();
    let n = party.parties();
    if let Some(c) = columns.iter().find(|c| c.len() != ids.len()) {
        return Err(MpcError::LengthMismatch {
            left: c.len(),
            right: ids.len(),
        });
    }
    let others: Vec<usize> = (0..n).filter(|&j| j != me).collect();
    // 1. Sizes and key shares.
    // Key shares and blinding: parties 0..=t (any t parties miss one).
    let holders = party.threshold() + 1;
    let mut x = if me < holders {
        Scalar::random(&mut OsRng)
    } else {
        Scalar::ZERO
    };
    let h_me = &x * RISTRETTO_BASEPOINT_TABLE;
    let mut hello = Vec::with_capacity(16 + POINT_BYTES);
    hello.extend_from_slice(&(ids.len() as u64).to_le_bytes());
    hello.extend_from_slice(&(columns.len() as u64).to_le_bytes());
    hello.extend_from_slice(h_me.compress().as_bytes());
    let mut sizes = vec![0usize; n];
    let mut ncols = vec![0usize; n];
    let mut key = h_me;
    if let (Some(s), Some(c)) = (sizes.get_mut(me), ncols.get_mut(me)) {
        *s = ids.len();
        *c = columns.len();
    }
    for (peer, p) in broadcast(party, &hello, &others)? {
        let bad = MpcError::Malformed {
            peer,
            reason: "bad linkage hello",
        };
        if p.len() != 16 + POINT_BYTES {
            return Err(bad);
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(p.get(i..i + 8).unwrap_or(&[0; 8]));
            usize::try_from(u64::from_le_bytes(w)).unwrap_or(usize::MAX)
        };
        let (len, cols) = (word(0), word(8));
        // Caps what a peer can make us allocate: 2^26 shares per party's block.
        if cols > 1024 || len.saturating_mul(cols + 1) > (1 << 26) {
            return Err(bad);
        }
        let h = CompressedRistretto::from_slice(p.get(16..).unwrap_or(&[]))
            .ok()
            .and_then(|c| c.decompress())
            .ok_or(MpcError::BadPoint { peer })?;
        key += h;
        if let (Some(s), Some(c)) = (sizes.get_mut(peer), ncols.get_mut(peer)) {
            *s = len;
            *c = cols;
        }
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
    // Shared table: for each party, a presence column and its attributes,
    // zero outside its rows.
    let mut table: Vec<SecretVec> = Vec::new();
    let mut offset = 0;
    for p in 0..n {
        let (len, k) = (
            sizes.get(p).copied().unwrap_or(0),
            ncols.get(p).copied().unwrap_or(0),
        );
        let mine: Option<Vec<Fp>> = (p == me).then(|| {
            let mut v = vec![Fp::ONE; len];
            for c in columns {
                v.extend_from_slice(c);
            }
            v
        });
        let block = party.input(p, mine.as_deref(), len * (1 + k))?;
        for piece in block.split(&vec![len; 1 + k])? {
            let mut col = vec![Fp::ZERO; total];
            if let Some(dst) = col.get_mut(offset..offset + len) {
                dst.copy_from_slice(piece.shares());
            }
            table.push(SecretVec::from_shares(col));
        }
        offset += len;
    }
    // 3. Shuffle rows and ciphertexts together.
    let (table, mut cts) = shuffle(party, &table, total, cts, &key, 0)?;
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
    // 5. Merge rows with equal tags.
    let mut groups: BTreeMap<[u8; POINT_BYTES], Vec<usize>> = BTreeMap::new();
    for (r, t) in compressed.iter().enumerate() {
        groups.entry(*t).or_default().push(r);
    }
    let rows = groups.len();
    let merged: Vec<SecretVec> = table
        .iter()
        .map(|col| {
            SecretVec::from_shares(
                groups
                    .values()
                    .map(|rs| {
                        rs.iter()
                            .map(|&r| col.shares().get(r).copied().unwrap_or_default())
                            .sum()
                    })
                    .collect(),
            )
        })
        .collect();
    let mut presence = Vec::with_capacity(n);
    let mut cols_out = Vec::with_capacity(n);
    let mut it = merged.into_iter();
    for p in 0..n {
        presence.push(it.next().unwrap_or_default());
        cols_out.push(
            it.by_ref()
                .take(ncols.get(p).copied().unwrap_or(0))
                .collect(),
        );
    }
    let mut in_all = presence.first().cloned().unwrap_or_default();
    for p in presence.iter().skip(1) {
        in_all = party.mul(&in_all, p)?;
    }
    Ok(JointTable {
        rows,
        presence,
        columns: cols_out,
        in_all,
    })
}
