//! The differencing check of a recipient's results: a released figure whose population is
//! nested in (or contains) the population of a figure this recipient already received, and
//! differs from it by fewer than k records, would let the recipient subtract its way to a
//! small cell; it is suppressed (`"rule": "differencing"`).
//!
//! A **population** is what a released count describes: the input datasets (each holder's DID
//! with the offer its agreement is for, or the agreement itself when this connector does not
//! hold it), the base (`rows`: the input parties' rows as one table; `linked`: the records
//! present at every input party) and the interval constraints the program puts on columns (a
//! `count`'s `from`/`to`, a histogram bin, a group value, a treatment). Population P lies
//! within Q when both have the same base, P's datasets are among Q's (the same ones, for
//! `linked`, whose population shrinks as datasets are added), and every constraint of Q is
//! implied by one of P's. For nested populations |P Δ Q| is the difference of their counts;
//! a new cell is suppressed when 0 < |count − earlier count| < max(k, earlier k).
//!
//! What is not decided, precisely: populations that overlap without being nested (shifted
//! intervals), differences of three or more releases, nesting that holds only because of the
//! data (no row has a value outside a range), a dataset that does not hold a program's column
//! (its rows are counted in the descriptor but not in the figure), and a dataset whose rows
//! changed between releases (the difference is then checked as if the same rows were counted).
//! The check runs on the recipient's own connector: under the engine's semi-honest model the
//! recipient runs it as specified; a recipient that alters its connector is not stopped by it
//! (the threshold and dominance rules, decided inside the MPC, do not have that weakness).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// What a population is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Base {
    /// The input parties' rows, as one horizontally partitioned table.
    Rows,
    /// The records present at every input party, linked on their identifiers.
    Linked,
}

/// The half-open interval `[from, to)` of a column's values; `None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    /// Inclusive lower bound.
    pub from: Option<i64>,
    /// Exclusive upper bound.
    pub to: Option<i64>,
}

impl Interval {
    /// `[value, value + 1)`.
    pub fn point(value: i64) -> Interval {
        Interval {
            from: Some(value),
            to: value.checked_add(1),
        }
    }

    /// Whether every value of `self` lies in `outer`.
    fn within(&self, outer: &Interval) -> bool {
        let low = outer.from.is_none_or(|o| self.from.is_some_and(|s| s >= o));
        let high = outer.to.is_none_or(|o| self.to.is_some_and(|s| s <= o));
        low && high
    }
}

/// The records a released count describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Population {
    /// What it is drawn from.
    pub base: Base,
    /// The input datasets.
    pub datasets: BTreeSet<String>,
    /// The constraints on columns' values.
    pub bounds: BTreeMap<String, Interval>,
}

impl Population {
    /// Whether every record of `self` is, by its description, a record of `outer`.
    pub fn within(&self, outer: &Population) -> bool {
        let datasets = match self.base {
            Base::Rows => self.datasets.is_subset(&outer.datasets),
            Base::Linked => self.datasets == outer.datasets,
        };
        self.base == outer.base
            && datasets
            && outer
                .bounds
                .iter()
                .all(|(column, o)| match self.bounds.get(column) {
                    Some(i) => i.within(o),
                    // No bound on the column is the unbounded interval.
                    None => o.from.is_none() && o.to.is_none(),
                })
    }

    /// Whether one of the two lies within the other.
    pub fn nested(&self, other: &Population) -> bool {
        self.within(other) || other.within(self)
    }
}

/// A count a recipient received: its population, the count, the k it was released under and
/// the session that released it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    /// Its population.
    pub population: Population,
    /// The count.
    pub count: u64,
    /// The session's k.
    pub k: u64,
    /// The session that released it.
    pub session: String,
}

/// For each candidate, the session of the earlier release it would be differenced against
/// (`Some`: suppress it), or `None`. Candidates are checked against `history` and against
/// the candidates before them that pass. With `whole`, one suppressed candidate suppresses
/// all (a histogram is released whole or not at all).
pub fn check(history: &[Released], candidates: &[Released], whole: bool) -> Vec<Option<String>> {
    let mut seen: Vec<&Released> = history.iter().collect();
    let mut verdicts = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let earlier = seen.iter().find(|r| {
            let difference = r.count.abs_diff(candidate.count);
            difference > 0
                && difference < r.k.max(candidate.k)
                && r.population.nested(&candidate.population)
        });
        match earlier {
            Some(r) => verdicts.push(Some(r.session.clone())),
            None => {
                verdicts.push(None);
                seen.push(candidate);
            }
        }
    }
    if whole {
        if let Some(first) = verdicts.iter().flatten().next().cloned() {
            return vec![Some(first); candidates.len()];
        }
    }
    verdicts
}

/// A released cell of a result: where it is and what it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Its place: `None` for a one-figure result, else its index in the result's list.
    pub index: Option<usize>,
    /// Its population and count.
    pub released: Released,
}

/// The cells with counts a program's result releases (suppressed ones are not), each with
/// its population over `datasets`. `params` are the manifest's program parameters. A
/// program without counts under k (the PSI programs) has none.
pub fn cells(
    program: &str,
    params: &Map<String, Value>,
    result: &Value,
    datasets: &BTreeSet<String>,
    k: u64,
    session: &str,
) -> Vec<Cell> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let column = text(params.get("column"));
    let group = text(params.get("group").and_then(|g| g.get("column")));
    let treatment = text(params.get("treatment"));
    let cell = |index, base, bounds: Vec<(Option<String>, Interval)>, count: &Value| {
        let count = count.as_u64()?;
        let bounds = bounds
            .into_iter()
            .map(|(c, i)| c.map(|c| (c, i)))
            .collect::<Option<BTreeMap<_, _>>>()?;
        Some(Cell {
            index,
            released: Released {
                population: Population {
                    base,
                    datasets: datasets.clone(),
                    bounds,
                },
                count,
                k,
                session: session.to_owned(),
            },
        })
    };
    let list = |key: &str| result.get(key).and_then(Value::as_array).cloned();
    match program {
        "sum" | "mean" | "variance" | "linear-regression" => {
            cell(None, Base::Rows, Vec::new(), &result["count"])
                .into_iter()
                .collect()
        }
        "count" => {
            let range = Interval {
                from: params.get("from").and_then(Value::as_i64),
                to: params.get("to").and_then(Value::as_i64),
            };
            cell(None, Base::Rows, vec![(column, range)], &result["count"])
                .into_iter()
                .collect()
        }
        "histogram" => list("bins")
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, bin)| {
                let range = Interval {
                    from: bin["from"].as_i64(),
                    to: bin["to"].as_i64(),
                };
                cell(
                    Some(i),
                    Base::Rows,
                    vec![(column.clone(), range)],
                    &bin["count"],
                )
            })
            .collect(),
        "group-stats" => list("groups")
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                let value = Interval::point(g["group"].as_i64()?);
                cell(
                    Some(i),
                    Base::Rows,
                    vec![(group.clone(), value)],
                    &g["count"],
                )
            })
            .collect(),
        "linked-group-stats" => list("cells")
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let bounds = vec![
                    (group.clone(), Interval::point(c["group"].as_i64()?)),
                    (treatment.clone(), Interval::point(c["treatment"].as_i64()?)),
                ];
                cell(Some(i), Base::Linked, bounds, &c["count"])
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a program's cells are released whole or not at all.
pub fn whole(program: &str) -> bool {
    program == "histogram"
}

/// The explanation of a differencing suppression.
pub fn explanation(earlier: &str) -> Value {
    json!({
        "suppressed": true,
        "rule": "differencing",
        "differencing": {"earlier_session": earlier},
    })
}

/// `result` with the cells `suppress` names (by [`Cell::index`], with the earlier session)
/// replaced by their explanation; a one-figure result, or a histogram, is replaced whole
/// (keeping `program`, `version`, `k` and `dominance`). In `linked-group-stats`, the effect
/// of a group with a suppressed cell is suppressed too.
pub fn suppress(program: &str, result: &Value, suppress: &[(Option<usize>, String)]) -> Value {
    let Some((_, first)) = suppress.first() else {
        return result.clone();
    };
    let list_key = match program {
        "group-stats" => "groups",
        "linked-group-stats" => "cells",
        _ => "",
    };
    if list_key.is_empty() {
        let mut out = explanation(first);
        if let (Some(o), Some(r)) = (out.as_object_mut(), result.as_object()) {
            for key in ["program", "version", "k", "dominance"] {
                if let Some(v) = r.get(key) {
                    o.insert(key.to_owned(), v.clone());
                }
            }
        }
        return out;
    }
    let mut out = result.clone();
    let mut groups = BTreeSet::new();
    for (index, earlier) in suppress {
        let Some(entry) = index.and_then(|i| out.get_mut(list_key).and_then(|l| l.get_mut(i)))
        else {
            continue;
        };
        let mut replaced = Map::new();
        for key in ["group", "treatment"] {
            if let Some(v) = entry.get(key) {
                replaced.insert(key.to_owned(), v.clone());
            }
        }
        if let Some(g) = entry.get("group").and_then(Value::as_i64) {
            groups.insert((g, earlier.clone()));
        }
        if let Value::Object(e) = explanation(earlier) {
            replaced.extend(e);
        }
        *entry = Value::Object(replaced);
    }
    if program == "linked-group-stats" {
        if let Some(effects) = out.get_mut("effects").and_then(Value::as_array_mut) {
            for effect in effects {
                let group = effect.get("group").and_then(Value::as_i64);
                if let Some((g, earlier)) = groups.iter().find(|(g, _)| Some(*g) == group) {
                    let mut replaced = json!({"group": g});
                    if let (Some(o), Value::Object(e)) =
                        (replaced.as_object_mut(), explanation(earlier))
                    {
                        o.extend(e);
                    }
                    *effect = replaced;
                }
            }
        }
    }
    out
}

/// Every suppressed figure of a result (by any rule), for the audit trail: `{"cell", "rule",
/// …}` with the cell's group (and treatment) or `null` for a one-figure result, and the
/// rule's parameters — never a count.
pub fn suppressions(result: &Value) -> Vec<Value> {
    let entry = |cell: Value, e: &Value| {
        let mut out = json!({"cell": cell, "rule": e["rule"]});
        for key in ["dominance", "differencing"] {
            if let (Some(v), Some(o)) = (e.get(key), out.as_object_mut()) {
                o.insert(key.to_owned(), v.clone());
            }
        }
        out
    };
    if result["suppressed"] == true {
        return vec![entry(Value::Null, result)];
    }
    let mut out = Vec::new();
    for key in ["groups", "cells", "effects"] {
        for e in result[key].as_array().into_iter().flatten() {
            if e["suppressed"] == true {
                let mut cell = json!({"list": key, "group": e["group"]});
                if let (Some(t), Some(o)) = (e.get("treatment"), cell.as_object_mut()) {
                    o.insert("treatment".into(), t.clone());
                }
                out.push(entry(cell, e));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
