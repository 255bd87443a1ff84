//! The parser: tokens to a [`PolicySet`] with spans. Recursive descent for `not` and parentheses
//! (bounded by [`MAX_NESTING`]), loops for `and`/`or` chains, so the stack stays small on any input.

use std::sync::Arc;

use crate::ast::{Effect, Expr, ExprKind, Name, Obligation, Op, Param, Policy, PolicySet, Target};
use crate::diag::{Diagnostic, Diagnostics};
use crate::lexer::{lex, Tok, Token};
use crate::loc::{SourceFile, Span};
use crate::value::Value;
use permit::permit_covers;

mod permit;

/// How deeply parentheses and `not` may nest in one condition. Deeper input is an error, never a
/// stack overflow.
pub const MAX_NESTING: usize = 32;

const KEYWORDS: [&str; 16] = [
    "policy",
    "permit",
    "forbid",
    "on",
    "offer",
    "when",
    "and",
    "or",
    "not",
    "has",
    "in",
    "contains",
    "contains_all",
    "contains_any",
    "obligation",
    "true",
];

/// Parses the policies in `text`; `file` names it in diagnostics.
pub fn parse(file: &str, text: &str) -> Result<PolicySet, Diagnostics> {
    parse_source(&SourceFile::new(file, text))
}

/// Parses the policies of a source file, reporting every policy with a syntax error.
pub fn parse_source(file: &Arc<SourceFile>) -> Result<PolicySet, Diagnostics> {
    let toks = lex(file.text()).map_err(|e| {
        let d = Diagnostic::new(file, e.span, e.message);
        Diagnostics::from(match e.help {
            Some(h) => d.with_help(h),
            None => d,
        })
    })?;
    let mut p = Parser {
        toks,
        pos: 0,
        file: Arc::clone(file),
        depth: 0,
    };
    let mut set = PolicySet::default();
    let mut diags = Diagnostics::default();
    while !matches!(p.peek(), Tok::Eof) {
        match p.policy() {
            Ok(policy) => set.policies.push(policy),
            Err(d) => {
                diags.items.push(d);
                if diags.items.len() >= crate::diag::MAX_DIAGNOSTICS {
                    break;
                }
                p.recover();
            }
        }
    }
    if diags.is_empty() {
        Ok(set)
    } else {
        Err(diags)
    }
}

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    pos: usize,
    file: Arc<SourceFile>,
    depth: usize,
}

type PResult<T> = Result<T, Diagnostic>;

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Int(n) => format!("number `{n}`"),
        Tok::Decimal(_) => "a decimal".to_owned(),
        Tok::DateTime(_) => "a datetime".to_owned(),
        Tok::Duration(_) => "a duration".to_owned(),
        Tok::Sym(s) => format!("`{s}`"),
        Tok::Eof => "the end of the file".to_owned(),
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok<'a> {
        self.toks.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn span(&self) -> Span {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or_else(Span::default, |t| t.span)
    }

    fn prev_span(&self) -> Span {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or_else(Span::default, |t| t.span)
    }

    fn bump(&mut self) -> Token<'a> {
        let span = self.span();
        // Tokens are consumed once: take it instead of cloning.
        let t = match self.toks.get_mut(self.pos) {
            Some(t) => Token {
                tok: std::mem::replace(&mut t.tok, Tok::Sym("")),
                span: t.span,
            },
            None => Token {
                tok: Tok::Eof,
                span,
            },
        };
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    /// The token after the next one.
    fn peek_second(&self) -> &Tok<'a> {
        self.toks.get(self.pos + 1).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if *s == kw)
    }

    fn is_sym(&self, sym: &str) -> bool {
        matches!(self.peek(), Tok::Sym(s) if *s == sym)
    }

    fn err(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(&self.file, self.span(), message)
    }

    fn expected(&self, what: &str) -> Diagnostic {
        self.err(format!("expected {what}, found {}", describe(self.peek())))
    }

    fn expect_kw(&mut self, kw: &str, context: &str) -> PResult<Span> {
        if self.is_kw(kw) {
            Ok(self.bump().span)
        } else {
            Err(self.expected(&format!("`{kw}` {context}")))
        }
    }

    fn expect_sym(&mut self, sym: &str, context: &str) -> PResult<Span> {
        if self.is_sym(sym) {
            Ok(self.bump().span)
        } else {
            Err(self.expected(&format!("`{sym}` {context}")))
        }
    }

    /// Skips to the next `policy` keyword that starts a line's first token, or the end.
    fn recover(&mut self) {
        if !matches!(self.peek(), Tok::Eof) {
            self.bump();
        }
        while !matches!(self.peek(), Tok::Eof) && !self.is_kw("policy") {
            self.bump();
        }
    }

    fn policy(&mut self) -> PResult<Policy> {
        if !self.is_kw("policy") {
            return Err(self
                .expected("`policy`")
                .with_help("a file holds blocks of the form `policy \"id\" { permit ... }`"));
        }
        self.bump();
        self.depth = 0;
        let id = match self.bump() {
            Token {
                tok: Tok::Str(s),
                span,
            } => Name {
                name: s.into_owned(),
                span,
            },
            t => {
                return Err(Diagnostic::new(
                    &self.file,
                    t.span,
                    format!(
                        "expected the policy id as a string, found {}",
                        describe(&t.tok)
                    ),
                )
                .with_help("write the id in double quotes: policy \"my-policy\" { ... }"))
            }
        };
        self.expect_sym("{", "to open the policy")?;
        let effect = match self.peek() {
            Tok::Ident("permit") => Effect::Permit,
            Tok::Ident("forbid") => Effect::Forbid,
            _ => return Err(self.expected("`permit` or `forbid`")),
        };
        let effect_span = self.bump().span;
        let actions = self.actions()?;
        self.expect_kw("on", "after the actions")?;
        self.expect_kw("offer", "after `on`")?;
        let offers = self.offers()?;
        let condition = if self.is_kw("when") {
            self.bump();
            Some(self.expr()?)
        } else {
            None
        };
        let mut obligations = Vec::new();
        while self.is_kw("obligation") {
            self.bump();
            obligations.push(self.obligation()?);
        }
        if !self.is_sym("}") {
            let what = if condition.is_some() {
                "`and`, `or`, `obligation` or `}`"
            } else {
                "`when`, `obligation` or `}`"
            };
            let mut d = self.expected(what);
            if self.is_sym("=") {
                d = d.with_help("try using `==` instead");
            }
            return Err(d);
        }
        self.bump();
        Ok(Policy {
            id,
            effect,
            effect_span,
            actions,
            offers,
            condition,
            obligations,
            source: Arc::clone(&self.file),
        })
    }

    fn actions(&mut self) -> PResult<Target> {
        if self.is_sym("*") {
            return Ok(Target::Any(self.bump().span));
        }
        let mut names = Vec::new();
        loop {
            match self.peek() {
                Tok::Ident(s) if !KEYWORDS.contains(s) => {
                    let name = (*s).to_owned();
                    names.push(Name {
                        name,
                        span: self.bump().span,
                    });
                }
                _ => return Err(self.expected("an action name or `*`").with_help(
                    "actions are names such as `read` or `join_computation`, separated by commas",
                )),
            }
            if !self.is_sym(",") {
                return Ok(Target::Some(names));
            }
            self.bump();
        }
    }

    fn offers(&mut self) -> PResult<Target> {
        if self.is_sym("*") {
            return Ok(Target::Any(self.bump().span));
        }
        let bracket = self.is_sym("[");
        if bracket {
            self.bump();
        }
        let mut names = Vec::new();
        loop {
            match self.bump() {
                Token {
                    tok: Tok::Str(s),
                    span,
                } => names.push(Name {
                    name: s.into_owned(),
                    span,
                }),
                t => {
                    return Err(Diagnostic::new(
                        &self.file,
                        t.span,
                        format!(
                            "expected an offer id as a string or `*`, found {}",
                            describe(&t.tok)
                        ),
                    )
                    .with_help("write offer ids in double quotes: on offer \"ppa-ibd-2024\""))
                }
            }
            if !bracket || !self.is_sym(",") {
                break;
            }
            self.bump();
        }
        if bracket {
            self.expect_sym("]", "to close the list of offers")?;
        }
        Ok(Target::Some(names))
    }

    fn obligation(&mut self) -> PResult<Obligation> {
        let name = match self.peek() {
            Tok::Ident(s) if !KEYWORDS.contains(s) => {
                let name = (*s).to_owned();
                Name {
                    name,
                    span: self.bump().span,
                }
            }
            _ => return Err(self.expected("an obligation name")),
        };
        let mut params = Vec::new();
        if self.is_sym("{") {
            self.bump();
            while !self.is_sym("}") {
                let pname = match self.peek() {
                    Tok::Ident(s) => {
                        let n = (*s).to_owned();
                        Name {
                            name: n,
                            span: self.bump().span,
                        }
                    }
                    _ => return Err(self.expected("a parameter name or `}`")),
                };
                if self.is_sym("==") || self.is_sym(":") {
                    return Err(self
                        .expected("`=`")
                        .with_help("parameters are set with `=`: days = 30"));
                }
                self.expect_sym("=", "after the parameter name")?;
                let value_span = self.span();
                let value = self.literal()?;
                params.push(Param {
                    name: pname,
                    value,
                    value_span: value_span.to(self.prev_span()),
                });
                if self.is_sym(",") {
                    self.bump();
                }
            }
            self.bump();
        }
        Ok(Obligation { name, params })
    }

    fn literal(&mut self) -> PResult<Value> {
        let t = self.bump();
        Ok(match t.tok {
            Tok::Str(s) => Value::Str(s.into()),
            Tok::Int(n) => Value::Int(n),
            Tok::Decimal(d) => Value::Decimal(d),
            Tok::DateTime(ms) => Value::DateTime(ms),
            Tok::Duration(ms) => Value::Duration(ms),
            Tok::Ident("true") => Value::Bool(true),
            Tok::Ident("false") => Value::Bool(false),
            Tok::Sym("[") => {
                let mut items = Vec::new();
                while !self.is_sym("]") {
                    match self.bump() {
                        Token {
                            tok: Tok::Str(s), ..
                        } => items.push(s),
                        t => {
                            return Err(Diagnostic::new(
                                &self.file,
                                t.span,
                                format!(
                                    "expected a string in the list, found {}",
                                    describe(&t.tok)
                                ),
                            )
                            .with_help("lists hold strings only: [\"a\", \"b\"]"))
                        }
                    }
                    if !self.is_sym(",") {
                        break;
                    }
                    self.bump();
                }
                self.expect_sym("]", "to close the list")?;
                Value::set(items)
            }
            other => {
                return Err(Diagnostic::new(
                    &self.file,
                    t.span,
                    format!("expected a value, found {}", describe(&other)),
                ))
            }
        })
    }

    fn expr(&mut self) -> PResult<Expr> {
        let first = self.and_chain()?;
        if !self.is_kw("or") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_kw("or") {
            self.bump();
            items.push(self.and_chain()?);
        }
        let span = span_of(&items);
        Ok(Expr {
            kind: ExprKind::Or(items),
            span,
        })
    }

    fn and_chain(&mut self) -> PResult<Expr> {
        let first = self.unary()?;
        if !self.is_kw("and") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.is_kw("and") {
            self.bump();
            items.push(self.unary()?);
        }
        let span = span_of(&items);
        Ok(Expr {
            kind: ExprKind::And(items),
            span,
        })
    }

    fn nest(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self
                .err(format!("conditions nest deeper than {MAX_NESTING} levels"))
                .with_help("split the condition into simpler parts or several policies"));
        }
        Ok(())
    }

    fn unary(&mut self) -> PResult<Expr> {
        let start = self.span();
        if self.is_kw("not") {
            self.bump();
            self.nest()?;
            let inner = self.unary()?;
            self.depth -= 1;
            let span = start.to(inner.span);
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        if self.is_sym("(") {
            self.bump();
            self.nest()?;
            let mut inner = self.expr()?;
            self.depth -= 1;
            let close = self.expect_sym(")", "to close `(`")?;
            inner.span = start.to(close);
            return Ok(inner);
        }
        if self.is_kw("permit") && matches!(self.peek_second(), Tok::Ident("covers")) {
            self.bump();
            self.bump();
            let dataset = self.operand()?;
            let span = start.to(dataset.span);
            return Ok(permit_covers(dataset, span));
        }
        if self.is_kw("has") {
            self.bump();
            let (path, span) = self.attribute()?;
            return Ok(Expr {
                kind: ExprKind::Has(path),
                span: start.to(span),
            });
        }
        let left = self.operand()?;
        let op = match self.peek() {
            Tok::Sym(s) => Op::from_symbol(s),
            Tok::Ident(s) => Op::from_symbol(s),
            _ => None,
        };
        let Some(op) = op else {
            if self.is_sym("=") {
                return Err(self
                    .err("`=` is not a comparison")
                    .with_help("try using `==` instead"));
            }
            return Ok(left);
        };
        self.bump();
        let right = self.operand()?;
        let span = left.span.to(right.span);
        Ok(Expr {
            kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
            span,
        })
    }

    fn attribute(&mut self) -> PResult<(String, Span)> {
        let start = self.span();
        let mut path = match self.peek() {
            Tok::Ident(s) if !KEYWORDS.contains(s) && *s != "false" => (*s).to_owned(),
            // `permit` is a keyword, and the root of the data permit's attributes.
            Tok::Ident("permit") if matches!(self.peek_second(), Tok::Sym(".")) => {
                "permit".to_owned()
            }
            _ => return Err(self.expected("an attribute such as `holder.role`")),
        };
        self.bump();
        while self.is_sym(".") {
            self.bump();
            match self.peek() {
                Tok::Ident(s) => {
                    path.push('.');
                    path.push_str(s);
                    self.bump();
                }
                _ => return Err(self.expected("an attribute name after `.`")),
            }
        }
        Ok((path, start.to(self.prev_span())))
    }

    fn operand(&mut self) -> PResult<Expr> {
        let start = self.span();
        match self.peek() {
            Tok::Ident(s) if !matches!(*s, "true" | "false") => {
                let (path, span) = self.attribute()?;
                Ok(Expr {
                    kind: ExprKind::Attr(path),
                    span,
                })
            }
            Tok::Eof => Err(self.expected("a condition")),
            _ => {
                let v = self.literal()?;
                Ok(Expr {
                    kind: ExprKind::Lit(v),
                    span: start.to(self.prev_span()),
                })
            }
        }
    }
}

fn span_of(items: &[Expr]) -> Span {
    match (items.first(), items.last()) {
        (Some(a), Some(b)) => a.span.to(b.span),
        _ => Span::default(),
    }
}

#[cfg(test)]
mod tests;
