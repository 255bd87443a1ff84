//! The subject of a `DataPermitCredential`: a health data access body's data permit (EHDS,
//! Regulation (EU) 2025/327, Art. 68), checked claim by claim as its JSON Schema
//! (`identity/schemas/DataPermitCredential.json`) says, so that a verifier holding only the
//! signed credential refuses a malformed one as an issuer would.

use serde_json::{Map, Value};

use super::{check_url, invalid, PERMIT_OUTPUT_MODES, PERMIT_PURPOSES};
use crate::error::{quote, IssueError};

const WHAT: &str = "credential";

/// Checks a data permit's subject.
pub(super) fn check(subject: &Map<String, Value>) -> Result<(), IssueError> {
    text(subject, "permitId")?;
    one_of(subject, "purpose", PERMIT_PURPOSES)?;
    datasets(subject)?;
    persons(subject)?;
    one_of(subject, "outputMode", PERMIT_OUTPUT_MODES)?;
    match subject.get("minimumCellSize").and_then(Value::as_u64) {
        Some(size) if size >= 1 => Ok(()),
        _ => Err(invalid(
            WHAT,
            "/credentialSubject/minimumCellSize",
            "a DataPermitCredential needs `minimumCellSize`, an integer of at least 1",
        )),
    }
}

fn text<'a>(subject: &'a Map<String, Value>, name: &str) -> Result<&'a str, IssueError> {
    subject
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| IssueError::Invalid {
            what: WHAT,
            path: format!("/credentialSubject/{name}"),
            reason: format!("a DataPermitCredential needs `{name}`, a non-empty string"),
        })
}

fn one_of(subject: &Map<String, Value>, name: &str, allowed: &[&str]) -> Result<(), IssueError> {
    let value = text(subject, name)?;
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(IssueError::Invalid {
        what: WHAT,
        path: format!("/credentialSubject/{name}"),
        reason: format!("`{}` is not one of {}", quote(value), allowed.join(", ")),
    })
}

fn datasets(subject: &Map<String, Value>) -> Result<(), IssueError> {
    let path = "/credentialSubject/datasets";
    let items = subject
        .get("datasets")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .ok_or_else(|| {
            invalid(
                WHAT,
                path,
                "a DataPermitCredential needs `datasets`, a non-empty array of catalog ids",
            )
        })?;
    let mut seen = std::collections::BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let id = item.as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
            invalid(
                WHAT,
                &format!("{path}/{i}"),
                "a dataset is its catalog id, a non-empty string",
            )
        })?;
        if !seen.insert(id) {
            return Err(IssueError::Invalid {
                what: WHAT,
                path: format!("{path}/{i}"),
                reason: format!("dataset `{}` is listed twice", quote(id)),
            });
        }
    }
    Ok(())
}

fn persons(subject: &Map<String, Value>) -> Result<(), IssueError> {
    let path = "/credentialSubject/authorisedPersons";
    let items = subject
        .get("authorisedPersons")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .ok_or_else(|| {
            invalid(
                WHAT,
                path,
                "a DataPermitCredential needs `authorisedPersons`, a non-empty array of \
                 {\"id\": DID, \"principalInvestigator\": true|false}",
            )
        })?;
    let mut investigators = 0;
    for (i, item) in items.iter().enumerate() {
        let person = item.as_object().ok_or_else(|| {
            invalid(
                WHAT,
                &format!("{path}/{i}"),
                "an authorised person is an object with an `id`",
            )
        })?;
        check_url(
            WHAT,
            person.get("id").unwrap_or(&Value::Null),
            &format!("{path}/{i}/id"),
        )?;
        match person.get("principalInvestigator") {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => investigators += 1,
            Some(_) => {
                return Err(invalid(
                    WHAT,
                    &format!("{path}/{i}/principalInvestigator"),
                    "`principalInvestigator` must be true or false",
                ))
            }
        }
    }
    if investigators != 1 {
        return Err(invalid(
            WHAT,
            path,
            "exactly one authorised person must be marked `\"principalInvestigator\": true`",
        ));
    }
    Ok(())
}
