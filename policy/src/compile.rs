//! Compilation: checked policies to a form that evaluates fast. Attributes become indexes into
//! the request, literals are normalised to the right of their attribute, and policies are indexed
//! by action and offer so that a policy that cannot match a request is never looked at.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::ast::{Effect, Expr, ExprKind, Op, PolicySet, Target};
use crate::check::check;
use crate::diag::Diagnostics;
use crate::loc::SourceFile;
use crate::schema::{AttrId, Schema};
use crate::value::{Type, Value};

/// A small, fast, non-cryptographic hasher (FNV-1a) for the index; keys are policy-author data
/// from checked sources, not attacker-chosen at request time.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// The id used in the index for `*`.
pub(crate) const ANY: u32 = u32::MAX;

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Attr(AttrId),
    Lit(Value),
}

/// A comparison with what an explanation needs precomputed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cmp {
    pub op: Op,
    pub left: Operand,
    pub right: Operand,
    /// The condition as text, such as `session.parties >= 3`.
    pub text: Arc<str>,
    /// What the condition requires of its attribute, such as `at least 3`.
    pub required: Arc<str>,
}

/// A compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CExpr {
    Const(bool),
    Attr(AttrId, Arc<str>),
    Has(AttrId, Arc<str>),
    Cmp(Box<Cmp>),
    And(Box<[CExpr]>),
    Or(Box<[CExpr]>, Arc<str>),
    Not(Box<CExpr>, Arc<str>),
}

/// An obligation with its parameters, as a decision returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObligationInstance {
    /// The policy that attached it.
    pub policy: Arc<str>,
    /// The obligation's name.
    pub name: Arc<str>,
    /// Its parameters, in source order.
    pub params: Arc<[(Arc<str>, Value)]>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CPolicy {
    pub id: Arc<str>,
    pub effect: Effect,
    pub cond: Option<CExpr>,
    pub obligations: Box<[ObligationInstance]>,
}

/// The policies of a bucket of the index, forbids apart from permits.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Bucket {
    pub forbids: Vec<u32>,
    pub permits: Vec<u32>,
}

/// Checked and compiled policies, ready to evaluate requests. Build once, evaluate many times.
#[derive(Debug, Clone)]
pub struct Policies {
    pub(crate) schema: Arc<Schema>,
    /// Attribute names by id, shared by explanations.
    pub(crate) attr_names: Vec<Arc<str>>,
    pub(crate) policies: Vec<CPolicy>,
    pub(crate) actions: FastMap<Box<str>, u32>,
    pub(crate) offers: FastMap<Box<str>, u32>,
    pub(crate) index: FastMap<(u32, u32), Bucket>,
    set: PolicySet,
}

impl Policies {
    /// Checks `set` against `schema` and compiles it.
    pub fn compile(set: PolicySet, schema: Arc<Schema>) -> Result<Policies, Diagnostics> {
        check(&set, &schema)?;
        let attr_names = schema
            .attributes()
            .iter()
            .map(|a| Arc::from(a.name.as_str()))
            .collect();
        let mut out = Policies {
            schema,
            attr_names,
            policies: Vec::with_capacity(set.policies.len()),
            actions: FastMap::default(),
            offers: FastMap::default(),
            index: FastMap::default(),
            set: PolicySet::default(),
        };
        for p in &set.policies {
            let idx = u32::try_from(out.policies.len()).unwrap_or(ANY - 1);
            let id: Arc<str> = p.id.name.as_str().into();
            let cond = p
                .condition
                .as_ref()
                .map(|c| compile_expr(c, &out.schema, &p.source));
            let obligations = p
                .obligations
                .iter()
                .map(|o| ObligationInstance {
                    policy: Arc::clone(&id),
                    name: o.name.name.as_str().into(),
                    params: o
                        .params
                        .iter()
                        .map(|prm| (Arc::from(prm.name.name.as_str()), prm.value.clone()))
                        .collect(),
                })
                .collect();
            out.policies.push(CPolicy {
                id,
                effect: p.effect,
                cond,
                obligations,
            });
            let actions = intern_target(&mut out.actions, &p.actions);
            let offers = intern_target(&mut out.offers, &p.offers);
            for a in &actions {
                for o in &offers {
                    let bucket = out.index.entry((*a, *o)).or_default();
                    match p.effect {
                        Effect::Permit => bucket.permits.push(idx),
                        Effect::Forbid => bucket.forbids.push(idx),
                    }
                }
            }
        }
        out.set = set;
        Ok(out)
    }

    /// Parses, checks and compiles sources given as (file name, text) pairs.
    pub fn from_sources(
        sources: &[(&str, &str)],
        schema: Arc<Schema>,
    ) -> Result<Policies, Diagnostics> {
        let mut set = PolicySet::default();
        let mut diags = Diagnostics::default();
        for (name, text) in sources {
            match crate::parser::parse(name, text) {
                Ok(s) => set.extend(s),
                Err(d) => diags.items.extend(d.items),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        Policies::compile(set, schema)
    }

    /// The schema the policies were checked against.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// The policies as parsed.
    pub fn policy_set(&self) -> &PolicySet {
        &self.set
    }

    /// How many policies there are.
    pub fn len(&self) -> usize {
        self.policies.len()
    }

    /// Whether there are no policies (every request is denied).
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The (up to four) index buckets that can hold policies matching `action` and `offer`.
    pub(crate) fn buckets(&self, action: &str, offer: &str) -> [Option<&Bucket>; 4] {
        let a = self.actions.get(action).copied();
        let o = self.offers.get(offer).copied();
        let get = |a: Option<u32>, o: Option<u32>| match (a, o) {
            (Some(a), Some(o)) => self.index.get(&(a, o)),
            _ => None,
        };
        [
            get(a, o),
            get(a, Some(ANY)),
            get(Some(ANY), o),
            get(Some(ANY), Some(ANY)),
        ]
    }
}

fn intern_target(map: &mut FastMap<Box<str>, u32>, t: &Target) -> Vec<u32> {
    match t {
        Target::Any(_) => vec![ANY],
        Target::Some(names) => {
            let mut ids: Vec<u32> = names
                .iter()
                .map(|n| {
                    if let Some(id) = map.get(n.name.as_str()) {
                        return *id;
                    }
                    let next = u32::try_from(map.len()).unwrap_or(ANY - 1);
                    map.insert(n.name.as_str().into(), next);
                    next
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        }
    }
}

fn flip(op: Op) -> Op {
    match op {
        Op::Lt => Op::Gt,
        Op::Le => Op::Ge,
        Op::Gt => Op::Lt,
        Op::Ge => Op::Le,
        other => other,
    }
}

fn operand(e: &Expr, schema: &Schema) -> Operand {
    match &e.kind {
        ExprKind::Attr(a) => schema
            .attribute(a)
            .map_or(Operand::Lit(Value::Bool(false)), |(id, _)| {
                Operand::Attr(id)
            }),
        ExprKind::Lit(v) => Operand::Lit(v.clone().normalized()),
        // INVARIANT: the parser only puts attributes and literals on either side of an operator.
        _ => Operand::Lit(Value::Bool(false)),
    }
}

/// What `op lit` requires, in words: `at least 3`, `one of A, B`.
pub(crate) fn required(op: Op, lit: &Value) -> String {
    let time = lit.ty() == Type::DateTime;
    match op {
        Op::Eq => lit.literal(),
        Op::Ne => format!("anything but {lit}"),
        Op::Lt if time => format!("before {lit}"),
        Op::Le if time => format!("at or before {lit}"),
        Op::Gt if time => format!("after {lit}"),
        Op::Ge if time => format!("at or after {lit}"),
        Op::Lt => format!("less than {lit}"),
        Op::Le => format!("at most {lit}"),
        Op::Gt => format!("more than {lit}"),
        Op::Ge => format!("at least {lit}"),
        Op::In => format!("one of {}", lit.plain()),
        Op::Contains => format!("a set containing {lit}"),
        Op::ContainsAll => format!("a set containing all of {}", lit.plain()),
        Op::ContainsAny => format!("a set containing any of {}", lit.plain()),
    }
}

pub(crate) fn compile_expr(e: &Expr, schema: &Schema, src: &SourceFile) -> CExpr {
    let text = || -> Arc<str> { e.to_string().into() };
    match &e.kind {
        ExprKind::Lit(Value::Bool(b)) => CExpr::Const(*b),
        ExprKind::Lit(_) => CExpr::Const(false),
        ExprKind::Attr(a) => schema.attribute(a).map_or(CExpr::Const(false), |(id, _)| {
            CExpr::Attr(id, a.as_str().into())
        }),
        ExprKind::Has(a) => schema.attribute(a).map_or(CExpr::Const(false), |(id, _)| {
            CExpr::Has(id, a.as_str().into())
        }),
        ExprKind::And(items) => {
            CExpr::And(items.iter().map(|i| compile_expr(i, schema, src)).collect())
        }
        ExprKind::Or(items) => CExpr::Or(
            items.iter().map(|i| compile_expr(i, schema, src)).collect(),
            text(),
        ),
        ExprKind::Not(inner) => CExpr::Not(Box::new(compile_expr(inner, schema, src)), text()),
        ExprKind::Binary(op, l, r) => {
            let (mut op, mut left, mut right) = (*op, operand(l, schema), operand(r, schema));
            if let (Operand::Lit(_), Operand::Attr(_)) = (&left, &right) {
                let swapped = match op {
                    Op::In => Some(Op::Contains),
                    Op::Contains => Some(Op::In),
                    Op::ContainsAll | Op::ContainsAny => None,
                    o => Some(flip(o)),
                };
                if let Some(s) = swapped {
                    op = s;
                    std::mem::swap(&mut left, &mut right);
                }
            }
            let req = match (&left, &right) {
                (Operand::Attr(_), Operand::Lit(v)) => required(op, v),
                (_, Operand::Attr(b)) => format!(
                    "{} {}",
                    op.symbol(),
                    schema.attribute_by_id(*b).map_or("?", |d| d.name.as_str())
                ),
                _ => e.to_string(),
            };
            // The comparison as its author wrote it, when it sits on one line; else as printed.
            let written = src.snippet(e.span);
            let text = if written.is_empty() || written.contains(['\n', '/']) {
                text()
            } else {
                Arc::from(written)
            };
            CExpr::Cmp(Box::new(Cmp {
                op,
                left,
                right,
                text,
                required: req.into(),
            }))
        }
    }
}
