//! `linked-group-stats`: the analytics study. The input parties' records
//! are linked privately on their identifiers ([`link_private`]); over the
//! records present at every input party, per (group, treatment) cell the
//! count and the outcome sums go through the disclosure rule, and the
//! recipients derive means and per-group effects.
//!
//! The party holding the group column inputs one 0/1 indicator column per
//! group value (so no comparison is needed); cell indicators are
//! presence × group indicator × treatment, two rounds of multiplications,
//! and the outcome sums one round of dot products.
//!
//! The dominance rule (n, k) applies per cell and outcome, as in
//! `group-stats`; but no party knows which cell a linked record falls into,
//! so it is decided on secret contributions (an outcome whose declared
//! `min` is negative is linked a second time as |value| by its holder).
//! For n = 1 (the default) a unit (outcome × cell) is dominated iff one of
//! its records alone has `100 · |outcome| > k · total`
//! ([`super::dominance::exceeding`]): the totals and each record's own
//! cell total are dot products, then one batch of comparisons, one per
//! linked record and outcome, and one more round of dot products counts
//! such records per unit. For n ≥ 2 the contributions are formed per unit
//! and linked record, cell indicator × |outcome| (one round of
//! multiplications); their totals are local sums and their n largest come
//! from a tournament in secret ([`super::dominance::top`]), as the
//! contributions of one holder. Either goes to
//! [`super::dominance::dominated`], which opens one bit per cell the
//! threshold rule released.

use super::columns::sums_json;
use super::dominance::exceeding::exceeding;
use super::dominance::{self, bit_len, top, Contributions, Shape, Shared};
use super::layout::Layout;
use super::params::{Bounded, Dominance, Groups};
use super::release::{int, release, suppressed_with, Cell, Rule};
use super::sets::present_at_all;
use super::{LocalTable, ProgramError, Roles};
use crate::field::Fp;
use crate::joint::link_private;
use crate::party::Party;
use crate::secret::SecretVec;
use crate::transport::Transport;
use serde_json::{json, Map, Value};

/// The program's columns.
pub(crate) struct Columns<'a> {
    /// The group column and its values.
    pub group: &'a Groups,
    /// The 0/1 treatment column.
    pub treatment: &'a str,
    /// The outcome columns.
    pub outcomes: &'a [Bounded],
    /// The dominance rule, if it applies.
    pub dominance: Option<Dominance>,
}

/// Runs `linked-group-stats`; `Some(result)` on recipients.
pub(crate) fn run<T: Transport>(
    party: &mut Party<T>,
    roles: &Roles,
    layout: &Layout,
    input: Option<&LocalTable>,
    k: u64,
    cols: Columns<'_>,
) -> Result<Option<Value>, ProgramError> {
    let me = party.index();
    let g = cols.group.values.len();
    let names: Vec<&str> = [cols.group.column.as_str(), cols.treatment]
        .into_iter()
        .chain(cols.outcomes.iter().map(|o| o.column.as_str()))
        .collect();
    // Program column c is linked as `width(c)` columns of its holder.
    let width = |c: usize| if c == 0 { g } else { 1 };
    let mut holder = Vec::with_capacity(names.len());
    for (c, name) in names.iter().enumerate() {
        match layout.holders(c).as_slice() {
            [p] => holder.push(*p),
            [] => {
                return Err(ProgramError::Layout(format!(
                    "no input party holds column `{name}`"
                )))
            }
            many => {
                return Err(ProgramError::Layout(format!(
                "column `{name}` is held by parties {many:?}; a linking program needs exactly one"
            )))
            }
        }
    }
    // Our linked columns, in program-column order.
    let ids: &[String] = input.and_then(|t| t.ids.as_deref()).unwrap_or(&[]);
    let mut mine: Vec<Vec<Fp>> = Vec::new();
    for (c, name) in names.iter().enumerate() {
        if holder.get(c) != Some(&me) {
            continue;
        }
        let values = input.and_then(|t| t.columns.get(*name)).ok_or_else(|| {
            ProgramError::ColumnMissing {
                column: (*name).to_owned(),
            }
        })?;
        if c == 0 {
            for gv in &cols.group.values {
                mine.push(
                    values
                        .iter()
                        .map(|v| Fp::from_u64(u64::from(v == gv)))
                        .collect(),
                );
            }
        } else {
            mine.push(
                values
                    .iter()
                    .map(|&v| Fp::from_i128(i128::from(v)))
                    .collect(),
            );
        }
    }
    // For the dominance rule, |value| of each outcome that may be negative,
    // after all program columns.
    let linked_abs =
        |o: usize| cols.dominance.is_some() && cols.outcomes.get(o).is_some_and(|b| b.min < 0);
    for o in 0..cols.outcomes.len() {
        if !linked_abs(o) || holder.get(2 + o) != Some(&me) {
            continue;
        }
        let name = names.get(2 + o).copied().unwrap_or_default();
        let values =
            input
                .and_then(|t| t.columns.get(name))
                .ok_or_else(|| ProgramError::ColumnMissing {
                    column: name.to_owned(),
                })?;
        mine.push(
            values
                .iter()
                .map(|v| Fp::from_u64(v.unsigned_abs()))
                .collect(),
        );
    }
    let table = link_private(party, ids, &mine)?;
    // Where program column c sits among its holder's linked columns.
    // Column c = names.len() + o is outcome o's |value| (if linked).
    let column = |c: usize, i: usize| -> Result<&SecretVec, ProgramError> {
        let abs_of = c.checked_sub(names.len());
        let p = holder
            .get(abs_of.map_or(c, |o| 2 + o))
            .copied()
            .unwrap_or_default();
        let offset: usize = (0..c)
            .filter(|&d| match d.checked_sub(names.len()) {
                None => holder.get(d) == Some(&p),
                Some(o) => linked_abs(o) && holder.get(2 + o) == Some(&p),
            })
            .map(width)
            .sum();
        table
            .columns
            .get(p)
            .and_then(|v| v.get(offset + i))
            .ok_or_else(|| ProgramError::Layout(format!("party {p} linked too few columns")))
    };
    let present = present_at_all(party, &table.presence, &table.in_all, roles)?;
    let rows = table.rows;
    let indicators: Vec<&SecretVec> = (0..g).map(|i| column(0, i)).collect::<Result<_, _>>()?;
    let treatment = column(1, 0)?;
    let reps = |v: &SecretVec| SecretVec::concat(&vec![v; g]);
    // m_g = present · [group = g]; t_g = m_g · treatment; cells (g, 0), (g, 1).
    let m = party.mul(&SecretVec::concat(&indicators), &reps(&present))?;
    let t = party.mul(&m, &reps(treatment))?;
    let untreated = m.sub(&t)?;
    let (m0, m1) = (untreated.split(&vec![rows; g])?, t.split(&vec![rows; g])?);
    let cells: Vec<&SecretVec> = m0.iter().zip(&m1).flat_map(|(a, b)| [a, b]).collect();
    let counts = SecretVec::from_shares(
        cells
            .iter()
            .map(|c| c.sum().shares().first().copied().unwrap_or_default())
            .collect(),
    );
    let outcomes: Vec<&SecretVec> = (0..cols.outcomes.len())
        .map(|o| column(2 + o, 0))
        .collect::<Result<_, _>>()?;
    let pairs: Vec<(&SecretVec, &SecretVec)> = outcomes
        .iter()
        .flat_map(|o| cells.iter().map(move |c| (*c, *o)))
        .collect();
    let sums = party
        .dot_many(&pairs)?
        .split(&vec![2 * g; outcomes.len()])?;
    let shared = match cols.dominance {
        Some(rule) => {
            let abs: Vec<&SecretVec> = (0..outcomes.len())
                .map(|o| {
                    if linked_abs(o) {
                        column(names.len() + o, 0)
                    } else {
                        outcomes.get(o).copied().ok_or_else(|| {
                            ProgramError::Layout("missing outcome column".to_owned())
                        })
                    }
                })
                .collect::<Result<_, _>>()?;
            Some(contributions(
                party,
                rule,
                &cells,
                &abs,
                cols.outcomes,
                rows,
            )?)
        }
        None => None,
    };
    let Some(released) = release(party, &counts, &sums, k, &roles.recipients, shared.as_ref())?
    else {
        return Ok(None);
    };
    Ok(Some(result_json(&cols, &released)))
}

/// The dominance rule's input over the linked rows, per unit u = outcome ·
/// cells + cell. For n = 1, how many of the cell's records alone exceed
/// k % of the unit's total ([`exceeding`]); for n ≥ 2, the n largest of
/// `cell indicator × |outcome|` (a tournament in secret) and their total,
/// as one holder's contribution vector in [`Shape::len`]'s layout.
fn contributions<T: Transport>(
    party: &mut Party<T>,
    rule: Dominance,
    cells: &[&SecretVec],
    abs: &[&SecretVec],
    outcomes: &[Bounded],
    rows: usize,
) -> Result<Shared, ProgramError> {
    let shape = Shape {
        cells: cells.len(),
        columns: abs.len(),
    };
    let units = shape.units();
    let n = rule.n as usize;
    let max_abs = dominance::max_abs(outcomes);
    let contributions = if n == 1 {
        let bits = dominance::rule_bits(rows as u128, max_abs)?;
        Contributions::Exceeding(exceeding(party, rule.k, cells, abs, bits)?)
    } else if rows == 0 || units == 0 {
        Contributions::TopN(vec![SecretVec::from_shares(vec![
            Fp::ZERO;
            shape.len(rule)
        ])])
    } else {
        let indicators: Vec<&SecretVec> = abs.iter().flat_map(|_| cells.iter().copied()).collect();
        let values: Vec<&SecretVec> = abs
            .iter()
            .flat_map(|a| std::iter::repeat_n(*a, cells.len()))
            .collect();
        let c = party.mul(&SecretVec::concat(&indicators), &SecretVec::concat(&values))?;
        let totals = SecretVec::from_shares(
            c.split(&vec![rows; units])?
                .iter()
                .map(|u| u.sum().shares().first().copied().unwrap_or_default())
                .collect(),
        );
        let top = top::top_n(party, &c, units, n, bit_len(max_abs) + 2)?;
        Contributions::TopN(vec![SecretVec::concat(&[&top, &totals])])
    };
    Ok(Shared {
        rule,
        shape,
        contributions,
        max_abs,
        rows: rows as u128,
    })
}

fn result_json(cols: &Columns<'_>, released: &[Cell]) -> Value {
    let mut cells = Vec::new();
    let mut effects = Vec::new();
    for (gi, gv) in cols.group.values.iter().enumerate() {
        let pair = [released.get(2 * gi), released.get(2 * gi + 1)];
        for (treatment, cell) in pair.iter().enumerate() {
            cells.push(match cell {
                Some(Cell::Released { count, values }) => json!({
                    "group": gv,
                    "treatment": treatment,
                    "count": int(*count),
                    "outcomes": sums_json(cols.outcomes, *count, values),
                }),
                Some(Cell::Suppressed(rule)) => {
                    suppressed_with(json!({"group": gv, "treatment": treatment}), *rule)
                }
                None => suppressed_with(
                    json!({"group": gv, "treatment": treatment}),
                    Rule::Threshold,
                ),
            });
        }
        effects.push(match pair {
            [Some(Cell::Released {
                count: n0,
                values: s0,
            }), Some(Cell::Released {
                count: n1,
                values: s1,
            })] => {
                let mut m = Map::new();
                for ((o, a), b) in cols.outcomes.iter().zip(s0).zip(s1) {
                    let delta = *b as f64 / *n1 as f64 - *a as f64 / *n0 as f64;
                    m.insert(o.column.clone(), json!(delta));
                }
                json!({"group": gv, "outcomes": m})
            }
            // Suppressed with a cell: by the dominance rule if either
            // cell is, else by the threshold rule.
            _ => {
                let rule = pair
                    .iter()
                    .find_map(|c| match c {
                        Some(Cell::Suppressed(r @ Rule::Dominance(_))) => Some(*r),
                        _ => None,
                    })
                    .unwrap_or(Rule::Threshold);
                suppressed_with(json!({"group": gv}), rule)
            }
        });
    }
    json!({"cells": cells, "effects": effects})
}
