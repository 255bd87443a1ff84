//! Secure comparison: less-than and equality on shared integers, vectorised,
//! with statistical security [`STAT_SECURITY`] = 40 bits.
//!
//! Both follow Catrina and de Hoogh's masked-opening approach. For
//! d ∈ (−2^m, 2^m) the parties open c = d + 2^m + r′ + 2^ℓ·r″, where
//! r′ = Σ 2^j·r_j is made of ℓ shared random bits and r″ is a random mask
//! of 41 bits contributed by t + 1 parties (so at least one honest party's
//! mask hides the top bits with statistical distance ≤ 2^−40). The low ℓ
//! bits of c are then compared bitwise, in secret, with the shared bits:
//! - less-than (ℓ = m): `[d < 0]` follows from `[c mod 2^m < r′]`, computed
//!   from (equal, greater) pairs of bits: one multiplication per pair of
//!   bits (c is public), then a chain of one multiplication per pair, m − 1
//!   multiplications in about m/2 rounds;
//! - equality (ℓ = m + 1): `[d = 0]` iff r′ equals a public value derived
//!   from c, a product of ℓ bit-equalities in a log-depth tree.
//!
//! Random bits: t + 1 parties each deal random bits and the results are
//! XOR-ed (x ⊕ y = x + y − 2xy), so no coalition of t parties knows them;
//! with three parties, bits and masks come from pairwise randomness instead
//! (fewer bytes, same two rounds; see `SECURITY.md`).
//! Every step is vectorised: N comparisons cost the rounds of one.

use crate::error::{MpcError, Result};
use crate::field::Fp;
use crate::party::Party;
use crate::secret::SecretVec;
use crate::transport::Transport;
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

/// Statistical security parameter in bits: what a masked opening leaks is
/// at statistical distance at most 2^−40 from nothing.
pub const STAT_SECURITY: u32 = 40;

/// The largest bit length of comparison operands' difference (see
/// [`check_bits`] for the exact bound, which also depends on t).
pub const MAX_BITS: u32 = 80;

const MASK_BITS: u32 = STAT_SECURITY + 1;

/// Checks that a comparison on `bits`-bit differences cannot wrap the field.
pub fn check_bits(bits: u32, t: usize) -> Result<()> {
    let log_dealers = usize::BITS - t.leading_zeros(); // ≥ log2(t + 1)
    if bits == 0 || bits > MAX_BITS || bits + 1 + MASK_BITS + log_dealers + 2 > 126 {
        return Err(MpcError::Config(format!(
            "comparison bit length must be 1..={MAX_BITS} (and fit the field with t = {t}), got {bits}"
        )));
    }
    Ok(())
}

/// Shared random bits and masks: returns `nbits` bits and `nmasks` values
/// in `[0, (t + 1)·2^41)`, dealt by parties `0..=t`; with three parties
/// (t = 1), bits and masks from pairwise randomness instead (values in
/// `[0, 3·2^41)`, fewer bytes; see `party/prss.rs` and `SECURITY.md`).
/// Two rounds when t = 1.
pub fn random_bits_and_masks<T: Transport>(
    party: &mut Party<T>,
    nbits: usize,
    nmasks: usize,
) -> Result<(SecretVec, SecretVec)> {
    if let Some((bits, masks)) = party.prss_bits_and_masks(nbits, nmasks)? {
        return Ok((SecretVec::from_shares(bits), SecretVec::from_shares(masks)));
    }
    let dealers: Vec<usize> = (0..=party.threshold()).collect();
    let me = party.index();
    let mine: Option<Zeroizing<Vec<Fp>>> = dealers.contains(&me).then(|| {
        let mut bytes = Zeroizing::new(vec![0u8; nbits.div_ceil(8) + nmasks * 8]);
        OsRng.fill_bytes(&mut bytes);
        let (bb, mb) = bytes.split_at(nbits.div_ceil(8));
        let mut v = Vec::with_capacity(nbits + nmasks);
        v.extend((0..nbits).map(|i| {
            let byte = bb.get(i / 8).copied().unwrap_or(0);
            Fp::from_u64(u64::from((byte >> (i % 8)) & 1))
        }));
        v.extend(mb.chunks_exact(8).map(|c| {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            Fp::from_u64(u64::from_le_bytes(w) >> (64 - MASK_BITS))
        }));
        Zeroizing::new(v)
    });
    let dealt = party.deal(
        &dealers,
        mine.as_deref().map(|v| v.as_slice()),
        nbits + nmasks,
    )?;
    let mut masks = vec![Fp::ZERO; nmasks];
    for d in &dealt {
        let m = d.shares().get(nbits..).unwrap_or(&[]);
        for (a, &x) in masks.iter_mut().zip(m) {
            *a += x;
        }
    }
    // XOR the dealers' bits together, pairwise, one round per tree level
    // (x ⊕ y = x + y − 2xy).
    let xor = |party: &mut Party<T>, l: &[Fp], r: &[Fp]| -> Result<Vec<Fp>> {
        let mut out = party.mul_slices(l, r)?;
        for ((o, &x), &y) in out.iter_mut().zip(l).zip(r) {
            *o = x + y - (*o + *o);
        }
        Ok(out)
    };
    let mut bit_vecs: Vec<Vec<Fp>> = if let [a, b] = dealt.as_slice() {
        // Two dealers (t = 1): straight from the dealt vectors.
        let l = a.shares().get(..nbits).unwrap_or(&[]);
        let r = b.shares().get(..nbits).unwrap_or(&[]);
        vec![xor(party, l, r)?]
    } else {
        dealt
            .iter()
            .map(|d| d.shares().get(..nbits).unwrap_or(&[]).to_vec())
            .collect()
    };
    drop(dealt);
    while bit_vecs.len() > 1 {
        let carry = if bit_vecs.len() % 2 == 1 {
            bit_vecs.pop()
        } else {
            None
        };
        let half = bit_vecs.len() / 2;
        let right = bit_vecs.split_off(half);
        let x = xor(party, &bit_vecs.concat(), &right.concat())?;
        bit_vecs = x.chunks(nbits.max(1)).map(<[Fp]>::to_vec).collect();
        bit_vecs.extend(carry);
    }
    let bits = bit_vecs.pop().unwrap_or_default();
    Ok((SecretVec::from_shares(bits), SecretVec::from_shares(masks)))
}

/// Σ_j 2^j · bits[j·n + i] for each i: the bits are position-major (all
/// elements' bit 0, then all elements' bit 1, …), so every pass here and in
/// the bitwise circuits below reads them sequentially.
fn compose(bits: &[Fp], w: usize) -> Vec<Fp> {
    let n = bits.len() / w.max(1);
    let mut out = vec![Fp::ZERO; n];
    for row in bits.chunks_exact(n.max(1)).rev() {
        for (o, &b) in out.iter_mut().zip(row) {
            *o = *o + *o + b;
        }
    }
    out
}

/// Opens d + 2^m + r′ + 2^ℓ·r″ and returns (c mod 2^ℓ for each element, bits, r′).
fn masked_open<T: Transport>(
    party: &mut Party<T>,
    d: &SecretVec,
    m: u32,
    l: u32,
) -> Result<(Vec<u128>, SecretVec, Vec<Fp>)> {
    let n = d.len();
    let w = l as usize;
    let (bits, masks) = random_bits_and_masks(party, n * w, n)?;
    let rprime = compose(bits.shares(), w);
    let two_m = Fp::pow2(m);
    let two_l = Fp::pow2(l);
    let masked: Vec<Fp> = d
        .shares()
        .iter()
        .zip(&rprime)
        .zip(masks.shares())
        .map(|((&x, &r), &q)| x + two_m + r + two_l * q)
        .collect();
    let c = party.open(&SecretVec::from_shares(masked))?;
    let low = (1u128 << l) - 1;
    Ok((c.iter().map(|x| x.value() & low).collect(), bits, rprime))
}

/// `[c < r′]` for public c and shared bits of r′ (w bits per element, LSB first).
///
/// Per bit, (e, g) = ([c_j = r_j], [c_j < r_j]) is linear in r_j because c
/// is public: e = r_j, g = 0 where c_j = 1 and e = 1 − r_j, g = r_j where
/// c_j = 0. Pairs combine from the most significant side as
/// (E, G) = (e_hi·e_lo, g_hi + e_hi·g_lo).
fn bit_less_than<T: Transport>(
    party: &mut Party<T>,
    c: &[u128],
    bits: &SecretVec,
    w: usize,
) -> Result<Vec<Fp>> {
    let n = c.len();
    let r = bits.shares();
    let bit = |i: usize, j: usize| r.get(j * n + i).copied().unwrap_or_default();
    let cbit = |i: usize, j: usize| (c.get(i).copied().unwrap_or(0) >> j) & 1 == 1;
    let e_of = |i: usize, j: usize| {
        if cbit(i, j) {
            bit(i, j)
        } else {
            Fp::ONE - bit(i, j)
        }
    };
    let g_of = |i: usize, j: usize| if cbit(i, j) { Fp::ZERO } else { bit(i, j) };
    // Position-major tables: e[k] and g[k] hold position k of every element,
    // so each step of the chain below reads contiguous slices.
    let half = w / 2;
    let nw = half + w % 2;
    let mut e: Vec<Vec<Fp>> = Vec::with_capacity(nw);
    let mut g: Vec<Vec<Fp>> = Vec::with_capacity(nw);
    if half > 0 {
        // First level, specialised: with c public, combining (hi, lo) needs
        // only the product e_hi·r_lo:
        //   c_lo = 1: E = e_hi·r_lo,         G = g_hi;
        //   c_lo = 0: E = e_hi − e_hi·r_lo,  G = g_hi + e_hi·r_lo.
        // Products e_hi·r_lo, position-major, formed as they are dealt.
        let local = |at: usize, out: &mut [Fp]| {
            // (position pair k, element i) of index `at`, then stepped
            // (one division per piece, not per element).
            let nn = n.max(1);
            let (mut k, mut i) = (at / nn, at % nn);
            for o in out.iter_mut() {
                *o = e_of(i, 2 * k + 1) * bit(i, 2 * k);
                i += 1;
                if i == nn {
                    (k, i) = (k + 1, 0);
                }
            }
        };
        let prod = party.mul_computed(n * half, &local)?;
        for (k, pk) in prod.chunks(n.max(1)).enumerate() {
            let mut ne = Vec::with_capacity(n);
            let mut ng = Vec::with_capacity(n);
            for (i, &p) in pk.iter().enumerate() {
                let e_hi = e_of(i, 2 * k + 1);
                let g_hi = g_of(i, 2 * k + 1);
                if cbit(i, 2 * k) {
                    ne.push(p);
                    ng.push(g_hi);
                } else {
                    ne.push(e_hi - p);
                    ng.push(g_hi + p);
                }
            }
            e.push(ne);
            g.push(ng);
        }
    }
    if w % 2 == 1 {
        e.push((0..n).map(|i| e_of(i, w - 1)).collect());
        g.push((0..n).map(|i| g_of(i, w - 1)).collect());
    }
    // Then a chain from the least significant position up,
    // u ← G_k + E_k·u: one multiplication per remaining position. A tree
    // would take log rounds but two multiplications per node; the chain
    // sends fewer bytes, and batching keeps its extra rounds cheap.
    let mut positions = e.iter().zip(&g);
    let mut u: Vec<Fp> = positions
        .next()
        .map(|(_, g0)| g0.clone())
        .unwrap_or_else(|| vec![Fp::ZERO; n]);
    for (ek, gk) in positions {
        let prod = party.mul_slices(ek, &u)?;
        for ((o, &p), &gv) in u.iter_mut().zip(&prod).zip(gk) {
            *o = gv + p;
        }
    }
    Ok(u)
}

/// Comparisons run in batches of this many elements: large enough that
/// round trips (about 20 per batch) do not matter, small enough to bound
/// the working set (about 2 kB of shares per comparison).
pub const BATCH: usize = 1 << 14;

/// Runs `f` on consecutive pieces of at most [`BATCH`] elements.
fn batched<T: Transport>(
    party: &mut Party<T>,
    d: &SecretVec,
    m: u32,
    f: fn(&mut Party<T>, &SecretVec, u32) -> Result<SecretVec>,
) -> Result<SecretVec> {
    if d.len() <= BATCH {
        return f(party, d, m);
    }
    let mut out = Vec::with_capacity(d.len());
    for piece in d.shares().chunks(BATCH) {
        out.extend_from_slice(f(party, &SecretVec::from_shares(piece.to_vec()), m)?.shares());
    }
    Ok(SecretVec::from_shares(out))
}

/// `[d < 0]` for each element of d, where every element lies in (−2^m, 2^m).
pub fn less_than_zero<T: Transport>(
    party: &mut Party<T>,
    d: &SecretVec,
    m: u32,
) -> Result<SecretVec> {
    check_bits(m, party.threshold())?;
    batched(party, d, m, less_than_zero_batch)
}

fn less_than_zero_batch<T: Transport>(
    party: &mut Party<T>,
    d: &SecretVec,
    m: u32,
) -> Result<SecretVec> {
    check_bits(m, party.threshold())?;
    let (cl, bits, rprime) = masked_open(party, d, m, m)?;
    let u = bit_less_than(party, &cl, &bits, m as usize)?;
    let two_m = Fp::pow2(m);
    let inv = two_m.inv().ok_or(MpcError::Unlucky("2^m not invertible"))?;
    // s mod 2^m = c′ − r′ + 2^m·u; ⌊s / 2^m⌋ = (s − s mod 2^m) / 2^m; [d < 0] = 1 − ⌊s / 2^m⌋.
    let out = d
        .shares()
        .iter()
        .zip(&cl)
        .zip(rprime.iter().zip(&u))
        .map(|((&x, &c), (&r, &u))| {
            let s = x + two_m;
            let smod = Fp::new(c) - r + two_m * u;
            Fp::ONE - (s - smod) * inv
        })
        .collect();
    Ok(SecretVec::from_shares(out))
}

/// `[d = 0]` for each element of d, where every element lies in (−2^m, 2^m).
pub fn equals_zero<T: Transport>(party: &mut Party<T>, d: &SecretVec, m: u32) -> Result<SecretVec> {
    check_bits(m, party.threshold())?;
    batched(party, d, m, equals_zero_batch)
}

fn equals_zero_batch<T: Transport>(
    party: &mut Party<T>,
    d: &SecretVec,
    m: u32,
) -> Result<SecretVec> {
    check_bits(m, party.threshold())?;
    let l = m + 1;
    let w = l as usize;
    let (cl, bits, _) = masked_open(party, d, m, l)?;
    let low = (1u128 << l) - 1;
    let n = d.len();
    let r = bits.shares();
    // f[j·n + i] = [bit j of r′_i equals bit j of the public value]: position-major.
    let mut f = Vec::with_capacity(bits.len());
    for j in 0..w {
        for (i, &c) in cl.iter().enumerate() {
            let k = c.wrapping_sub(1u128 << m) & low;
            let rb = r.get(j * n + i).copied().unwrap_or_default();
            f.push(if (k >> j) & 1 == 1 { rb } else { Fp::ONE - rb });
        }
    }
    let mut w = w;
    while w > 1 {
        let half = w / 2;
        let cur = &f;
        let local = |at: usize, out: &mut [Fp]| {
            let nn = n.max(1);
            let (mut k, mut i) = (at / nn, at % nn);
            for o in out.iter_mut() {
                let a = cur.get(2 * k * n + i).copied().unwrap_or_default();
                let b = cur.get((2 * k + 1) * n + i).copied().unwrap_or_default();
                *o = a * b;
                i += 1;
                if i == nn {
                    (k, i) = (k + 1, 0);
                }
            }
        };
        let mut nf = party.mul_computed(n * half, &local)?;
        if w % 2 == 1 {
            nf.extend_from_slice(f.get((w - 1) * n..).unwrap_or(&[]));
        }
        f = nf;
        w = half + w % 2;
    }
    Ok(SecretVec::from_shares(f))
}

/// `[a < b]` element-wise, for a and b in `[−2^(bits−1), 2^(bits−1))`.
pub fn lt<T: Transport>(
    party: &mut Party<T>,
    a: &SecretVec,
    b: &SecretVec,
    bits: u32,
) -> Result<SecretVec> {
    less_than_zero(party, &a.sub(b)?, bits)
}

/// `[a = b]` element-wise, for a and b in `[−2^(bits−1), 2^(bits−1))`.
pub fn eq<T: Transport>(
    party: &mut Party<T>,
    a: &SecretVec,
    b: &SecretVec,
    bits: u32,
) -> Result<SecretVec> {
    equals_zero(party, &a.sub(b)?, bits)
}

/// `[a ≥ k]` element-wise for a public threshold k, with a and k in
/// `[−2^(bits−1), 2^(bits−1))`.
pub fn ge_public<T: Transport>(
    party: &mut Party<T>,
    a: &SecretVec,
    k: i128,
    bits: u32,
) -> Result<SecretVec> {
    let below = less_than_zero(party, &a.add_scalar(-Fp::from_i128(k)), bits)?;
    Ok(below.scale(-Fp::ONE).add_scalar(Fp::ONE))
}
