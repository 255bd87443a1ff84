//! Verifiable Credentials (VC Data Model 2.0): building the Symbolon health data-space
//! credentials and validating any credential before it is signed.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::context::{
    is_known_context, CREDENTIALS_V1_CONTEXT, CREDENTIALS_V2_CONTEXT, DATA_INTEGRITY_V2_CONTEXT,
    SYMBOLON_CONTEXT,
};
use crate::did::Did;
use crate::error::{quote, IssueError};

mod members;
mod permit;

/// The roles an organisation can hold in a health data space.
pub const ROLES: &[&str] = &[
    "Hospital",
    "Insurer",
    "StatisticsBureau",
    "TrialSponsor",
    "TrialSite",
    "Auditor",
    "Pharmacy",
    "Authority",
];

/// The Symbolon credential types.
pub const SYMBOLON_TYPES: &[&str] = &[
    "DataSpaceMembershipCredential",
    "ConsentCredential",
    "TrialSiteCredential",
    "AuditorCredential",
    "TrustListCredential",
    "DataPermitCredential",
];

/// The purposes of EHDS Art. 53(1) a data permit is granted for, by code: (a) to (f).
pub const PERMIT_PURPOSES: &[&str] = &[
    "public-health",
    "policy-making",
    "official-statistics",
    "education",
    "scientific-research",
    "care-improvement",
];

/// How the results of a data permit leave: inside a secure processing environment (EHDS
/// Art. 73) or as anonymised statistics only (Art. 69).
pub const PERMIT_OUTPUT_MODES: &[&str] = &["secure-processing", "anonymised-statistics"];

/// Builds an unsigned credential of `credential_type` with the given subject claims.
///
/// `claims` is an object of subject properties; its `id` is set to `subject`.
pub fn build(
    issuer: &Did,
    credential_type: &str,
    subject: &Did,
    claims: &Value,
    valid_until: Option<DateTime<Utc>>,
) -> Result<Value, IssueError> {
    let mut subject_object = match claims {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        _ => {
            return Err(invalid(
                "credential",
                "/credentialSubject",
                "the claims must be a JSON object",
            ))
        }
    };
    subject_object.insert("id".into(), subject.as_str().into());
    let mut types = vec![Value::from("VerifiableCredential")];
    if credential_type != "VerifiableCredential" {
        types.push(credential_type.into());
    }
    let mut credential = json!({
        "@context": [CREDENTIALS_V2_CONTEXT, SYMBOLON_CONTEXT],
        "id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "type": types,
        "issuer": issuer.as_str(),
        "validFrom": format_time(Utc::now()),
        "credentialSubject": Value::Object(subject_object),
    });
    if let (Some(until), Some(object)) = (valid_until, credential.as_object_mut()) {
        object.insert("validUntil".into(), format_time(until).into());
    }
    validate(&credential)?;
    crate::schemas::check(&credential)?;
    Ok(credential)
}

/// Whether `document` is a VC Data Model 1.1 credential or presentation: its first context is
/// `https://www.w3.org/2018/credentials/v1`.
pub fn is_v1(document: &Value) -> bool {
    crate::json::first_str(document.get("@context")) == Some(CREDENTIALS_V1_CONTEXT)
}

/// The same credential in the VC Data Model 1.1: the 1.1 base context (and the Data Integrity
/// context its proof needs) instead of the 2.0 one, `issuanceDate` and `expirationDate`
/// instead of `validFrom` and `validUntil` (`issuanceDate` is now when none was set).
/// A 1.1 credential is returned unchanged.
pub fn to_v1_1(credential: &Value) -> Value {
    let mut converted = credential.clone();
    if is_v1(credential) {
        return converted;
    }
    if let Some(object) = converted.as_object_mut() {
        let mut contexts = vec![
            Value::from(CREDENTIALS_V1_CONTEXT),
            Value::from(DATA_INTEGRITY_V2_CONTEXT),
        ];
        contexts.extend(
            crate::json::one_or_many(credential.get("@context"))
                .into_iter()
                .filter(|c| {
                    !matches!(
                        c.as_str(),
                        Some(CREDENTIALS_V2_CONTEXT | DATA_INTEGRITY_V2_CONTEXT)
                    )
                })
                .cloned(),
        );
        object.insert("@context".into(), Value::Array(contexts));
        let issued = object
            .remove("validFrom")
            .unwrap_or_else(|| format_time(Utc::now()).into());
        object.insert("issuanceDate".into(), issued);
        if let Some(until) = object.remove("validUntil") {
            object.insert("expirationDate".into(), until);
        }
    }
    converted
}

/// Formats a time as an XSD dateTimeStamp with second precision.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats a time as an XSD dateTimeStamp with millisecond precision (truncated, never
/// rounded up into the future), for dates that order documents issued in quick succession.
pub fn format_time_millis(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses an XSD dateTimeStamp (RFC 3339 with a time zone).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn invalid(what: &'static str, path: &str, reason: &str) -> IssueError {
    IssueError::Invalid {
        what,
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Checks a credential against the VC Data Model 2.0 rules and, for Symbolon types, the
/// shape of their subject. Called before signing; verifiers call it too.
pub fn validate(credential: &Value) -> Result<(), IssueError> {
    let what = "credential";
    let (object, types) = envelope(what, credential, "VerifiableCredential")?;
    if let Some(id) = object.get("id") {
        check_url(what, id, "/id")?;
    }
    match object.get("issuer") {
        Some(issuer @ Value::String(_)) => check_url(what, issuer, "/issuer")?,
        Some(Value::Object(issuer)) => {
            check_url(what, issuer.get("id").unwrap_or(&Value::Null), "/issuer/id")?
        }
        _ => {
            return Err(invalid(
                what,
                "/issuer",
                "`issuer` must be a URL or an object with an `id`",
            ))
        }
    }
    let subjects: Vec<&Map<String, Value>> = match object.get("credentialSubject") {
        Some(Value::Object(subject)) => vec![subject],
        Some(Value::Array(subjects)) if !subjects.is_empty() => subjects
            .iter()
            .map(|s| {
                s.as_object().ok_or_else(|| {
                    invalid(what, "/credentialSubject", "each subject must be an object")
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(invalid(
                what,
                "/credentialSubject",
                "`credentialSubject` must be an object or a non-empty array",
            ))
        }
    };
    for (i, subject) in subjects.iter().enumerate() {
        if subject.is_empty() {
            return Err(invalid(
                what,
                &format!("/credentialSubject/{i}"),
                "a subject must make at least one claim",
            ));
        }
        if let Some(id) = subject.get("id") {
            if !is_url(id) {
                return Err(url_expected(what, &format!("/credentialSubject/{i}/id")));
            }
        }
    }
    // VC 1.1 (§4.6, §4.7) names the window `issuanceDate` (required) and `expirationDate`;
    // VC 2.0 (§4.9) `validFrom` and `validUntil`, both optional.
    let v1 = is_v1(credential);
    let (from_name, until_name) = if v1 {
        ("issuanceDate", "expirationDate")
    } else {
        ("validFrom", "validUntil")
    };
    if v1 && !object.contains_key("issuanceDate") {
        return Err(invalid(
            what,
            "/issuanceDate",
            "a VC 1.1 credential needs `issuanceDate` (VC Data Model 1.1 §4.6)",
        ));
    }
    let valid_from = check_time(what, object, from_name)?;
    let valid_until = check_time(what, object, until_name)?;
    if let (Some(from), Some(until)) = (valid_from, valid_until) {
        if until < from {
            return Err(invalid(
                what,
                &format!("/{until_name}"),
                &format!("`{until_name}` is before `{from_name}`"),
            ));
        }
    }
    members::check(what, object)?;
    if let Some(subject) = subjects.first() {
        validate_symbolon_subject(&types, subject)?;
    }
    if types.iter().any(|t| t == "DataPermitCredential") && valid_until.is_none() {
        return Err(invalid(
            what,
            &format!("/{until_name}"),
            "a DataPermitCredential needs `validUntil`: a data permit is granted for a period",
        ));
    }
    Ok(())
}

/// Checks a presentation's envelope (contexts, type, id, holder). The holder is optional; when
/// present it is a URL or an object with an `id` that is one (VC Data Model 2.0 §4.12).
pub fn validate_presentation(presentation: &Value) -> Result<(), IssueError> {
    let what = "presentation";
    let (object, _) = envelope(what, presentation, "VerifiablePresentation")?;
    if let Some(id) = object.get("id") {
        check_url(what, id, "/id")?;
    }
    match object.get("holder") {
        None => {}
        Some(Value::Object(holder)) => {
            check_url(what, holder.get("id").unwrap_or(&Value::Null), "/holder/id")?
        }
        Some(holder) => check_url(what, holder, "/holder")?,
    }
    Ok(())
}

/// The holder's id of a presentation: `holder` as a string, or its `id` as an object.
pub fn holder_id(presentation: &Value) -> Option<&str> {
    match presentation.get("holder") {
        Some(Value::String(id)) => Some(id),
        Some(Value::Object(holder)) => holder.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// Checks what credentials and presentations share: a JSON object, its contexts, and a
/// `type` that includes `base_type`. Returns the object and its types.
fn envelope<'a>(
    what: &'static str,
    document: &'a Value,
    base_type: &str,
) -> Result<(&'a Map<String, Value>, Vec<String>), IssueError> {
    let object = document.as_object().ok_or_else(|| IssueError::Invalid {
        what,
        path: "/".into(),
        reason: format!("a {what} must be a JSON object"),
    })?;
    validate_contexts(what, object)?;
    let types = string_types(what, object.get("type"), "/type")?;
    if !types.iter().any(|t| t == base_type) {
        return Err(IssueError::Invalid {
            what,
            path: "/type".into(),
            reason: format!("`type` must include `{base_type}`"),
        });
    }
    Ok((object, types))
}

fn validate_contexts(what: &'static str, object: &Map<String, Value>) -> Result<(), IssueError> {
    let contexts = match object.get("@context") {
        Some(Value::Array(contexts)) => contexts,
        _ => return Err(invalid(what, "/@context", "`@context` must be an array")),
    };
    if !matches!(
        contexts.first().and_then(Value::as_str),
        Some(CREDENTIALS_V2_CONTEXT | CREDENTIALS_V1_CONTEXT)
    ) {
        return Err(invalid(
            what,
            "/@context/0",
            "the first context must be `https://www.w3.org/ns/credentials/v2` (or, for VC \
             1.1, `https://www.w3.org/2018/credentials/v1`)",
        ));
    }
    for (i, context) in contexts.iter().enumerate() {
        match context {
            Value::String(url) if is_known_context(url) => {}
            Value::String(url) => {
                return Err(IssueError::Invalid {
                    what,
                    path: format!("/@context/{i}"),
                    reason: format!(
                        "unknown context `{}`; only bundled contexts are accepted",
                        quote(url)
                    ),
                })
            }
            Value::Object(_) => {}
            _ => {
                return Err(invalid(
                    what,
                    &format!("/@context/{i}"),
                    "a context must be a URL or an object",
                ))
            }
        }
    }
    Ok(())
}

fn string_types(
    what: &'static str,
    value: Option<&Value>,
    path: &str,
) -> Result<Vec<String>, IssueError> {
    match value {
        Some(Value::String(t)) => Ok(vec![t.clone()]),
        Some(Value::Array(types)) if !types.is_empty() => types
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(what, path, "every type must be a string"))
            })
            .collect(),
        _ => Err(invalid(
            what,
            path,
            "`type` must be a string or a non-empty array of strings",
        )),
    }
}

/// Checks that `value` is a URL (VC Data Model 2.0 §4.4): an RFC 3986 scheme, a colon, and
/// no whitespace, at most 4096 characters.
fn check_url(what: &'static str, value: &Value, path: &str) -> Result<(), IssueError> {
    if is_url(value) {
        Ok(())
    } else {
        Err(url_expected(what, path))
    }
}

fn url_expected(what: &'static str, path: &str) -> IssueError {
    invalid(what, path, "must be a URL (such as a DID or `urn:uuid:…`)")
}

/// Whether `value` is a string that reads as a URL: a scheme, something after it, no
/// whitespace, at most 4 KiB.
fn is_url(value: &Value) -> bool {
    let has_scheme = |text: &str| {
        text.split_once(':').is_some_and(|(scheme, rest)| {
            !rest.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        })
    };
    value.as_str().is_some_and(|text| {
        text.len() <= 4096 && has_scheme(text) && !text.chars().any(char::is_whitespace)
    })
}

fn check_time(
    what: &'static str,
    object: &Map<String, Value>,
    member: &str,
) -> Result<Option<DateTime<Utc>>, IssueError> {
    match object.get(member) {
        None => Ok(None),
        Some(Value::String(text)) => {
            parse_time(text)
                .map(Some)
                .ok_or_else(|| IssueError::Invalid {
                    what,
                    path: format!("/{member}"),
                    reason: format!(
                        "`{}` is not an RFC 3339 date-time with a time zone",
                        quote(text)
                    ),
                })
        }
        Some(_) => Err(invalid(
            what,
            &format!("/{member}"),
            "must be a date-time string",
        )),
    }
}

/// Checks the subject of the Symbolon credential types.
fn validate_symbolon_subject(
    types: &[String],
    subject: &Map<String, Value>,
) -> Result<(), IssueError> {
    let what = "credential";
    let need_string = |name: &str| -> Result<&str, IssueError> {
        subject
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| IssueError::Invalid {
                what,
                path: format!("/credentialSubject/{name}"),
                reason: format!(
                    "a {} needs `{name}`",
                    types.last().map(String::as_str).unwrap_or("credential")
                ),
            })
    };
    for credential_type in types {
        match credential_type.as_str() {
            "DataSpaceMembershipCredential" => {
                need_string("legalName")?;
                need_string("registrationNumber")?;
                need_string("dataSpaceId")?;
                if subject.get("publicSector").is_some_and(|v| !v.is_boolean()) {
                    return Err(invalid(
                        what,
                        "/credentialSubject/publicSector",
                        "`publicSector` must be true or false",
                    ));
                }
                let role = need_string("role")?;
                if !ROLES.contains(&role) {
                    return Err(IssueError::Invalid {
                        what,
                        path: "/credentialSubject/role".into(),
                        reason: format!(
                            "role `{}` is not one of {}",
                            quote(role),
                            ROLES.join(", ")
                        ),
                    });
                }
            }
            "ConsentCredential" => {
                if need_string("datasetId").is_err() && need_string("cohortId").is_err() {
                    return Err(invalid(
                        what,
                        "/credentialSubject",
                        "a ConsentCredential needs `datasetId` or `cohortId`",
                    ));
                }
                let purposes = subject.get("purposes").and_then(Value::as_array);
                if !purposes.is_some_and(|p| !p.is_empty() && p.iter().all(Value::is_string)) {
                    return Err(invalid(
                        what,
                        "/credentialSubject/purposes",
                        "`purposes` must be a non-empty array of strings",
                    ));
                }
            }
            "TrialSiteCredential" => {
                need_string("trialId")?;
                need_string("siteId")?;
            }
            "DataPermitCredential" => permit::check(subject)?,
            "TrustListCredential" => {
                need_string("dataSpaceId")?;
                if !subject.get("trustedIssuers").is_some_and(Value::is_array) {
                    return Err(invalid(
                        what,
                        "/credentialSubject/trustedIssuers",
                        "a TrustListCredential needs `trustedIssuers`",
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The credential's types other than `VerifiableCredential`.
pub fn specific_types(credential: &Value) -> Vec<String> {
    crate::json::strings(credential.get("type"))
        .into_iter()
        .filter(|t| *t != "VerifiableCredential")
        .map(str::to_owned)
        .collect()
}

/// The issuer's id.
pub fn issuer_id(credential: &Value) -> Option<&str> {
    match credential.get("issuer") {
        Some(Value::String(id)) => Some(id),
        Some(Value::Object(issuer)) => issuer.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// The subject ids (one per subject that has one).
pub fn subject_ids(credential: &Value) -> Vec<&str> {
    crate::json::one_or_many(credential.get("credentialSubject"))
        .into_iter()
        .filter_map(|s| s.get("id").and_then(Value::as_str))
        .collect()
}

#[cfg(test)]
mod tests;
