//! The data permit shorthand of the condition language.

use crate::ast::{Expr, ExprKind, Op};
use crate::loc::Span;

/// `permit covers <dataset>`: the holder presented a verified data permit that names
/// `dataset` among its datasets and the holder among its authorised persons, and it is valid
/// now. Written out as the conditions it stands for, each placed where the shorthand was, so
/// the checker checks them against the schema and a refusal names the one that failed.
/// (A revoked permit, or one from an issuer not trusted for `DataPermitCredential`, never
/// verifies, so its attributes are absent and `has permit.id` fails.)
pub(super) fn permit_covers(dataset: Expr, span: Span) -> Expr {
    let at = |kind: ExprKind| Expr { kind, span };
    let attr = |name: &str| Box::new(at(ExprKind::Attr(name.to_owned())));
    at(ExprKind::And(vec![
        at(ExprKind::Has("permit.id".to_owned())),
        at(ExprKind::Binary(
            Op::Contains,
            attr("permit.datasets"),
            Box::new(dataset),
        )),
        at(ExprKind::Binary(
            Op::Contains,
            attr("permit.persons"),
            attr("holder.id"),
        )),
        at(ExprKind::Binary(
            Op::Ge,
            attr("now"),
            attr("permit.valid_from"),
        )),
        at(ExprKind::Binary(
            Op::Lt,
            attr("now"),
            attr("permit.valid_until"),
        )),
    ]))
}
