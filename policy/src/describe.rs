//! A policy in plain words: one sentence per policy, saying whom it permits or forbids what,
//! on which offers, under which conditions, and with which obligations. Meant for people who
//! read an offer before asking for it; the policy text stays the authority.

use crate::ast::{Effect, Expr, ExprKind, Op, Policy, PolicySet, Target};
use crate::value::Value;

/// Each policy of `set` in plain words, in source order.
pub fn describe(set: &PolicySet) -> Vec<String> {
    set.policies.iter().map(describe_policy).collect()
}

/// One policy in plain words, e.g. `Policy "stays" permits use of offer "ward-stays" when
/// holder.role is "Hospital".`
pub fn describe_policy(policy: &Policy) -> String {
    let verb = match policy.effect {
        Effect::Permit => "permits",
        Effect::Forbid => "forbids",
    };
    let actions = match &policy.actions {
        Target::Any(_) => "any action".to_owned(),
        Target::Some(names) => or_list(names.iter().map(|n| n.name.replace('_', " "))),
    };
    let offers = match &policy.offers {
        Target::Any(_) => "any offer".to_owned(),
        Target::Some(names) if names.len() == 1 => {
            format!(
                "offer \"{}\"",
                names.iter().map(|n| n.name.as_str()).collect::<String>()
            )
        }
        Target::Some(names) => format!(
            "offers {}",
            or_list(names.iter().map(|n| format!("\"{}\"", n.name)))
        ),
    };
    let mut sentence = format!("Policy \"{}\" {verb} {actions} of {offers}", policy.id.name);
    match &policy.condition {
        None => sentence.push_str(", always"),
        Some(condition) => {
            sentence.push_str(" when ");
            sentence.push_str(&expr(condition));
        }
    }
    if !policy.obligations.is_empty() {
        let duties: Vec<String> = policy
            .obligations
            .iter()
            .map(|o| {
                let name = o.name.name.replace('_', " ");
                if o.params.is_empty() {
                    name
                } else {
                    let params: Vec<String> = o
                        .params
                        .iter()
                        .map(|p| format!("{} {}", p.name.name.replace('_', " "), p.value.plain()))
                        .collect();
                    format!("{name} ({})", params.join(", "))
                }
            })
            .collect();
        sentence.push_str("; the recipient must ");
        sentence.push_str(&and_list(duties.into_iter()));
    }
    sentence.push('.');
    sentence
}

fn and_list(items: impl Iterator<Item = String>) -> String {
    join(items.collect(), "and")
}

fn or_list(items: impl Iterator<Item = String>) -> String {
    join(items.collect(), "or")
}

fn join(items: Vec<String>, word: &str) -> String {
    match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {word} {last}", init.join(", ")),
    }
}

fn value(v: &Value) -> String {
    match v {
        Value::Set(items) => or_list(items.iter().map(|s| format!("\"{}\"", s.as_ref()))),
        other => other.to_string(),
    }
}

fn operand(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Attr(name) => name.clone(),
        ExprKind::Lit(v) => value(v),
        _ => format!("({})", expr(e)),
    }
}

fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Attr(name) => format!("{name} holds"),
        ExprKind::Lit(v) => value(v),
        ExprKind::Has(name) => format!("{name} is given"),
        ExprKind::Not(inner) => format!("it is not the case that {}", expr(inner)),
        // Joined by the word each time: a comma would blur into the lists inside.
        ExprKind::And(items) => items.iter().map(nested).collect::<Vec<_>>().join(" and "),
        ExprKind::Or(items) => format!(
            "either {}",
            items.iter().map(nested).collect::<Vec<_>>().join(" or ")
        ),
        ExprKind::Binary(op, left, right) => {
            let (l, r) = (operand(left), operand(right));
            let words = match op {
                Op::Eq => "is",
                Op::Ne => "is not",
                Op::Lt => "is less than",
                Op::Le => "is at most",
                Op::Gt => "is more than",
                Op::Ge => "is at least",
                Op::In => "is one of",
                Op::Contains => "contains",
                Op::ContainsAll => "contains all of",
                Op::ContainsAny => "contains any of",
            };
            let r = match (op, &right.kind) {
                (Op::ContainsAll, ExprKind::Lit(Value::Set(items))) => {
                    and_list(items.iter().map(|s| format!("\"{}\"", s.as_ref())))
                }
                _ => r,
            };
            format!("{l} {words} {r}")
        }
    }
}

/// A sub-condition, bracketed when it is itself a list of alternatives or conjuncts.
fn nested(e: &Expr) -> String {
    match &e.kind {
        ExprKind::And(_) | ExprKind::Or(_) => format!("({})", expr(e)),
        _ => expr(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_reads_as_a_sentence() {
        let set = crate::parse(
            "p",
            r#"
policy "hospital-statistics" {
  permit use on offer "ward-statistics"
  when holder.role in ["Hospital", "Insurer"] and holder.member_of == "hds"
   and (session.parties >= 3 or not has purpose)
  obligation delete_after { days = 30 }
}
policy "no-ads" { forbid * on offer * when purpose == "advertising" }
"#,
        )
        .expect("parses");
        let words = describe(&set);
        assert_eq!(
            words[0],
            "Policy \"hospital-statistics\" permits use of offer \"ward-statistics\" when \
             holder.role is one of \"Hospital\" or \"Insurer\" and holder.member_of is \"hds\" \
             and (either session.parties is at least 3 or it is not the case that purpose is \
             given); the recipient must delete after (days 30)."
        );
        assert_eq!(
            words[1],
            "Policy \"no-ads\" forbids any action of any offer when purpose is \"advertising\"."
        );
    }
}
