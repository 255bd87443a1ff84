//! Scopes of the Decentralized Claims Protocol's presentation query: which credential types a
//! verifier asks for, derived from an offer's policy, and how a scope string names a type.
//!
//! This connector sends the three-part form EDC-style connectors use,
//! `org.eclipse.dspace.dcp.vc.type:<Type>:read`, and accepts the specification's two-part form
//! (`org.eclipse.dspace.dcp.vc.type:<Type>`), the three-part form and the older alias
//! `org.eclipse.edc.vc.type`. A scope in any other form grants nothing: the holder answers
//! without it, never with an error.

use std::collections::BTreeSet;

use serde_json::Value as Json;
use symbolon_policy::ast::{Expr, ExprKind, PolicySet};
use symbolon_policy::Schema;
use symbolon_policy::Value;

/// The scope alias of credential types.
pub const TYPE_ALIAS: &str = "org.eclipse.dspace.dcp.vc.type";
/// The older alias EDC-style connectors still send.
pub const EDC_TYPE_ALIAS: &str = "org.eclipse.edc.vc.type";
/// The credential every request presents: membership of the data space.
pub const MEMBERSHIP: &str = "DataSpaceMembershipCredential";
/// Longest scope string read.
pub const MAX_SCOPE_CHARS: usize = 256;

/// The scope this connector sends for `credential_type`.
pub fn scope_for(credential_type: &str) -> String {
    format!("{TYPE_ALIAS}:{credential_type}:read")
}

/// The credential type a scope names, in any accepted form; `None` for anything else.
pub fn credential_type(scope: &str) -> Option<&str> {
    if scope.len() > MAX_SCOPE_CHARS {
        return None;
    }
    let rest = scope
        .strip_prefix(TYPE_ALIAS)
        .or_else(|| scope.strip_prefix(EDC_TYPE_ALIAS))?
        .strip_prefix(':')?;
    let credential_type = rest.strip_suffix(":read").unwrap_or(rest);
    let valid = !credential_type.is_empty()
        && credential_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid.then_some(credential_type)
}

/// The credential type a policy attribute is read from, if one is.
pub fn type_of_attribute(attribute: &str) -> Option<&'static str> {
    match attribute {
        "holder.role" | "holder.member_of" | "holder.legal_name" | "holder.registration_number" => {
            Some(MEMBERSHIP)
        }
        "holder.trial_id" | "holder.trial_site" | "holder.trial_sponsor" => {
            Some("TrialSiteCredential")
        }
        "holder.auditor_scope" => Some("AuditorCredential"),
        a if a.starts_with("consent.") => Some("ConsentCredential"),
        a if a.starts_with("permit.") => Some("DataPermitCredential"),
        _ => None,
    }
}

/// The credential types a decision on `policies` reads: membership always, the type of every
/// attribute a condition names, and the types a condition on `holder.credentials` names.
pub fn types_for_policies(policies: &PolicySet) -> BTreeSet<String> {
    let mut types = BTreeSet::from([MEMBERSHIP.to_owned()]);
    for policy in &policies.policies {
        let Some(condition) = &policy.condition else {
            continue;
        };
        let mut read = Read::default();
        read.walk(condition);
        types.extend(
            read.attributes
                .iter()
                .filter_map(|a| type_of_attribute(a))
                .map(str::to_owned),
        );
        if read.attributes.contains("holder.credentials") {
            types.extend(read.credential_names);
        }
    }
    types
}

/// The credential types the rules of an ODRL offer (the protocol's form of a policy) read:
/// each constraint's left operand mapped to its attribute through `schema`.
pub fn types_for_odrl(rules: &[&Json], schema: &Schema) -> BTreeSet<String> {
    let mut types = BTreeSet::from([MEMBERSHIP.to_owned()]);
    let mut stack: Vec<&Json> = rules.to_vec();
    while let Some(value) = stack.pop() {
        match value {
            Json::Array(items) => stack.extend(items),
            Json::Object(object) => {
                if let Some(term) = object.get("leftOperand").and_then(Json::as_str) {
                    let bare = term.rsplit_once('#').map_or(term, |(_, t)| t);
                    if let Some(attribute) = schema.attribute_by_odrl(bare) {
                        if let Some(kind) = type_of_attribute(&attribute.name) {
                            types.insert(kind.to_owned());
                        }
                        if attribute.name == "holder.credentials" {
                            types.extend(credential_names(object.get("rightOperand")));
                        }
                    }
                }
                stack.extend(object.values());
            }
            _ => {}
        }
    }
    types
}

fn credential_names(operand: Option<&Json>) -> Vec<String> {
    let mut names = Vec::new();
    let mut stack: Vec<&Json> = operand.into_iter().collect();
    while let Some(value) = stack.pop() {
        match value {
            Json::String(name) if looks_like_type(name) => names.push(name.clone()),
            Json::Array(items) => stack.extend(items),
            Json::Object(object) => stack.extend(object.values()),
            _ => {}
        }
    }
    names
}

fn looks_like_type(name: &str) -> bool {
    name.ends_with("Credential") && credential_type(&format!("{TYPE_ALIAS}:{name}")).is_some()
}

/// What a condition reads: attribute names and credential-type literals.
#[derive(Default)]
struct Read {
    attributes: BTreeSet<String>,
    credential_names: BTreeSet<String>,
}

impl Read {
    fn walk(&mut self, expr: &Expr) {
        match &expr.kind {
            ExprKind::Attr(name) | ExprKind::Has(name) => {
                self.attributes.insert(name.clone());
            }
            ExprKind::Lit(value) => self.literal(value),
            ExprKind::Binary(_, left, right) => {
                self.walk(left);
                self.walk(right);
            }
            ExprKind::And(items) | ExprKind::Or(items) => items.iter().for_each(|e| self.walk(e)),
            ExprKind::Not(inner) => self.walk(inner),
        }
    }

    fn literal(&mut self, value: &Value) {
        let names: Vec<&str> = match value {
            Value::Str(s) => vec![s.as_ref()],
            Value::Set(items) => items.iter().map(|s| s.as_ref()).collect(),
            _ => Vec::new(),
        };
        self.credential_names.extend(
            names
                .into_iter()
                .filter(|n| looks_like_type(n))
                .map(str::to_owned),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_form_names_its_type() {
        for scope in [
            "org.eclipse.dspace.dcp.vc.type:TrialSiteCredential:read",
            "org.eclipse.dspace.dcp.vc.type:TrialSiteCredential",
            "org.eclipse.edc.vc.type:TrialSiteCredential:read",
            "org.eclipse.edc.vc.type:TrialSiteCredential",
        ] {
            assert_eq!(
                credential_type(scope),
                Some("TrialSiteCredential"),
                "{scope}"
            );
        }
        for scope in [
            "",
            "openid",
            "org.eclipse.dspace.dcp.vc.type:",
            "org.eclipse.dspace.dcp.vc.type:Bad Type:read",
            "org.eclipse.dspace.dcp.vc.typeX:TrialSiteCredential",
            &format!("{TYPE_ALIAS}:{}", "A".repeat(300)),
        ] {
            assert_eq!(credential_type(scope), None, "{scope}");
        }
        assert_eq!(
            scope_for("AuditorCredential"),
            "org.eclipse.dspace.dcp.vc.type:AuditorCredential:read"
        );
    }

    #[test]
    fn a_policy_asks_for_membership_and_the_types_its_conditions_read() {
        let schema = Schema::health();
        let policy = r#"
policy "sites" {
  permit use on offer "trial-data"
  when holder.trial_site == "site-1" and holder.credentials contains "AuditorCredential"
}
"#;
        let set = symbolon_policy::parse_and_check(&[("p", policy)], &schema).unwrap();
        let types: Vec<String> = types_for_policies(&set).into_iter().collect();
        assert_eq!(
            types,
            ["AuditorCredential", MEMBERSHIP, "TrialSiteCredential"]
        );
        let plain = r#"policy "any" { permit use on offer "x" }"#;
        let set = symbolon_policy::parse_and_check(&[("p", plain)], &schema).unwrap();
        assert_eq!(types_for_policies(&set).len(), 1);
    }
}
