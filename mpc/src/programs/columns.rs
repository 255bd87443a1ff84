//! The programs on columns of a horizontally partitioned table: `sum`,
//! `count`, `mean`, `variance`, `histogram`, `group-stats` and
//! `linear-regression`. Each input party aggregates its own rows and
//! secret-shares only the aggregates; they are added in secret and go
//! through the disclosure rules ([`super::release`]). For the magnitude
//! programs (`sum`, `mean`, `variance`, `group-stats`) each also shares its
//! rows' n largest contributions per cell and their total, for the
//! dominance rule ([`super::dominance`]). `linear-regression` has only the
//! threshold rule: its coefficients are no magnitude table.

use super::dominance::{self, Contributions, Shape, Shared};
use super::layout::Layout;
use super::params::{Bounded, Plan, Program};
use super::release::{int, release, release_all, suppressed, suppressed_with, Cell};
use super::{LocalTable, ProgramError, Roles};
use crate::field::Fp;
use crate::party::Party;
use crate::secret::SecretVec;
use crate::transport::Transport;
use serde_json::{json, Map, Value};

/// Runs a column program; `Some(result)` on recipients.
pub(crate) fn run<T: Transport>(
    party: &mut Party<T>,
    plan: &Plan,
    roles: &Roles,
    layout: &Layout,
    input: Option<&LocalTable>,
    k: u64,
) -> Result<Option<Value>, ProgramError> {
    let ncols = plan.columns().len();
    let mut holders = 0;
    for &p in &roles.inputs {
        let held = layout
            .holds
            .get(p)
            .map_or(0, |h| h.iter().filter(|&&b| b).count());
        if held != 0 && held != ncols {
            return Err(ProgramError::Layout(format!(
                "input party {p} holds some but not all of the program's columns"
            )));
        }
        holders += usize::from(held == ncols);
    }
    if holders == 0 {
        return Err(ProgramError::Layout(
            "no input party holds the program's columns".to_owned(),
        ));
    }
    let len = aggregate_len(&plan.program);
    let magnitude = Shape::of(plan);
    let dom_len = magnitude.map_or(0, |(shape, rule)| shape.len(rule));
    let mine = input.and_then(|t| {
        let mut v = local_aggregates(&plan.program, t)?;
        if let Some((_, rule)) = magnitude {
            v.extend(dominance::local(plan, rule, t)?);
        }
        Some(v)
    });
    let mine = mine.map(|v| v.into_iter().map(Fp::from_i128).collect::<Vec<_>>());
    let mine = match (roles.inputs.contains(&party.index()), mine) {
        (true, None) => Some(vec![Fp::ZERO; len + dom_len]),
        (_, m) => m,
    };
    let dealt = party.deal(&roles.inputs, mine.as_deref(), len + dom_len)?;
    let mut total = SecretVec::from_shares(vec![Fp::ZERO; len]);
    let mut contributions_of_holders = Vec::new();
    for (d, p) in dealt.iter().zip(&roles.inputs) {
        let parts = d.split(&[len, dom_len])?;
        let (Some(aggregates), Some(contributions)) = (parts.first(), parts.get(1)) else {
            return Err(ProgramError::Layout("malformed dealt vector".to_owned()));
        };
        total.add_assign(aggregates)?;
        let holds_all = layout
            .holds
            .get(*p)
            .is_some_and(|h| !h.is_empty() && h.iter().all(|&b| b));
        if holds_all {
            contributions_of_holders.push(contributions.clone());
        }
    }
    let shared = magnitude.map(|(shape, rule)| {
        let (max_abs, rows) = Shared::bounds(plan, layout);
        Shared {
            rule,
            shape,
            contributions: Contributions::TopN(contributions_of_holders),
            max_abs,
            rows,
        }
    });
    let dom = shared.as_ref();
    let rs = &roles.recipients;
    let one = |i: usize| total.select(&[i]);
    let first_cell = |cells: Option<Vec<Cell>>| cells.map(|c| c.into_iter().next());
    Ok(match &plan.program {
        Program::Sum(_) | Program::Mean(_) | Program::Variance(_) => {
            let aggs: Vec<SecretVec> = (1..len).map(one).collect::<Result<_, _>>()?;
            first_cell(release(party, &one(0)?, &aggs, k, rs, dom)?)
                .map(|c| moments_json(&plan.program, c))
        }
        Program::Count { .. } => {
            first_cell(release(party, &total, &[], k, rs, None)?).map(|c| match c {
                Some(Cell::Released { count, .. }) => json!({ "count": int(count) }),
                _ => suppressed(),
            })
        }
        Program::Histogram { edges, .. } => {
            release_all(party, &total, k, rs)?.map(|bins| match bins {
                None => suppressed(),
                Some(bins) => {
                    let bins: Vec<Value> = bins
                        .iter()
                        .enumerate()
                        .map(|(i, &c)| {
                            let from = i.checked_sub(1).and_then(|j| edges.get(j));
                            json!({"from": from, "to": edges.get(i), "count": int(c)})
                        })
                        .collect();
                    json!({ "bins": bins })
                }
            })
        }
        Program::GroupStats { group, values } => {
            let g = group.values.len();
            let parts = total.split(&vec![g; 1 + values.len()])?;
            let (counts, sums) = parts
                .split_first()
                .ok_or(ProgramError::Layout("no group counts".to_owned()))?;
            release(party, counts, sums, k, rs, dom)?.map(|cells| {
                let groups: Vec<Value> = cells
                    .iter()
                    .zip(&group.values)
                    .map(|(cell, gv)| match cell {
                        Cell::Suppressed(rule) => suppressed_with(json!({"group": gv}), *rule),
                        Cell::Released { count, values: s } => json!({
                            "group": gv,
                            "count": int(*count),
                            "columns": sums_json(values, *count, s),
                        }),
                    })
                    .collect();
                json!({ "groups": groups })
            })
        }
        Program::LinearRegression { covariates, .. } => {
            let aggs: Vec<SecretVec> = (1..len).map(one).collect::<Result<_, _>>()?;
            match first_cell(release(party, &one(0)?, &aggs, k, rs, None)?) {
                None => None,
                Some(Some(Cell::Released { count, values })) => {
                    Some(regression_json(covariates, count, &values)?)
                }
                Some(_) => Some(suppressed()),
            }
        }
        _ => None,
    })
}

/// The length of a program's local aggregate vector.
fn aggregate_len(p: &Program) -> usize {
    match p {
        Program::Sum(_) | Program::Mean(_) => 2,
        Program::Variance(_) => 3,
        Program::Count { .. } => 1,
        Program::Histogram { edges, .. } => edges.len() + 1,
        Program::GroupStats { group, values } => group.values.len() * (1 + values.len()),
        Program::LinearRegression { covariates, .. } => {
            let k = covariates.len() + 1;
            k * (k + 1) / 2 + k
        }
        _ => 0,
    }
}

/// Our rows' aggregates (exact integers), or `None` if we do not hold the
/// program's columns. Values were range-checked in the layout round.
fn local_aggregates(p: &Program, t: &LocalTable) -> Option<Vec<i128>> {
    let col = |b: &Bounded| t.columns.get(&b.column);
    let wide = |v: &i64| i128::from(*v);
    Some(match p {
        Program::Sum(c) | Program::Mean(c) | Program::Variance(c) => {
            let x = col(c)?;
            let mut v = vec![x.len() as i128, x.iter().map(wide).sum()];
            if matches!(p, Program::Variance(_)) {
                v.push(x.iter().map(|a| wide(a) * wide(a)).sum());
            }
            v
        }
        Program::Count { column, from, to } => {
            let x = col(column)?;
            let inside = |v: &&i64| from.is_none_or(|f| **v >= f) && to.is_none_or(|e| **v < e);
            vec![x.iter().filter(inside).count() as i128]
        }
        Program::Histogram { column, edges } => {
            let mut bins = vec![0i128; edges.len() + 1];
            for v in col(column)? {
                if let Some(b) = bins.get_mut(edges.iter().filter(|&&e| *v >= e).count()) {
                    *b += 1;
                }
            }
            bins
        }
        Program::GroupStats { group, values } => {
            let labels = t.columns.get(&group.column)?;
            let cols: Vec<&Vec<i64>> = values.iter().map(col).collect::<Option<_>>()?;
            let g = group.values.len();
            let mut out = vec![0i128; g * (1 + cols.len())];
            for (row, l) in labels.iter().enumerate() {
                let Some(gi) = group.values.iter().position(|v| v == l) else {
                    continue;
                };
                if let Some(c) = out.get_mut(gi) {
                    *c += 1;
                }
                for (ci, c) in cols.iter().enumerate() {
                    let v = c.get(row).map_or(0, wide);
                    if let Some(s) = out.get_mut((ci + 1) * g + gi) {
                        *s += v;
                    }
                }
            }
            out
        }
        Program::LinearRegression {
            outcome,
            covariates,
        } => {
            let y = col(outcome)?;
            let xs: Vec<&Vec<i64>> = covariates.iter().map(col).collect::<Option<_>>()?;
            let k = xs.len() + 1;
            // Column 0 is the intercept's 1.
            let x = |c: usize, r: usize| {
                if c == 0 {
                    1
                } else {
                    xs.get(c - 1).and_then(|v| v.get(r)).map_or(0, wide)
                }
            };
            let mut out = Vec::with_capacity(k * (k + 1) / 2 + k);
            for i in 0..k {
                for j in i..k {
                    out.push((0..y.len()).map(|r| x(i, r) * x(j, r)).sum());
                }
            }
            for i in 0..k {
                out.push(y.iter().enumerate().map(|(r, v)| x(i, r) * wide(v)).sum());
            }
            out
        }
        _ => return None,
    })
}

fn moments_json(p: &Program, cell: Option<Cell>) -> Value {
    let (count, values) = match cell {
        Some(Cell::Released { count, values }) => (count, values),
        Some(Cell::Suppressed(rule)) => return super::release::suppressed_by(rule),
        None => return suppressed(),
    };
    let sum = values.first().copied().unwrap_or_default();
    let mean = sum as f64 / count as f64;
    match p {
        Program::Sum(_) => json!({"count": int(count), "sum": int(sum)}),
        Program::Mean(_) => json!({"count": int(count), "mean": mean}),
        _ => {
            let sumsq = values.get(1).copied().unwrap_or_default();
            // Σ(x − mean)² = (count·Σx² − (Σx)²) / count, exact in integers.
            let variance = (count >= 2).then(|| {
                let denominator = count as f64 * (count - 1) as f64;
                match count
                    .checked_mul(sumsq)
                    .zip(sum.checked_mul(sum))
                    .and_then(|(a, b)| a.checked_sub(b))
                {
                    Some(centred) => centred as f64 / denominator,
                    None => (sumsq as f64 - sum as f64 * mean) / (count - 1) as f64,
                }
            });
            json!({"count": int(count), "mean": mean, "variance": variance})
        }
    }
}

/// `{NAME: {"sum", "mean"}}` for value columns of one released cell.
pub(crate) fn sums_json(columns: &[Bounded], count: i128, sums: &[i128]) -> Value {
    let mut m = Map::new();
    for (c, &s) in columns.iter().zip(sums) {
        m.insert(
            c.column.clone(),
            json!({"sum": int(s), "mean": s as f64 / count as f64}),
        );
    }
    Value::Object(m)
}

#[expect(
    clippy::needless_range_loop,
    reason = "matrix code reads best with indices"
)]
fn regression_json(
    covariates: &[Bounded],
    count: i128,
    values: &[i128],
) -> Result<Value, ProgramError> {
    // values: XᵀX's upper triangle without entry (0, 0) (the count), then Xᵀy.
    let k = covariates.len() + 1;
    let mut a = vec![vec![0.0f64; k + 1]; k];
    let mut it = std::iter::once(count).chain(values.iter().copied());
    for i in 0..k {
        for j in i..k {
            let v = it.next().unwrap_or_default() as f64;
            a[i][j] = v;
            a[j][i] = v;
        }
    }
    for row in a.iter_mut() {
        row[k] = it.next().unwrap_or_default() as f64;
    }
    let beta = crate::stats::solve(a).ok_or(ProgramError::Singular)?;
    let mut coefficients = Map::new();
    for (c, b) in covariates.iter().zip(beta.iter().skip(1)) {
        coefficients.insert(c.column.clone(), json!(b));
    }
    Ok(json!({
        "count": int(count),
        "intercept": beta.first(),
        "coefficients": coefficients,
    }))
}
