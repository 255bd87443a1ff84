//! Row tags by AES-128 on replicated shares, for three parties.
//!
//! Every party hashes each identifier to 128 bits (SHA-256, truncated,
//! domain-separated) and inputs the hashes in replicated XOR shares. The
//! hashes are shuffled with the table ([`crate::shuffle::shuffle_with_words`]),
//! bitsliced, and encrypted with AES-128 on shares under a key drawn from
//! pairwise randomness, which no party knows ([`crate::boolean::aes`]). The
//! ciphertexts are opened: the rows' tags. AES is a permutation, so equal
//! tags mean equal hashes; a party that knows an identifier cannot compute
//! its tag, and the shuffle hides which row came from where.

use super::{hello, share_rows, Rows};
use crate::boolean::aes::{blocks_of, encrypt, hash_words, random_key, slice_shares, unbitslice};
use crate::error::Result;
use crate::field::Fp;
use crate::party::{BitShares, Party};
use crate::shuffle::shuffle_with_words;
use crate::transport::Transport;
use zeroize::Zeroizing;

const DOMAIN: &[u8] = b"symbolon-mpc/linkage-aes/v1";

/// Shares the rows, shuffles them and tags them (see the module).
pub(super) fn shuffle_and_tag<T: Transport, I: AsRef<[u8]> + Sync>(
    party: &mut Party<T>,
    ids: &[I],
    columns: &[Vec<Fp>],
) -> Result<(Rows, Vec<u128>)> {
    let super::Hello { sizes, ncols, .. } = hello(party, ids.len(), columns.len(), &[])?;
    let total: usize = sizes.iter().sum();
    let rows = share_rows(party, columns, &sizes, &ncols)?;
    let mine: Zeroizing<Vec<u64>> = Zeroizing::new(
        ids.iter()
            .flat_map(|id| hash_words(DOMAIN, id.as_ref()))
            .collect(),
    );
    let lens: Vec<usize> = sizes.iter().map(|s| 2 * s).collect();
    let blocks_by_party = party.replicated_input_all(&mine, &lens)?;
    let hashes = BitShares::concat(&blocks_by_party.iter().collect::<Vec<_>>());
    drop(blocks_by_party);
    let (table, hashes) = shuffle_with_words(party, &rows.columns, total, hashes, 2)?;
    let state = slice_shares(&blocks_of(hashes.own()), &blocks_of(hashes.next()))?;
    drop(hashes);
    let key = random_key(party)?;
    let ciphertexts = encrypt(party, &key, state)?;
    // All eight planes in one opening round.
    let opened =
        party.replicated_open(&BitShares::concat(&ciphertexts.iter().collect::<Vec<_>>()))?;
    let per_plane = opened.len() / 8;
    let mut planes: [Vec<u64>; 8] = Default::default();
    for (plane, words) in planes.iter_mut().zip(opened.chunks_exact(per_plane.max(1))) {
        *plane = words.to_vec();
    }
    Ok((
        Rows {
            columns: table,
            ncols: rows.ncols,
        },
        unbitslice(&planes, total),
    ))
}
