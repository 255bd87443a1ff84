//! Decisions with explanations: the deciding policies, the obligations to enforce and, for a
//! denial, every condition that failed with the value seen and what was required.

use std::fmt;
use std::sync::Arc;

use serde_json::{json, Map};

use crate::compile::{CExpr, Cmp, ObligationInstance, Operand, Policies};
use crate::eval::{cmp, eval, EvalError, Outcome};
use crate::request::Request;
use crate::value::Value;

/// A condition that did not hold (in a permit), or that held (in a forbid).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The policy the condition belongs to.
    pub policy: Arc<str>,
    /// The condition as written, such as `session.parties >= 3`.
    pub condition: Arc<str>,
    /// The attribute it is about, if there is one.
    pub attribute: Option<Arc<str>>,
    /// The value the request had; `None` if the attribute was missing.
    pub seen: Option<Value>,
    /// What the condition required, such as `at least 3` or `one of Hospital, Insurer`.
    pub required: Arc<str>,
    /// `true` for a forbid's condition that held (what was seen is what the policy forbids);
    /// `false` for a permit's condition that failed, and for a part of a forbid's condition that
    /// did not hold where the forbid (by a `not`) required it to.
    pub held: bool,
}

impl Condition {
    /// The condition in plain words:
    /// `holder.role was "Pharmacy"; required one of Hospital, Insurer, StatisticsBureau`.
    pub fn message(&self) -> String {
        match (&self.attribute, &self.seen) {
            (Some(a), Some(v)) if self.held => {
                format!(
                    "{a} was {v}, which the policy forbids (`{}`)",
                    self.condition
                )
            }
            (Some(a), None) if self.held => format!(
                "{a} is missing, so `{}` cannot be ruled out (fail closed)",
                self.condition
            ),
            (None, _) if self.held => format!("`{}` held", self.condition),
            (Some(a), Some(v)) => format!("{a} was {v}; required {}", self.required),
            (Some(a), None) => format!("{a} is missing; required {}", self.required),
            (None, _) => format!(
                "`{}` did not hold; required {}",
                self.condition, self.required
            ),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        json!({
            "policy": &*self.policy,
            "condition": &*self.condition,
            "attribute": self.attribute.as_deref(),
            "seen": self.seen.as_ref().map(value_json),
            "missing": self.attribute.is_some() && self.seen.is_none(),
            "required": &*self.required,
            "held": self.held,
            "message": self.message(),
        })
    }
}

/// The answer to a request, with its reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Permit or deny.
    pub outcome: Outcome,
    /// The action asked for.
    pub action: Arc<str>,
    /// The offer asked about.
    pub offer: Arc<str>,
    /// The policies that decided: the permits that held, or the forbids that applied.
    pub deciding: Vec<Arc<str>>,
    /// For a permit, the obligations of every deciding policy, with their parameters.
    pub obligations: Vec<ObligationInstance>,
    /// For a denial, every condition of an applicable permit that did not hold.
    pub failed: Vec<Condition>,
    /// For a denial by `forbid`, the conditions of the forbids that held (or could not be evaluated).
    pub forbidden: Vec<Condition>,
    /// Attributes a condition needed that the request did not have.
    pub missing: Vec<Arc<str>>,
    /// Set when no policy covers the action and offer at all.
    pub no_applicable_policy: bool,
}

impl Decision {
    /// Whether the request is permitted.
    pub fn is_permit(&self) -> bool {
        self.outcome == Outcome::Permit
    }

    /// The decision as JSON: `decision` ("permit"/"deny"), `action`, `offer`, `deciding`,
    /// `obligations` ([{policy, name, params}]), `failed` and `forbidden` ([{policy, condition,
    /// attribute, seen, missing, required, message}]), `missing`, `reasons` (the messages).
    pub fn to_json(&self) -> serde_json::Value {
        let obligations: Vec<_> = self
            .obligations
            .iter()
            .map(|o| {
                let params: Map<String, serde_json::Value> = o
                    .params
                    .iter()
                    .map(|(k, v)| (k.to_string(), value_json(v)))
                    .collect();
                json!({"policy": &*o.policy, "name": &*o.name, "params": params})
            })
            .collect();
        json!({
            "decision": if self.is_permit() { "permit" } else { "deny" },
            "action": &*self.action,
            "offer": &*self.offer,
            "deciding": self.deciding.iter().map(|s| &**s).collect::<Vec<_>>(),
            "obligations": obligations,
            "failed": self.failed.iter().map(Condition::to_json).collect::<Vec<_>>(),
            "forbidden": self.forbidden.iter().map(Condition::to_json).collect::<Vec<_>>(),
            "missing": self.missing.iter().map(|s| &**s).collect::<Vec<_>>(),
            "reasons": self.reasons(),
        })
    }

    /// Every reason for a denial, one sentence each (empty for a permit).
    pub fn reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.is_permit() {
            return out;
        }
        if self.no_applicable_policy {
            out.push(format!(
                "no policy permits `{}` on offer \"{}\"",
                self.action, self.offer
            ));
        }
        for c in &self.forbidden {
            out.push(format!(
                "forbidden by policy \"{}\": {}",
                c.policy,
                c.message()
            ));
        }
        for c in &self.failed {
            out.push(format!("policy \"{}\": {}", c.policy, c.message()));
        }
        out
    }
}

/// JSON for a value: strings, numbers, booleans and arrays as themselves; decimals, datetimes and
/// durations as their literal text.
pub fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Bool(b) => json!(b),
        Value::Int(n) => json!(n),
        Value::Str(s) => json!(&**s),
        Value::Set(items) => json!(items.iter().map(|s| &**s).collect::<Vec<_>>()),
        other => json!(other.to_string()),
    }
}

impl fmt::Display for Decision {
    /// Human text: `PERMIT`/`DENY`, the action and offer, then deciding policies and obligations,
    /// or the reasons for the denial, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = if self.is_permit() { "PERMIT" } else { "DENY" };
        writeln!(f, "{word} {} on offer \"{}\"", self.action, self.offer)?;
        if self.is_permit() {
            for d in &self.deciding {
                writeln!(f, "  permitted by policy \"{d}\"")?;
            }
            for o in &self.obligations {
                write!(f, "  obligation {}", o.name)?;
                if !o.params.is_empty() {
                    let params: Vec<String> =
                        o.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                    write!(f, " {{ {} }}", params.join(", "))?;
                }
                writeln!(f, " (from \"{}\")", o.policy)?;
            }
            return Ok(());
        }
        for r in self.reasons() {
            writeln!(f, "  - {r}")?;
        }
        if !self.missing.is_empty() {
            let names: Vec<&str> = self.missing.iter().map(|s| &**s).collect();
            writeln!(f, "  missing attributes: {}", names.join(", "))?;
        }
        Ok(())
    }
}

/// What `op` requires relative to attribute `name`, whose value was `v`.
fn relative(op: crate::ast::Op, name: &str, v: &Value) -> String {
    use crate::ast::Op;
    let time = matches!(v, Value::DateTime(_));
    let words = match op {
        Op::Eq => "the same as",
        Op::Ne => "different from",
        Op::Lt if time => "before",
        Op::Le if time => "at or before",
        Op::Gt if time => "after",
        Op::Ge if time => "at or after",
        Op::Lt => "less than",
        Op::Le => "at most",
        Op::Gt => "more than",
        Op::Ge => "at least",
        Op::In => "one of",
        Op::Contains => "a set containing",
        Op::ContainsAll => "a set containing all of",
        Op::ContainsAny => "a set containing any of",
    };
    format!("{words} {name} ({v})")
}

struct Explainer<'a> {
    policies: &'a Policies,
    req: &'a Request,
    missing: Vec<Arc<str>>,
    /// Whether the policy explained is a forbid: then a part of its condition that held is what
    /// it forbids, and a part that did not hold (under a `not`) is what it required.
    forbid: bool,
}

impl Explainer<'_> {
    fn name(&self, id: usize) -> Arc<str> {
        self.policies
            .attr_names
            .get(id)
            .map_or_else(|| Arc::from("?"), Arc::clone)
    }

    fn note_missing(&mut self, err: EvalError) {
        let EvalError::Missing(id) = err;
        let name = self.name(id);
        if !self.missing.contains(&name) {
            self.missing.push(name);
        }
    }

    fn leaf(&mut self, policy: &Arc<str>, c: &Cmp, want: bool) -> Condition {
        let (attribute, seen) = match (&c.left, &c.right) {
            (Operand::Attr(a), Operand::Attr(b))
                if self.req.get(*a).is_some() && self.req.get(*b).is_none() =>
            {
                (Some(self.name(*b)), None)
            }
            (Operand::Attr(a), _) | (_, Operand::Attr(a)) => {
                (Some(self.name(*a)), self.req.get(*a).cloned())
            }
            _ => (None, None),
        };
        if let Err(e) = cmp(c, self.req) {
            self.note_missing(e);
        }
        let required = match (&c.left, &c.right) {
            (Operand::Attr(a), Operand::Attr(b)) => match (self.req.get(*a), self.req.get(*b)) {
                (Some(_), Some(v)) => Arc::from(relative(c.op, &self.name(*b), v).as_str()),
                _ => Arc::from(format!("a value for `{}`", c.text).as_str()),
            },
            _ => Arc::clone(&c.required),
        };
        Condition {
            policy: Arc::clone(policy),
            condition: Arc::clone(&c.text),
            attribute,
            seen,
            required,
            held: self.forbid && !want,
        }
    }

    /// Appends to `out` every reason `e` failed (`want == true`) or held (`want == false`).
    fn why(&mut self, policy: &Arc<str>, e: &CExpr, want: bool, out: &mut Vec<Condition>) {
        let result = eval(e, self.req);
        if result == Ok(want) {
            return;
        }
        match e {
            CExpr::And(items) if want => {
                for i in items.iter() {
                    self.why(policy, i, true, out);
                }
            }
            CExpr::Or(items, _) if !want => {
                for i in items.iter() {
                    self.why(policy, i, false, out);
                }
            }
            CExpr::And(items) if !want => {
                // A conjunction that held (or could not be ruled out): each part that did, the
                // `has` guards left out when something else tells.
                let telling = items
                    .iter()
                    .filter(|i| !matches!(i, CExpr::Has(..)))
                    .count();
                for i in items.iter() {
                    if telling == 0 || !matches!(i, CExpr::Has(..)) {
                        self.why(policy, i, false, out);
                    }
                }
            }
            CExpr::Not(inner, _) => self.why(policy, inner, !want, out),
            CExpr::Cmp(c) => out.push(self.leaf(policy, c, want)),
            CExpr::Attr(id, name) | CExpr::Has(id, name) => {
                if let Err(err) = result {
                    self.note_missing(err);
                }
                let is_has = matches!(e, CExpr::Has(..));
                out.push(Condition {
                    policy: Arc::clone(policy),
                    condition: Arc::clone(name),
                    attribute: Some(Arc::clone(name)),
                    seen: self.req.get(*id).cloned(),
                    required: Arc::from(match (is_has, want) {
                        (true, true) => "to be present",
                        (true, false) => "to be absent",
                        (false, true) => "true",
                        (false, false) => "false",
                    }),
                    held: self.forbid && !want,
                });
            }
            other => {
                // A disjunction that failed, or a constant: report the whole, with the missing
                // attributes found inside.
                let mut inner = Vec::new();
                match other {
                    CExpr::Or(items, _) | CExpr::And(items) => {
                        for i in items.iter() {
                            self.why(policy, i, want, &mut inner);
                        }
                    }
                    _ => {}
                }
                let text: Arc<str> = match other {
                    CExpr::Or(_, t) => Arc::clone(t),
                    CExpr::Const(b) => Arc::from(b.to_string().as_str()),
                    _ => Arc::from("the condition"),
                };
                let parts: Vec<String> = inner.iter().map(Condition::message).collect();
                let joiner = if want { " or " } else { " and " };
                out.push(Condition {
                    policy: Arc::clone(policy),
                    condition: text,
                    attribute: None,
                    seen: None,
                    required: if parts.is_empty() {
                        Arc::from(if want { "true" } else { "false" })
                    } else {
                        Arc::from(
                            format!("one of these to change: {}", parts.join(joiner)).as_str(),
                        )
                    },
                    held: self.forbid && !want,
                });
            }
        }
    }
}

impl Policies {
    /// Decides `req` and explains the decision.
    pub fn evaluate(&self, req: &Request) -> Decision {
        let mut d = Decision {
            outcome: Outcome::Deny,
            action: req.action_arc(),
            offer: req.offer_arc(),
            deciding: Vec::new(),
            obligations: Vec::new(),
            failed: Vec::new(),
            forbidden: Vec::new(),
            missing: Vec::new(),
            no_applicable_policy: false,
        };
        let buckets = self.buckets(req.action(), req.offer());
        let mut ex = Explainer {
            policies: self,
            req,
            missing: Vec::new(),
            forbid: true,
        };
        // Policies are visited in index order: the exact (action, offer) bucket, then
        // (action, *), (*, offer) and (*, *); source order within each. No list is built.
        let forbids = || {
            buckets
                .iter()
                .flatten()
                .flat_map(|b| b.forbids.iter().copied())
        };
        let permits = || {
            buckets
                .iter()
                .flatten()
                .flat_map(|b| b.permits.iter().copied())
        };
        for f in forbids() {
            if self.holds(f, req) == Ok(false) {
                continue;
            }
            let Some(p) = self.policies.get(f as usize) else {
                continue;
            };
            d.deciding.push(Arc::clone(&p.id));
            match &p.cond {
                Some(c) => ex.why(&p.id, c, false, &mut d.forbidden),
                None => d.forbidden.push(Condition {
                    policy: Arc::clone(&p.id),
                    condition: Arc::from("always"),
                    attribute: None,
                    seen: None,
                    required: Arc::from("nothing: the policy forbids this action on this offer"),
                    held: true,
                }),
            }
        }
        if d.deciding.is_empty() {
            d.no_applicable_policy = permits().next().is_none();
            for i in permits() {
                if self.holds(i, req) == Ok(true) {
                    if let Some(p) = self.policies.get(i as usize) {
                        d.deciding.push(Arc::clone(&p.id));
                        d.obligations.extend(p.obligations.iter().cloned());
                    }
                }
            }
            if d.deciding.is_empty() {
                ex.forbid = false;
                for i in permits() {
                    if let Some(p) = self.policies.get(i as usize) {
                        if let Some(c) = &p.cond {
                            ex.why(&p.id, c, true, &mut d.failed);
                        }
                    }
                }
            } else {
                d.outcome = Outcome::Permit;
            }
        }
        d.missing = ex.missing;
        d
    }
}
