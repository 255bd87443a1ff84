//! The abstract syntax tree of a policy set, with spans, and its canonical text form.

use std::fmt;
use std::sync::Arc;

use crate::loc::{SourceFile, Span};
use crate::value::{write_quoted, Value};

/// A name with the place it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The name.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

impl Name {
    /// A name without a place (built by code, not parsed).
    pub fn new(name: &str) -> Self {
        Name {
            name: name.to_owned(),
            span: Span::default(),
        }
    }
}

/// A parsed set of policies, possibly from several files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicySet {
    /// The policies, in source order.
    pub policies: Vec<Policy>,
}

impl PolicySet {
    /// Appends the policies of `other`.
    pub fn extend(&mut self, other: PolicySet) {
        self.policies.extend(other.policies);
    }
}

/// Whether a policy grants or refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `permit`: allows the action when its condition holds.
    Permit,
    /// `forbid`: refuses the action when its condition holds, overriding every permit.
    Forbid,
}

impl Effect {
    /// `permit` or `forbid`.
    pub fn keyword(self) -> &'static str {
        match self {
            Effect::Permit => "permit",
            Effect::Forbid => "forbid",
        }
    }
}

/// The actions or offers a policy applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `*`: any.
    Any(Span),
    /// The listed names.
    Some(Vec<Name>),
}

/// One `policy "id" { ... }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The policy id.
    pub id: Name,
    /// Permit or forbid.
    pub effect: Effect,
    /// Where the effect keyword is.
    pub effect_span: Span,
    /// The actions covered.
    pub actions: Target,
    /// The offers covered.
    pub offers: Target,
    /// The `when` condition; `None` means always.
    pub condition: Option<Expr>,
    /// The obligations attached to a permit.
    pub obligations: Vec<Obligation>,
    /// The file the policy was read from.
    pub source: Arc<SourceFile>,
}

/// `obligation name { param = value, ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Obligation {
    /// The obligation's name.
    pub name: Name,
    /// Its parameters in source order.
    pub params: Vec<Param>,
}

/// One `name = literal` parameter of an obligation.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// The parameter's name.
    pub name: Name,
    /// Its value.
    pub value: Value,
    /// Where the value was written.
    pub value_span: Span,
}

/// A comparison or set operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in`: the left value is one of the right set.
    In,
    /// `contains`: the left set contains the right value.
    Contains,
    /// `contains_all`: the left set contains every element of the right set.
    ContainsAll,
    /// `contains_any`: the left set contains at least one element of the right set.
    ContainsAny,
}

impl Op {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "in",
            Op::Contains => "contains",
            Op::ContainsAll => "contains_all",
            Op::ContainsAny => "contains_any",
        }
    }

    /// The operator for a written symbol or keyword.
    pub fn from_symbol(s: &str) -> Option<Op> {
        Some(match s {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "in" => Op::In,
            "contains" => Op::Contains,
            "contains_all" => Op::ContainsAll,
            "contains_any" => Op::ContainsAny,
            _ => return None,
        })
    }

    /// Whether the operator orders its operands.
    pub fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}

/// An expression with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An attribute such as `holder.role` or `now`.
    Attr(String),
    /// A literal value (a list literal is a set).
    Lit(Value),
    /// `left op right`.
    Binary(Op, Box<Expr>, Box<Expr>),
    /// `a and b and ...`
    And(Vec<Expr>),
    /// `a or b or ...`
    Or(Vec<Expr>),
    /// `not e`
    Not(Box<Expr>),
    /// `has attribute`
    Has(String),
}

impl Expr {
    /// An expression without a place (built by code, not parsed).
    pub fn new(kind: ExprKind) -> Self {
        Expr {
            kind,
            span: Span::default(),
        }
    }
}

fn prec(e: &ExprKind) -> u8 {
    match e {
        ExprKind::Or(_) => 1,
        ExprKind::And(_) => 2,
        ExprKind::Not(_) => 3,
        ExprKind::Binary(..) | ExprKind::Has(_) => 4,
        ExprKind::Attr(_) | ExprKind::Lit(_) => 5,
    }
}

fn write_child(f: &mut fmt::Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
    if prec(&e.kind) < min {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Attr(a) => f.write_str(a),
            ExprKind::Lit(v) => write!(f, "{v}"),
            ExprKind::Binary(op, l, r) => {
                write_child(f, l, 5)?;
                write!(f, " {} ", op.symbol())?;
                write_child(f, r, 5)
            }
            ExprKind::And(items) | ExprKind::Or(items) => {
                let (word, min) = match &self.kind {
                    ExprKind::And(_) => (" and ", 3),
                    _ => (" or ", 2),
                };
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(word)?;
                    }
                    write_child(f, e, min)?;
                }
                Ok(())
            }
            ExprKind::Not(e) => {
                f.write_str("not ")?;
                write_child(f, e, 3)
            }
            ExprKind::Has(a) => write!(f, "has {a}"),
        }
    }
}

fn write_target(f: &mut fmt::Formatter<'_>, t: &Target, quoted: bool) -> fmt::Result {
    match t {
        Target::Any(_) => f.write_str("*"),
        Target::Some(names) => {
            let many = quoted && names.len() != 1;
            if many {
                f.write_str("[")?;
            }
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                if quoted {
                    write_quoted(f, &n.name)?;
                } else {
                    f.write_str(&n.name)?;
                }
            }
            if many {
                f.write_str("]")?;
            }
            Ok(())
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("policy ")?;
        write_quoted(f, &self.id.name)?;
        write!(f, " {{\n  {} ", self.effect.keyword())?;
        write_target(f, &self.actions, false)?;
        f.write_str("\n  on offer ")?;
        write_target(f, &self.offers, true)?;
        if let Some(c) = &self.condition {
            match &c.kind {
                ExprKind::And(items) => {
                    for (i, e) in items.iter().enumerate() {
                        f.write_str(if i == 0 { "\n  when " } else { "\n   and " })?;
                        write_child(f, e, 3)?;
                    }
                }
                _ => write!(f, "\n  when {c}")?,
            }
        }
        for o in &self.obligations {
            write!(f, "\n  obligation {}", o.name.name)?;
            if !o.params.is_empty() {
                f.write_str(" { ")?;
                for (i, p) in o.params.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} = {}", p.name.name, p.value)?;
                }
                f.write_str(" }")?;
            }
        }
        f.write_str("\n}\n")
    }
}

impl fmt::Display for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.policies.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
