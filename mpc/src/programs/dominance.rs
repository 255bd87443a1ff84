//! The dominance rule (n, k) for magnitude tables, decided in secret.
//!
//! A contributor is a record (one row of an input party's table, or one
//! linked record): a person with several rows counts as several
//! contributors, exactly as the threshold rule counts rows. Each
//! contribution is the absolute value of the record's value, so the rule is
//! defined for columns with negative values too (for non-negative columns
//! it is the value itself).
//!
//! In the programs on columns (`sum`, `mean`, `variance`, `group-stats`)
//! each input party holding the program's columns sorts its own rows'
//! contributions per *unit* (value column × cell) and secret-shares only its
//! n largest (padded with zeros) and their total: the n largest of the
//! union lie among the parties' n largest each. In secret, per unit, the
//! H·n candidates of the H holders are partially sorted by n bubble passes
//! of compare-exchanges (`compare::lt`, then one multiplication to move the
//! larger value up), which costs Σ_{j<n} (H·n − 1 − j) comparisons and as
//! many multiplications per unit, all units in the same rounds (n = 1: H − 1
//! comparisons per unit; a single holder's list is sorted already and costs
//! none).
//!
//! In `linked-group-stats` nobody knows which cell a linked record falls
//! into. For n = 1 (the default) the rule is decided per record
//! ([`exceeding`]): a unit is dominated iff one of its records alone has
//! `100 · |v| > k · T`, one comparison per linked record and value column
//! in one batch, and the number of such records per unit enters
//! [`dominated`] ([`Contributions::Exceeding`]). For n ≥ 2 the
//! contributions are formed in secret (cell indicator × absolute outcome,
//! one multiplication per record and unit) and their n largest found by a
//! tournament in secret ([`top`]); the result enters [`dominated`] as the
//! contributions of one holder, in the same layout. [`linked_comparisons`]
//! counts both.
//!
//! Then per unit `[100 · top_n > k · total]` (or, for n = 1 in
//! `linked-group-stats`, `[at least one record exceeds]`) is computed with
//! one more comparison per unit and, with several value columns, one per
//! cell for "any column dominated". Only that bit per cell is opened (to
//! all parties, like the threshold bits), and only for cells the threshold
//! rule released.

pub mod exceeding;
pub mod top;

use super::layout::Layout;
use super::params::{Bounded, Dominance, Plan, Program};
use super::{LocalTable, ProgramError};
use crate::compare;
use crate::field::Fp;
use crate::party::Party;
use crate::secret::SecretVec;
use crate::transport::Transport;

/// The shape of a magnitude table: cells and value columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Cells (groups; (group, treatment) pairs in `linked-group-stats`; 1
    /// for `sum`, `mean` and `variance`).
    pub cells: usize,
    /// Value columns.
    pub columns: usize,
}

impl Shape {
    /// The magnitude shape of a plan's program, if the rule applies to it.
    pub(crate) fn of(plan: &Plan) -> Option<(Shape, Dominance)> {
        let rule = plan.dominance?;
        let shape = match &plan.program {
            Program::Sum(_) | Program::Mean(_) | Program::Variance(_) => Shape {
                cells: 1,
                columns: 1,
            },
            Program::GroupStats { group, values } => Shape {
                cells: group.values.len(),
                columns: values.len(),
            },
            Program::LinkedGroupStats {
                group, outcomes, ..
            } => Shape {
                cells: 2 * group.values.len(),
                columns: outcomes.len(),
            },
            _ => return None,
        };
        Some((shape, rule))
    }

    /// Value columns × cells.
    pub(crate) fn units(self) -> usize {
        self.cells * self.columns
    }

    /// The length of one party's contribution vector: per unit the n
    /// largest contributions, then per unit the total.
    pub(crate) fn len(self, rule: Dominance) -> usize {
        self.units() * (rule.n as usize + 1)
    }
}

/// Our rows' contributions (see [`Shape::len`]), or `None` if we do not
/// hold the program's columns (and always for `linked-group-stats`, whose
/// contributions are formed in secret). Unit `u = column · cells + cell`; its n
/// largest are at `u · n ..`, its total at `units · n + u`.
pub(crate) fn local(plan: &Plan, rule: Dominance, t: &LocalTable) -> Option<Vec<i128>> {
    let (shape, _) = Shape::of(plan)?;
    let n = rule.n as usize;
    // Per unit, the absolute values of its records.
    let mut per_unit: Vec<Vec<i128>> = vec![Vec::new(); shape.units()];
    match &plan.program {
        Program::Sum(c) | Program::Mean(c) | Program::Variance(c) => {
            let x = t.columns.get(&c.column)?;
            if let Some(unit) = per_unit.first_mut() {
                unit.extend(x.iter().map(|v| i128::from(v.unsigned_abs())));
            }
        }
        Program::GroupStats { group, values } => {
            let labels = t.columns.get(&group.column)?;
            let cols: Vec<&Vec<i64>> = values
                .iter()
                .map(|b| t.columns.get(&b.column))
                .collect::<Option<_>>()?;
            for (row, label) in labels.iter().enumerate() {
                let Some(cell) = group.values.iter().position(|v| v == label) else {
                    continue;
                };
                for (ci, col) in cols.iter().enumerate() {
                    let v = col.get(row).map_or(0, |v| i128::from(v.unsigned_abs()));
                    if let Some(unit) = per_unit.get_mut(ci * shape.cells + cell) {
                        unit.push(v);
                    }
                }
            }
        }
        _ => return None,
    }
    let mut out = vec![0i128; shape.len(rule)];
    let units = shape.units();
    for (u, mut values) in per_unit.into_iter().enumerate() {
        if let Some(total) = out.get_mut(units * n + u) {
            *total = values.iter().sum();
        }
        values.sort_unstable_by(|a, b| b.cmp(a));
        for (j, v) in values.into_iter().take(n).enumerate() {
            if let Some(slot) = out.get_mut(u * n + j) {
                *slot = v;
            }
        }
    }
    Some(out)
}

/// What the rule is decided on, in secret.
#[derive(Debug)]
pub(crate) enum Contributions {
    /// One contribution vector per party holding the columns, in
    /// [`Shape::len`]'s layout (in `linked-group-stats` with n ≥ 2 one,
    /// formed in secret by [`top::top_n`]).
    TopN(Vec<SecretVec>),
    /// `linked-group-stats` with n = 1: per unit, how many records alone
    /// exceed k % of the unit's total ([`exceeding::exceeding`]); the unit
    /// is dominated iff at least one does.
    Exceeding(SecretVec),
}

/// The shared contributions, ready for [`dominated`].
#[derive(Debug)]
pub(crate) struct Shared {
    /// The rule.
    pub rule: Dominance,
    /// The table's shape.
    pub shape: Shape,
    /// What the rule is decided on.
    pub contributions: Contributions,
    /// The largest absolute value any value column allows (public).
    pub max_abs: u128,
    /// The rows of all input parties (public, from the layout), or the
    /// linked rows.
    pub rows: u128,
}

impl Shared {
    /// The largest absolute value the plan's value columns allow, and the
    /// total row count, from the public plan and layout.
    pub(crate) fn bounds(plan: &Plan, layout: &Layout) -> (u128, u128) {
        let max_abs = max_abs(match &plan.program {
            Program::Sum(c) | Program::Mean(c) | Program::Variance(c) => vec![c],
            Program::GroupStats { values, .. } => values.iter().collect(),
            Program::LinkedGroupStats { outcomes, .. } => outcomes.iter().collect(),
            _ => Vec::new(),
        });
        let rows = layout.rows.iter().map(|&r| r as u128).sum();
        (max_abs, rows)
    }
}

/// The largest absolute value the value columns allow (0 for none).
pub(crate) fn max_abs<'a>(columns: impl IntoIterator<Item = &'a Bounded>) -> u128 {
    columns
        .into_iter()
        .map(|c| u128::from(c.min.unsigned_abs().max(c.max.unsigned_abs())))
        .max()
        .unwrap_or(0)
}

/// The number of bits of `x` (0 for 0).
pub(crate) fn bit_len(x: u128) -> u32 {
    u128::BITS - x.leading_zeros()
}

/// The width of `100 · x − k · total` for `rows` records of absolute
/// values up to `max_abs` (`|·| ≤ 100 · rows · max_abs`), or an error if a
/// comparison cannot take it.
pub(crate) fn rule_bits(rows: u128, max_abs: u128) -> Result<u32, ProgramError> {
    let bound = rows.saturating_mul(max_abs).saturating_mul(100);
    let bits = bit_len(bound) + 2;
    if bits > compare::MAX_BITS {
        return Err(ProgramError::Layout(format!(
            "the dominance rule's comparison needs {bits} bits for {rows} rows of values up to {max_abs}, more than {}",
            compare::MAX_BITS
        )));
    }
    Ok(bits)
}

/// For each of `cells` (indices into the table's cells), whether the rule
/// suppresses it: decided in secret, the bits opened to all parties.
pub(crate) fn dominated<T: Transport>(
    party: &mut Party<T>,
    shared: &Shared,
    cells: &[usize],
) -> Result<Vec<bool>, ProgramError> {
    if cells.is_empty() {
        return Ok(Vec::new());
    }
    let Shape {
        cells: all_cells,
        columns,
    } = shared.shape;
    // Units of the asked cells, column-major: column ci's at ci·r ...
    let units: Vec<usize> = (0..columns)
        .flat_map(|ci| cells.iter().map(move |&cell| ci * all_cells + cell))
        .collect();
    let per_unit = match &shared.contributions {
        Contributions::TopN(holders) => top_n_rule(party, shared, holders, &units)?,
        Contributions::Exceeding(counts) => {
            compare::ge_public(party, &counts.select(&units)?, 1, bit_len(shared.rows) + 2)?
        }
    };
    let per_cell = if columns == 1 {
        per_unit
    } else {
        let parts = per_unit.split(&vec![cells.len(); columns])?;
        let mut any = SecretVec::from_shares(vec![Fp::ZERO; cells.len()]);
        for p in &parts {
            any.add_assign(p)?;
        }
        compare::ge_public(party, &any, 1, bit_len(columns as u128) + 2)?
    };
    Ok(party
        .open(&per_cell)?
        .into_iter()
        .map(|b| b == Fp::ONE)
        .collect())
}

/// `[100 · top_n > k · total]` for each of `units`, from the holders'
/// contribution vectors.
fn top_n_rule<T: Transport>(
    party: &mut Party<T>,
    shared: &Shared,
    holders: &[SecretVec],
    units: &[usize],
) -> Result<SecretVec, ProgramError> {
    let d_bits = rule_bits(shared.rows, shared.max_abs)?;
    let n = shared.rule.n as usize;
    let all_units = shared.shape.units();
    let mut candidates = Vec::with_capacity(holders.len() * n);
    let mut total = SecretVec::from_shares(vec![Fp::ZERO; units.len()]);
    for h in holders {
        for j in 0..n {
            let at: Vec<usize> = units.iter().map(|u| u * n + j).collect();
            candidates.push(h.select(&at)?);
        }
        let at: Vec<usize> = units.iter().map(|u| all_units * n + u).collect();
        total.add_assign(&h.select(&at)?)?;
    }
    // A single holder's n largest are sorted already.
    let top = if holders.len() == 1 {
        let mut top = SecretVec::from_shares(vec![Fp::ZERO; units.len()]);
        for c in &candidates {
            top.add_assign(c)?;
        }
        top
    } else {
        top_sum(party, candidates, n, bit_len(shared.max_abs) + 2)?
    };
    let d = top
        .scale(Fp::from_u64(100))
        .sub(&total.scale(Fp::from_u64(u64::from(shared.rule.k))))?;
    Ok(compare::ge_public(party, &d, 1, d_bits)?)
}

/// Σ of the n largest of `candidates` (element-wise over units), by n
/// bubble passes of compare-exchanges; values lie in `[0, 2^(bits−2))`.
fn top_sum<T: Transport>(
    party: &mut Party<T>,
    mut candidates: Vec<SecretVec>,
    n: usize,
    bits: u32,
) -> Result<SecretVec, ProgramError> {
    let len = candidates.first().map_or(0, SecretVec::len);
    let mut top = SecretVec::from_shares(vec![Fp::ZERO; len]);
    let m = candidates.len();
    for pass in 0..n.min(m) {
        let last = m - 1 - pass;
        for i in 0..last {
            let (low, high) = candidates.split_at_mut(i + 1);
            let (Some(a), Some(b)) = (low.last_mut(), high.first_mut()) else {
                continue;
            };
            let less = compare::lt(party, a, b, bits)?;
            let moved = party.mul(&less, &b.sub(a)?)?;
            let larger = a.add(&moved)?;
            let smaller = b.sub(&moved)?;
            *a = smaller;
            *b = larger;
        }
        if let Some(largest) = candidates.get(last) {
            top.add_assign(largest)?;
        }
    }
    Ok(top)
}

/// The secure comparisons the rule (`dominated`) runs for `cells` cells with
/// `holders` parties holding the columns: the bubble passes' (none for a
/// single holder), one per unit for the rule, and one per cell to combine
/// several value columns. For `linked-group-stats` see
/// [`linked_comparisons`].
pub fn comparisons(rule: Dominance, cells: usize, columns: usize, holders: usize) -> usize {
    let n = rule.n as usize;
    let m = holders * n;
    let passes: usize = if holders == 1 {
        0
    } else {
        (0..n.min(m)).map(|j| m - 1 - j).sum()
    };
    let units = cells * columns;
    units * passes + units + if columns > 1 { cells } else { 0 }
}

/// The secure comparisons the rule runs in `linked-group-stats` over `rows`
/// linked rows when the threshold rule releases all `cells` cells (the
/// most). For n = 1: one per row and value column ([`exceeding`]), all in
/// one batch, then one per unit ("at least one record exceeds") and, with
/// several value columns, one per cell. For n ≥ 2: the tournament's
/// [`top::comparisons`] per unit, in ⌈log₂ R⌉ levels, then the rule as for
/// one holder ([`comparisons`]).
pub fn linked_comparisons(rule: Dominance, rows: usize, cells: usize, columns: usize) -> usize {
    let formed = if rule.n == 1 {
        exceeding::comparisons(rows, columns)
    } else {
        cells * columns * top::comparisons(rows, rule.n as usize)
    };
    formed + comparisons(rule, cells, columns, 1)
}
