//! The Dataspace Protocol's form of exported policies: the rules that apply to one offer, with
//! profile terms as full IRIs and non-string operands as JSON-LD value objects (as the
//! protocol's schemas require), and obligations as ODRL duties.

use serde_json::{json, Map, Value as J};

use super::{to_odrl, OdrlError, PREFIX};
use crate::ast::PolicySet;
use crate::schema::{Schema, PROFILE};

/// The permissions, prohibitions and obligations of `set` that apply to `offer` (rules naming
/// it or every offer), without their `target`, in the protocol's form. An offer no permission
/// or prohibition applies to is an error.
pub fn offer_rules(
    set: &PolicySet,
    schema: &Schema,
    offer: &str,
) -> Result<Map<String, J>, OdrlError> {
    let exported = to_odrl(set, schema)?;
    let graph = exported
        .get("@graph")
        .and_then(J::as_array)
        .cloned()
        .unwrap_or_default();
    let mut rules: Map<String, J> = Map::new();
    for policy in graph {
        for kind in ["permission", "prohibition", "obligation"] {
            for rule in policy.get(kind).and_then(J::as_array).into_iter().flatten() {
                if rule
                    .get("target")
                    .and_then(J::as_str)
                    .is_some_and(|t| t != offer)
                {
                    continue;
                }
                let mut rule = rule.clone();
                if let Some(object) = rule.as_object_mut() {
                    object.remove("target");
                }
                if let J::Array(list) = rules.entry(kind).or_insert_with(|| J::Array(Vec::new())) {
                    list.push(for_protocol(rule));
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

/// Rewrites profile-prefixed terms to full IRIs and non-string constraint operands to value
/// objects.
fn for_protocol(value: J) -> J {
    match value {
        J::String(s) => match s.strip_prefix(PREFIX).and_then(|t| t.strip_prefix(':')) {
            Some(term) => J::String(profile_iri(term)),
            None => J::String(s),
        },
        J::Array(items) => J::Array(items.into_iter().map(for_protocol).collect()),
        J::Object(object) => {
            let is_constraint = object.contains_key("leftOperand");
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
