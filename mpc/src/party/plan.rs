//! Dealing plans: which parties a dealer's shares reach by pair keys and
//! which by messages, and the line form of a dealing when t = 1.

use super::*;

/// For dealer d: which parties get pseudorandom shares, and how the others'
/// shares follow from the secret and those.
#[derive(Debug, Clone)]
pub(super) struct DealPlan {
    pub(super) seeded: Vec<usize>,
    // (party, coefficients on [secret, seeded shares...])
    pub(super) explicit: Vec<(usize, Vec<Fp>)>,
}

/// A t = 1 dealing as a line (see `Party::deal_out`): the factor of the
/// secrets, 1/x_q for the seeded party q, and the explicit parties with
/// how each one's share is formed from the slope m.
pub(super) struct Line {
    pub(super) scale: Factor,
    pub(super) inv_xq: Factor,
    pub(super) explicit: Vec<Explicit>,
}

/// How an explicit party k's share on the line f(x) = s′ + m·x is formed:
/// s′ + x_k·m, or r + (x_k − x_q)·m from the seeded party's share
/// r = f(x_q), whichever factor is cheaper (party points are 1..=n, so
/// neighbours of q get ±m or ±2m: additions only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Explicit {
    pub(super) party: usize,
    pub(super) from_seeded: bool,
    pub(super) factor: Factor,
}

/// How many additions-equivalents a factor costs: ±1 none, ±2 one, others more.
fn cost(f: Factor) -> u8 {
    match f {
        Factor::One | Factor::MinusOne => 0,
        Factor::Two | Factor::MinusTwo => 1,
        Factor::Half(1) | Factor::MinusHalf(1) => 1,
        Factor::General(_) => 3,
        _ => 2,
    }
}

/// The cheaper way to form party k's share when q is the seeded party.
pub(super) fn explicit_share(k: usize, q: usize) -> Explicit {
    let from_secret = Factor::of(point(k));
    let from_seeded = Factor::of(point(k) - point(q));
    if cost(from_seeded) < cost(from_secret) {
        Explicit {
            party: k,
            from_seeded: true,
            factor: from_seeded,
        }
    } else {
        Explicit {
            party: k,
            from_seeded: false,
            factor: from_secret,
        }
    }
}

/// The line form of `plan` when t = 1; `None` otherwise.
pub(super) fn line_plan(plan: &DealPlan, scale: Fp) -> Result<Option<Line>> {
    let [q] = plan.seeded.as_slice() else {
        return Ok(None);
    };
    let inv_xq = point(*q)
        .inv()
        .ok_or(MpcError::Unlucky("zero evaluation point"))?;
    Ok(Some(Line {
        scale: Factor::of(scale),
        inv_xq: Factor::of(inv_xq),
        explicit: plan
            .explicit
            .iter()
            .map(|(k, _)| explicit_share(*k, *q))
            .collect(),
    }))
}

/// The dealing plan of dealer `d`: its t successors get pseudorandom shares.
pub(super) fn plan(d: usize, n: usize, t: usize) -> Result<DealPlan> {
    let seeded: Vec<usize> = (1..=t).map(|k| (d + k) % n).collect();
    let mut xs = vec![Fp::ZERO];
    xs.extend(seeded.iter().map(|&j| point(j)));
    let explicit = (0..n)
        .filter(|k| !seeded.contains(k))
        .map(|k| {
            lagrange_at(&xs, point(k))
                .map(|c| (k, c))
                .ok_or(MpcError::Unlucky("repeated point"))
        })
        .collect::<Result<_>>()?;
    Ok(DealPlan { seeded, explicit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_shares_lie_on_the_line() {
        // f(x) = s + m·x through (x_q, r): both forms give f(x_k).
        let (s, m) = (
            Fp::new(0x1234_5678_9abc_def0_1122_3344),
            Fp::new(crate::field::MODULUS - 5),
        );
        for n in 3..8 {
            for q in 0..n {
                let r = s + m * point(q);
                for k in (0..n).filter(|&k| k != q) {
                    let e = explicit_share(k, q);
                    let base = if e.from_seeded { r } else { s };
                    assert_eq!(
                        base + e.factor.apply(m),
                        s + m * point(k),
                        "n={n} q={q} k={k}"
                    );
                }
            }
        }
        // Neighbours of the seeded party are reached by additions.
        assert_eq!(explicit_share(2, 1).factor, Factor::One);
        assert!(explicit_share(2, 1).from_seeded);
        assert_eq!(explicit_share(0, 1).factor, Factor::One);
    }
}
