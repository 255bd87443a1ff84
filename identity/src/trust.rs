//! The trust list: which issuer DID may issue which credential types in a data space.
//!
//! It is itself a `TrustListCredential` signed by the data space's authority; installing it
//! verifies that signature and makes the signer the trust anchor.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};

use crate::context::{CREDENTIALS_V2_CONTEXT, SYMBOLON_CONTEXT};
use crate::did::Did;
use crate::error::{quote, DidError, IssueError, VerifyError};

/// A verified trust list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustList {
    /// The data space it governs.
    pub data_space: String,
    /// The authority that signed it.
    pub anchor: String,
    /// Issuer DID → credential types it may issue.
    pub entries: BTreeMap<String, BTreeSet<String>>,
}

impl TrustList {
    /// The unsigned `TrustListCredential` for `entries`, issued by `authority`.
    pub fn credential(
        authority: &Did,
        data_space: &str,
        entries: &BTreeMap<String, BTreeSet<String>>,
    ) -> Result<Value, IssueError> {
        if data_space.is_empty() {
            return Err(IssueError::Invalid {
                what: "credential",
                path: "/credentialSubject/dataSpaceId".into(),
                reason: "the data space id is empty".into(),
            });
        }
        for issuer in entries.keys() {
            Did::parse(issuer).map_err(|e| IssueError::Invalid {
                what: "credential",
                path: "/credentialSubject/trustedIssuers".into(),
                reason: e.to_string(),
            })?;
        }
        let trusted: Vec<Value> = entries
            .iter()
            .map(|(issuer, types)| json!({"issuerDid": issuer, "credentialTypes": types}))
            .collect();
        Ok(json!({
            "@context": [CREDENTIALS_V2_CONTEXT, SYMBOLON_CONTEXT],
            "id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            "type": ["VerifiableCredential", "TrustListCredential"],
            "issuer": authority.as_str(),
            // Milliseconds: of two lists of one authority, the later `validFrom` is the newer,
            // so two issued within the same second must still be told apart.
            "validFrom": crate::credential::format_time_millis(chrono::Utc::now()),
            "credentialSubject": {
                "id": authority.as_str(),
                "dataSpaceId": data_space,
                "trustedIssuers": trusted,
            }
        }))
    }

    /// Reads a trust list from a credential whose signature has already been verified.
    pub fn from_verified_credential(credential: &Value) -> Result<TrustList, VerifyError> {
        let malformed = |why: &str| VerifyError::Malformed(format!("trust list: {why}"));
        if !crate::credential::specific_types(credential)
            .iter()
            .any(|t| t == "TrustListCredential")
        {
            return Err(malformed("not a TrustListCredential"));
        }
        let anchor = crate::credential::issuer_id(credential)
            .ok_or_else(|| malformed("no issuer"))?
            .to_owned();
        let subject = credential
            .get("credentialSubject")
            .ok_or_else(|| malformed("no subject"))?;
        let data_space = subject
            .get("dataSpaceId")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("no dataSpaceId"))?
            .to_owned();
        let mut entries = BTreeMap::new();
        for entry in subject
            .get("trustedIssuers")
            .and_then(Value::as_array)
            .ok_or_else(|| malformed("no trustedIssuers"))?
        {
            let issuer = entry
                .get("issuerDid")
                .and_then(Value::as_str)
                .ok_or_else(|| malformed("an entry has no issuerDid"))?;
            let types: BTreeSet<String> = match entry.get("credentialTypes") {
                Some(Value::Array(types)) => types
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                Some(Value::String(t)) => BTreeSet::from([t.clone()]),
                _ => return Err(malformed("an entry has no credentialTypes")),
            };
            entries.insert(issuer.to_owned(), types);
        }
        Ok(TrustList {
            data_space,
            anchor,
            entries,
        })
    }

    /// Whether `issuer` may issue `credential_type`.
    pub fn allows(&self, issuer: &str, credential_type: &str) -> bool {
        self.entries
            .get(issuer)
            .is_some_and(|types| types.contains(credential_type))
    }

    /// Checks every specific type of a credential against the list, and that a membership
    /// credential is for this data space.
    pub fn check(&self, credential: &Value) -> Result<(), VerifyError> {
        let issuer = crate::credential::issuer_id(credential).unwrap_or_default();
        let types = crate::credential::specific_types(credential);
        if types.is_empty() {
            return Err(VerifyError::UntrustedIssuer {
                issuer: quote(issuer),
                credential_type: "VerifiableCredential".into(),
                data_space: self.data_space.clone(),
            });
        }
        for credential_type in &types {
            if !self.allows(issuer, credential_type) {
                return Err(VerifyError::UntrustedIssuer {
                    issuer: quote(issuer),
                    credential_type: quote(credential_type),
                    data_space: self.data_space.clone(),
                });
            }
        }
        if types.iter().any(|t| t == "DataSpaceMembershipCredential") {
            let found = credential
                .pointer("/credentialSubject/dataSpaceId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if found != self.data_space {
                return Err(VerifyError::WrongDataSpace {
                    expected: self.data_space.clone(),
                    found: quote(found),
                });
            }
        }
        Ok(())
    }
}

/// Why a trust list entry (`ISSUER_DID=TYPE[,TYPE...]`) was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TrustEntryError {
    /// The text has no `=`.
    #[error("`{0}` is not ISSUER_DID=TYPE[,TYPE...]")]
    NotAnEntry(String),
    /// The issuer is not a valid DID.
    #[error("the issuer of a trust list entry is not a valid DID: {0}")]
    InvalidIssuer(#[from] DidError),
    /// The entry names no credential type.
    #[error("`{0}` names no credential type")]
    NoType(String),
}

/// Parses `ISSUER_DID=TYPE[,TYPE...]` (the CLI's `--entry`).
pub fn parse_entry(text: &str) -> Result<(String, BTreeSet<String>), TrustEntryError> {
    let (issuer, types) = text
        .split_once('=')
        .ok_or_else(|| TrustEntryError::NotAnEntry(quote(text)))?;
    Did::parse(issuer)?;
    let types: BTreeSet<String> = types
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if types.is_empty() {
        return Err(TrustEntryError::NoType(quote(text)));
    }
    Ok((issuer.to_owned(), types))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_or_say_why_not() {
        let (issuer, types) =
            parse_entry("did:web:hds.example=DataSpaceMembershipCredential, X").unwrap();
        assert_eq!(issuer, "did:web:hds.example");
        assert_eq!(types.len(), 2);
        assert!(matches!(
            parse_entry("did:web:hds.example"),
            Err(TrustEntryError::NotAnEntry(_))
        ));
        let err = parse_entry("not a did=X").unwrap_err();
        assert!(matches!(err, TrustEntryError::InvalidIssuer(_)));
        assert!(std::error::Error::source(&err).is_some());
        assert!(matches!(
            parse_entry("did:web:hds.example= ,"),
            Err(TrustEntryError::NoType(_))
        ));
    }

    #[test]
    fn a_list_is_dated_to_the_millisecond() {
        let authority = Did::parse("did:web:hds.example").unwrap();
        let before = chrono::Utc::now();
        let credential = TrustList::credential(&authority, "hds", &BTreeMap::new()).unwrap();
        let after = chrono::Utc::now();
        let text = credential["validFrom"].as_str().unwrap();
        // `2026-12-03T18:00:08.123Z`: three digits of the second's fraction.
        assert_eq!(text.len(), 24, "{text}");
        assert_eq!(text.as_bytes()[19], b'.', "{text}");
        let valid_from = crate::credential::parse_time(text).unwrap();
        let truncated = before
            - chrono::Duration::nanoseconds(i64::from(before.timestamp_subsec_nanos() % 1_000_000));
        assert!(truncated <= valid_from && valid_from <= after, "{text}");
    }
}
