//! Import: ODRL 2.2 JSON-LD under the Symbolon health profile to policy text and a checked
//! [`PolicySet`]. Every key, operator, action and left operand is either understood or an error.

use std::sync::Arc;

use serde_json::{Map, Value as J};

use super::{bare, snake, OdrlError, UID_PREFIX};
use crate::ast::{Effect, Expr, ExprKind, Name, Obligation, Op, Param, Policy, PolicySet, Target};
use crate::loc::SourceFile;
use crate::schema::Schema;
use crate::value::{parse_datetime, parse_decimal, parse_duration, Type, Value};

/// How deeply logical constraints may nest in an imported document.
const MAX_DEPTH: usize = crate::parser::MAX_NESTING;

/// Imports an ODRL document (one policy, an array of policies, or `{"@graph": [...]}`) as
/// Symbolon policy text, checked against `schema`.
pub fn from_odrl_text(doc: &J, schema: &Schema) -> Result<String, OdrlError> {
    let set = build(doc, schema)?;
    let text = set.to_string();
    // Parse the printed text so that the result has real spans, then check it.
    let parsed = crate::parser::parse("odrl", &text).map_err(OdrlError::Check)?;
    crate::check::check(&parsed, schema).map_err(OdrlError::Check)?;
    Ok(text)
}

/// Imports an ODRL document as a checked [`PolicySet`] (its source is the printed text, named
/// `odrl`).
pub fn from_odrl(doc: &J, schema: &Schema) -> Result<PolicySet, OdrlError> {
    let text = from_odrl_text(doc, schema)?;
    crate::parser::parse("odrl", &text).map_err(OdrlError::Check)
}

fn unsupported(construct: &str, path: &str, help: Option<&str>) -> OdrlError {
    OdrlError::Unsupported {
        construct: construct.to_owned(),
        path: path.to_owned(),
        help: help.map(str::to_owned),
    }
}

fn invalid(path: &str, message: impl Into<String>) -> OdrlError {
    OdrlError::Invalid {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn build(doc: &J, schema: &Schema) -> Result<PolicySet, OdrlError> {
    let source = SourceFile::new("odrl", "");
    let mut set = PolicySet::default();
    let list: Vec<(String, &J)> = match doc {
        J::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("/{i}"), p))
            .collect(),
        J::Object(o) if o.contains_key("@graph") => {
            if let Some(k) = o
                .keys()
                .find(|k| !matches!(k.as_str(), "@graph" | "@context"))
            {
                return Err(unsupported(
                    k,
                    "",
                    Some("a document holds only `@context` and `@graph`"),
                ));
            }
            let graph = o
                .get("@graph")
                .and_then(J::as_array)
                .ok_or_else(|| invalid("/@graph", "expected an array of policies"))?;
            graph
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("/@graph/{i}"), p))
                .collect()
        }
        J::Object(_) => vec![(String::new(), doc)],
        _ => {
            return Err(invalid(
                "",
                "expected a policy object, an array or a JSON-LD graph",
            ))
        }
    };
    for (path, p) in list {
        let im = Importer {
            schema,
            source: &source,
        };
        set.policies.extend(im.policy(p, &path)?);
    }
    Ok(set)
}

struct Importer<'a> {
    schema: &'a Schema,
    source: &'a Arc<SourceFile>,
}

fn obj<'j>(v: &'j J, path: &str) -> Result<&'j Map<String, J>, OdrlError> {
    v.as_object()
        .ok_or_else(|| invalid(path, "expected an object"))
}

/// A JSON value that may be one item or an array of items (or an `@list`).
fn many(v: &J) -> Vec<&J> {
    match v {
        J::Array(items) => items.iter().collect(),
        J::Object(o) if o.len() == 1 && o.contains_key("@list") => {
            o.get("@list").map_or_else(Vec::new, many)
        }
        other => vec![other],
    }
}

fn id_or_string<'j>(v: &'j J, path: &str) -> Result<&'j str, OdrlError> {
    match v {
        J::String(s) => Ok(s),
        J::Object(o) if o.len() == 1 => o
            .get("@id")
            .and_then(J::as_str)
            .ok_or_else(|| invalid(path, "expected a string or {\"@id\": ...}")),
        _ => Err(invalid(path, "expected a string or {\"@id\": ...}")),
    }
}

impl Importer<'_> {
    fn policy(&self, p: &J, path: &str) -> Result<Vec<Policy>, OdrlError> {
        let o = obj(p, path)?;
        for k in o.keys() {
            if !matches!(
                k.as_str(),
                "@context" | "@type" | "uid" | "@id" | "profile" | "permission" | "prohibition"
            ) {
                return Err(unsupported(
                    k,
                    &format!("{path}/{k}"),
                    Some("a policy may have @type, uid, profile, permission and prohibition"),
                ));
            }
        }
        if let Some(t) = o.get("@type") {
            let t = t
                .as_str()
                .ok_or_else(|| invalid(&format!("{path}/@type"), "expected a string"))?;
            if !matches!(bare(t), "Set" | "Offer" | "Agreement" | "Policy") {
                return Err(unsupported(
                    t,
                    &format!("{path}/@type"),
                    Some("the policy types are Set, Offer, Agreement"),
                ));
            }
        }
        let uid = o
            .get("uid")
            .or_else(|| o.get("@id"))
            .and_then(J::as_str)
            .ok_or_else(|| invalid(path, "a policy needs a `uid`"))?;
        let base = uid.strip_prefix(UID_PREFIX).unwrap_or(uid);
        let mut rules = Vec::new();
        for (key, effect) in [
            ("permission", Effect::Permit),
            ("prohibition", Effect::Forbid),
        ] {
            if let Some(list) = o.get(key) {
                for (i, r) in many(list).into_iter().enumerate() {
                    rules.push((effect, r, format!("{path}/{key}/{i}")));
                }
            }
        }
        let n = rules.len();
        rules
            .into_iter()
            .enumerate()
            .map(|(i, (effect, r, rpath))| {
                let id = if n == 1 {
                    base.to_owned()
                } else {
                    format!("{base}-{}", i + 1)
                };
                self.rule(&id, effect, r, &rpath)
            })
            .collect()
    }

    fn rule(&self, id: &str, effect: Effect, r: &J, path: &str) -> Result<Policy, OdrlError> {
        let o = obj(r, path)?;
        for k in o.keys() {
            let ok = matches!(
                k.as_str(),
                "@id" | "uid" | "@type" | "target" | "action" | "constraint"
            ) || (k == "duty" && effect == Effect::Permit);
            if !ok {
                return Err(unsupported(
                    k,
                    &format!("{path}/{k}"),
                    Some("a rule may have an id (`@id`, `uid`), target, action, constraint and (for a permission) duty"),
                ));
            }
        }
        let offers = match o.get("target") {
            None => Target::Any(Default::default()),
            Some(t) => Target::Some(
                many(t)
                    .into_iter()
                    .map(|v| id_or_string(v, &format!("{path}/target")).map(Name::new))
                    .collect::<Result<_, _>>()?,
            ),
        };
        let apath = format!("{path}/action");
        let action = o
            .get("action")
            .ok_or_else(|| invalid(path, "a rule needs an `action`"))?;
        let mut names = Vec::new();
        let mut any = false;
        for a in many(action) {
            if let J::Object(ao) = a {
                if let Some(k) = ao.keys().find(|k| *k != "@id" && *k != "rdf:value") {
                    return Err(unsupported(
                        k,
                        &apath,
                        Some("actions of a permission or prohibition take no refinement"),
                    ));
                }
            }
            let a = match a {
                J::Object(ao) => ao.get("rdf:value").unwrap_or(a),
                other => other,
            };
            let term = id_or_string(a, &apath)?;
            let name = bare(term);
            let profile_term = term.starts_with("symbolon:") || term.starts_with(super::NAMESPACE);
            if name == "use" && !profile_term {
                any = true;
            } else if self.schema.has_action(name) {
                names.push(Name::new(name));
            } else {
                return Err(unsupported(
                    term,
                    &apath,
                    Some("the actions are `use` (any) and symbolon:<action> of the schema"),
                ));
            }
        }
        let actions = if any {
            Target::Any(Default::default())
        } else {
            Target::Some(names)
        };
        let condition = match o.get("constraint") {
            None => None,
            Some(c) => {
                let mut items = Vec::new();
                for (i, c) in many(c).into_iter().enumerate() {
                    match self.constraint(c, &format!("{path}/constraint/{i}"), 0)? {
                        Expr {
                            kind: ExprKind::And(inner),
                            ..
                        } => items.extend(inner),
                        e => items.push(e),
                    }
                }
                match items.len() {
                    0 => None,
                    1 => items.into_iter().next(),
                    _ => Some(Expr::new(ExprKind::And(items))),
                }
            }
        };
        let obligations = match o.get("duty") {
            None => Vec::new(),
            Some(d) => many(d)
                .into_iter()
                .enumerate()
                .map(|(i, d)| self.duty(d, &format!("{path}/duty/{i}")))
                .collect::<Result<_, _>>()?,
        };
        Ok(Policy {
            id: Name::new(id),
            effect,
            effect_span: Default::default(),
            actions,
            offers,
            condition,
            obligations,
            source: Arc::clone(self.source),
        })
    }

    fn duty(&self, d: &J, path: &str) -> Result<Obligation, OdrlError> {
        let o = obj(d, path)?;
        if let Some(k) = o.keys().find(|k| !matches!(k.as_str(), "@type" | "action")) {
            return Err(unsupported(
                k,
                &format!("{path}/{k}"),
                Some("a duty has only an action, refined by its parameters"),
            ));
        }
        let apath = format!("{path}/action");
        let action = o
            .get("action")
            .ok_or_else(|| invalid(path, "a duty needs an `action`"))?;
        let actions = many(action);
        let [action] = actions.as_slice() else {
            return Err(invalid(&apath, "a duty has exactly one action"));
        };
        let (term, refinement) = match action {
            J::Object(ao) => {
                if let Some(k) = ao
                    .keys()
                    .find(|k| !matches!(k.as_str(), "rdf:value" | "@id" | "refinement"))
                {
                    return Err(unsupported(k, &apath, None));
                }
                (
                    id_or_string(ao.get("rdf:value").unwrap_or(action), &apath)?,
                    ao.get("refinement"),
                )
            }
            other => (id_or_string(other, &apath)?, None),
        };
        let name = bare(term);
        let def = self.schema.obligation(name).ok_or_else(|| {
            unsupported(
                term,
                &apath,
                Some("duties are the obligations of the schema, as symbolon:<name>"),
            )
        })?;
        let mut params = Vec::new();
        for (i, r) in refinement
            .map(many)
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let rpath = format!("{apath}/refinement/{i}");
            let ro = obj(r, &rpath)?;
            if let Some(k) = ro.keys().find(|k| {
                !matches!(
                    k.as_str(),
                    "leftOperand" | "operator" | "rightOperand" | "@type"
                )
            }) {
                return Err(unsupported(k, &rpath, None));
            }
            let left = ro
                .get("leftOperand")
                .map(|l| id_or_string(l, &rpath))
                .transpose()?
                .unwrap_or("");
            let pname = snake(bare(left));
            let Some((_, ty)) = def.params.iter().find(|(n, _)| *n == pname) else {
                return Err(unsupported(
                    left,
                    &rpath,
                    Some("the parameters are those of the obligation in the schema"),
                ));
            };
            let op = ro
                .get("operator")
                .map(|l| id_or_string(l, &rpath))
                .transpose()?
                .unwrap_or("");
            if bare(op) != "eq" {
                return Err(unsupported(
                    op,
                    &rpath,
                    Some("obligation parameters are set with `eq`"),
                ));
            }
            let right = ro
                .get("rightOperand")
                .ok_or_else(|| invalid(&rpath, "missing rightOperand"))?;
            params.push(Param {
                name: Name::new(&pname),
                value: value(right, *ty, &rpath)?,
                value_span: Default::default(),
            });
        }
        Ok(Obligation {
            name: Name::new(name),
            params,
        })
    }

    fn constraint(&self, c: &J, path: &str, depth: usize) -> Result<Expr, OdrlError> {
        if depth > MAX_DEPTH {
            return Err(invalid(
                path,
                format!("logical constraints nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        let o = obj(c, path)?;
        for logical in ["and", "or"] {
            if let Some(items) = o.get(logical) {
                if let Some(k) = o
                    .keys()
                    .find(|k| *k != logical && *k != "@type" && *k != "uid")
                {
                    return Err(unsupported(k, path, None));
                }
                let parts = many(items)
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| self.constraint(c, &format!("{path}/{logical}/{i}"), depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(match (logical, parts.len()) {
                    ("and", 0) => Expr::new(ExprKind::Lit(Value::Bool(true))),
                    (_, 0) => Expr::new(ExprKind::Lit(Value::Bool(false))),
                    (_, 1) => parts
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| Expr::new(ExprKind::Lit(Value::Bool(false)))),
                    ("and", _) => Expr::new(ExprKind::And(parts)),
                    _ => Expr::new(ExprKind::Or(parts)),
                });
            }
        }
        for k in o.keys() {
            if !matches!(
                k.as_str(),
                "leftOperand" | "operator" | "rightOperand" | "@type"
            ) {
                return Err(unsupported(
                    k,
                    &format!("{path}/{k}"),
                    Some("a constraint has leftOperand, operator and rightOperand, or is a logical `and`/`or`"),
                ));
            }
        }
        let get = |k: &str| {
            o.get(k)
                .ok_or_else(|| invalid(path, format!("missing `{k}`")))
        };
        let left = id_or_string(get("leftOperand")?, path)?;
        let def = self.schema.attribute_by_odrl(bare(left)).ok_or_else(|| {
            unsupported(
                left,
                &format!("{path}/leftOperand"),
                Some("the left operands are those of the Symbolon health profile"),
            )
        })?;
        let op = id_or_string(get("operator")?, path)?;
        let right = get("rightOperand")?;
        let attr = || Expr::new(ExprKind::Attr(def.name.clone()));
        let bin = |op: Op, r: Expr| Expr::new(ExprKind::Binary(op, Box::new(attr()), Box::new(r)));
        let not = |e: Expr| Expr::new(ExprKind::Not(Box::new(e)));
        let opath = format!("{path}/operator");
        let rpath = format!("{path}/rightOperand");
        // The right operand: another attribute by reference, or a value of the expected type.
        let rhs = |ty: Type| -> Result<(Expr, Type), OdrlError> {
            if let J::Object(r) = right {
                if let (1, Some(id)) = (r.len(), r.get("@id").and_then(J::as_str)) {
                    let other = self.schema.attribute_by_odrl(bare(id)).ok_or_else(|| {
                        unsupported(
                            id,
                            &rpath,
                            Some("a reference names a left operand of the profile"),
                        )
                    })?;
                    return Ok((Expr::new(ExprKind::Attr(other.name.clone())), other.ty));
                }
            }
            Ok((Expr::new(ExprKind::Lit(value(right, ty, &rpath)?)), ty))
        };
        let set = def.ty == Type::Set;
        Ok(match bare(op) {
            "isPresent" => match right {
                J::Bool(true) => Expr::new(ExprKind::Has(def.name.clone())),
                J::Bool(false) => not(Expr::new(ExprKind::Has(def.name.clone()))),
                _ => return Err(invalid(&rpath, "symbolon:isPresent takes true or false")),
            },
            // The protocol's form of `has` (`offer_rules`): `x neq|eq <profile>#absent`.
            "eq" | "neq" if is_absent(right) => {
                let has = Expr::new(ExprKind::Has(def.name.clone()));
                if bare(op) == "neq" {
                    has
                } else {
                    not(has)
                }
            }
            "eq" | "neq" | "lt" | "lteq" | "gt" | "gteq" => {
                let o = match bare(op) {
                    "eq" => Op::Eq,
                    "neq" => Op::Ne,
                    "lt" => Op::Lt,
                    "lteq" => Op::Le,
                    "gt" => Op::Gt,
                    _ => Op::Ge,
                };
                if def.ty == Type::Bool && o == Op::Eq && right.is_boolean() {
                    return Ok(if right == &J::Bool(true) { attr() } else { not(attr()) });
                }
                bin(o, rhs(def.ty)?.0)
            }
            "isAnyOf" if set => bin(Op::ContainsAny, rhs(Type::Set)?.0),
            "isAnyOf" => bin(Op::In, rhs(Type::Set)?.0),
            "isNoneOf" if set => match rhs(Type::Set)? {
                (r, Type::Str) => not(bin(Op::Contains, r)),
                (Expr { kind: ExprKind::Lit(Value::Set(items)), .. }, _) if items.len() == 1 => {
                    let one = items.first().map(|s| Value::Str(s.clone())).unwrap_or(Value::Bool(false));
                    not(bin(Op::Contains, Expr::new(ExprKind::Lit(one))))
                }
                (r, _) => not(bin(Op::ContainsAny, r)),
            },
            "isNoneOf" => not(bin(Op::In, rhs(Type::Set)?.0)),
            "isAllOf" if set => match rhs(Type::Set)? {
                (r, Type::Str) => bin(Op::Contains, r),
                (Expr { kind: ExprKind::Lit(Value::Set(items)), .. }, _) if items.len() == 1 => {
                    let one = items.first().map(|s| Value::Str(s.clone())).unwrap_or(Value::Bool(false));
                    bin(Op::Contains, Expr::new(ExprKind::Lit(one)))
                }
                (r, _) => bin(Op::ContainsAll, r),
            },
            "isAllOf" => {
                return Err(unsupported(op, &opath, Some("isAllOf needs a set-valued left operand such as consentPurpose")))
            }
            _ => {
                return Err(unsupported(
                    op,
                    &opath,
                    Some("the operators are eq, neq, gt, gteq, lt, lteq, isAnyOf, isAllOf, isNoneOf and symbolon:isPresent"),
                ))
            }
        })
    }
}

/// Whether `right` is the profile's [`super::ABSENT`] (`{"@id": "symbolon:absent"}`, or its
/// full IRI).
fn is_absent(right: &J) -> bool {
    right
        .as_object()
        .filter(|r| r.len() == 1)
        .and_then(|r| r.get("@id"))
        .and_then(J::as_str)
        .is_some_and(|id| id != super::ABSENT && bare(id) == super::ABSENT)
}

/// A right operand as a value of type `ty`: plain JSON, or a typed literal `{"@value", "@type"}`.
fn value(v: &J, ty: Type, path: &str) -> Result<Value, OdrlError> {
    let bad = || invalid(path, format!("expected {ty:#}, found {v}"));
    let text = match v {
        J::Object(o) => {
            if let Some(k) = o.keys().find(|k| !matches!(k.as_str(), "@value" | "@type")) {
                return Err(unsupported(
                    k,
                    path,
                    Some("a typed literal has @value and @type"),
                ));
            }
            o.get("@value").ok_or_else(bad)?
        }
        other => other,
    };
    Ok(match (ty, text) {
        (Type::Bool, J::Bool(b)) => Value::Bool(*b),
        (Type::Int, J::Number(n)) => Value::Int(n.as_i64().ok_or_else(bad)?),
        (Type::Int, J::String(s)) => Value::Int(s.parse().map_err(|_| bad())?),
        (Type::Decimal, J::Number(n)) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Decimal(parse_decimal(&n.to_string()).ok_or_else(bad)?),
        },
        (Type::Decimal, J::String(s)) => match parse_decimal(s) {
            Some(d) => Value::Decimal(d),
            None => Value::Int(s.parse().map_err(|_| bad())?),
        },
        (Type::Str, J::String(s)) => Value::str(s),
        (Type::DateTime, J::String(s)) => Value::DateTime(parse_datetime(s).ok_or_else(bad)?),
        (Type::Duration, J::String(s)) => Value::Duration(parse_duration(s).ok_or_else(bad)?),
        (Type::Set, J::Array(items)) => {
            let strs: Option<Vec<&str>> = items.iter().map(J::as_str).collect();
            Value::set(strs.ok_or_else(bad)?)
        }
        _ => return Err(bad()),
    })
}
