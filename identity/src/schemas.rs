//! The JSON Schemas of the Symbolon credential types' subjects (`identity/schemas/*.json`):
//! the claims each type requires and the ones it may carry, with a description and an example.
//! A credential is checked against its type's schema before it is signed
//! ([`crate::issue_credential`], [`crate::credential::build`]); `symbolon credential types`
//! shows them.

use std::sync::LazyLock;

use serde_json::Value;

use crate::error::IssueError;

/// Each Symbolon credential type with its subject schema, as JSON text.
pub const SCHEMAS: &[(&str, &str)] = &[
    (
        "DataSpaceMembershipCredential",
        include_str!("../schemas/DataSpaceMembershipCredential.json"),
    ),
    (
        "TrialSiteCredential",
        include_str!("../schemas/TrialSiteCredential.json"),
    ),
    (
        "AuditorCredential",
        include_str!("../schemas/AuditorCredential.json"),
    ),
    (
        "ConsentCredential",
        include_str!("../schemas/ConsentCredential.json"),
    ),
    (
        "TrustListCredential",
        include_str!("../schemas/TrustListCredential.json"),
    ),
    (
        "DataPermitCredential",
        include_str!("../schemas/DataPermitCredential.json"),
    ),
];

/// A credential type's subject schema.
#[derive(Debug)]
pub struct SubjectSchema {
    /// The credential type.
    pub credential_type: &'static str,
    /// The schema document.
    pub document: Value,
    validator: Option<jsonschema::Validator>,
}

impl SubjectSchema {
    /// The claims the type requires: the schema's `required`.
    pub fn required(&self) -> Vec<&str> {
        names(self.document.get("required"))
    }

    /// Claims of which at least one is required (the `required` members of the schema's
    /// `anyOf` branches), or none.
    pub fn one_of(&self) -> Vec<&str> {
        self.document
            .get("anyOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .flat_map(|branch| names(branch.get("required")))
            .collect()
    }

    /// Each claim the schema describes, with its description, in the schema's order (the
    /// subject's `id` excepted).
    pub fn claims(&self) -> Vec<(&str, &str)> {
        self.document
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(name, _)| *name != "id")
            .map(|(name, property)| {
                let description = property
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                (name.as_str(), description)
            })
            .collect()
    }

    /// The schema's first example subject.
    pub fn example(&self) -> Option<&Value> {
        self.document
            .get("examples")
            .and_then(Value::as_array)
            .and_then(|examples| examples.first())
    }

    /// The schema's description of the type.
    pub fn description(&self) -> &str {
        self.document
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Checks `subject` against the schema; the first violation names its place.
    pub fn check(&self, subject: &Value) -> Result<(), IssueError> {
        let Some(validator) = &self.validator else {
            return Ok(());
        };
        match validator.iter_errors(subject).next() {
            None => Ok(()),
            Some(error) => Err(IssueError::Invalid {
                what: "credential",
                path: format!("/credentialSubject{}", error.instance_path()),
                reason: format!("a {} subject: {error}", self.credential_type),
            }),
        }
    }
}

fn names(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

// INVARIANT: every embedded schema is valid JSON and a valid JSON Schema; the test
// `every_schema_compiles` holds it, so `validator` is never `None` in a build that passed.
static COMPILED: LazyLock<Vec<SubjectSchema>> = LazyLock::new(|| {
    SCHEMAS
        .iter()
        .map(|(credential_type, text)| {
            let document: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            let validator = jsonschema::validator_for(&document).ok();
            SubjectSchema {
                credential_type,
                document,
                validator,
            }
        })
        .collect()
});

/// Every Symbolon credential type's subject schema.
pub fn all() -> &'static [SubjectSchema] {
    &COMPILED
}

/// The subject schema of `credential_type`, if it is a Symbolon type.
pub fn of(credential_type: &str) -> Option<&'static SubjectSchema> {
    all().iter().find(|s| s.credential_type == credential_type)
}

/// Checks each subject of `credential` against the schema of each of its Symbolon types.
pub fn check(credential: &Value) -> Result<(), IssueError> {
    let subjects = crate::json::one_or_many(credential.get("credentialSubject"));
    for credential_type in crate::credential::specific_types(credential) {
        if let Some(schema) = of(&credential_type) {
            for subject in &subjects {
                schema.check(subject)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles_and_every_symbolon_type_has_one() {
        for (credential_type, text) in SCHEMAS {
            let document: Value = serde_json::from_str(text).unwrap();
            jsonschema::validator_for(&document).unwrap();
            assert_eq!(document["title"], *credential_type);
        }
        for credential_type in crate::credential::SYMBOLON_TYPES {
            assert!(of(credential_type).is_some(), "{credential_type}");
        }
    }

    #[test]
    fn the_membership_schema_lists_the_roles_the_code_accepts() {
        let schema = of("DataSpaceMembershipCredential").unwrap();
        let roles: Vec<&str> = names(schema.document["properties"]["role"].get("enum"));
        assert_eq!(roles, crate::credential::ROLES);
    }

    #[test]
    fn the_permit_schema_lists_the_purposes_and_output_modes_the_code_accepts() {
        let schema = of("DataPermitCredential").unwrap();
        let purposes: Vec<&str> = names(schema.document["properties"]["purpose"].get("enum"));
        assert_eq!(purposes, crate::credential::PERMIT_PURPOSES);
        let modes: Vec<&str> = names(schema.document["properties"]["outputMode"].get("enum"));
        assert_eq!(modes, crate::credential::PERMIT_OUTPUT_MODES);
    }

    #[test]
    fn a_violation_names_the_claim() {
        let schema = of("AuditorCredential").unwrap();
        let error = schema
            .check(&serde_json::json!({"scope": "everything"}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("/credentialSubject/scope"), "{error}");
    }
}
