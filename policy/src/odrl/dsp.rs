//! The Dataspace Protocol's form of exported policies: the rules that apply to one offer, each
//! named after the policy it comes from, with profile terms as full IRIs, non-string operands
//! as JSON-LD value objects and only the operators the protocol's schemas admit (`has x` is
//! `x neq <profile>#absent`, `not has x` is `x eq <profile>#absent`), and obligations as ODRL
//! duties.

use serde_json::{json, Map, Value as J};

use super::{to_odrl, OdrlError, PREFIX, UID_PREFIX};
use crate::ast::PolicySet;
use crate::schema::{Schema, PROFILE};

/// The profile's term an absent left operand equals in the protocol's form of `has`
/// ([`profile_iri`] of it): the protocol's schemas admit none of a profile's own operators,
/// so the profile's `isPresent` is written with ODRL's `eq` and `neq`.
pub const ABSENT: &str = "absent";

/// The permissions, prohibitions and obligations of `set` that apply to `offer` (rules naming
/// it or every offer), without their `target`, in the protocol's form. Each rule's `@id` is
/// `{offer_iri}#{policy}`: the ODRL offer `offer_iri` it is published in, and the policy it
/// comes from (whose name a refusal gives too). An offer no permission or prohibition applies
/// to is an error.
pub fn offer_rules(
    set: &PolicySet,
    schema: &Schema,
    offer: &str,
    offer_iri: &str,
) -> Result<Map<String, J>, OdrlError> {
    let exported = to_odrl(set, schema)?;
    let graph = exported
        .get("@graph")
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default();
    let mut rules: Map<String, J> = Map::new();
    for policy in graph {
        let name = policy
            .get("uid")
            .and_then(J::as_str)
            .and_then(|uid| uid.strip_prefix(UID_PREFIX))
            .map(str::to_owned);
        for kind in ["permission", "prohibition", "obligation"] {
            for rule in policy.get(kind).and_then(J::as_array).into_iter().flatten() {
                if rule
                    .get("target")
                    .and_then(J::as_str)
                    .is_some_and(|t| t != offer)
                {
                    continue;
                }
                let id = name.as_ref().map(|name| format!("{offer_iri}#{name}"));
                let split = one_action_each(rule, id.as_deref());
                if let J::Array(list) = rules.entry(kind).or_insert_with(|| J::Array(Vec::new())) {
                    list.extend(split.into_iter().map(for_protocol));
                }
            }
        }
    }
    if !rules.contains_key("permission") && !rules.contains_key("prohibition") {
        return Err(OdrlError::Export {
            policy: offer.to_owned(),
            message: "no permission or prohibition of the policy applies to this offer".into(),
        });
    }
    Ok(rules)
}

/// `rule` without its `target`, named `id`, as rules of one action each: the protocol's
/// schemas take one action per rule, and an ODRL rule with several actions means the same as
/// one rule per action (ODRL 2.2 Information Model, §2.7 "Compact Policy"). Each of several is
/// named `{id}/{action}`, so that every rule keeps an `@id` of its own.
fn one_action_each(rule: &J, id: Option<&str>) -> Vec<J> {
    let Some(object) = rule.as_object() else {
        return vec![rule.clone()];
    };
    let mut base = object.clone();
    base.remove("target");
    let actions = match base.remove("action") {
        Some(J::Array(actions)) if actions.len() > 1 => actions,
        Some(J::Array(mut actions)) => actions.pop().into_iter().collect(),
        Some(action) => vec![action],
        None => Vec::new(),
    };
    let several = actions.len() > 1;
    if actions.is_empty() {
        if let Some(id) = id {
            base.insert("@id".into(), J::String(id.to_owned()));
        }
        return vec![J::Object(base)];
    }
    actions
        .into_iter()
        .map(|action| {
            let mut one = base.clone();
            if let Some(id) = id {
                let id = match action.as_str() {
                    Some(term) if several => {
                        let short = term.strip_prefix(PREFIX).and_then(|t| t.strip_prefix(':'));
                        format!("{id}/{}", short.unwrap_or(term))
                    }
                    _ => id.to_owned(),
                };
                one.insert("@id".into(), J::String(id));
            }
            one.insert("action".into(), action);
            J::Object(one)
        })
        .collect()
}

/// Rewrites profile-prefixed terms to full IRIs, the profile's `isPresent` to `eq`/`neq`
/// [`ABSENT`], and non-string constraint operands to value objects.
fn for_protocol(value: J) -> J {
    match value {
        J::String(s) => match s.strip_prefix(PREFIX).and_then(|t| t.strip_prefix(':')) {
            Some(term) => J::String(profile_iri(term)),
            None => J::String(s),
        },
        J::Array(items) => J::Array(items.into_iter().map(for_protocol).collect()),
        J::Object(mut object) => {
            let is_constraint = object.contains_key("leftOperand");
            if is_constraint {
                presence_with_odrl_operators(&mut object);
            }
            J::Object(
                object
                    .into_iter()
                    .map(|(k, v)| {
                        let v = if is_constraint && k == "rightOperand" {
                            value_object(v)
                        } else {
                            v
                        };
                        (k, for_protocol(v))
                    })
                    .collect(),
            )
        }
        other => other,
    }
}

/// `left symbolon:isPresent true|false` as `left neq|eq <profile>#absent`: the same condition
/// (the left operand's value is there, or is not), with operators of ODRL's core vocabulary.
fn presence_with_odrl_operators(constraint: &mut Map<String, J>) {
    let is_presence = constraint
        .get("operator")
        .and_then(J::as_str)
        .and_then(|op| op.strip_prefix(PREFIX))
        == Some(":isPresent");
    if !is_presence {
        return;
    }
    let present = constraint.get("rightOperand") == Some(&J::Bool(true));
    constraint.insert(
        "operator".into(),
        J::String(if present { "neq" } else { "eq" }.into()),
    );
    constraint.insert("rightOperand".into(), json!({ "@id": profile_iri(ABSENT) }));
}

/// `https://w3id.org/symbolon/odrl/health#<term>`.
pub fn profile_iri(term: &str) -> String {
    format!("{PROFILE}#{term}")
}

/// A number or boolean as a JSON-LD value object; anything else as it is.
fn value_object(value: J) -> J {
    match value {
        v @ (J::Number(_) | J::Bool(_)) => json!({ "@value": v }),
        other => other,
    }
}

/// An obligation as an ODRL duty: its action is the profile term of its name, and each
/// parameter a constraint `<profile>#param eq value`.
pub fn duty<'a>(name: &str, params: impl IntoIterator<Item = (&'a str, &'a J)>) -> J {
    let constraints: Vec<J> = params
        .into_iter()
        .map(|(param, value)| {
            json!({
                "leftOperand": profile_iri(param),
                "operator": "eq",
                "rightOperand": value_object(value.clone()),
            })
        })
        .collect();
    if constraints.is_empty() {
        json!({ "action": profile_iri(name) })
    } else {
        json!({ "action": profile_iri(name), "constraint": constraints })
    }
}

/// The obligation a duty written by [`duty`] carries: its name and parameters. `None` for a
/// duty that is not of this profile.
pub fn read_duty(duty: &J) -> Option<(String, Map<String, J>)> {
    let prefix = format!("{PROFILE}#");
    let name = duty.get("action")?.as_str()?.strip_prefix(&prefix)?;
    let mut params = Map::new();
    for constraint in duty
        .get("constraint")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
    {
        let Some(param) = constraint
            .get("leftOperand")
            .and_then(J::as_str)
            .and_then(|left| left.strip_prefix(&prefix))
        else {
            continue;
        };
        let value = constraint.get("rightOperand").cloned().unwrap_or(J::Null);
        let value = match value {
            J::Object(mut object) if object.len() == 1 && object.contains_key("@value") => {
                object.remove("@value").unwrap_or(J::Null)
            }
            other => other,
        };
        params.insert(param.to_owned(), value);
    }
    Some((name.to_owned(), params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_is_written_with_odrl_operators_and_each_rule_names_its_policy() {
        let schema = Schema::health();
        let text = r#"
policy "needs-permit" { forbid * on offer "o" when not has permit.id }
policy "open" { permit use on offer "o" when has holder.role and holder.role == "Hospital" }
"#;
        let set = crate::parse("p", text).unwrap();
        let rules = offer_rules(&set, &schema, "o", "urn:x:o").unwrap();
        let absent = json!({ "@id": profile_iri(ABSENT) });
        let forbid = &rules["prohibition"][0];
        assert_eq!(forbid["@id"], "urn:x:o#needs-permit");
        assert_eq!(
            forbid["constraint"][0],
            json!({"leftOperand": profile_iri("permitId"), "operator": "eq", "rightOperand": absent})
        );
        let permit = &rules["permission"][0];
        assert_eq!(permit["@id"], "urn:x:o#open");
        assert_eq!(
            permit["constraint"][0],
            json!({"leftOperand": profile_iri("role"), "operator": "neq", "rightOperand": absent})
        );
        let text = serde_json::Value::Object(rules.clone()).to_string();
        assert!(!text.contains("isPresent"), "{text}");

        // Read back, the protocol's form is the same condition.
        let mut document = json!({"uid": "urn:symbolon:policy:needs-permit",
                                  "prohibition": [forbid.clone()]});
        document["prohibition"][0]["target"] = "o".into();
        let read = crate::odrl::from_odrl_text(&document, &schema).unwrap();
        assert!(read.contains("when not has permit.id"), "{read}");
    }

    #[test]
    fn a_rule_of_several_actions_is_published_as_one_rule_per_action() {
        let schema = Schema::health();
        let text = r#"
policy "two" { permit use, read on offer "o" when holder.role == "Hospital" }
policy "one" { forbid read on offer "o" when holder.role == "Insurer" }
"#;
        let set = crate::parse("p", text).unwrap();
        let rules = offer_rules(&set, &schema, "o", "urn:x:o").unwrap();
        let permissions = rules["permission"].as_array().unwrap();
        assert_eq!(permissions.len(), 2, "{permissions:?}");
        let mut named: Vec<(String, J)> = permissions
            .iter()
            .map(|r| (r["@id"].as_str().unwrap().to_owned(), r["action"].clone()))
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            named[0],
            ("urn:x:o#two/read".into(), json!(profile_iri("read")))
        );
        assert_eq!(
            named[1],
            ("urn:x:o#two/use".into(), json!(profile_iri("use")))
        );
        for rule in permissions {
            assert_eq!(
                rule["constraint"][0]["leftOperand"],
                json!(profile_iri("role")),
                "every split rule keeps the condition: {rule}"
            );
        }
        // A single action keeps the policy's own name and stays a string.
        assert_eq!(rules["prohibition"][0]["@id"], "urn:x:o#one");
        assert_eq!(
            rules["prohibition"][0]["action"],
            json!(profile_iri("read"))
        );
    }

    #[test]
    fn a_duty_reads_back_as_its_obligation() {
        let days = json!(30);
        let purpose = json!("research");
        let written = duty("delete_after", [("days", &days), ("purpose", &purpose)]);
        assert_eq!(
            written["constraint"][0]["rightOperand"],
            json!({ "@value": 30 })
        );
        let (name, params) = read_duty(&written).unwrap();
        assert_eq!(name, "delete_after");
        assert_eq!(params["days"], 30);
        assert_eq!(params["purpose"], "research");
        assert_eq!(read_duty(&duty("aggregate_only", [])).unwrap().1.len(), 0);
        assert!(read_duty(&json!({"action": "use"})).is_none());
    }
}
