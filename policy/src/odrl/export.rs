//! Export: a checked [`PolicySet`] to ODRL 2.2 JSON-LD.

use serde_json::{json, Map, Value as J};

use super::{camel, OdrlError, NAMESPACE, ODRL_CONTEXT, PREFIX, UID_PREFIX};
use crate::ast::{Effect, Expr, ExprKind, Op, Policy, PolicySet, Target};
use crate::schema::{Schema, PROFILE};
use crate::value::{format_datetime, format_decimal, format_iso_duration, Value};

/// Exports `set` as one JSON-LD document: `{"@context": [...], "@graph": [policy, ...]}`, one
/// ODRL `Set` policy per Symbolon policy. Attributes are named by their left operands in `schema`.
pub fn to_odrl(set: &PolicySet, schema: &Schema) -> Result<J, OdrlError> {
    let graph = set
        .policies
        .iter()
        .map(|p| policy(p, schema))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "@context": [ODRL_CONTEXT, { PREFIX: NAMESPACE }],
        "@graph": graph,
    }))
}

fn policy(p: &Policy, schema: &Schema) -> Result<J, OdrlError> {
    let mut rule = Map::new();
    if let Target::Some(offers) = &p.offers {
        let t: Vec<J> = offers.iter().map(|o| J::String(o.name.clone())).collect();
        rule.insert("target".into(), one_or_many(t));
    }
    let action = match &p.actions {
        Target::Any(_) => J::String("use".into()),
        Target::Some(actions) => one_or_many(
            actions
                .iter()
                .map(|a| J::String(format!("{PREFIX}:{}", a.name)))
                .collect(),
        ),
    };
    rule.insert("action".into(), action);
    let ex = Exporter {
        schema,
        policy: &p.id.name,
    };
    if let Some(c) = &p.condition {
        let constraints = match &c.kind {
            ExprKind::And(items) => items
                .iter()
                .map(|i| ex.constraint(i, false))
                .collect::<Result<Vec<_>, _>>()?,
            _ => vec![ex.constraint(c, false)?],
        };
        rule.insert("constraint".into(), J::Array(constraints));
    }
    if !p.obligations.is_empty() {
        let duties: Vec<J> = p
            .obligations
            .iter()
            .map(|o| {
                let name = J::String(format!("{PREFIX}:{}", o.name.name));
                if o.params.is_empty() {
                    return json!({ "action": name });
                }
                let refinement: Vec<J> = o
                    .params
                    .iter()
                    .map(|prm| {
                        json!({
                            "leftOperand": format!("{PREFIX}:{}", camel(&prm.name.name)),
                            "operator": "eq",
                            "rightOperand": literal(&prm.value),
                        })
                    })
                    .collect();
                json!({ "action": [{ "rdf:value": { "@id": name }, "refinement": refinement }] })
            })
            .collect();
        rule.insert("duty".into(), J::Array(duties));
    }
    let kind = match p.effect {
        Effect::Permit => "permission",
        Effect::Forbid => "prohibition",
    };
    Ok(json!({
        "@type": "Set",
        "uid": format!("{UID_PREFIX}{}", p.id.name),
        "profile": PROFILE,
        kind: [J::Object(rule)],
    }))
}

fn one_or_many(mut items: Vec<J>) -> J {
    if items.len() == 1 {
        items.pop().unwrap_or(J::Null)
    } else {
        J::Array(items)
    }
}

/// A value as an ODRL right operand: plain JSON where JSON has the type, else a typed literal.
pub(crate) fn literal(v: &Value) -> J {
    let typed = |value: String, ty: &str| json!({ "@value": value, "@type": ty });
    match v {
        Value::Bool(b) => J::Bool(*b),
        Value::Int(n) => json!(n),
        Value::Str(s) => J::String(s.to_string()),
        Value::Set(items) => J::Array(items.iter().map(|s| J::String(s.to_string())).collect()),
        Value::Decimal(d) => typed(format_decimal(*d), "xsd:decimal"),
        Value::DateTime(ms) => typed(format_datetime(*ms), "xsd:dateTime"),
        Value::Duration(ms) => typed(format_iso_duration(*ms), "xsd:duration"),
    }
}

struct Exporter<'a> {
    schema: &'a Schema,
    policy: &'a str,
}

fn negate(op: Op) -> Op {
    match op {
        Op::Eq => Op::Ne,
        Op::Ne => Op::Eq,
        Op::Lt => Op::Ge,
        Op::Ge => Op::Lt,
        Op::Le => Op::Gt,
        Op::Gt => Op::Le,
        other => other,
    }
}

fn flip(op: Op) -> Option<Op> {
    Some(match op {
        Op::Lt => Op::Gt,
        Op::Le => Op::Ge,
        Op::Gt => Op::Lt,
        Op::Ge => Op::Le,
        Op::In => Op::Contains,
        Op::Contains => Op::In,
        Op::ContainsAll => return None,
        other => other,
    })
}

impl Exporter<'_> {
    fn fail(&self, message: String) -> OdrlError {
        OdrlError::Export {
            policy: self.policy.to_owned(),
            message,
        }
    }

    fn term(&self, attr: &str) -> Result<String, OdrlError> {
        let (_, def) = self
            .schema
            .attribute(attr)
            .ok_or_else(|| self.fail(format!("unknown attribute `{attr}`")))?;
        Ok(if def.odrl.contains(':') {
            def.odrl.clone()
        } else if matches!(def.odrl.as_str(), "dateTime" | "count" | "purpose") {
            // Left operands of ODRL's core vocabulary.
            def.odrl.clone()
        } else {
            format!("{PREFIX}:{}", def.odrl)
        })
    }

    fn atom(&self, left: &str, op: &str, right: J) -> Result<J, OdrlError> {
        Ok(json!({ "leftOperand": self.term(left)?, "operator": op, "rightOperand": right }))
    }

    /// The constraint for `e`, or for `not e` when `neg`, with the negation pushed inwards.
    fn constraint(&self, e: &Expr, neg: bool) -> Result<J, OdrlError> {
        match &e.kind {
            ExprKind::And(items) | ExprKind::Or(items) => {
                let is_and = matches!(e.kind, ExprKind::And(_)) != neg;
                let parts = items
                    .iter()
                    .map(|i| self.constraint(i, neg))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(json!({ if is_and { "and" } else { "or" }: parts }))
            }
            ExprKind::Not(inner) => self.constraint(inner, !neg),
            ExprKind::Lit(Value::Bool(b)) => {
                Ok(json!({ if *b != neg { "and" } else { "or" }: [] }))
            }
            ExprKind::Lit(v) => Err(self.fail(format!("`{v}` is not a condition"))),
            ExprKind::Attr(a) => self.atom(a, "eq", J::Bool(!neg)),
            ExprKind::Has(a) => self.atom(a, &format!("{PREFIX}:isPresent"), J::Bool(!neg)),
            ExprKind::Binary(op, l, r) => {
                let (mut op, mut l, mut r) = (*op, &**l, &**r);
                if let (ExprKind::Lit(_), ExprKind::Attr(_)) = (&l.kind, &r.kind) {
                    op = flip(op).ok_or_else(|| {
                        self.fail(format!(
                            "`{e}` (a literal set containing an attribute) has no ODRL operator"
                        ))
                    })?;
                    std::mem::swap(&mut l, &mut r);
                }
                let ExprKind::Attr(attr) = &l.kind else {
                    return Err(self.fail(format!("`{e}` compares no attribute")));
                };
                let right = match &r.kind {
                    ExprKind::Lit(v) => literal(v),
                    ExprKind::Attr(b) => json!({ "@id": self.term(b)? }),
                    _ => return Err(self.fail(format!("`{e}` has a condition as an operand"))),
                };
                let name = match (op, neg) {
                    (Op::In, false) => "isAnyOf",
                    (Op::In, true) => "isNoneOf",
                    (Op::Contains, false) => {
                        let right = match right {
                            J::String(_) => J::Array(vec![right]),
                            other => other,
                        };
                        return self.atom(attr, "isAllOf", right);
                    }
                    (Op::Contains, true) => {
                        let right = match right {
                            J::String(_) => J::Array(vec![right]),
                            other => other,
                        };
                        return self.atom(attr, "isNoneOf", right);
                    }
                    (Op::ContainsAll, false) => "isAllOf",
                    (Op::ContainsAll, true) => {
                        let J::Array(items) = right else {
                            return Err(self.fail(format!("`not ({e})` has no ODRL form")));
                        };
                        if items.is_empty() {
                            // `not (s contains_all [])` is false when `s` is present and unknown
                            // when it is missing: exactly `s contains_any []`.
                            return self.atom(attr, "isAnyOf", J::Array(items));
                        }
                        let parts = items
                            .into_iter()
                            .map(|i| self.atom(attr, "isNoneOf", J::Array(vec![i])))
                            .collect::<Result<Vec<_>, _>>()?;
                        return Ok(json!({ "or": parts }));
                    }
                    (Op::ContainsAny, false) => "isAnyOf",
                    (Op::ContainsAny, true) => "isNoneOf",
                    (o, n) => match if n { negate(o) } else { o } {
                        Op::Eq => "eq",
                        Op::Ne => "neq",
                        Op::Lt => "lt",
                        Op::Le => "lteq",
                        Op::Gt => "gt",
                        Op::Ge => "gteq",
                        _ => return Err(self.fail(format!("`{e}` has no ODRL operator"))),
                    },
                };
                // INVARIANT: `isAnyOf` on a set-valued left operand means "contains any"; on a
                // string it means "is one of"; the importer reads it the same way.
                self.atom(attr, name, right)
            }
        }
    }
}
