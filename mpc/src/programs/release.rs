//! The disclosure rules with recipients: counts are compared with k in
//! secret (the threshold rule), the comparison bits are opened to all
//! parties; for magnitude tables the dominance rule is decided in secret
//! for the cells the threshold rule released ([`super::dominance`]), its
//! bits opened to all parties too; the released counts and aggregates are
//! opened to the recipients only.

use super::dominance::{self, Shared};
use super::params::Dominance;
use super::ProgramError;
use crate::compare;
use crate::field::Fp;
use crate::party::Party;
use crate::secret::SecretVec;
use crate::transport::Transport;
use serde_json::{json, Value};

/// Bit length for comparing counts with k (counts stay far below 2^39).
const COUNT_BITS: u32 = 40;

/// The rule that suppressed a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Fewer than k records.
    Threshold,
    /// The n largest contributions exceed k % of the total.
    Dominance(Dominance),
}

/// One cell after the disclosure rules, as a recipient sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    /// Suppressed: nothing but this fact and the rule.
    Suppressed(Rule),
    /// Count at least k: the count and the cell's aggregates.
    Released {
        /// Records in the cell.
        count: i128,
        /// One value per aggregate vector, in order.
        values: Vec<i128>,
    },
}

/// The disclosure rules for `counts.len()` cells; `aggregates` hold one
/// secret vector per aggregate, each with one element per cell; `dominance`
/// the contributions of a magnitude table. Returns the cells on
/// recipients, `None` elsewhere.
pub(crate) fn release<T: Transport>(
    party: &mut Party<T>,
    counts: &SecretVec,
    aggregates: &[SecretVec],
    k: u64,
    recipients: &[usize],
    dominance: Option<&Shared>,
) -> Result<Option<Vec<Cell>>, ProgramError> {
    let ok = compare::ge_public(party, counts, i128::from(k), COUNT_BITS)?;
    let ok = party.open(&ok)?;
    let mut released: Vec<usize> = (0..counts.len())
        .filter(|&i| ok.get(i) == Some(&Fp::ONE))
        .collect();
    let mut cells = vec![Cell::Suppressed(Rule::Threshold); counts.len()];
    if let Some(shared) = dominance {
        let dominated = dominance::dominated(party, shared, &released)?;
        let rule = Rule::Dominance(shared.rule);
        for (&c, _) in released.iter().zip(&dominated).filter(|(_, &d)| d) {
            if let Some(slot) = cells.get_mut(c) {
                *slot = Cell::Suppressed(rule);
            }
        }
        released = released
            .into_iter()
            .zip(dominated)
            .filter_map(|(c, d)| (!d).then_some(c))
            .collect();
    }
    let mut parts = vec![counts.select(&released)?];
    for a in aggregates {
        parts.push(a.select(&released)?);
    }
    let opened = if released.is_empty() {
        recipients.contains(&party.index()).then(Vec::new)
    } else {
        party.open_to(
            &SecretVec::concat(&parts.iter().collect::<Vec<_>>()),
            recipients,
        )?
    };
    let Some(opened) = opened else {
        return Ok(None);
    };
    let r = released.len();
    let get = |i: usize| opened.get(i).copied().unwrap_or_default().to_i128();
    for (j, &c) in released.iter().enumerate() {
        if let Some(slot) = cells.get_mut(c) {
            *slot = Cell::Released {
                count: get(j),
                values: (1..=aggregates.len()).map(|a| get(a * r + j)).collect(),
            };
        }
    }
    Ok(Some(cells))
}

/// The rule applied to a table as a whole: released only if every count is
/// at least k; one bit is opened to all parties.
pub(crate) fn release_all<T: Transport>(
    party: &mut Party<T>,
    counts: &SecretVec,
    k: u64,
    recipients: &[usize],
) -> Result<Option<Option<Vec<i128>>>, ProgramError> {
    let ok = compare::ge_public(party, counts, i128::from(k), COUNT_BITS)?;
    let all = compare::ge_public(party, &ok.sum(), counts.len() as i128, 16)?;
    let all = party.open(&all)?;
    if all.first() != Some(&Fp::ONE) {
        return Ok(recipients.contains(&party.index()).then_some(None));
    }
    Ok(party
        .open_to(counts, recipients)?
        .map(|v| Some(v.iter().map(|x| x.to_i128()).collect())))
}

/// An integer as JSON: a number within ±2^63, else a decimal string.
pub(crate) fn int(v: i128) -> Value {
    match i64::try_from(v) {
        Ok(i) => json!(i),
        Err(_) => json!(v.to_string()),
    }
}

/// `{"suppressed": true, "rule": "threshold"}`: fewer than k records.
pub(crate) fn suppressed() -> Value {
    suppressed_by(Rule::Threshold)
}

/// `{"suppressed": true, "rule": …}` explaining the rule; the dominance
/// rule adds its parameters as `"dominance": {"n", "k"}` (the result's
/// top-level `k` is the threshold rule's).
pub(crate) fn suppressed_by(rule: Rule) -> Value {
    match rule {
        Rule::Threshold => json!({"suppressed": true, "rule": "threshold"}),
        Rule::Dominance(d) => json!({
            "suppressed": true,
            "rule": "dominance",
            "dominance": {"n": d.n, "k": d.k},
        }),
    }
}

/// `extra`'s members followed by the members of `suppressed_by(rule)`.
pub(crate) fn suppressed_with(extra: Value, rule: Rule) -> Value {
    let mut out = extra;
    if let (Some(o), Value::Object(s)) = (out.as_object_mut(), suppressed_by(rule)) {
        o.extend(s);
    }
    out
}
