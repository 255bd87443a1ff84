//! Shamir secret sharing kernels: party points, Lagrange coefficients,
//! local sharing and reconstruction. Party `i` holds the evaluation at
//! x = i + 1; the secret is the evaluation at 0.

use crate::error::{MpcError, Result};
use crate::field::{Factor, Fp};
use rand::{CryptoRng, RngCore};

/// The evaluation point of party `i`.
#[inline]
pub fn point(i: usize) -> Fp {
    Fp::from_u64(i as u64 + 1)
}

/// Coefficients `c` with `f(x) = Σ c_k f(xs_k)` for every polynomial of
/// degree below `xs.len()`. `None` if two points coincide.
pub fn lagrange_at(xs: &[Fp], x: Fp) -> Option<Vec<Fp>> {
    let mut out = Vec::with_capacity(xs.len());
    for (k, &xk) in xs.iter().enumerate() {
        let mut num = Fp::ONE;
        let mut den = Fp::ONE;
        for (j, &xj) in xs.iter().enumerate() {
            if j != k {
                num *= x - xj;
                den *= xk - xj;
            }
        }
        out.push(num * den.inv()?);
    }
    Some(out)
}

/// Splits `secret` into `n` shares of a random polynomial of degree `t`.
pub fn share<R: RngCore + CryptoRng>(secret: Fp, t: usize, n: usize, rng: &mut R) -> Vec<Fp> {
    let coeffs: Vec<Fp> = (0..t).map(|_| random_element(rng)).collect();
    (0..n)
        .map(|i| {
            let x = point(i);
            // Horner: secret + x·(c1 + x·(c2 + ...)).
            let mut acc = Fp::ZERO;
            for &c in coeffs.iter().rev() {
                acc = (acc + c) * x;
            }
            acc + secret
        })
        .collect()
}

/// Reconstructs the secret from `(party, share)` pairs (at least `t + 1` of
/// them), checking that every extra share lies on the same degree-`t`
/// polynomial.
pub fn reconstruct(shares: &[(usize, Fp)], t: usize) -> Result<Fp> {
    let base = shares
        .get(..t + 1)
        .ok_or_else(|| MpcError::Config(format!("need {} shares, got {}", t + 1, shares.len())))?;
    let xs: Vec<Fp> = base.iter().map(|&(i, _)| point(i)).collect();
    let at0 = lagrange_at(&xs, Fp::ZERO)
        .ok_or_else(|| MpcError::Config("repeated party index".to_owned()))?;
    for &(k, y) in shares.get(t + 1..).unwrap_or(&[]) {
        let c = lagrange_at(&xs, point(k))
            .ok_or_else(|| MpcError::Config("repeated party index".to_owned()))?;
        let predicted: Fp = c.iter().zip(base).map(|(&c, &(_, s))| c * s).sum();
        if predicted != y {
            return Err(MpcError::BadShare {
                peer: k,
                reason: "not on the polynomial of the other shares",
            });
        }
    }
    Ok(at0.iter().zip(base).map(|(&c, &(_, s))| c * s).sum())
}

/// A uniformly random field element.
pub fn random_element<R: RngCore + CryptoRng>(rng: &mut R) -> Fp {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    Fp::from_random_bytes(b)
}

/// Vectorised reconstruction: `shares[k]` is party `k`'s vector (all `n`
/// present). Uses parties `0..=t` and checks the others against them.
pub fn reconstruct_vectors(shares: &[Vec<Fp>], t: usize) -> Result<Vec<Fp>> {
    let n = shares.len();
    let len = shares.first().map_or(0, Vec::len);
    if let Some(k) = shares.iter().position(|s| s.len() != len) {
        return Err(MpcError::WrongLength {
            peer: k,
            expected: len,
            got: shares.get(k).map_or(0, Vec::len),
        });
    }
    reconstruct_with(n, t, len, |k, at, out| {
        let src = shares
            .get(k)
            .and_then(|s| s.get(at..at + out.len()))
            .unwrap_or(&[]);
        for (o, &x) in out.iter_mut().zip(src) {
            *o = x;
        }
        Ok(())
    })
}

/// Reconstruction of `len` secrets from all `n` parties' shares, read
/// piece by piece: `fetch(k, at, out)` fills `out` with party `k`'s shares
/// `at..at + out.len()` (and may reject them). Works on cache-sized pieces,
/// so no party's whole vector need be decoded at once. Uses parties `0..=t`
/// and checks that every other share lies on their polynomial.
pub fn reconstruct_with(
    n: usize,
    t: usize,
    len: usize,
    mut fetch: impl FnMut(usize, usize, &mut [Fp]) -> Result<()>,
) -> Result<Vec<Fp>> {
    const PIECE: usize = 512;
    if n < t + 1 {
        return Err(MpcError::Config(format!("need {} shares, got {n}", t + 1)));
    }
    let xs: Vec<Fp> = (0..=t).map(point).collect();
    let at0 = lagrange_at(&xs, Fp::ZERO).ok_or(MpcError::Unlucky("repeated point"))?;
    // Party k > t is checked with Σ_j c_kj · s_j − s_k = 0 over j ≤ t.
    let checks: Vec<Vec<Fp>> = (t + 1..n)
        .map(|k| lagrange_at(&xs, point(k)).ok_or(MpcError::Unlucky("repeated point")))
        .collect::<Result<_>>()?;
    let mut out = vec![Fp::ZERO; len];
    let mut cols = vec![[Fp::ZERO; PIECE]; n];
    let mut pred = [Fp::ZERO; PIECE];
    let mut at = 0;
    for piece in out.chunks_mut(PIECE) {
        let m = piece.len();
        for (k, col) in cols.iter_mut().enumerate() {
            fetch(k, at, col.get_mut(..m).unwrap_or(&mut []))?;
        }
        let (base, extra) = cols.split_at(t + 1);
        for (&c, col) in at0.iter().zip(base) {
            axpy(piece, c, col);
        }
        for (k, (coeffs, actual)) in checks.iter().zip(extra).enumerate() {
            let p = pred.get_mut(..m).unwrap_or(&mut []);
            p.fill(Fp::ZERO);
            for (&c, col) in coeffs.iter().zip(base) {
                axpy(p, c, col);
            }
            if p.iter().zip(actual.iter()).any(|(a, b)| a != b) {
                return Err(MpcError::BadShare {
                    peer: t + 1 + k,
                    reason: "not on the polynomial of the other shares",
                });
            }
        }
        at += m;
    }
    Ok(out)
}

/// acc += c · x, element-wise (over the shorter of the two); small
/// factors (±1, ±2 and other integers below 2^64 in absolute value, which
/// Lagrange coefficients for few parties are) take cheaper paths than a
/// full multiplication (see [`Factor`]).
#[inline]
pub fn axpy(acc: &mut [Fp], c: Fp, x: &[Fp]) {
    axpy_factor(acc, Factor::of(c), x);
}

/// acc += c · x for a factor classified once (one loop per kind of factor).
#[inline]
pub fn axpy_factor(acc: &mut [Fp], c: Factor, x: &[Fp]) {
    let pairs = acc.iter_mut().zip(x);
    match c {
        Factor::One => pairs.for_each(|(a, &y)| *a += y),
        Factor::MinusOne => pairs.for_each(|(a, &y)| *a -= y),
        Factor::Two => pairs.for_each(|(a, &y)| *a += y + y),
        Factor::MinusTwo => pairs.for_each(|(a, &y)| *a -= y + y),
        Factor::Small(k) => pairs.for_each(|(a, &y)| *a += y.mul_u64(k)),
        Factor::MinusSmall(k) => pairs.for_each(|(a, &y)| *a -= y.mul_u64(k)),
        Factor::Half(1) => pairs.for_each(|(a, &y)| *a += y.half()),
        Factor::MinusHalf(1) => pairs.for_each(|(a, &y)| *a -= y.half()),
        Factor::Half(k) => pairs.for_each(|(a, &y)| *a += y.mul_u64(k).half()),
        Factor::MinusHalf(k) => pairs.for_each(|(a, &y)| *a -= y.mul_u64(k).half()),
        Factor::Third => pairs.for_each(|(a, &y)| *a += y.third()),
        Factor::MinusThird => pairs.for_each(|(a, &y)| *a -= y.third()),
        Factor::General(c) => pairs.for_each(|(a, &y)| *a += c * y),
    }
}

/// out = base + c · x, element-wise (over the shortest of the three): one
/// pass instead of a copy and an [`axpy_factor`].
#[inline]
pub fn base_plus_factor(out: &mut [Fp], base: &[Fp], c: Factor, x: &[Fp]) {
    let triples = out.iter_mut().zip(base).zip(x);
    match c {
        Factor::One => triples.for_each(|((o, &b), &y)| *o = b + y),
        Factor::MinusOne => triples.for_each(|((o, &b), &y)| *o = b - y),
        Factor::Two => triples.for_each(|((o, &b), &y)| *o = b + (y + y)),
        Factor::MinusTwo => triples.for_each(|((o, &b), &y)| *o = b - (y + y)),
        other => triples.for_each(|((o, &b), &y)| *o = b + other.apply(y)),
    }
}

/// out = c · x, element-wise (over the shorter of the two): a copy and a
/// [`scale_slice`] in one pass.
#[inline]
pub fn scale_into(out: &mut [Fp], c: Factor, x: &[Fp]) {
    let pairs = out.iter_mut().zip(x);
    match c {
        Factor::One => pairs.for_each(|(o, &y)| *o = y),
        Factor::MinusOne => pairs.for_each(|(o, &y)| *o = -y),
        Factor::Two => pairs.for_each(|(o, &y)| *o = y + y),
        Factor::MinusTwo => pairs.for_each(|(o, &y)| *o = -(y + y)),
        other => pairs.for_each(|(o, &y)| *o = other.apply(y)),
    }
}

/// `coeffs` as small integers over a common denominator: the smallest
/// D ≤ 720 such that every D·c is a small factor (Lagrange coefficients for
/// few parties are fractions with small denominators), the factors D·c and
/// D. With no such D: the coefficients as they are and D = 1.
pub fn over_denominator(coeffs: &[Fp]) -> (Vec<Factor>, Fp) {
    for d in 1..=720u64 {
        let df = Fp::from_u64(d);
        let scaled: Vec<Factor> = coeffs.iter().map(|&c| Factor::of(c * df)).collect();
        if scaled.iter().all(|f| f.is_small()) {
            return (scaled, df);
        }
    }
    (coeffs.iter().map(|&c| Factor::of(c)).collect(), Fp::ONE)
}

/// xs ← c · xs for a classified factor (nothing to do for 1).
#[inline]
pub fn scale_slice(xs: &mut [Fp], c: Factor) {
    match c {
        Factor::One => {}
        Factor::MinusOne => xs.iter_mut().for_each(|x| *x = -*x),
        Factor::Two => xs.iter_mut().for_each(|x| *x = *x + *x),
        Factor::MinusTwo => xs.iter_mut().for_each(|x| *x = -(*x + *x)),
        Factor::Small(k) => xs.iter_mut().for_each(|x| *x = x.mul_u64(k)),
        Factor::MinusSmall(k) => xs.iter_mut().for_each(|x| *x = -x.mul_u64(k)),
        Factor::Half(1) => xs.iter_mut().for_each(|x| *x = x.half()),
        Factor::MinusHalf(1) => xs.iter_mut().for_each(|x| *x = -x.half()),
        Factor::Half(k) => xs.iter_mut().for_each(|x| *x = x.mul_u64(k).half()),
        Factor::MinusHalf(k) => xs.iter_mut().for_each(|x| *x = -x.mul_u64(k).half()),
        Factor::Third => xs.iter_mut().for_each(|x| *x = x.third()),
        Factor::MinusThird => xs.iter_mut().for_each(|x| *x = -x.third()),
        Factor::General(c) => xs.iter_mut().for_each(|x| *x *= c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::OsRng;

    proptest! {
        #[test]
        fn share_then_reconstruct(secret in any::<u128>(), n in 3usize..8) {
            let t = (n - 1) / 2;
            let s = Fp::new(secret);
            let shares = share(s, t, n, &mut OsRng);
            let pairs: Vec<(usize, Fp)> = shares.iter().copied().enumerate().collect();
            prop_assert_eq!(reconstruct(&pairs, t).unwrap(), s);
            let tail: Vec<(usize, Fp)> = pairs[n - t - 1..].to_vec();
            prop_assert_eq!(reconstruct(&tail, t).unwrap(), s);
        }
    }

    #[test]
    fn coefficients_over_a_denominator() {
        let half = Fp::new(2).inv().unwrap();
        let (f, d) = over_denominator(&[-half, Fp::new(3) * half]);
        assert_eq!(
            (f, d),
            (vec![Factor::MinusHalf(1), Factor::Half(3)], Fp::ONE)
        );
        let third = Fp::new(3).inv().unwrap();
        let (f, d) = over_denominator(&[-third, Fp::new(4) * third]);
        assert_eq!(d, Fp::new(3));
        assert_eq!(f, vec![Factor::MinusOne, Factor::Small(4)]);
        let (f, d) = over_denominator(&[Fp::new(3), -Fp::new(2)]);
        assert_eq!((f, d), (vec![Factor::Small(3), Factor::MinusTwo], Fp::ONE));
        // A value no small multiple of which is a small integer or half of one.
        let big = Fp::new(0x5a3c_96e1_0f7b_d428_1c6e_93a5_b70d_f249);
        let (f, d) = over_denominator(&[big]);
        assert_eq!((f, d), (vec![Factor::General(big)], Fp::ONE));
    }

    #[test]
    fn base_plus_factor_matches_copy_and_axpy() {
        use rand::RngCore;
        let mut rng = OsRng;
        let edge = [
            Fp::ZERO,
            Fp::ONE,
            Fp::new(crate::field::MODULUS - 1),
            Fp::new(1u128 << 126),
        ];
        let mut base: Vec<Fp> = edge.to_vec();
        let mut x: Vec<Fp> = edge.iter().rev().copied().collect();
        for a in edge {
            for b in edge {
                base.push(a);
                x.push(b);
            }
        }
        for _ in 0..200 {
            base.push(random_element(&mut rng));
            x.push(random_element(&mut rng));
        }
        let half = Fp::new(2).inv().unwrap();
        let mut cs = vec![
            Fp::ONE,
            -Fp::ONE,
            Fp::new(2),
            -Fp::new(2),
            Fp::new(3),
            -Fp::new(7),
            half,
            -half,
            Fp::new(3) * half,
            -Fp::new(5) * half,
            Fp::ZERO,
        ];
        cs.push(Fp::new(
            u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()),
        ));
        for c in cs {
            let f = Factor::of(c);
            let mut want = base.clone();
            axpy_factor(&mut want, f, &x);
            let mut plain = base.clone();
            for (p, &y) in plain.iter_mut().zip(&x) {
                *p += c * y;
            }
            assert_eq!(want, plain, "{f:?}");
            let mut got = vec![Fp::ONE; base.len()];
            base_plus_factor(&mut got, &base, f, &x);
            assert_eq!(got, want, "{f:?}");
            let mut scaled = x.clone();
            scale_slice(&mut scaled, f);
            assert!(scaled.iter().zip(&x).all(|(&s, &y)| s == c * y), "{f:?}");
            let mut into = vec![Fp::ONE; x.len()];
            scale_into(&mut into, f, &x);
            assert_eq!(into, scaled, "{f:?}");
        }
    }

    #[test]
    fn inconsistent_share_is_rejected() {
        let shares = share(Fp::new(42), 1, 4, &mut OsRng);
        let mut pairs: Vec<(usize, Fp)> = shares.into_iter().enumerate().collect();
        pairs[3].1 += Fp::ONE;
        assert!(matches!(
            reconstruct(&pairs, 1),
            Err(MpcError::BadShare { peer: 3, .. })
        ));
    }
}
