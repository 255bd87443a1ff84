//! A fixed, versioned library of MPC programs: what a session's signed
//! manifest names (program id, version, hash of the description and JSON
//! parameters). No code travels between parties: every party runs the same
//! program from this library.
//!
//! 1. [`find`] the [`ProgramSpec`] the manifest names and compare its
//!    [`ProgramSpec::hash`] with the manifest's.
//! 2. [`validate`] the parameters into a [`Plan`] before any session starts.
//! 3. Every party calls [`run`] with the same plan, [`Roles`] and k; input
//!    parties pass their [`LocalTable`]. Recipients get a [`ProgramResult`].
//!
//! Every program starts with one public **layout round**: each party
//! announces a digest of (plan, roles, k, number of parties) — so that a
//! party running something else is named ([`ProgramError::Disagreement`])
//! — whether it accepted its own input, its row count and which of the
//! program's columns it holds. Row counts and column holdings are public by
//! design. A party whose own data is malformed or out of the declared range
//! announces a refusal and returns the precise error; the others return
//! [`ProgramError::PeerRefused`]; nothing was input.
//!
//! Programs on columns (`sum`, `count`, `mean`, `variance`, `histogram`,
//! `group-stats`, `linear-regression`) treat the input parties' tables as
//! one horizontally partitioned table: each input party aggregates its own
//! rows locally (counts, sums, bins, XᵀX) and secret-shares only those
//! aggregates, which are added in secret. The disclosure rule compares
//! counts with k in secret (the threshold rule); its bit is opened to all
//! parties (everyone must know what to open) and the released figures are
//! opened to the recipients only (`Party::open_to`). The magnitude programs
//! (`sum`, `mean`, `variance`, `group-stats` with value columns and
//! `linked-group-stats`) also apply the dominance rule (n, k)
//! ([`Dominance`], default (1, 85), the `dominance` parameter), decided in
//! secret for the cells the threshold rule released; its bit per cell is
//! opened to all parties likewise. In `linked-group-stats` no party knows
//! which cell a linked record falls into, so the rule is decided on
//! contributions formed in secret: for n = 1 one comparison per linked
//! record and outcome (does it alone exceed k % of its cell's total?), for
//! n ≥ 2 the n largest per cell by a tournament ([`top_n`]);
//! [`linked_dominance_comparisons`] counts both. `count` and
//! `histogram` count records, and `linear-regression`'s coefficients are no
//! magnitude table: for them the threshold rule on the number of records
//! applies alone. The linking programs use
//! [`crate::joint::link_private`] and [`crate::psi`]. Each [`ProgramSpec`]
//! says what it reveals to whom; `SECURITY.md` repeats it.
//!
//! Results are JSON; every result object carries `program`, `version` and
//! `k` (and `dominance: {n, k}` for the magnitude programs), and a
//! suppressed figure is `{"suppressed": true, "rule": "threshold"}` or
//! `{"suppressed": true, "rule": "dominance", "dominance": {"n", "k"}}` with
//! no numbers.
//! Integers beyond ±2^63 are written as decimal strings.

use crate::party::Party;
use crate::transport::Transport;
use std::collections::BTreeMap;

mod catalog;
mod columns;
mod dominance;
mod error;
mod layout;
mod linked;
mod params;
mod release;
mod sets;

pub use catalog::{catalog, find, latest, ParamSpec, ProgramSpec, CANONICAL_HEADER};
pub use dominance::comparisons as dominance_comparisons;
pub use dominance::linked_comparisons as linked_dominance_comparisons;
pub use dominance::top::{comparisons as top_n_comparisons, top_n};
pub use error::ProgramError;
pub use params::{validate, Bounded, Dominance, Groups, Plan, Program, MAX_ABS};

/// The most rows one party may bring to a program.
pub const MAX_ROWS: usize = 1 << 24;

/// A party's local data: named integer columns (all the same length) and,
/// for linking programs, one identifier per row. Columns the program does
/// not name are ignored and never announced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalTable {
    /// One identifier per row (distinct), for linking and PSI programs.
    pub ids: Option<Vec<String>>,
    /// Integer columns by name.
    pub columns: BTreeMap<String, Vec<i64>>,
}

impl LocalTable {
    /// The row count, checking that every column (and the ids) has it.
    pub fn rows(&self) -> Result<usize, ProgramError> {
        let mut lens = self.ids.iter().map(|i| ("ids".to_owned(), i.len())).chain(
            self.columns
                .iter()
                .map(|(k, v)| (format!("`{k}`"), v.len())),
        );
        let Some((first, rows)) = lens.next() else {
            return Ok(0);
        };
        if let Some((other, len)) = lens.find(|(_, l)| *l != rows) {
            return Err(ProgramError::Table(format!(
                "{first} has {rows} rows but {other} has {len}"
            )));
        }
        if rows > MAX_ROWS {
            return Err(ProgramError::Table(format!(
                "{rows} rows, more than the {MAX_ROWS} a program accepts"
            )));
        }
        Ok(rows)
    }
}

/// Who does what, by party index in `0..n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    /// The parties that bring data (distinct).
    pub inputs: Vec<usize>,
    /// The parties that receive the result (distinct).
    pub recipients: Vec<usize>,
}

impl Roles {
    /// Checks the roles against the session size and the program's needs.
    pub fn check(&self, parties: usize, plan: &Plan) -> Result<(), ProgramError> {
        for (what, list) in [("inputs", &self.inputs), ("recipients", &self.recipients)] {
            if list.is_empty() {
                return Err(ProgramError::Roles(format!("no {what}")));
            }
            if let Some(p) = list.iter().find(|&&p| p >= parties) {
                return Err(ProgramError::Roles(format!(
                    "{what} names party {p}, but the session has {parties} parties"
                )));
            }
            let mut sorted = list.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if sorted.len() != list.len() {
                return Err(ProgramError::Roles(format!("{what} repeats a party")));
            }
        }
        let linking = matches!(
            plan.program,
            Program::PsiCardinality | Program::PsiMembership | Program::LinkedGroupStats { .. }
        );
        if linking && self.inputs.len() < 2 {
            return Err(ProgramError::Roles(format!(
                "`{}` needs at least two input parties",
                plan.spec.id
            )));
        }
        if plan.program == Program::PsiMembership {
            if let Some(r) = self.recipients.iter().find(|r| !self.inputs.contains(r)) {
                return Err(ProgramError::Roles(format!(
                    "`psi-membership` recipients must be input parties; party {r} is not"
                )));
            }
        }
        Ok(())
    }
}

/// A program's result, as delivered to a recipient: a JSON object whose
/// shape each program documents (see [`run`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramResult(pub serde_json::Value);

/// Runs the program as this party. `input` is `Some` exactly for input
/// parties. `min_group_size` is k: every released figure aggregates at
/// least k records, else it is reported as suppressed. Returns
/// `Some(result)` on recipients and `None` elsewhere. All parties must call
/// this with the same plan, roles and k.
///
/// Result shapes (besides `program`, `version`, `k`):
/// - `sum`: `{"count", "sum"}`; `count`: `{"count"}`; `mean`:
///   `{"count", "mean"}`; `variance`: `{"count", "mean", "variance"}`
///   (`variance` null below two rows); each `{"suppressed": true, "rule":
///   "threshold"}` if the count is below k; `sum`, `mean` and `variance`
///   also `{"suppressed": true, "rule": "dominance", "dominance": {"n",
///   "k"}}` if the dominance rule holds.
/// - `histogram`: `{"bins": [{"from", "to", "count"}, …]}` (`from` null in
///   the first bin, `to` null in the last) or `{"suppressed": true}`.
/// - `group-stats`: `{"groups": [{"group", "count", "columns": {NAME:
///   {"sum", "mean"}}} | {"group", "suppressed": true, "rule", …}, …]}`.
/// - `linear-regression`: `{"count", "intercept", "coefficients": {NAME: β}}`
///   or `{"suppressed": true}`.
/// - `psi-cardinality`: `{"intersection"}`.
/// - `psi-membership`: `{"in_all": [ids], "per_party": [{"party", "ids"}]}`
///   (ids of the recipient's own table, in its order).
/// - `linked-group-stats`: `{"cells": [{"group", "treatment", "count",
///   "outcomes": {NAME: {"sum", "mean"}}} | {"group", "treatment",
///   "suppressed": true, "rule", …}, …], "effects": [{"group", "outcomes":
///   {NAME: Δ}} | {"group", "suppressed": true, "rule", …}, …]}`, cells
///   ordered by group (as declared) then treatment 0, 1; an effect with a
///   cell suppressed by the dominance rule names that rule, else the
///   threshold rule.
pub fn run<T: Transport>(
    party: &mut Party<T>,
    plan: &Plan,
    roles: &Roles,
    input: Option<&LocalTable>,
    min_group_size: u64,
) -> Result<Option<ProgramResult>, ProgramError> {
    if min_group_size == 0 || min_group_size > 1 << 32 {
        return Err(ProgramError::InvalidK);
    }
    roles.check(party.parties(), plan)?;
    let layout = layout::announce(party, plan, roles, input, min_group_size)?;
    let k = min_group_size;
    let out = match &plan.program {
        Program::PsiCardinality => sets::cardinality(party, roles, &layout, input)?,
        Program::PsiMembership => sets::membership(party, roles, input)?,
        Program::LinkedGroupStats {
            group,
            treatment,
            outcomes,
        } => linked::run(
            party,
            roles,
            &layout,
            input,
            k,
            linked::Columns {
                group,
                treatment,
                outcomes,
                dominance: plan.dominance,
            },
        )?,
        _ => columns::run(party, plan, roles, &layout, input, k)?,
    };
    Ok(out.map(|mut v| {
        if let Some(o) = v.as_object_mut() {
            o.insert("program".into(), plan.spec.id.into());
            o.insert("version".into(), plan.spec.version.into());
            o.insert("k".into(), k.into());
            if let Some(d) = plan.dominance {
                o.insert("dominance".into(), serde_json::json!({"n": d.n, "k": d.k}));
            }
        }
        ProgramResult(v)
    }))
}
