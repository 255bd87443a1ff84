//! Shamir secret sharing kernels: party points, Lagrange coefficients,
//! local sharing and reconstruction. Party `i` holds the evaluation at
//! x = i + 1; the secret is the evaluation at 0.

use crate::error::{MpcError, Result};
use crate::field::Fp;
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
    if n < t + 1 {
        return Err(MpcError::Config(format!("need {} shares, got {n}", t + 1)));
    }
    let len = shares.first().map_or(0, Vec::len);
    if let Some(k) = shares.iter().position(|s| s.len() != len) {
        return Err(MpcError::WrongLength {
            peer: k,
            expected: len,
            got: shares.get(k).map_or(0, Vec::len),
        });
    }
    let xs: Vec<Fp> = (0..=t).map(point).collect();
    let at0 = lagrange_at(&xs, Fp::ZERO).ok_or(MpcError::Unlucky("repeated point"))?;
    let checks: Vec<Vec<Fp>> = (t + 1..n)
        .map(|k| lagrange_at(&xs, point(k)).ok_or(MpcError::Unlucky("repeated point")))
        .collect::<Result<_>>()?;
    let base = shares.get(..=t).unwrap_or(&[]);
    let extra = shares.get(t + 1..).unwrap_or(&[]);
    let mut out = Vec::with_capacity(len);
    let mut col = vec![Fp::ZERO; t + 1];
    for i in 0..len {
        for (c, s) in col.iter_mut().zip(base) {
            *c = s.get(i).copied().unwrap_or_default();
        }
        out.push(at0.iter().zip(&col).map(|(&a, &b)| a * b).sum());
        for (k, (coeffs, sk)) in checks.iter().zip(extra).enumerate() {
            let predicted: Fp = coeffs.iter().zip(&col).map(|(&a, &b)| a * b).sum();
            if Some(&predicted) != sk.get(i) {
                return Err(MpcError::BadShare {
                    peer: t + 1 + k,
                    reason: "not on the polynomial of the other shares",
                });
            }
        }
    }
    Ok(out)
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
