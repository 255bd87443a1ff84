//! Contradictions the checker can prove: two conditions joined by `and` that no value satisfies
//! together (`x == "a" and x == "b"`, `n > 5 and n < 3`, `x in [] `, ...).

use std::cmp::Ordering;

use crate::ast::{Expr, ExprKind, Op};
use crate::loc::Span;
use crate::value::Value;

/// How many conditions on one attribute are compared with each other.
const MAX_FACTS: usize = 16;

struct Fact<'a> {
    attr: &'a str,
    op: Op,
    lit: &'a Value,
    expr: &'a Expr,
    neg: bool,
}

impl std::fmt::Display for Fact<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.neg {
            write!(f, "not {}", self.expr)
        } else {
            write!(f, "{}", self.expr)
        }
    }
}

/// Every provable contradiction among the conjuncts of `cond`: (span, message, help).
pub(super) fn find(cond: &Expr) -> Vec<(Span, String, String)> {
    let mut conjuncts = Vec::new();
    flatten(cond, false, &mut conjuncts);
    // Facts by attribute; only the first few per attribute are compared, so a long chain costs
    // linear time.
    let mut facts: std::collections::HashMap<&str, Vec<Fact<'_>>> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for (e, neg) in conjuncts {
        let Some(f) = fact(e, neg) else { continue };
        if f.op == Op::In && matches!(f.lit, Value::Set(s) if s.is_empty()) {
            out.push((
                e.span,
                format!("`{f}` can never hold: the list is empty"),
                "list the values allowed".to_owned(),
            ));
            continue;
        }
        let same = facts.entry(f.attr).or_default();
        if let Some(other) = same.iter().find(|g| contradict(g, &f)) {
            out.push((
                e.span,
                format!("`{f}` contradicts `{other}`: together they can never hold, so the policy never applies"),
                "remove one of the two conditions, or join them with `or`".to_owned(),
            ));
        }
        if same.len() < MAX_FACTS {
            same.push(f);
        }
    }
    out
}

/// The conjuncts of `e` (of `not e` when `neg`), seeing through `not` by De Morgan's laws.
fn flatten<'a>(e: &'a Expr, neg: bool, out: &mut Vec<(&'a Expr, bool)>) {
    match &e.kind {
        ExprKind::And(items) if !neg => {
            for i in items {
                flatten(i, neg, out);
            }
        }
        ExprKind::Or(items) if neg => {
            for i in items {
                flatten(i, neg, out);
            }
        }
        ExprKind::Not(inner) => flatten(inner, !neg, out),
        _ => out.push((e, neg)),
    }
}

fn negate(op: Op) -> Option<Op> {
    Some(match op {
        Op::Eq => Op::Ne,
        Op::Ne => Op::Eq,
        Op::Lt => Op::Ge,
        Op::Le => Op::Gt,
        Op::Gt => Op::Le,
        Op::Ge => Op::Lt,
        _ => return None,
    })
}

fn flip(op: Op) -> Option<Op> {
    Some(match op {
        Op::Eq | Op::Ne => op,
        Op::Lt => Op::Gt,
        Op::Le => Op::Ge,
        Op::Gt => Op::Lt,
        Op::Ge => Op::Le,
        _ => return None,
    })
}

fn fact(e: &Expr, neg: bool) -> Option<Fact<'_>> {
    let ExprKind::Binary(op, l, r) = &e.kind else {
        return None;
    };
    let (attr, op, lit) = match (&l.kind, &r.kind) {
        (ExprKind::Attr(a), ExprKind::Lit(v)) => (a, *op, v),
        (ExprKind::Lit(v), ExprKind::Attr(a)) => (a, flip(*op)?, v),
        _ => return None,
    };
    if matches!(op, Op::Contains | Op::ContainsAll | Op::ContainsAny) {
        return None;
    }
    let op = if neg { negate(op)? } else { op };
    Some(Fact {
        attr,
        op,
        lit,
        expr: e,
        neg,
    })
}

/// Whether `v` satisfies `op lit`; `None` if unknown.
fn holds(op: Op, lit: &Value, v: &Value) -> Option<bool> {
    match op {
        Op::Eq => Some(v.equals(lit)),
        Op::Ne => Some(!v.equals(lit)),
        Op::In => match (v, lit) {
            (Value::Str(s), Value::Set(set)) => Some(set.contains(s)),
            _ => None,
        },
        Op::Lt => v.compare(lit).map(|o| o == Ordering::Less),
        Op::Le => v.compare(lit).map(|o| o != Ordering::Greater),
        Op::Gt => v.compare(lit).map(|o| o == Ordering::Greater),
        Op::Ge => v.compare(lit).map(|o| o != Ordering::Less),
        _ => None,
    }
}

fn candidates(f: &Fact<'_>) -> Option<Vec<Value>> {
    match (f.op, f.lit) {
        (Op::Eq, v) => Some(vec![v.clone()]),
        (Op::In, Value::Set(s)) => Some(s.iter().map(|x| Value::Str(x.clone())).collect()),
        _ => None,
    }
}

fn contradict(a: &Fact<'_>, b: &Fact<'_>) -> bool {
    for (x, y) in [(a, b), (b, a)] {
        if let Some(values) = candidates(x) {
            return values.iter().all(|v| holds(y.op, y.lit, v) == Some(false));
        }
    }
    let lower = |f: &Fact<'_>| matches!(f.op, Op::Gt | Op::Ge);
    let upper = |f: &Fact<'_>| matches!(f.op, Op::Lt | Op::Le);
    let (lo, hi) = if lower(a) && upper(b) {
        (a, b)
    } else if lower(b) && upper(a) {
        (b, a)
    } else {
        return false;
    };
    match lo.lit.compare(hi.lit) {
        Some(Ordering::Greater) => true,
        Some(Ordering::Equal) => lo.op == Op::Gt || hi.op == Op::Lt,
        _ => false,
    }
}
