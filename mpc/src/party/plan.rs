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
/// their points.
pub(super) struct Line {
    pub(super) scale: Factor,
    pub(super) inv_xq: Factor,
    pub(super) explicit: Vec<(usize, Factor)>,
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
            .map(|(k, _)| (*k, Factor::of(point(*k))))
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
