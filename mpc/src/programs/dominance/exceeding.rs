//! The dominance rule for n = 1 where the contributions are formed in
//! secret (`linked-group-stats`): one comparison per linked record and value
//! column, all in one batch, instead of the largest contribution per unit
//! by a tournament ([`super::top`]: R − 1 comparisons per unit in
//! ⌈log₂ R⌉ levels).
//!
//! A unit (value column o × cell) is dominated under (1, k) iff
//! `100 · max_i c_i > k · T` with `c_i = ind_{cell,i} · |v_{o,i}|` and
//! `T = Σ_i c_i`, that is iff some record i of the cell has
//! `100 · |v_{o,i}| > k · T` (integers: exact, and strict, so exactly k %
//! is not dominated). Every linked record lies in at most one cell (the
//! cells partition the records present at every party by group ×
//! treatment; a record not present everywhere is in none), so:
//!
//! 1. `T_{cell,o} = Σ_i ind_{cell,i} · |v_{o,i}|`, one round of dot
//!    products (one per unit);
//! 2. each record's own cell total `T_o(i) = Σ_cell ind_{cell,i} ·
//!    T_{cell,o}`, one round of dot products (R per value column, each over
//!    the cells);
//! 3. `g_{o,i} = [100 · |v_{o,i}| − k · T_o(i) ≥ 1]`, one batch of
//!    [`compare::ge_public`] over all R × columns values;
//! 4. `E_u = Σ_i ind_{cell,i} · g_{o,i}` per unit, one round of dot
//!    products. A record in no cell has `T_o(i) = 0` and may have g = 1, but
//!    all its indicators are 0: it counts in no unit.
//!
//! The unit is dominated iff `E_u ≥ 1`; [`super::dominated`] decides that
//! for the cells the threshold rule released and opens one bit per cell.
//! Nothing is opened here.

use crate::compare;
use crate::field::Fp;
use crate::party::Party;
use crate::programs::ProgramError;
use crate::secret::SecretVec;
use crate::transport::Transport;

/// Per unit `u = column · cells + cell`, how many of the cell's records
/// alone exceed k % of the unit's total (secret). `cells` are the cells'
/// 0/1 indicators over the R linked rows (at most one 1 per row), `abs` the
/// value columns' absolute values over the same rows, and `bits` the width
/// of `100 · |v| − k · T` ([`super::rule_bits`]).
///
/// Costs three rounds of dot products and one [`compare::ge_public`] batch
/// of [`comparisons`]`(R, columns)` comparisons.
pub(crate) fn exceeding<T: Transport>(
    party: &mut Party<T>,
    k: u32,
    cells: &[&SecretVec],
    abs: &[&SecretVec],
    bits: u32,
) -> Result<SecretVec, ProgramError> {
    let rows = cells.first().map_or(0, |c| c.len());
    let units = cells.len() * abs.len();
    if rows == 0 || units == 0 {
        return Ok(SecretVec::from_shares(vec![Fp::ZERO; units]));
    }
    // 1. The units' totals, unit-major.
    let pairs: Vec<(&SecretVec, &SecretVec)> = abs
        .iter()
        .flat_map(|a| cells.iter().map(move |c| (*c, *a)))
        .collect();
    let totals = party.dot_many(&pairs)?;
    // 2. Each record's own cell total, per column (column · R + row).
    let per_row: Vec<SecretVec> = (0..rows)
        .map(|i| {
            SecretVec::from_shares(
                cells
                    .iter()
                    .map(|c| c.shares().get(i).copied().unwrap_or_default())
                    .collect(),
            )
        })
        .collect();
    let per_column = totals.split(&vec![cells.len(); abs.len()])?;
    let pairs: Vec<(&SecretVec, &SecretVec)> = per_column
        .iter()
        .flat_map(|t| per_row.iter().map(move |r| (r, t)))
        .collect();
    let own_total = party.dot_many(&pairs)?;
    // 3. Whether the record alone exceeds k % of it.
    let d = SecretVec::concat(abs)
        .scale(Fp::from_u64(100))
        .sub(&own_total.scale(Fp::from_u64(u64::from(k))))?;
    let alone = compare::ge_public(party, &d, 1, bits)?.split(&vec![rows; abs.len()])?;
    // 4. How many such records each unit has (records in no cell: none).
    let pairs: Vec<(&SecretVec, &SecretVec)> = alone
        .iter()
        .flat_map(|g| cells.iter().map(move |c| (*c, g)))
        .collect();
    Ok(party.dot_many(&pairs)?)
}

/// The comparisons `exceeding` runs for R rows and `columns` value
/// columns: one per row and column, whatever the number of cells.
pub fn comparisons(rows: usize, columns: usize) -> usize {
    rows * columns
}
