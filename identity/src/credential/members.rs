//! The credential members that hold objects of their own — status, schemas, evidence, terms
//! of use, refresh services, related resources — checked against the VC Data Model 2.0 before
//! signing and on verification, each error with the JSON pointer of the offending member.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{check_url, invalid};
use crate::error::{quote, IssueError};

/// Members whose entries must carry a `type` and whose `id`, when present, must be a URL
/// (§4.10 status, §4.11 data schemas, §5.4 refreshing, §5.5 terms of use, §5.6 evidence).
const TYPED_MEMBERS: &[&str] = &[
    "credentialStatus",
    "credentialSchema",
    "evidence",
    "termsOfUse",
    "refreshService",
];

/// The entries of `member`: one object (whose pointer is `/member`) or an array of them
/// (`/member/i`). Anything else is a single entry that the caller will refuse.
fn entries<'a>(object: &'a Map<String, Value>, member: &str) -> Vec<(String, &'a Value)> {
    match object.get(member) {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("/{member}/{i}"), item))
            .collect(),
        Some(other) => vec![(format!("/{member}"), other)],
    }
}

/// Checks the typed members and `relatedResource` of a credential.
pub(super) fn check(what: &'static str, object: &Map<String, Value>) -> Result<(), IssueError> {
    for member in TYPED_MEMBERS {
        for (path, entry) in entries(object, member) {
            let entry = entry.as_object().ok_or_else(|| IssueError::Invalid {
                what,
                path: path.clone(),
                reason: format!("each `{member}` entry must be an object with a `type`"),
            })?;
            if !entry
                .get("type")
                .is_some_and(|t| t.is_string() || t.is_array())
            {
                return Err(IssueError::Invalid {
                    what,
                    path: format!("{path}/type"),
                    reason: format!("each `{member}` entry must have a `type`"),
                });
            }
            match entry.get("id") {
                // §4.11: a schema is named by its URL.
                None if *member == "credentialSchema" => {
                    return Err(invalid(
                        what,
                        &format!("{path}/id"),
                        "each `credentialSchema` entry must have an `id`, the schema's URL",
                    ))
                }
                None => {}
                // §4.4: an `id`, where present, is a single URL.
                Some(id) => check_url(what, id, &format!("{path}/id"))?,
            }
        }
    }
    check_related_resources(what, object)
}

/// §5.3 Integrity of Related Resources: one or more objects, each with a URL `id` (no two
/// alike) and a digest, `digestSRI` or `digestMultibase`.
fn check_related_resources(
    what: &'static str,
    object: &Map<String, Value>,
) -> Result<(), IssueError> {
    let Some(value) = object.get("relatedResource") else {
        return Ok(());
    };
    if matches!(value, Value::Array(items) if items.is_empty()) {
        return Err(invalid(
            what,
            "/relatedResource",
            "`relatedResource` must hold one or more objects",
        ));
    }
    let mut seen = HashSet::new();
    for (path, entry) in entries(object, "relatedResource") {
        let entry = entry.as_object().ok_or_else(|| {
            invalid(
                what,
                &path,
                "each `relatedResource` entry must be an object with an `id` and a digest",
            )
        })?;
        let id = entry.get("id").ok_or_else(|| {
            invalid(
                what,
                &format!("{path}/id"),
                "each `relatedResource` entry must have an `id`",
            )
        })?;
        check_url(what, id, &format!("{path}/id"))?;
        let id = id.as_str().unwrap_or_default();
        if !seen.insert(id) {
            return Err(IssueError::Invalid {
                what,
                path: format!("{path}/id"),
                reason: format!("`{}` is listed twice in `relatedResource`", quote(id)),
            });
        }
        let mut digests = 0;
        for digest in ["digestSRI", "digestMultibase"] {
            match entry.get(digest) {
                None => {}
                Some(Value::String(text)) if !text.is_empty() => digests += 1,
                Some(_) => {
                    return Err(invalid(
                        what,
                        &format!("{path}/{digest}"),
                        "a digest must be a non-empty string",
                    ))
                }
            }
        }
        if digests == 0 {
            return Err(invalid(
                what,
                &path,
                "each `relatedResource` entry needs `digestSRI` or `digestMultibase`",
            ));
        }
    }
    Ok(())
}
