//! The evaluator. Default deny; a `forbid` whose condition holds overrides every `permit`; an
//! error while evaluating a condition (an attribute the request lacks) fails closed: a `permit`
//! with an error does not permit, a `forbid` with an error forbids.
//!
//! [`Policies::authorize`] answers without allocating; [`Policies::evaluate`] returns the full
//! [`Decision`](crate::explain::Decision) with obligations and, for a denial, why.

use std::cmp::Ordering;

use crate::ast::Op;
use crate::compile::{CExpr, Cmp, Operand, Policies};
use crate::request::Request;
use crate::schema::AttrId;
use crate::value::Value;

/// Why a condition could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvalError {
    /// The request lacks this attribute.
    Missing(AttrId),
}

pub(crate) type EvalResult = Result<bool, EvalError>;

/// Permit or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The request is allowed.
    Permit,
    /// The request is refused.
    Deny,
}

/// The answer of [`Policies::authorize`]: the outcome and the first policy that decided it
/// (`None` for a denial because nothing permits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Permit or deny.
    pub outcome: Outcome,
    /// The index of the first deciding policy in [`Policies::policy_set`].
    pub policy: Option<usize>,
}

fn operand<'a>(o: &'a Operand, req: &'a Request) -> Result<&'a Value, EvalError> {
    match o {
        Operand::Lit(v) => Ok(v),
        Operand::Attr(id) => req.get(*id).ok_or(EvalError::Missing(*id)),
    }
}

fn set_has(set: &[std::sync::Arc<str>], s: &str) -> bool {
    // Sets are sorted at construction.
    set.binary_search_by(|x| x.as_ref().cmp(s)).is_ok()
}

pub(crate) fn cmp(c: &Cmp, req: &Request) -> EvalResult {
    let l = operand(&c.left, req)?;
    let r = operand(&c.right, req)?;
    Ok(match c.op {
        Op::Eq => l.equals(r),
        Op::Ne => !l.equals(r),
        Op::Lt => l.compare(r) == Some(Ordering::Less),
        Op::Le => matches!(l.compare(r), Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => l.compare(r) == Some(Ordering::Greater),
        Op::Ge => matches!(l.compare(r), Some(Ordering::Greater | Ordering::Equal)),
        Op::In => match (l, r) {
            (Value::Str(s), Value::Set(set)) => set_has(set, s),
            _ => false,
        },
        Op::Contains => match (l, r) {
            (Value::Set(set), Value::Str(s)) => set_has(set, s),
            _ => false,
        },
        Op::ContainsAll => match (l, r) {
            (Value::Set(a), Value::Set(b)) => b.iter().all(|s| set_has(a, s)),
            _ => false,
        },
        Op::ContainsAny => match (l, r) {
            (Value::Set(a), Value::Set(b)) => b.iter().any(|s| set_has(a, s)),
            _ => false,
        },
    })
}

/// Evaluates a condition in three-valued (Kleene) logic, an error being "unknown": `and` is false
/// if any part is false, else unknown if any part is unknown; `or` dually; `not unknown` is
/// unknown. De Morgan's laws hold exactly, which the ODRL export relies on.
pub(crate) fn eval(e: &CExpr, req: &Request) -> EvalResult {
    match e {
        CExpr::Const(b) => Ok(*b),
        CExpr::Attr(id, _) => match req.get(*id) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Ok(false),
            None => Err(EvalError::Missing(*id)),
        },
        CExpr::Has(id, _) => Ok(req.get(*id).is_some()),
        CExpr::Cmp(c) => cmp(c, req),
        CExpr::And(items) => {
            let mut err = None;
            for i in items.iter() {
                match eval(i, req) {
                    Ok(true) => {}
                    Ok(false) => return Ok(false),
                    Err(e) => err = err.or(Some(e)),
                }
            }
            err.map_or(Ok(true), Err)
        }
        CExpr::Or(items, _) => {
            let mut err = None;
            for i in items.iter() {
                match eval(i, req) {
                    Ok(true) => return Ok(true),
                    Ok(false) => {}
                    Err(e) => err = err.or(Some(e)),
                }
            }
            err.map_or(Ok(false), Err)
        }
        CExpr::Not(inner, _) => eval(inner, req).map(|b| !b),
    }
}

impl Policies {
    /// Whether a policy's condition holds (`Ok(true)` when it has none).
    pub(crate) fn holds(&self, idx: u32, req: &Request) -> EvalResult {
        match self
            .policies
            .get(idx as usize)
            .and_then(|p| p.cond.as_ref())
        {
            Some(c) => eval(c, req),
            None => Ok(true),
        }
    }

    /// Decides `req` without building an explanation and without allocating.
    pub fn authorize(&self, req: &Request) -> Verdict {
        let buckets = self.buckets(req.action(), req.offer());
        for b in buckets.iter().flatten() {
            for &f in &b.forbids {
                // A forbid whose condition errs fails closed.
                if self.holds(f, req) != Ok(false) {
                    return Verdict {
                        outcome: Outcome::Deny,
                        policy: Some(f as usize),
                    };
                }
            }
        }
        for b in buckets.iter().flatten() {
            for &p in &b.permits {
                if self.holds(p, req) == Ok(true) {
                    return Verdict {
                        outcome: Outcome::Permit,
                        policy: Some(p as usize),
                    };
                }
            }
        }
        Verdict {
            outcome: Outcome::Deny,
            policy: None,
        }
    }

    /// Whether `req` is permitted.
    pub fn is_permitted(&self, req: &Request) -> bool {
        self.authorize(req).outcome == Outcome::Permit
    }
}
