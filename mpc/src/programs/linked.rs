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

use super::columns::sums_json;
use super::layout::Layout;
use super::params::{Bounded, Groups};
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
    let table = link_private(party, ids, &mine)?;
    // Where program column c sits among its holder's linked columns.
    let column = |c: usize, i: usize| -> Result<&SecretVec, ProgramError> {
        let p = holder.get(c).copied().unwrap_or_default();
        let offset: usize = (0..c)
            .filter(|&d| holder.get(d) == Some(&p))
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
    let Some(released) = release(party, &counts, &sums, k, &roles.recipients, None)? else {
        return Ok(None);
    };
    Ok(Some(result_json(&cols, &released)))
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
            _ => suppressed_with(json!({"group": gv}), Rule::Threshold),
        });
    }
    json!({"cells": cells, "effects": effects})
}
