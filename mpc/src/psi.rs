//! Private set intersection for the fraud-signal case, by commutative
//! blinding (Diffie–Hellman PSI) over Ristretto255.
//!
//! The *receiver* (the insurer) learns which of its items the *sender* (the
//! claims body) also holds — or, in [`PsiMode::Count`], only how many; the
//! sender learns only the size of the receiver's set. Two rounds:
//! 1. receiver → sender: H(a)^α for each of its items, in its order;
//!    sender → receiver: H(b)^β for each of its items, shuffled.
//! 2. sender → receiver: (H(a)^α)^β, in the receiver's order (`Which`) or
//!    shuffled (`Count`). The receiver raises the sender's points to α and
//!    compares.
//!
//! Semi-honest security under the decisional Diffie–Hellman assumption in
//! the random-oracle model; see `SECURITY.md`. Both parties must run the
//! protocol at the same round of their [`Channel`]; other parties of the
//! session should call [`Channel::skip_rounds`] with [`ROUNDS`].

use crate::channel::Channel;
use crate::error::{MpcError, Result};
use crate::group::{hash_to_points, mul_compress, push_points, reblind, split_points, POINT_BYTES};
use crate::transport::Transport;
use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use std::collections::HashSet;
use zeroize::Zeroize;

/// Rounds the protocol takes.
pub const ROUNDS: u64 = 2;

const DOMAIN: &[u8] = b"symbolon-mpc/psi/v1";

/// What the receiver learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsiMode {
    /// Which of its items are in the intersection.
    Which,
    /// Only the size of the intersection.
    Count,
}

/// The receiver's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PsiOutput {
    /// Indices (into the receiver's items) of the items the sender also holds.
    Which(Vec<usize>),
    /// The size of the intersection (counting the receiver's items).
    Count(usize),
}

/// Runs the receiver's side against party `sender`.
pub fn receive<T: Transport, I: AsRef<[u8]> + Sync>(
    chan: &mut Channel<T>,
    sender: usize,
    items: &[I],
    mode: PsiMode,
) -> Result<PsiOutput> {
    let mut alpha = Scalar::random(&mut OsRng);
    let blinded = mul_compress(&hash_to_points(DOMAIN, items), &alpha);
    let mut m = chan.message_with_capacity(sender, blinded.len() * POINT_BYTES);
    push_points(&mut m, &blinded);
    let theirs = chan.exchange(vec![(sender, m)], &[sender])?;
    let theirs = theirs.first().ok_or(MpcError::Unlucky("no message"))?;
    // The round-2 message does not depend on this work; keep it simple.
    let theirs_final: HashSet<[u8; POINT_BYTES]> = reblind(theirs.payload(), &alpha, sender)?
        .into_iter()
        .collect();
    alpha.zeroize();
    let back = chan.exchange(Vec::new(), &[sender])?;
    let back = back.first().ok_or(MpcError::Unlucky("no message"))?;
    let mine_final = split_points(back.payload(), sender)?;
    if mine_final.len() != items.len() {
        return Err(MpcError::WrongLength {
            peer: sender,
            expected: items.len(),
            got: mine_final.len(),
        });
    }
    let hits = mine_final
        .iter()
        .enumerate()
        .filter(|(_, p)| theirs_final.contains(*p))
        .map(|(i, _)| i);
    Ok(match mode {
        PsiMode::Which => PsiOutput::Which(hits.collect()),
        PsiMode::Count => PsiOutput::Count(hits.count()),
    })
}

/// Runs the sender's side for party `receiver`; the sender learns only the
/// size of the receiver's set, which it returns.
pub fn send<T: Transport, I: AsRef<[u8]> + Sync>(
    chan: &mut Channel<T>,
    receiver: usize,
    items: &[I],
    mode: PsiMode,
) -> Result<usize> {
    let mut beta = Scalar::random(&mut OsRng);
    let mut mine = mul_compress(&hash_to_points(DOMAIN, items), &beta);
    mine.shuffle(&mut OsRng);
    let mut m = chan.message_with_capacity(receiver, mine.len() * POINT_BYTES);
    push_points(&mut m, &mine);
    let theirs = chan.exchange(vec![(receiver, m)], &[receiver])?;
    let theirs = theirs.first().ok_or(MpcError::Unlucky("no message"))?;
    let mut back = reblind(theirs.payload(), &beta, receiver)?;
    beta.zeroize();
    if mode == PsiMode::Count {
        back.shuffle(&mut OsRng);
    }
    let count = back.len();
    let mut m = chan.message_with_capacity(receiver, back.len() * POINT_BYTES);
    push_points(&mut m, &back);
    chan.exchange(vec![(receiver, m)], &[])?;
    Ok(count)
}
