//! Private record linkage: builds a joint, secret-shared table of all
//! parties' records, aligned on a common identifier, without revealing to
//! anyone which records matched.
//!
//! 1. Every party announces its record and column counts, and secret-shares
//!    its attribute columns and a presence column (1 on its rows) into a
//!    table of all records (each party's columns zero on the others' rows).
//! 2. The rows are shuffled with a permutation no t parties know
//!    ([`crate::shuffle`]), together with a hidden form of each row's
//!    identifier.
//! 3. Each row gets a public **tag**, a pseudorandom function of its
//!    identifier under a key nobody knows: equal exactly for equal
//!    identifiers, and unlinkable to any party's records because the rows
//!    were shuffled first.
//!    - With three parties ([`aes_tags`]): the identifiers' hashes are
//!      input in replicated boolean shares, shuffled with the table, and
//!      encrypted with AES-128 on shares under a shared random key; the
//!      ciphertexts are opened. Symmetric-key work only: about 640 bytes
//!      sent per row and party, in 60 rounds.
//!    - With more parties ([`elgamal_tags`]): ElGamal encryptions of H(id)
//!      in Ristretto255 travel with the shuffle, then are blinded and
//!      decrypted along a chain of t + 1 parties into S·H(id).
//! 4. Rows with equal tags are added together: one row per distinct
//!    identifier, with every party's presence and attributes still secret.
//!    The rows held by every party are marked by a secret 0/1 column.
//!
//! Reveals: each party's record count and column count, the number of
//! distinct identifiers, and how many identifiers are held by how many
//! parties' rows in total (the tag multiplicities), but not which records
//! or which parties. Semi-honest security with an honest majority; AES as
//! a pseudorandom permutation, or DDH in Ristretto255.

mod aes_tags;
mod elgamal_tags;

use crate::error::{MpcError, Result};
use crate::field::Fp;
use crate::party::Party;
use crate::secret::SecretVec;
use crate::transport::Transport;
use std::collections::BTreeMap;

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

/// Runs private linkage: `ids` are our records' identifiers (distinct) and
/// `columns` our encoded attribute columns, one value per record.
pub fn link_private<T: Transport, I: AsRef<[u8]> + Sync>(
    party: &mut Party<T>,
    ids: &[I],
    columns: &[Vec<Fp>],
) -> Result<JointTable> {
    if let Some(c) = columns.iter().find(|c| c.len() != ids.len()) {
        return Err(MpcError::LengthMismatch {
            left: c.len(),
            right: ids.len(),
        });
    }
    let (table, tags): (Rows, Vec<Tag>) = if party.parties() == 3 {
        let (table, tags) = aes_tags::shuffle_and_tag(party, ids, columns)?;
        (table, tags.into_iter().map(Tag::Block).collect())
    } else {
        let (table, tags) = elgamal_tags::shuffle_and_tag(party, ids, columns)?;
        (table, tags.into_iter().map(Tag::Point).collect())
    };
    merge(party, table, &tags)
}

/// A row's public tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tag {
    Block(u128),
    Point([u8; 32]),
}

/// The shared table before merging: rows of all parties, shuffled.
struct Rows {
    /// Per party, its presence column then its attribute columns.
    columns: Vec<SecretVec>,
    /// Attribute columns per party.
    ncols: Vec<usize>,
}

/// Sends our body to every other party and receives theirs.
fn broadcast<T: Transport>(party: &mut Party<T>, body: &[u8]) -> Result<Vec<(usize, Vec<u8>)>> {
    let me = party.index();
    let n = party.parties();
    let others: Vec<usize> = (0..n).filter(|&j| j != me).collect();
    let chan = party.channel();
    let out = others
        .iter()
        .map(|&j| {
            let mut m = chan.message_with_capacity(j, body.len());
            m.extend_from_slice(body);
            (j, m)
        })
        .collect();
    Ok(chan
        .exchange(out, &others)?
        .into_iter()
        .map(|m| (m.peer, m.payload().to_vec()))
        .collect())
}

/// What every party announced before the linkage.
struct Hello {
    /// Record counts, per party.
    sizes: Vec<usize>,
    /// Attribute column counts, per party.
    ncols: Vec<usize>,
    /// The extra bytes each other party sent, with its index.
    extras: Vec<(usize, Vec<u8>)>,
}

/// Every party's record and column counts, with `extra` bytes of ours
/// appended for every party (as many bytes from each). Caps what a peer can
/// make us allocate: 1,024 columns, 2^26 shares per party's block.
fn hello<T: Transport>(
    party: &mut Party<T>,
    records: usize,
    columns: usize,
    extra: &[u8],
) -> Result<Hello> {
    let me = party.index();
    let n = party.parties();
    let mut body = Vec::with_capacity(16 + extra.len());
    body.extend_from_slice(&(records as u64).to_le_bytes());
    body.extend_from_slice(&(columns as u64).to_le_bytes());
    body.extend_from_slice(extra);
    let mut sizes = vec![0usize; n];
    let mut ncols = vec![0usize; n];
    if let (Some(s), Some(c)) = (sizes.get_mut(me), ncols.get_mut(me)) {
        *s = records;
        *c = columns;
    }
    let mut extras = Vec::new();
    for (peer, p) in broadcast(party, &body)? {
        let bad = MpcError::Malformed {
            peer,
            reason: "bad linkage hello",
        };
        if p.len() != 16 + extra.len() {
            return Err(bad);
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(p.get(i..i + 8).unwrap_or(&[0; 8]));
            usize::try_from(u64::from_le_bytes(w)).unwrap_or(usize::MAX)
        };
        let (len, cols) = (word(0), word(8));
        if cols > 1024 || len.saturating_mul(cols + 1) > (1 << 26) {
            return Err(bad);
        }
        if let (Some(s), Some(c)) = (sizes.get_mut(peer), ncols.get_mut(peer)) {
            *s = len;
            *c = cols;
        }
        extras.push((peer, p.get(16..).unwrap_or(&[]).to_vec()));
    }
    Ok(Hello {
        sizes,
        ncols,
        extras,
    })
}

/// Shares every party's presence column and attribute columns into a
/// table of all records, party 0's rows first (one input round per party).
fn share_rows<T: Transport>(
    party: &mut Party<T>,
    columns: &[Vec<Fp>],
    sizes: &[usize],
    ncols: &[usize],
) -> Result<Rows> {
    let me = party.index();
    let total: usize = sizes.iter().sum();
    let mut table: Vec<SecretVec> = Vec::new();
    let mut offset = 0;
    for (p, (&len, &k)) in sizes.iter().zip(ncols).enumerate() {
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
    Ok(Rows {
        columns: table,
        ncols: ncols.to_vec(),
    })
}

/// Adds up the rows with equal tags and marks the rows every party holds.
fn merge<T: Transport>(party: &mut Party<T>, table: Rows, tags: &[Tag]) -> Result<JointTable> {
    let n = party.parties();
    let mut groups: BTreeMap<Tag, Vec<usize>> = BTreeMap::new();
    for (r, t) in tags.iter().enumerate() {
        groups.entry(*t).or_default().push(r);
    }
    let rows = groups.len();
    let merged: Vec<SecretVec> = table
        .columns
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
                .take(table.ncols.get(p).copied().unwrap_or(0))
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
