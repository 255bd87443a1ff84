//! Typed checking of a program's JSON parameters into a [`Plan`].

use super::catalog::ProgramSpec;
use super::error::ProgramError;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The largest magnitude of a declared bound (and of edges and group
/// values): sums of squares of 2^24 rows of 2^40 stay far inside the field.
pub const MAX_ABS: i64 = 1 << 40;

/// A column with the range its values must lie in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounded {
    /// The column's name.
    pub column: String,
    /// Smallest allowed value.
    pub min: i64,
    /// Largest allowed value.
    pub max: i64,
}

/// A group column and its group values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    /// The column's name.
    pub column: String,
    /// The groups, in output order.
    pub values: Vec<i64>,
}

/// The dominance rule (n, k) for magnitude tables: a cell is suppressed
/// when its `n` largest contributions (absolute values of one record's
/// value each) make up more than `k` % of the cell's total (of absolute
/// values). A contributor is a record (a row), not a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dominance {
    /// How many of the largest contributions are added up (1..=[`Dominance::MAX_N`]).
    pub n: u32,
    /// The share of the total, in percent (1..=100), they must not exceed.
    pub k: u32,
}

impl Dominance {
    /// The rule applied when a program's `dominance` parameter is absent:
    /// (1, 85), one record must not make up more than 85 % of a cell.
    pub const DEFAULT: Dominance = Dominance { n: 1, k: 85 };
    /// The largest n accepted (it bounds the secure comparisons).
    pub const MAX_N: u32 = 10;

    /// Whether a cell with these contributions (absolute values) is
    /// suppressed: the plaintext form of the rule the programs decide in
    /// secret, `100 · (sum of the n largest) > k · total`.
    pub fn dominated(&self, contributions: &[i64]) -> bool {
        let mut abs: Vec<i128> = contributions
            .iter()
            .map(|v| i128::from(v.unsigned_abs()))
            .collect();
        abs.sort_unstable_by(|a, b| b.cmp(a));
        let total: i128 = abs.iter().sum();
        let top: i128 = abs.iter().take(self.n as usize).sum();
        100 * top > i128::from(self.k) * total
    }
}

/// What a program computes, with its parameters checked. What each
/// reveals to whom is its [`ProgramSpec::reveals`] (and `SECURITY.md`); in
/// short, per variant below. "Layout" is the public layout round (row
/// counts and column holdings, to all parties).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Program {
    /// `sum`: recipients learn count and Σx if count ≥ k; all parties the
    /// layout and the suppression bit.
    Sum(Bounded),
    /// `count`: rows with `from <= v < to`; recipients learn it if ≥ k; all
    /// parties the layout and the suppression bit.
    Count {
        /// The column.
        column: Bounded,
        /// Inclusive lower bound, if any.
        from: Option<i64>,
        /// Exclusive upper bound, if any.
        to: Option<i64>,
    },
    /// `mean`: recipients learn count and mean if count ≥ k; all parties
    /// the layout and the suppression bit.
    Mean(Bounded),
    /// `variance`: recipients learn count, Σx and Σx² (as mean and sample
    /// variance) if count ≥ k; all parties the layout and the suppression bit.
    Variance(Bounded),
    /// `histogram`: recipients learn every bin count if all are ≥ k; all
    /// parties the layout and one suppression bit.
    Histogram {
        /// The column.
        column: Bounded,
        /// Strictly increasing edges.
        edges: Vec<i64>,
    },
    /// `group-stats`: recipients learn count and sums of each group with
    /// count ≥ k; all parties the layout and which groups are suppressed.
    GroupStats {
        /// The group column.
        group: Groups,
        /// The value columns.
        values: Vec<Bounded>,
    },
    /// `linear-regression`: recipients learn XᵀX and Xᵀy (solved to the
    /// coefficients) if count ≥ k; all parties the layout and the suppression bit.
    LinearRegression {
        /// y.
        outcome: Bounded,
        /// The covariates.
        covariates: Vec<Bounded>,
    },
    /// `psi-cardinality`: recipients learn the intersection size; all
    /// parties the set sizes and, unless there are two input parties with a
    /// recipient among them, what private linkage reveals (which includes
    /// the intersection size).
    PsiCardinality,
    /// `psi-membership`: each recipient learns which of its own ids each
    /// other input party holds; senders learn the recipient's set size.
    PsiMembership,
    /// `linked-group-stats`: recipients learn count and outcome sums of
    /// each (group, treatment) cell with count ≥ k; all parties the layout,
    /// which cells are suppressed and what private linkage reveals.
    LinkedGroupStats {
        /// The group column.
        group: Groups,
        /// The 0/1 treatment column.
        treatment: String,
        /// The outcome columns.
        outcomes: Vec<Bounded>,
    },
}

/// A validated program: the spec, the checked parameters and their
/// canonical JSON text (keys sorted), which parties compare before running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The program's catalog entry.
    pub spec: &'static ProgramSpec,
    /// The checked parameters.
    pub program: Program,
    /// The parameters as canonical JSON (object keys sorted, no spaces).
    pub canonical_params: String,
    /// The dominance rule, for the magnitude programs (`sum`, `mean`,
    /// `variance`, `group-stats` with value columns, `linked-group-stats`);
    /// `None` for the others (`linear-regression`'s coefficients are no
    /// magnitude table: only the threshold rule applies to it).
    pub dominance: Option<Dominance>,
}

/// What one program column requires of its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Domain {
    /// An integer in `[min, max]`.
    Range(i64, i64),
    /// One of the group values.
    OneOf(Vec<i64>),
}

impl Plan {
    /// The program's columns, in a fixed order, with what their values must
    /// satisfy: what the layout round announces and what inputs are checked against.
    pub(crate) fn columns(&self) -> Vec<(&str, Domain)> {
        fn b(c: &Bounded) -> (&str, Domain) {
            (c.column.as_str(), Domain::Range(c.min, c.max))
        }
        fn g(c: &Groups) -> (&str, Domain) {
            (c.column.as_str(), Domain::OneOf(c.values.clone()))
        }
        match &self.program {
            Program::Sum(c) | Program::Mean(c) | Program::Variance(c) => vec![b(c)],
            Program::Count { column, .. } | Program::Histogram { column, .. } => vec![b(column)],
            Program::GroupStats { group, values } => std::iter::once(g(group))
                .chain(values.iter().map(b))
                .collect(),
            Program::LinearRegression {
                outcome,
                covariates,
            } => std::iter::once(b(outcome))
                .chain(covariates.iter().map(b))
                .collect(),
            Program::PsiCardinality | Program::PsiMembership => Vec::new(),
            Program::LinkedGroupStats {
                group,
                treatment,
                outcomes,
            } => [g(group), (treatment.as_str(), Domain::Range(0, 1))]
                .into_iter()
                .chain(outcomes.iter().map(b))
                .collect(),
        }
    }

    /// The names of the program's columns, in the order the layout round
    /// announces them: what an input party's [`super::LocalTable`] may hold
    /// (which of them a party holds depends on the program; see its spec).
    pub fn column_names(&self) -> Vec<&str> {
        self.columns().into_iter().map(|(name, _)| name).collect()
    }

    /// Whether input parties must supply one identifier per row.
    pub fn needs_ids(&self) -> bool {
        matches!(
            self.program,
            Program::PsiCardinality | Program::PsiMembership | Program::LinkedGroupStats { .. }
        )
    }
}

/// Checks `params` against the program `spec` before any session starts:
/// unknown keys, missing keys, wrong types and out-of-range values are
/// refused with an error naming the parameter.
pub fn validate(spec: &ProgramSpec, params: &Map<String, Value>) -> Result<Plan, ProgramError> {
    let spec: &'static ProgramSpec =
        super::find(spec.id, spec.version).ok_or_else(|| ProgramError::UnknownProgram {
            id: spec.id.to_owned(),
            version: spec.version.to_owned(),
        })?;
    let allowed: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
    check_keys(params, &allowed, "")?;
    let program = match spec.id {
        "sum" => Program::Sum(bounded(params, "")?),
        "mean" => Program::Mean(bounded(params, "")?),
        "variance" => Program::Variance(bounded(params, "")?),
        "count" => {
            let from = int(params, "from", "")?;
            let to = int(params, "to", "")?;
            if let (Some(f), Some(t)) = (from, to) {
                if t <= f {
                    return Err(ProgramError::param("to", "must be greater than `from`"));
                }
            }
            Program::Count {
                column: bounded(params, "")?,
                from,
                to,
            }
        }
        "histogram" => {
            let edges = int_array(params, "edges", "", 1, 64)?;
            if edges.windows(2).any(|w| w.first() >= w.get(1)) {
                return Err(ProgramError::param("edges", "must be strictly increasing"));
            }
            Program::Histogram {
                column: bounded(params, "")?,
                edges,
            }
        }
        "group-stats" => Program::GroupStats {
            group: groups(params)?,
            values: bounded_array(params, "values", 0, 16)?,
        },
        "linear-regression" => Program::LinearRegression {
            outcome: bounded(object(params, "outcome", "")?, "outcome.")?,
            covariates: bounded_array(params, "covariates", 1, 8)?,
        },
        "psi-cardinality" => Program::PsiCardinality,
        "psi-membership" => Program::PsiMembership,
        "linked-group-stats" => Program::LinkedGroupStats {
            group: groups(params)?,
            treatment: name(params, "treatment", "")?,
            outcomes: bounded_array(params, "outcomes", 1, 16)?,
        },
        _ => {
            return Err(ProgramError::UnknownProgram {
                id: spec.id.to_owned(),
                version: spec.version.to_owned(),
            })
        }
    };
    let magnitude = match &program {
        Program::Sum(_)
        | Program::Mean(_)
        | Program::Variance(_)
        | Program::LinkedGroupStats { .. } => true,
        Program::GroupStats { values, .. } => !values.is_empty(),
        _ => false,
    };
    let rule = dominance(params)?;
    let dominance = magnitude.then_some(rule);
    let plan = Plan {
        spec,
        program,
        canonical_params: canonical_json(&Value::Object(params.clone())),
        dominance,
    };
    let mut seen = BTreeSet::new();
    for (c, _) in plan.columns() {
        if !seen.insert(c.to_owned()) {
            return Err(ProgramError::param(
                "column",
                format!("column `{c}` is named twice"),
            ));
        }
    }
    Ok(plan)
}

/// JSON with object keys sorted and no whitespace.
pub(crate) fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let body: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    let val = m.get(k).map(canonical_json).unwrap_or_default();
                    format!("{}:{val}", Value::String(k.clone()))
                })
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn check_keys(m: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<(), ProgramError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ProgramError::param(
            format!("{path}{k}"),
            format!(
                "unknown parameter (expected one of: {})",
                allowed.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

fn object<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a Map<String, Value>, ProgramError> {
    match m.get(key) {
        Some(Value::Object(o)) => Ok(o),
        Some(_) => Err(ProgramError::param(
            format!("{path}{key}"),
            "must be an object",
        )),
        None => Err(ProgramError::param(format!("{path}{key}"), "is required")),
    }
}

fn name(m: &Map<String, Value>, key: &str, path: &str) -> Result<String, ProgramError> {
    let p = format!("{path}{key}");
    match m.get(key) {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 64 => {
            if s.chars().any(char::is_control) {
                Err(ProgramError::param(
                    p,
                    "must not contain control characters",
                ))
            } else {
                Ok(s.clone())
            }
        }
        Some(Value::String(_)) => Err(ProgramError::param(p, "must be 1 to 64 characters")),
        Some(_) => Err(ProgramError::param(p, "must be a string")),
        None => Err(ProgramError::param(p, "is required")),
    }
}

fn as_int(v: &Value, p: &str) -> Result<i64, ProgramError> {
    let i = v
        .as_i64()
        .ok_or_else(|| ProgramError::param(p, "must be an integer"))?;
    if i.unsigned_abs() > MAX_ABS.unsigned_abs() {
        return Err(ProgramError::param(p, "must lie in [-2^40, 2^40]"));
    }
    Ok(i)
}

fn int(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<i64>, ProgramError> {
    m.get(key)
        .map(|v| as_int(v, &format!("{path}{key}")))
        .transpose()
}

fn int_array(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
    min_len: usize,
    max_len: usize,
) -> Result<Vec<i64>, ProgramError> {
    let p = format!("{path}{key}");
    let a = match m.get(key) {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ProgramError::param(p, "must be an array of integers")),
        None => return Err(ProgramError::param(p, "is required")),
    };
    if a.len() < min_len || a.len() > max_len {
        return Err(ProgramError::param(
            p,
            format!("must have {min_len} to {max_len} elements"),
        ));
    }
    a.iter()
        .enumerate()
        .map(|(i, v)| as_int(v, &format!("{p}[{i}]")))
        .collect()
}

/// `{column, min?, max}` at `path` (the keys live in `m`).
fn bounded(m: &Map<String, Value>, path: &str) -> Result<Bounded, ProgramError> {
    if !path.is_empty() {
        check_keys(m, &["column", "min", "max"], path)?;
    }
    let column = name(m, "column", path)?;
    let min = int(m, "min", path)?.unwrap_or(0);
    let max = int(m, "max", path)?
        .ok_or_else(|| ProgramError::param(format!("{path}max"), "is required"))?;
    if min > max {
        return Err(ProgramError::param(
            format!("{path}max"),
            "must not be below `min`",
        ));
    }
    Ok(Bounded { column, min, max })
}

fn bounded_array(
    m: &Map<String, Value>,
    key: &str,
    min_len: usize,
    max_len: usize,
) -> Result<Vec<Bounded>, ProgramError> {
    let a = match m.get(key) {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ProgramError::param(key, "must be an array of objects")),
        None => return Err(ProgramError::param(key, "is required")),
    };
    if a.len() < min_len || a.len() > max_len {
        return Err(ProgramError::param(
            key,
            format!("must have {min_len} to {max_len} elements"),
        ));
    }
    a.iter()
        .enumerate()
        .map(|(i, v)| {
            let path = format!("{key}[{i}].");
            match v {
                Value::Object(o) => bounded(o, &path),
                _ => Err(ProgramError::param(
                    format!("{key}[{i}]"),
                    "must be an object {column, min?, max}",
                )),
            }
        })
        .collect()
}

fn groups(m: &Map<String, Value>) -> Result<Groups, ProgramError> {
    let o = object(m, "group", "")?;
    check_keys(o, &["column", "values"], "group.")?;
    let column = name(o, "column", "group.")?;
    let values = int_array(o, "values", "group.", 1, 64)?;
    let distinct: BTreeSet<i64> = values.iter().copied().collect();
    if distinct.len() != values.len() {
        return Err(ProgramError::param("group.values", "must be distinct"));
    }
    Ok(Groups { column, values })
}

/// The optional `dominance` parameter `{n, k}`, or [`Dominance::DEFAULT`].
fn dominance(m: &Map<String, Value>) -> Result<Dominance, ProgramError> {
    let o = match m.get("dominance") {
        None => return Ok(Dominance::DEFAULT),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(ProgramError::param("dominance", "must be an object {n, k}")),
    };
    check_keys(o, &["n", "k"], "dominance.")?;
    let within = |key: &str, hi: u32| -> Result<u32, ProgramError> {
        let p = format!("dominance.{key}");
        let v = o
            .get(key)
            .ok_or_else(|| ProgramError::param(&p, "is required"))?;
        v.as_u64()
            .filter(|v| (1..=u64::from(hi)).contains(v))
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| ProgramError::param(&p, format!("must be an integer in 1..={hi}")))
    };
    Ok(Dominance {
        n: within("n", Dominance::MAX_N)?,
        k: within("k", 100)?,
    })
}
