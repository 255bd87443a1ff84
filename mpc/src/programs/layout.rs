//! The public layout round every program starts with: agreement on the
//! plan, each party's acceptance of its own input, row counts and which of
//! the program's columns each party holds.

use super::params::{Domain, Plan};
use super::{LocalTable, ProgramError, Roles, MAX_ROWS};
use crate::field::Fp;
use crate::party::Party;
use crate::transport::Transport;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// What every party announced.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Rows per party (0 for non-input parties).
    pub rows: Vec<usize>,
    /// `holds[p][c]`: party p holds the program's column c.
    pub holds: Vec<Vec<bool>>,
}

impl Layout {
    /// The parties holding column `c`.
    pub fn holders(&self, c: usize) -> Vec<usize> {
        (0..self.holds.len())
            .filter(|&p| self.holds.get(p).and_then(|h| h.get(c)) == Some(&true))
            .collect()
    }
}

const NOT_INPUT: u64 = 0;
const ACCEPTED: u64 = 1;
const REFUSED: u64 = 2;

/// Checks our own input locally: the roles, the table's shape, ids and
/// every value of every program column we hold. Returns our row count and
/// which program columns we hold.
fn check_local(
    plan: &Plan,
    is_input: bool,
    input: Option<&LocalTable>,
) -> Result<(usize, Vec<bool>), ProgramError> {
    let cols = plan.columns();
    let table = match (is_input, input) {
        (false, None) => return Ok((0, vec![false; cols.len()])),
        (false, Some(_)) => return Err(ProgramError::InputNotAllowed),
        (true, None) => return Err(ProgramError::InputMissing),
        (true, Some(t)) => t,
    };
    let rows = table.rows()?;
    if plan.needs_ids() {
        let ids = table.ids.as_ref().ok_or(ProgramError::IdsMissing)?;
        let mut seen = HashSet::with_capacity(ids.len());
        if let Some(row) = ids.iter().position(|id| !seen.insert(id.as_str())) {
            return Err(ProgramError::DuplicateId { row });
        }
    }
    let mut holds = Vec::with_capacity(cols.len());
    for (name, domain) in &cols {
        let Some(values) = table.columns.get(*name) else {
            holds.push(false);
            continue;
        };
        let bad =
            match domain {
                Domain::Range(min, max) => {
                    values.iter().position(|v| v < min || v > max).map(|row| {
                        ProgramError::OutOfRange {
                            column: (*name).to_owned(),
                            row,
                            min: *min,
                            max: *max,
                        }
                    })
                }
                Domain::OneOf(groups) => {
                    values.iter().position(|v| !groups.contains(v)).map(|row| {
                        ProgramError::NotAGroup {
                            column: (*name).to_owned(),
                            row,
                        }
                    })
                }
            };
        if let Some(e) = bad {
            return Err(e);
        }
        holds.push(true);
    }
    Ok((rows, holds))
}

/// A digest of everything the parties must agree on, as a field element.
fn agreement(plan: &Plan, roles: &Roles, k: u64, parties: usize) -> Fp {
    let mut h = Sha256::new();
    h.update(b"symbolon-mpc/programs/agreement/v1\n");
    h.update(plan.spec.hash().as_bytes());
    h.update(b"\n");
    h.update(plan.canonical_params.as_bytes());
    h.update(
        format!(
            "\n{:?}\n{:?}\n{k}\n{parties}",
            roles.inputs, roles.recipients
        )
        .as_bytes(),
    );
    let d = h.finalize();
    let mut b = [0u8; 16];
    b[..15].copy_from_slice(d.get(..15).unwrap_or(&[0; 15]));
    Fp::new(u128::from_le_bytes(b))
}

/// Runs the layout round (one all-to-all message of five field elements).
pub(crate) fn announce<T: Transport>(
    party: &mut Party<T>,
    plan: &Plan,
    roles: &Roles,
    input: Option<&LocalTable>,
    k: u64,
) -> Result<Layout, ProgramError> {
    let me = party.index();
    let n = party.parties();
    let ncols = plan.columns().len();
    let is_input = roles.inputs.contains(&me);
    let local = check_local(plan, is_input, input);
    let (status, rows, holds) = match &local {
        Ok((rows, holds)) => (
            if is_input { ACCEPTED } else { NOT_INPUT },
            *rows,
            holds.clone(),
        ),
        Err(_) => (REFUSED, 0, vec![false; ncols]),
    };
    let has_ids = input.is_some_and(|t| t.ids.is_some());
    let mask = holds
        .iter()
        .enumerate()
        .fold(0u64, |m, (i, &h)| m | (u64::from(h) << i));
    let digest = agreement(plan, roles, k, n);
    let mine = [
        digest,
        Fp::from_u64(status),
        Fp::from_u64(rows as u64),
        Fp::from_u64(u64::from(has_ids)),
        Fp::from_u64(mask),
    ];
    let all = party.channel().all_to_all(&mine)?;
    local?;
    let mut layout = Layout {
        rows: vec![0; n],
        holds: vec![vec![false; ncols]; n],
    };
    for (p, v) in all.iter().enumerate() {
        let get = |i: usize| v.get(i).copied().unwrap_or_default();
        if get(0) != digest {
            return Err(ProgramError::Disagreement { party: p });
        }
        let status = get(1).value();
        if status == u128::from(REFUSED) {
            return Err(ProgramError::PeerRefused { party: p });
        }
        let expected = if roles.inputs.contains(&p) {
            ACCEPTED
        } else {
            NOT_INPUT
        };
        let rows = usize::try_from(get(2).value()).unwrap_or(usize::MAX);
        let mask = get(4).value();
        if status != u128::from(expected) || rows > MAX_ROWS || mask >> ncols != 0 {
            return Err(ProgramError::Layout(format!(
                "party {p} sent an inconsistent announcement"
            )));
        }
        if plan.needs_ids() && expected == ACCEPTED && get(3) != Fp::ONE {
            return Err(ProgramError::Layout(format!(
                "input party {p} has no identifiers"
            )));
        }
        if let (Some(r), Some(h)) = (layout.rows.get_mut(p), layout.holds.get_mut(p)) {
            *r = rows;
            for (c, slot) in h.iter_mut().enumerate() {
                *slot = (mask >> c) & 1 == 1;
            }
        }
    }
    Ok(layout)
}
