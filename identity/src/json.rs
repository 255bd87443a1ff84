//! JSON members that the data model allows as one value or an array of values.

use serde_json::Value;

/// The values of a member that may be one value or an array of them (an absent member has
/// none; `null` counts as absent).
pub fn one_or_many(member: Option<&Value>) -> Vec<&Value> {
    match member {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item) => vec![item],
    }
}

/// The string values of a member that may be one string or an array of them (other values
/// are skipped).
pub fn strings(member: Option<&Value>) -> Vec<&str> {
    one_or_many(member)
        .into_iter()
        .filter_map(Value::as_str)
        .collect()
}

/// The first of [`one_or_many`]'s values, as a string.
pub fn first_str(member: Option<&Value>) -> Option<&str> {
    one_or_many(member)
        .into_iter()
        .next()
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn one_value_and_an_array_read_alike() {
        let one = json!({"aud": "did:key:z1"});
        let many = json!({"aud": ["did:key:z1", "did:key:z2"]});
        assert_eq!(one_or_many(one.get("aud")), [&json!("did:key:z1")]);
        assert_eq!(one_or_many(many.get("aud")).len(), 2);
        assert_eq!(first_str(many.get("aud")), Some("did:key:z1"));
        assert!(one_or_many(one.get("missing")).is_empty());
        assert!(one_or_many(Some(&Value::Null)).is_empty());
        let types = json!({"type": ["VerifiableCredential", 7, "Membership"]});
        assert_eq!(
            strings(types.get("type")),
            ["VerifiableCredential", "Membership"]
        );
    }
}
