//! The checker: every name against the schema, every operator against its operands' types,
//! duplicate policy ids and contradictions it can detect. Each finding is a [`Diagnostic`].

mod contradiction;

use crate::ast::{Effect, Expr, ExprKind, Op, Policy, PolicySet, Target};
use crate::diag::{Diagnostic, Diagnostics};
use crate::schema::{Schema, ROOTS};
use crate::suggest::did_you_mean;
use crate::value::Type;

/// Checks `set` against `schema`; `Ok` if nothing is wrong, else every problem found.
pub fn check(set: &PolicySet, schema: &Schema) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut seen: crate::compile::FastMap<&str, &Policy> = Default::default();
    for p in &set.policies {
        if let Some(first) = seen.get(p.id.name.as_str()) {
            let at = first.source.line_col(first.id.span.start);
            diags.items.push(
                Diagnostic::new(
                    &p.source,
                    p.id.span,
                    format!("duplicate policy id `{}`", p.id.name),
                )
                .with_help(format!(
                    "the id is first used at {}:{}:{}; give each policy its own id",
                    first.source.name(),
                    at.line,
                    at.column
                )),
            );
        } else {
            seen.insert(&p.id.name, p);
        }
        check_policy(p, schema, &mut diags);
    }
    if diags.is_empty() {
        Ok(())
    } else {
        diags.items.truncate(crate::diag::MAX_DIAGNOSTICS);
        Err(diags)
    }
}

fn check_policy(p: &Policy, schema: &Schema, diags: &mut Diagnostics) {
    let c = Checker {
        p,
        schema,
        diags: std::cell::RefCell::new(Vec::new()),
    };
    if p.id.name.is_empty() {
        c.err(
            p.id.span,
            "the policy id is empty",
            Some("give the policy a name, such as \"ppa-ibd-2024\""),
        );
    }
    if let Target::Some(actions) = &p.actions {
        for a in actions {
            if !schema.has_action(&a.name) {
                let help = did_you_mean(&a.name, schema.actions()).unwrap_or_else(|| {
                    format!(
                        "the actions are {}",
                        schema.actions().collect::<Vec<_>>().join(", ")
                    )
                });
                c.err(a.span, format!("unknown action `{}`", a.name), Some(&help));
            }
        }
    }
    if let Target::Some(offers) = &p.offers {
        for o in offers.iter().filter(|o| o.name.is_empty()) {
            c.err(o.span, "the offer id is empty", None);
        }
    }
    if p.effect == Effect::Forbid {
        if let Some(o) = p.obligations.first() {
            c.err(
                o.name.span,
                "a `forbid` policy cannot carry obligations",
                Some("obligations are duties that come with a permission; move them to a `permit` policy"),
            );
        }
    }
    for o in &p.obligations {
        c.obligation(o);
    }
    if let Some(cond) = &p.condition {
        if let Some(t) = c.expr(cond) {
            if t != Type::Bool {
                c.err(
                    cond.span,
                    format!("the condition is {t:#}, not true or false"),
                    Some("compare it with a value, such as `holder.role == \"Hospital\"`"),
                );
            }
        }
        if c.diags.borrow().is_empty() {
            for (span, msg, help) in contradiction::find(cond) {
                c.err(span, msg, Some(&help));
            }
        }
    }
    diags.items.extend(c.diags.into_inner());
}

struct Checker<'a> {
    p: &'a Policy,
    schema: &'a Schema,
    diags: std::cell::RefCell<Vec<Diagnostic>>,
}

impl Checker<'_> {
    fn err(&self, span: crate::loc::Span, msg: impl Into<String>, help: Option<&str>) {
        let d = Diagnostic::new(&self.p.source, span, msg);
        self.diags.borrow_mut().push(match help {
            Some(h) => d.with_help(h),
            None => d,
        });
    }

    fn obligation(&self, o: &crate::ast::Obligation) {
        let Some(def) = self.schema.obligation(&o.name.name) else {
            let help = did_you_mean(
                &o.name.name,
                self.schema.obligations().map(|d| d.name.as_str()),
            )
            .unwrap_or_else(|| {
                let all: Vec<&str> = self.schema.obligations().map(|d| d.name.as_str()).collect();
                format!("the obligations are {}", all.join(", "))
            });
            self.err(
                o.name.span,
                format!("unknown obligation `{}`", o.name.name),
                Some(&help),
            );
            return;
        };
        let mut given = std::collections::HashSet::new();
        for p in &o.params {
            if !given.insert(p.name.name.as_str()) {
                self.err(
                    p.name.span,
                    format!("parameter `{}` is given twice", p.name.name),
                    None,
                );
                continue;
            }
            match def.params.iter().find(|(n, _)| *n == p.name.name) {
                None => {
                    let help =
                        did_you_mean(&p.name.name, def.params.iter().map(|(n, _)| n.as_str()))
                            .unwrap_or_else(|| match def.params.is_empty() {
                                true => format!("`{}` takes no parameters", def.name),
                                false => format!(
                                    "`{}` takes {}",
                                    def.name,
                                    def.params
                                        .iter()
                                        .map(|(n, t)| format!("{n} ({t})"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            });
                    self.err(
                        p.name.span,
                        format!(
                            "unknown parameter `{}` for obligation `{}`",
                            p.name.name, def.name
                        ),
                        Some(&help),
                    );
                }
                Some((_, t))
                    if !p.value.ty().comparable(*t)
                        || (*t == Type::Int && p.value.ty() != Type::Int) =>
                {
                    self.err(
                        p.value_span,
                        format!(
                            "parameter `{}` must be {t:#}, found {:#}",
                            p.name.name,
                            p.value.ty()
                        ),
                        None,
                    );
                }
                Some(_) => {}
            }
        }
        for (name, t) in &def.params {
            if !given.contains(&name.as_str()) {
                self.err(
                    o.name.span,
                    format!("obligation `{}` needs parameter `{name}`", def.name),
                    Some(&format!(
                        "write `obligation {} {{ {name} = ... }}` with {t:#}",
                        def.name
                    )),
                );
            }
        }
    }

    fn attr_type(&self, name: &str, span: crate::loc::Span) -> Option<Type> {
        if let Some((_, def)) = self.schema.attribute(name) {
            return Some(def.ty);
        }
        let root = name.split('.').next().unwrap_or("");
        let names = self.schema.attributes().iter().map(|a| a.name.as_str());
        let help = match did_you_mean(name, names) {
            Some(h) => h,
            None if !ROOTS.contains(&root) && root != "now" => format!(
                "attributes start with {}, or are `now`",
                ROOTS
                    .iter()
                    .map(|r| format!("`{r}.`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => {
                let under: Vec<&str> = self
                    .schema
                    .attributes()
                    .iter()
                    .filter(|a| a.name.split('.').next() == Some(root))
                    .map(|a| a.name.as_str())
                    .collect();
                format!("the attributes under `{root}` are {}", under.join(", "))
            }
        };
        self.err(span, format!("unknown attribute `{name}`"), Some(&help));
        None
    }

    fn expr(&self, e: &Expr) -> Option<Type> {
        match &e.kind {
            ExprKind::Attr(a) => self.attr_type(a, e.span),
            ExprKind::Lit(v) => Some(v.ty()),
            ExprKind::Has(a) => {
                self.attr_type(a, e.span)?;
                Some(Type::Bool)
            }
            ExprKind::And(items) | ExprKind::Or(items) => {
                let word = if matches!(e.kind, ExprKind::And(_)) {
                    "and"
                } else {
                    "or"
                };
                for i in items {
                    self.boolean(i, word);
                }
                Some(Type::Bool)
            }
            ExprKind::Not(inner) => {
                self.boolean(inner, "not");
                Some(Type::Bool)
            }
            ExprKind::Binary(op, l, r) => {
                let (lt, rt) = (self.expr(l), self.expr(r));
                if let (ExprKind::Lit(_), ExprKind::Lit(_)) = (&l.kind, &r.kind) {
                    self.err(
                        e.span,
                        "this comparison has no attribute, so it never depends on the request",
                        Some("compare an attribute such as `request.purpose` with a value"),
                    );
                    return Some(Type::Bool);
                }
                let (lt, rt) = (lt?, rt?);
                self.binary(*op, e, l, r, lt, rt);
                Some(Type::Bool)
            }
        }
    }

    fn boolean(&self, e: &Expr, word: &str) {
        if let Some(t) = self.expr(e) {
            if t != Type::Bool {
                self.err(
                    e.span,
                    format!("`{word}` needs a condition, but `{e}` is {t:#}"),
                    Some("compare it with a value, such as `holder.role == \"Hospital\"`"),
                );
            }
        }
    }

    fn binary(&self, op: Op, e: &Expr, l: &Expr, r: &Expr, lt: Type, rt: Type) {
        let sym = op.symbol();
        let mismatch = |help: Option<&str>| {
            self.err(
                e.span,
                format!("type mismatch: `{l}` is {lt:#} but `{r}` is {rt:#}, so `{sym}` cannot compare them"),
                help,
            );
        };
        match op {
            Op::Eq | Op::Ne => {
                if !lt.comparable(rt) {
                    let help = if lt == Type::Set && rt == Type::Str {
                        Some("to test membership write `contains`")
                    } else if lt == Type::Str && rt == Type::Set {
                        Some("to test membership write `in`")
                    } else {
                        None
                    };
                    mismatch(help);
                }
            }
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let ordered = |t: Type| {
                    matches!(
                        t,
                        Type::Int | Type::Decimal | Type::DateTime | Type::Duration
                    )
                };
                if !ordered(lt) || !ordered(rt) {
                    self.err(
                        e.span,
                        format!("`{sym}` orders numbers, datetimes and durations, but `{l}` is {lt:#} and `{r}` is {rt:#}"),
                        None,
                    );
                } else if !lt.comparable(rt) {
                    let help = if lt == Type::DateTime && rt == Type::Duration {
                        Some("write a datetime such as 2027-01-01T00:00:00Z")
                    } else {
                        None
                    };
                    mismatch(help);
                }
            }
            Op::In => {
                if lt == Type::Set && rt == Type::Set {
                    self.err(
                        e.span,
                        format!("`in` tests one string, but `{l}` is a set of strings"),
                        Some("use `contains_any` (some in common) or `contains_all` (every one)"),
                    );
                } else if lt != Type::Str || rt != Type::Set {
                    self.err(
                        e.span,
                        format!("`in` needs a string on the left and a set of strings on the right, found {lt:#} and {rt:#}"),
                        Some("write `holder.role in [\"Hospital\", \"Insurer\"]`"),
                    );
                }
            }
            Op::Contains => {
                if lt == Type::Set && rt == Type::Set {
                    self.err(
                        e.span,
                        "`contains` takes one string, but the right side is a set",
                        Some("use `contains_all` or `contains_any` to test several values"),
                    );
                } else if lt != Type::Set || rt != Type::Str {
                    let help = if lt == Type::Str && rt == Type::Str {
                        Some("to compare two strings write `==`")
                    } else {
                        None
                    };
                    self.err(
                        e.span,
                        format!("`contains` needs a set of strings on the left and a string on the right, found {lt:#} and {rt:#}"),
                        help,
                    );
                }
            }
            Op::ContainsAll | Op::ContainsAny => {
                if lt != Type::Set || rt != Type::Set {
                    self.err(
                        e.span,
                        format!(
                            "`{sym}` needs sets of strings on both sides, found {lt:#} and {rt:#}"
                        ),
                        Some("write a set as [\"a\", \"b\"]"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
