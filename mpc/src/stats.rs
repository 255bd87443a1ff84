//! Study operations over shared columns: sums, counts, means, variances,
//! histograms, group-by with secret membership, dot products, linear
//! regression and the small-cell disclosure rule.
//!
//! Columns are [`SecretVec`]s of fixed-point values ([`FixedCodec`]) or
//! 0/1 indicators. Each operation computes its aggregates in secret and
//! opens only the aggregates named in its documentation (the "sufficient
//! statistics"); divisions and the final arithmetic are done in the clear on
//! those. No record-level value is ever opened.

use crate::compare;
use crate::encoding::FixedCodec;
use crate::error::{MpcError, Result};
use crate::field::Fp;
use crate::party::Party;
use crate::secret::SecretVec;
use crate::transport::Transport;

/// Count, sum, mean, sample variance and standard deviation of a column.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    /// Number of records counted.
    pub count: f64,
    /// Sum of the values.
    pub sum: f64,
    /// Mean (NaN for an empty selection).
    pub mean: f64,
    /// Sample variance (divisor count − 1; NaN below two records).
    pub variance: f64,
    /// Sample standard deviation.
    pub std_dev: f64,
}

/// The secret sum of a column (length one).
pub fn sum(x: &SecretVec) -> SecretVec {
    x.sum()
}

/// The secret number of ones in a 0/1 indicator column (length one).
pub fn count(mask: &SecretVec) -> SecretVec {
    mask.sum()
}

/// Count, sum, mean and variance of `x` over the records where the secret
/// 0/1 `mask` is one (all records if `None`).
///
/// Reveals: the count, Σx and Σx² of the selection, nothing else.
pub fn moments<T: Transport>(
    party: &mut Party<T>,
    x: &SecretVec,
    mask: Option<&SecretVec>,
    codec: &FixedCodec,
) -> Result<Moments> {
    let (cnt, s1, s2) = match mask {
        None => {
            let s2 = party.dot(x, x)?;
            let cnt = party.constant(&[Fp::from_u64(x.len() as u64)]);
            (cnt, x.sum(), s2)
        }
        Some(m) => {
            let mx = party.mul(m, x)?;
            let s2 = party.dot(&mx, x)?;
            (m.sum(), mx.sum(), s2)
        }
    };
    let opened = party.open(&SecretVec::concat(&[&cnt, &s1, &s2]))?;
    let get = |i: usize| opened.get(i).copied().unwrap_or(Fp::ZERO);
    let count = get(0).to_i128() as f64;
    let sum = codec.decode(get(1));
    let sumsq = codec.decode_scaled(get(2), 2);
    let mean = sum / count;
    let variance = (sumsq - count * mean * mean) / (count - 1.0);
    Ok(Moments {
        count,
        sum,
        mean,
        variance,
        std_dev: variance.sqrt(),
    })
}

/// Secret counts of `x` per bin, for bins split at the public `edges`
/// (ascending, encoded like `x`): bin 0 is `x < edges[0]`, bin k is
/// `edges[k−1] ≤ x < edges[k]`, the last bin is `x ≥ edges[last]`.
/// `bits` bounds the bit length of x − edge (see [`compare::lt`]).
pub fn histogram<T: Transport>(
    party: &mut Party<T>,
    x: &SecretVec,
    edges: &[Fp],
    bits: u32,
) -> Result<SecretVec> {
    let n = x.len();
    let mut diffs = Vec::with_capacity(n * edges.len());
    for &e in edges {
        diffs.extend(x.shares().iter().map(|&v| v - e));
    }
    let below = compare::less_than_zero(party, &SecretVec::from_shares(diffs), bits)?;
    let cum: Vec<Fp> = below
        .shares()
        .chunks(n.max(1))
        .map(|c| c.iter().copied().sum())
        .collect();
    let mut bins = Vec::with_capacity(edges.len() + 1);
    let mut prev = Fp::ZERO;
    for &c in &cum {
        bins.push(c - prev);
        prev = c;
    }
    bins.push(Fp::from_u64(n as u64) - prev);
    Ok(SecretVec::from_shares(bins))
}

/// Per-group secret aggregates.
#[derive(Debug, Clone)]
pub struct GroupAggregates {
    /// Records per group (length = number of groups).
    pub counts: SecretVec,
    /// For each value column, its sum per group.
    pub sums: Vec<SecretVec>,
}

/// Group-by with secret membership: `labels` holds each record's group in
/// `0..groups` (secret); returns per-group counts and per-group sums of
/// each column in `values`, all still secret. `label_bits` bounds the
/// labels' bit length (e.g. 8 for fewer than 128 groups).
pub fn group_by<T: Transport>(
    party: &mut Party<T>,
    labels: &SecretVec,
    groups: usize,
    values: &[&SecretVec],
    label_bits: u32,
) -> Result<GroupAggregates> {
    let n = labels.len();
    for v in values {
        if v.len() != n {
            return Err(MpcError::LengthMismatch {
                left: n,
                right: v.len(),
            });
        }
    }
    let mut diffs = Vec::with_capacity(n * groups);
    for g in 0..groups {
        let gf = Fp::from_u64(g as u64);
        diffs.extend(labels.shares().iter().map(|&l| l - gf));
    }
    let ind = compare::equals_zero(party, &SecretVec::from_shares(diffs), label_bits + 1)?;
    let parts = ind.split(&vec![n; groups])?;
    group_by_indicators(party, &parts, values)
}

/// Group-by when membership is already a secret 0/1 indicator column per
/// group (for example input directly by the party holding the attribute).
pub fn group_by_indicators<T: Transport>(
    party: &mut Party<T>,
    indicators: &[SecretVec],
    values: &[&SecretVec],
) -> Result<GroupAggregates> {
    let counts = SecretVec::from_shares(
        indicators
            .iter()
            .map(|i| i.sum().shares().first().copied().unwrap_or_default())
            .collect(),
    );
    let pairs: Vec<(&SecretVec, &SecretVec)> = values
        .iter()
        .flat_map(|v| indicators.iter().map(move |i| (i, *v)))
        .collect();
    let dots = party.dot_many(&pairs)?;
    let sums = dots.split(&vec![indicators.len(); values.len()])?;
    Ok(GroupAggregates { counts, sums })
}

/// What the disclosure rule lets out for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disclosed {
    /// The group's count was below k: only this fact is revealed.
    Suppressed,
    /// The group's count and the requested aggregates.
    Released {
        /// Records in the group.
        count: i128,
        /// The aggregates, in the order given (still encoded).
        values: Vec<Fp>,
    },
}

/// The disclosure rule: a group's count and aggregates are opened only if
/// its count ≥ k, compared in secret. `count_bits` bounds the counts'
/// bit length (e.g. 32). A suppressed group reveals only that it was
/// suppressed.
pub fn disclose<T: Transport>(
    party: &mut Party<T>,
    counts: &SecretVec,
    aggregates: &[&SecretVec],
    k: u64,
    count_bits: u32,
) -> Result<Vec<Disclosed>> {
    let ok = compare::ge_public(party, counts, i128::from(k), count_bits)?;
    let ok = party.open(&ok)?;
    let released: Vec<usize> = ok
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == Fp::ONE)
        .map(|(i, _)| i)
        .collect();
    let mut parts = vec![counts.select(&released)?];
    for a in aggregates {
        parts.push(a.select(&released)?);
    }
    let opened = party.open(&SecretVec::concat(&parts.iter().collect::<Vec<_>>()))?;
    let r = released.len();
    let mut out = vec![Disclosed::Suppressed; counts.len()];
    for (j, &g) in released.iter().enumerate() {
        let count = opened.get(j).copied().unwrap_or_default().to_i128();
        let values = (0..aggregates.len())
            .map(|a| opened.get((a + 1) * r + j).copied().unwrap_or_default())
            .collect();
        if let Some(slot) = out.get_mut(g) {
            *slot = Disclosed::Released { count, values };
        }
    }
    Ok(out)
}

/// A fitted linear model y ≈ β₀ + Σ βᵢ·xᵢ.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    /// β₀ (intercept) then one coefficient per covariate.
    pub coefficients: Vec<f64>,
    /// Number of records used (the selection's size with a mask).
    pub count: usize,
}

/// Ordinary least squares of `y` on the covariates `xs` (plus an intercept),
/// all fixed-point columns of one length, over the records where the secret
/// 0/1 `mask` is one (all records if `None`).
#[expect(
    clippy::needless_range_loop,
    reason = "matrix code reads best with indices"
)]
///
/// Reveals: XᵀX and Xᵀy (the sufficient statistics: counts, sums, sums of
/// squares and cross products), from which the coefficients are solved in
/// the clear.
pub fn linear_regression<T: Transport>(
    party: &mut Party<T>,
    xs: &[&SecretVec],
    y: &SecretVec,
    mask: Option<&SecretVec>,
    codec: &FixedCodec,
) -> Result<Regression> {
    let n = y.len();
    let one = party.constant(&vec![Fp::from_u64(1u64 << codec.frac_bits()); n]);
    // With a secret 0/1 mask, every column is multiplied by it (one round),
    // so the rows outside the selection contribute nothing.
    let masked: Vec<SecretVec> = match mask {
        None => Vec::new(),
        Some(m) => {
            let mut all: Vec<&SecretVec> = vec![&one];
            all.extend_from_slice(xs);
            all.push(y);
            let reps: Vec<&SecretVec> = all.iter().map(|_| m).collect();
            let prod = party.mul(&SecretVec::concat(&all), &SecretVec::concat(&reps))?;
            prod.split(&vec![n; all.len()])?
        }
    };
    let (one, xs, y): (&SecretVec, Vec<&SecretVec>, &SecretVec) = if masked.is_empty() {
        (&one, xs.to_vec(), y)
    } else {
        let k = masked.len();
        (
            masked.first().unwrap_or(&one),
            masked.iter().skip(1).take(k.saturating_sub(2)).collect(),
            masked.last().unwrap_or(y),
        )
    };
    let mut cols: Vec<&SecretVec> = vec![one];
    cols.extend_from_slice(&xs);
    let k = cols.len();
    let mut pairs = Vec::new();
    for i in 0..k {
        for j in i..k {
            pairs.push((cols[i], cols[j]));
        }
    }
    for c in &cols {
        pairs.push((*c, y));
    }
    let dots = party.dot_many(&pairs)?;
    let opened = party.open(&dots)?;
    let mut a = vec![vec![0.0f64; k + 1]; k];
    let mut idx = 0;
    for i in 0..k {
        for j in i..k {
            let v = codec.decode_scaled(opened.get(idx).copied().unwrap_or_default(), 2);
            a[i][j] = v;
            a[j][i] = v;
            idx += 1;
        }
    }
    for row in a.iter_mut() {
        row[k] = codec.decode_scaled(opened.get(idx).copied().unwrap_or_default(), 2);
        idx += 1;
    }
    let count = a[0][0].round().max(0.0) as usize;
    let coefficients = solve(a).ok_or_else(|| {
        MpcError::Config("the covariates are collinear: XᵀX is singular".to_owned())
    })?;
    Ok(Regression {
        coefficients,
        count,
    })
}

/// Gaussian elimination with partial pivoting on an augmented k×(k+1)
/// matrix; `None` if it is (numerically) singular.
#[expect(
    clippy::needless_range_loop,
    reason = "matrix code reads best with indices"
)]
pub(crate) fn solve(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let k = a.len();
    let scale = a
        .iter()
        .flat_map(|r| r.iter().take(k))
        .fold(0.0f64, |m, v| m.max(v.abs()));
    for col in 0..k {
        let pivot = (col..k).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        for r in 0..k {
            if r != col {
                let f = a[r][col] / a[col][col];
                for c in col..=k {
                    a[r][c] -= f * a[col][c];
                }
            }
        }
    }
    Some((0..k).map(|i| a[i][k] / a[i][i]).collect())
}
