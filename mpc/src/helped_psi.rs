//! Private set intersection between two parties of a three-party session,
//! with the third party as helper: AES-128 on replicated shares as an
//! oblivious pseudorandom function (see `SECURITY.md`).
//!
//! The receiver and the sender input 128-bit hashes of their items in
//! replicated XOR shares (the sender in an order it drew at random); the
//! three parties encrypt all of them with AES-128 on shares under a key
//! drawn from pairwise randomness, which no party knows
//! ([`crate::boolean::aes`]); the ciphertexts are opened **to the receiver
//! only**. The receiver compares its tags with the sender's.
//!
//! - [`which`]: the receiver's tags are opened in its own order, so it
//!   learns which of its items the sender holds (as [`crate::psi`]'s
//!   `Which` mode).
//! - [`count`]: the receiver's hashes are first permuted by the sender and
//!   the helper with a permutation the receiver does not know, so it learns
//!   only how many (as `Count` mode).
//!
//! Reveals: to the receiver, the sender's set size and the intersection
//! (or its size); to the sender and the helper, the set sizes. Semi-honest
//! security with at most one corrupt party of the three: the helper must
//! not collude with either input party. Costs 5,120 ANDs per item, one bit
//! sent per AND by each party, in about 65 rounds: no public-key operation.

use crate::boolean::aes::{blocks_of, encrypt, hash_words, random_key, slice_shares, unbitslice};
use crate::error::{MpcError, Result};
use crate::party::{BitShares, Party};
use crate::shuffle::{apply_rows, permutation};
use crate::transport::Transport;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use std::collections::HashSet;
use zeroize::Zeroizing;

const DOMAIN: &[u8] = b"symbolon-mpc/helped-psi/v1";

/// The most items one party may announce (2^25).
pub const MAX_ITEMS: usize = 1 << 25;

/// Every party's item count, in one round.
fn sizes<T: Transport>(party: &mut Party<T>, mine: usize) -> Result<Vec<usize>> {
    let me = party.index();
    let others: Vec<usize> = (0..3).filter(|&j| j != me).collect();
    let chan = party.channel();
    let out = others
        .iter()
        .map(|&j| {
            let mut m = chan.message_with_capacity(j, 8);
            m.extend_from_slice(&(mine as u64).to_le_bytes());
            (j, m)
        })
        .collect();
    let mut sizes = vec![0usize; 3];
    if let Some(s) = sizes.get_mut(me) {
        *s = mine;
    }
    for inc in chan.exchange(out, &others)? {
        let bytes: [u8; 8] = inc.payload().try_into().map_err(|_| MpcError::Malformed {
            peer: inc.peer,
            reason: "an item count is 8 bytes",
        })?;
        let n = usize::try_from(u64::from_le_bytes(bytes)).unwrap_or(usize::MAX);
        if n > MAX_ITEMS {
            return Err(MpcError::Malformed {
                peer: inc.peer,
                reason: "more items than a helped PSI accepts",
            });
        }
        if let Some(s) = sizes.get_mut(inc.peer) {
            *s = n;
        }
    }
    Ok(sizes)
}

/// The receiver's tags and the sender's (both at the receiver only).
fn tags<T: Transport, I: AsRef<[u8]>>(
    party: &mut Party<T>,
    receiver: usize,
    sender: usize,
    mine: &[I],
    hide_receiver_order: bool,
) -> Result<Option<(Vec<u128>, Vec<u128>)>> {
    let me = party.index();
    if party.parties() != 3 || receiver == sender || receiver > 2 || sender > 2 {
        return Err(MpcError::Config(
            "a helped PSI needs three parties: a receiver, a sender and a helper".into(),
        ));
    }
    let helper = 3 - receiver - sender;
    let count = if me == helper { 0 } else { mine.len() };
    if count > MAX_ITEMS {
        return Err(MpcError::Config(format!(
            "{count} items, more than the {MAX_ITEMS} a helped PSI accepts"
        )));
    }
    let sizes = sizes(party, count)?;
    let mut words: Zeroizing<Vec<u64>> = Zeroizing::new(if me == helper {
        Vec::new()
    } else {
        mine.iter()
            .flat_map(|i| hash_words(DOMAIN, i.as_ref()))
            .collect()
    });
    if me == sender {
        // Our order must say nothing: the receiver sees our tags in it.
        let mut rows: Vec<[u64; 2]> = words
            .chunks_exact(2)
            .map(|c| {
                [
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ]
            })
            .collect();
        rows.shuffle(&mut OsRng);
        *words = rows.into_iter().flatten().collect();
    }
    let lens: Vec<usize> = sizes.iter().map(|s| 2 * s).collect();
    let shared = party.replicated_input_all(&words, &lens)?;
    let empty = BitShares::zeros(0);
    let mut theirs = shared.get(receiver).unwrap_or(&empty).clone();
    let n_receiver = sizes.get(receiver).copied().unwrap_or(0);
    if hide_receiver_order {
        // Sender and helper permute the receiver's hashes.
        let seed = party.replicated_pair_seed(sender, helper)?;
        let mine = match (party.replicated_to_pair(&theirs, receiver), &seed) {
            (Some(pair), Some(seed)) => {
                let perm = permutation(seed, n_receiver);
                Some(Zeroizing::new(apply_rows(&perm, &pair, 2)))
            }
            _ => None,
        };
        theirs = party.replicated_from_pair(
            receiver,
            mine.as_deref().map(|v| v.as_slice()),
            2 * n_receiver,
        )?;
    }
    let all = BitShares::concat(&[&theirs, shared.get(sender).unwrap_or(&empty)]);
    drop(shared);
    let total = all.len() / 2;
    let state = slice_shares(&blocks_of(all.own()), &blocks_of(all.next()))?;
    drop(all);
    let key = random_key(party)?;
    let ciphertexts = encrypt(party, &key, state)?;
    let joined = BitShares::concat(&ciphertexts.iter().collect::<Vec<_>>());
    drop(ciphertexts);
    let Some(opened) = party.replicated_open_to(&joined, receiver)? else {
        return Ok(None);
    };
    let per_plane = opened.len() / 8;
    let mut planes: [Vec<u64>; 8] = Default::default();
    for (plane, w) in planes.iter_mut().zip(opened.chunks_exact(per_plane.max(1))) {
        *plane = w.to_vec();
    }
    let mut tags = unbitslice(&planes, total);
    let sender_tags = tags.split_off(n_receiver.min(tags.len()));
    Ok(Some((tags, sender_tags)))
}

/// PSI, `Which` mode: the receiver learns the indices of its items the
/// sender holds (`Some` at the receiver, `None` at the others). Every party
/// of the session calls it; the helper passes no items.
pub fn which<T: Transport, I: AsRef<[u8]>>(
    party: &mut Party<T>,
    receiver: usize,
    sender: usize,
    mine: &[I],
) -> Result<Option<Vec<usize>>> {
    Ok(
        tags(party, receiver, sender, mine, false)?.map(|(own, theirs)| {
            let theirs: HashSet<u128> = theirs.into_iter().collect();
            own.iter()
                .enumerate()
                .filter(|(_, t)| theirs.contains(t))
                .map(|(i, _)| i)
                .collect()
        }),
    )
}

/// PSI, `Count` mode: the receiver learns how many of its items the sender
/// holds, not which (`Some` at the receiver, `None` at the others).
pub fn count<T: Transport, I: AsRef<[u8]>>(
    party: &mut Party<T>,
    receiver: usize,
    sender: usize,
    mine: &[I],
) -> Result<Option<usize>> {
    Ok(
        tags(party, receiver, sender, mine, true)?.map(|(own, theirs)| {
            let theirs: HashSet<u128> = theirs.into_iter().collect();
            own.iter().filter(|t| theirs.contains(t)).count()
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryTransport;
    use crate::party::SessionConfig;

    fn items(who: usize) -> Vec<String> {
        // Items 0..40 shared by everyone, then 25 of each party's own.
        (0..40)
            .map(|k| format!("common-{k}"))
            .chain((0..25).map(|k| format!("own-{who}-{k}")))
            .rev()
            .collect()
    }

    fn run<R: Send + 'static>(
        f: impl Fn(&mut Party<MemoryTransport>) -> R + Send + Sync + Clone + 'static,
    ) -> Vec<R> {
        let config = SessionConfig::new(*b"helped-psi-tests");
        let handles: Vec<_> = MemoryTransport::network(3)
            .into_iter()
            .map(|t| {
                let (f, config) = (f.clone(), config.clone());
                std::thread::spawn(move || f(&mut Party::new(t, &config).unwrap()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn which_finds_exactly_the_common_items_for_any_roles() {
        for (receiver, sender) in [(0, 1), (2, 0), (1, 2)] {
            let out = run(move |p| {
                let me = p.index();
                let mine = if me == 3 - receiver - sender {
                    Vec::new()
                } else {
                    items(me)
                };
                which(p, receiver, sender, &mine).unwrap()
            });
            for (me, o) in out.iter().enumerate() {
                if me != receiver {
                    assert!(o.is_none(), "party {me} learns nothing");
                    continue;
                }
                let mine = items(receiver);
                let found: Vec<&String> = o.as_ref().unwrap().iter().map(|&i| &mine[i]).collect();
                assert_eq!(found.len(), 40);
                assert!(found.iter().all(|s| s.starts_with("common-")));
            }
        }
    }

    #[test]
    fn count_gives_the_size_only_to_the_receiver() {
        let out = run(|p| {
            let me = p.index();
            let mine = if me == 2 { Vec::new() } else { items(me) };
            count(p, 1, 0, &mine).unwrap()
        });
        assert_eq!(out, vec![None, Some(40), None]);
    }

    #[test]
    fn empty_sets_intersect_in_nothing() {
        let out = run(|p| {
            let mine: Vec<String> = if p.index() == 1 { items(1) } else { Vec::new() };
            which(p, 0, 1, &mine).unwrap()
        });
        assert_eq!(out[0], Some(Vec::new()));
    }
}
