//! Private set intersection for the fraud-signal case, by commutative
//! blinding (Diffie–Hellman PSI) over Ristretto255.
//!
//! The *receiver* (the insurer) learns which of its items the *sender* (the
//! claims body) also holds — or, in [`PsiMode::Count`], only how many; the
//! sender learns only the size of the receiver's set. Both modes evaluate
//! the sender's PRF b ↦ β·H(b) on both sets, two rounds each.
//!
//! [`PsiMode::Which`] blinds additively, so that the receiver's side costs
//! fixed-base multiplications only (a few times cheaper than variable-base
//! ones) and the variable-base work, two per item, is the sender's alone:
//! 1. receiver → sender: X_a = H(a) + ρ_a·G for each item a, in its order
//!    (ρ_a fresh random scalars, so X_a is a uniformly random point);
//!    sender → receiver: B = β·G and β·H(b) for each of its items, shuffled.
//! 2. sender → receiver: β·X_a in the receiver's order; the receiver
//!    subtracts ρ_a·B to get β·H(a) and compares.
//!
//! [`PsiMode::Count`] blinds multiplicatively, so that the sender can
//! shuffle its answers:
//! 1. receiver → sender: α·H(a) for each of its items, in its order;
//!    sender → receiver: β·H(b) for each of its items, shuffled.
//! 2. sender → receiver: β·(α·H(a)), shuffled. The receiver multiplies the
//!    sender's points by α and counts matches.
//!
//! (All points travel doubled, as `double_and_compress_batch` makes them;
//! the scalars are adjusted so that both sides compare the same multiple.)
//! Semi-honest security under the decisional Diffie–Hellman assumption in
//! the random-oracle model; see `SECURITY.md`. Both parties must run the
//! protocol at the same round of their [`Channel`]; other parties of the
//! session should call [`Channel::skip_rounds`] with [`ROUNDS`].

use crate::channel::Channel;
use crate::error::{MpcError, Result};
use crate::group::{
    decode_points, double_compress, hash_to_point, hash_to_points, mul_compress, par_ranges,
    push_points, reblind, split_points, POINT_BYTES,
};
use crate::transport::Transport;
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::HashSet;
use zeroize::{Zeroize, Zeroizing};

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

/// The first byte of both parties' first message: the mode, so that a
/// mismatch is reported instead of producing a wrong answer.
fn mode_tag(mode: PsiMode) -> u8 {
    match mode {
        PsiMode::Which => 1,
        PsiMode::Count => 2,
    }
}

fn check_tag(payload: &[u8], mode: PsiMode, peer: usize) -> Result<&[u8]> {
    match payload.split_first() {
        Some((&tag, rest)) if tag == mode_tag(mode) => Ok(rest),
        _ => Err(MpcError::Malformed {
            peer,
            reason: "not a PSI message of the agreed mode",
        }),
    }
}

/// Runs the receiver's side against party `sender`.
pub fn receive<T: Transport, I: AsRef<[u8]> + Sync>(
    chan: &mut Channel<T>,
    sender: usize,
    items: &[I],
    mode: PsiMode,
) -> Result<PsiOutput> {
    match mode {
        PsiMode::Which => receive_which(chan, sender, items).map(PsiOutput::Which),
        PsiMode::Count => receive_count(chan, sender, items).map(PsiOutput::Count),
    }
}

fn receive_which<T: Transport, I: AsRef<[u8]> + Sync>(
    chan: &mut Channel<T>,
    sender: usize,
    items: &[I],
) -> Result<Vec<usize>> {
    let n = items.len();
    // ρ_a from a ChaCha20 stream seeded by the OS: one system call, not n.
    let mut rng =
        ChaCha20Rng::from_rng(OsRng).map_err(|_| MpcError::Unlucky("no OS randomness"))?;
    let rho: Zeroizing<Vec<Scalar>> =
        Zeroizing::new((0..n).map(|_| Scalar::random(&mut rng)).collect());
    // X_a = H(a) + ρ_a·G, sent doubled: 2·X_a.
    let blinded = par_ranges(n, |r| {
        let pts: Vec<RistrettoPoint> = r
            .map(|i| {
                let h = items.get(i).map_or(RistrettoPoint::default(), |a| {
                    hash_to_point(DOMAIN, a.as_ref())
                });
                let k = rho.get(i).copied().unwrap_or_default();
                h + &k * RISTRETTO_BASEPOINT_TABLE
            })
            .collect();
        double_compress(&pts)
    });
    let mut m = chan.message_with_capacity(sender, 1 + blinded.len() * POINT_BYTES);
    m.push(mode_tag(PsiMode::Which));
    push_points(&mut m, &blinded);
    drop(blinded);
    let first = chan.exchange(vec![(sender, m)], &[sender])?;
    let first = first.first().ok_or(MpcError::Unlucky("no message"))?;
    let body = check_tag(first.payload(), PsiMode::Which, sender)?;
    let (b, theirs) = body.split_at(POINT_BYTES.min(body.len()));
    let b = decode_points(b, sender)?.pop().ok_or(MpcError::Malformed {
        peer: sender,
        reason: "missing the sender's public point",
    })?;
    // While the sender works: ρ_a·B for every item, and the sender's set.
    let table = RistrettoBasepointTable::create(&b);
    let unblind: Zeroizing<Vec<RistrettoPoint>> = Zeroizing::new(par_ranges(n, |r| {
        r.map(|i| &rho.get(i).copied().unwrap_or_default() * &table)
            .collect()
    }));
    drop(rho);
    let theirs: HashSet<[u8; POINT_BYTES]> = split_points(theirs, sender)?.into_iter().collect();
    let back = chan.exchange(Vec::new(), &[sender])?;
    let back = back.first().ok_or(MpcError::Unlucky("no message"))?;
    let back = decode_points(back.payload(), sender)?;
    if back.len() != n {
        return Err(MpcError::WrongLength {
            peer: sender,
            expected: n,
            got: back.len(),
        });
    }
    // back = 4β·X_a (see `send_which`), unblind = ρ_a·4β·G: the difference
    // is 4β·H(a), compared doubled with the sender's 8β·H(b).
    let mine = par_ranges(n, |r| {
        let pts: Vec<RistrettoPoint> = r
            .map(|i| {
                back.get(i).copied().unwrap_or_default()
                    - unblind.get(i).copied().unwrap_or_default()
            })
            .collect();
        double_compress(&pts)
    });
    Ok(mine
        .iter()
        .enumerate()
        .filter(|(_, p)| theirs.contains(*p))
        .map(|(i, _)| i)
        .collect())
}

fn receive_count<T: Transport, I: AsRef<[u8]> + Sync>(
    chan: &mut Channel<T>,
    sender: usize,
    items: &[I],
) -> Result<usize> {
    let mut alpha = Scalar::random(&mut OsRng);
    let blinded = mul_compress(&hash_to_points(DOMAIN, items), &alpha);
    let mut m = chan.message_with_capacity(sender, 1 + blinded.len() * POINT_BYTES);
    m.push(mode_tag(PsiMode::Count));
    push_points(&mut m, &blinded);
    let theirs = chan.exchange(vec![(sender, m)], &[sender])?;
    let theirs = theirs.first().ok_or(MpcError::Unlucky("no message"))?;
    let body = check_tag(theirs.payload(), PsiMode::Count, sender)?;
    let theirs_final: HashSet<[u8; POINT_BYTES]> =
        reblind(body, &alpha, sender)?.into_iter().collect();
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
    Ok(mine_final
        .iter()
        .filter(|p| theirs_final.contains(*p))
        .count())
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
    // Points travel doubled. Which: the set goes out as 2·(4β)·H(b) =
    // 8β·H(b), B as 2·(2β)·G = 4β·G and the answers as 2β·(2·X_a) =
    // 4β·X_a, from which the receiver gets 2·(4β·X_a − ρ_a·4β·G) = 8β·H(a).
    // Count: 2β·H(b) and 2β·(2α·H(a)); the receiver compares
    // 2α·(2β·H(b)) with 4αβ·H(a).
    let set_scalar = match mode {
        PsiMode::Which => beta * Scalar::from(4u8),
        PsiMode::Count => beta,
    };
    let mut mine = mul_compress(&hash_to_points(DOMAIN, items), &set_scalar);
    mine.shuffle(&mut OsRng);
    let mut m = chan.message_with_capacity(receiver, 1 + (mine.len() + 1) * POINT_BYTES);
    m.push(mode_tag(mode));
    if mode == PsiMode::Which {
        let b = &(beta + beta) * RISTRETTO_BASEPOINT_TABLE;
        push_points(&mut m, &double_compress(&[b]));
    }
    push_points(&mut m, &mine);
    drop(mine);
    let theirs = chan.exchange(vec![(receiver, m)], &[receiver])?;
    let theirs = theirs.first().ok_or(MpcError::Unlucky("no message"))?;
    let body = check_tag(theirs.payload(), mode, receiver)?;
    let mut back = reblind(body, &beta, receiver)?;
    beta.zeroize();
    let mut set_scalar = set_scalar;
    set_scalar.zeroize();
    if mode == PsiMode::Count {
        back.shuffle(&mut OsRng);
    }
    let count = back.len();
    let mut m = chan.message_with_capacity(receiver, back.len() * POINT_BYTES);
    push_points(&mut m, &back);
    chan.exchange(vec![(receiver, m)], &[])?;
    Ok(count)
}
