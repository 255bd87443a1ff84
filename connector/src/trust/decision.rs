//! Whether a trust list received over the peer network replaces the one installed: pure
//! functions, no I/O. The signature, not the sender, is what counts: a list is taken only when
//! its anchor (its signer) is the installed list's anchor, it governs the same data space and
//! it is strictly newer (a later `validFrom`).

use serde_json::Value;
use symbolon_identity::verify::peek_jwt_payload;

use super::InstalledTrustList;

/// The largest trust list credential accepted from a peer (256 KiB).
pub const MAX_CREDENTIAL_BYTES: usize = 256 * 1024;

/// What becomes of a received, verified list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It is newer than the one it was compared with: install it (or keep it for approval).
    Newer,
    /// It is the one compared with (the same credential, or the same content and date).
    Unchanged,
    /// It is not taken, for this reason.
    Refused(Refusal),
}

/// Why a list from a peer is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    /// Not a compact JWT whose payload can be read.
    Malformed,
    /// Signed (or claiming to be signed) by another authority than the installed list's anchor.
    OtherAnchor,
    /// Its signature, validity period or content does not verify as a TrustListCredential.
    Invalid,
    /// It governs another data space.
    OtherDataSpace,
    /// It states no `validFrom` (nor `iat`), so it cannot be ordered.
    Undated,
    /// It is not newer than the installed (or pending) list.
    Stale,
}

impl Refusal {
    /// Its name in answers and in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::OtherAnchor => "other-anchor",
            Refusal::Invalid => "invalid",
            Refusal::OtherDataSpace => "other-data-space",
            Refusal::Undated => "undated",
            Refusal::Stale => "stale",
        }
    }
}

/// Why a `trust-list-updated` message cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// `credential` is missing or not a string.
    #[error("`credential`: the TrustListCredential, a compact JWT string, is missing")]
    Missing,
    /// `credential` is larger than [`MAX_CREDENTIAL_BYTES`].
    #[error("`credential`: {size} bytes, more than the {MAX_CREDENTIAL_BYTES} accepted")]
    TooLarge {
        /// Its size in bytes.
        size: usize,
    },
    /// `credential` is no compact JWT (three base64url parts).
    #[error("`credential`: not a compact JWT (three base64url parts separated by `.`)")]
    NotJwt,
}

/// The credential a `trust-list-updated` message carries, checked for size and shape.
pub fn credential_of(payload: &Value) -> Result<&str, MessageError> {
    let credential = payload
        .get("credential")
        .and_then(Value::as_str)
        .ok_or(MessageError::Missing)?;
    if credential.len() > MAX_CREDENTIAL_BYTES {
        return Err(MessageError::TooLarge {
            size: credential.len(),
        });
    }
    let parts: Vec<&str> = credential.trim().split('.').collect();
    let base64url = |part: &&str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if parts.len() != 3 || !parts.iter().all(base64url) {
        return Err(MessageError::NotJwt);
    }
    Ok(credential.trim())
}

/// Checks, before anything is verified (and so before any DID is resolved), that `token`
/// claims the installed list's anchor as its issuer: a list of any other signer is refused
/// without a network call.
pub fn precheck(installed: &InstalledTrustList, token: &str) -> Result<(), Refusal> {
    let payload = peek_jwt_payload(token).ok_or(Refusal::Malformed)?;
    let issuer = symbolon_identity::credential::issuer_id(&payload).ok_or(Refusal::Malformed)?;
    if issuer == installed.list.anchor {
        Ok(())
    } else {
        Err(Refusal::OtherAnchor)
    }
}

/// Whether the verified list `received` replaces `current` (the installed list, or the one
/// pending approval): same anchor, same data space, other entries and a strictly later
/// `validFrom`. The same entries, whatever the date (the same credential, or one signed again),
/// are [`Verdict::Unchanged`]: nothing would change, and nothing is passed on. Other entries
/// with an earlier or the same date are [`Refusal::Stale`]. A current list without a date is
/// older than any dated one.
pub fn decide(current: &InstalledTrustList, received: &InstalledTrustList) -> Verdict {
    if received.list.anchor != current.list.anchor {
        return Verdict::Refused(Refusal::OtherAnchor);
    }
    if received.list.data_space != current.list.data_space {
        return Verdict::Refused(Refusal::OtherDataSpace);
    }
    if received.credential == current.credential || received.list == current.list {
        return Verdict::Unchanged;
    }
    match (received.valid_from, current.valid_from) {
        (None, _) => Verdict::Refused(Refusal::Undated),
        (Some(_), None) => Verdict::Newer,
        (Some(new), Some(old)) if new > old => Verdict::Newer,
        _ => Verdict::Refused(Refusal::Stale),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::collections::{BTreeMap, BTreeSet};

    use base64::Engine as _;
    use chrono::{DateTime, Duration, Utc};
    use serde_json::json;
    use symbolon_identity::TrustList;

    use super::*;

    const ANCHOR: &str = "did:key:z6MkAnchor";

    fn list(
        anchor: &str,
        data_space: &str,
        issuers: &[&str],
        valid_from: Option<DateTime<Utc>>,
    ) -> InstalledTrustList {
        let entries: BTreeMap<String, BTreeSet<String>> = issuers
            .iter()
            .map(|i| ((*i).to_owned(), BTreeSet::from(["X".to_owned()])))
            .collect();
        InstalledTrustList {
            credential: format!("{anchor}|{data_space}|{issuers:?}|{valid_from:?}"),
            list: TrustList {
                data_space: data_space.to_owned(),
                anchor: anchor.to_owned(),
                entries,
            },
            valid_from,
            id: None,
        }
    }

    fn jwt(payload: &Value) -> String {
        let b64 = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!("{}.{}.c2ln", b64(&json!({"alg": "EdDSA"})), b64(payload))
    }

    #[test]
    fn a_later_list_of_the_same_anchor_and_data_space_is_newer() {
        let t = Utc::now() - Duration::hours(1);
        let installed = list(ANCHOR, "hds", &["did:key:a"], Some(t));
        let later = list(
            ANCHOR,
            "hds",
            &["did:key:a", "did:key:b"],
            Some(t + Duration::seconds(1)),
        );
        assert_eq!(decide(&installed, &later), Verdict::Newer);
        // Lists are dated to the millisecond: one issued a millisecond later is newer.
        let next_millisecond = list(
            ANCHOR,
            "hds",
            &["did:key:a", "did:key:c"],
            Some(t + Duration::milliseconds(1)),
        );
        assert_eq!(decide(&installed, &next_millisecond), Verdict::Newer);
        // An undated installed list is older than any dated one.
        let undated = list(ANCHOR, "hds", &["did:key:c"], None);
        assert_eq!(decide(&undated, &installed), Verdict::Newer);
    }

    #[test]
    fn the_same_list_is_unchanged() {
        let t = Utc::now();
        let installed = list(ANCHOR, "hds", &["did:key:a"], Some(t));
        assert_eq!(decide(&installed, &installed.clone()), Verdict::Unchanged);
        // Signed again (another credential) with the same entries, even later.
        let again = InstalledTrustList {
            credential: "another signature".into(),
            valid_from: Some(t + Duration::days(1)),
            ..installed.clone()
        };
        assert_eq!(decide(&installed, &again), Verdict::Unchanged);
        assert_eq!(decide(&again, &installed), Verdict::Unchanged);
    }

    #[test]
    fn an_older_list_or_another_with_the_same_date_is_stale() {
        let t = Utc::now();
        let installed = list(ANCHOR, "hds", &["did:key:a"], Some(t));
        let older = list(
            ANCHOR,
            "hds",
            &["did:key:a", "did:key:b"],
            Some(t - Duration::seconds(1)),
        );
        assert_eq!(decide(&installed, &older), Verdict::Refused(Refusal::Stale));
        let same_date = list(ANCHOR, "hds", &["did:key:b"], Some(t));
        assert_eq!(
            decide(&installed, &same_date),
            Verdict::Refused(Refusal::Stale)
        );
        let undated = list(ANCHOR, "hds", &["did:key:b"], None);
        assert_eq!(
            decide(&installed, &undated),
            Verdict::Refused(Refusal::Undated)
        );
    }

    #[test]
    fn another_anchor_or_data_space_is_refused_however_new() {
        let t = Utc::now();
        let installed = list(ANCHOR, "hds", &["did:key:a"], Some(t));
        let later = Some(t + Duration::days(1));
        let forged = list("did:key:z6MkForger", "hds", &["did:key:f"], later);
        assert_eq!(
            decide(&installed, &forged),
            Verdict::Refused(Refusal::OtherAnchor)
        );
        let elsewhere = list(ANCHOR, "other-space", &["did:key:a"], later);
        assert_eq!(
            decide(&installed, &elsewhere),
            Verdict::Refused(Refusal::OtherDataSpace)
        );
    }

    #[test]
    fn only_the_anchors_claimed_lists_pass_the_precheck() {
        let installed = list(ANCHOR, "hds", &["did:key:a"], None);
        let own = jwt(&json!({"issuer": ANCHOR, "credentialSubject": {}}));
        assert_eq!(precheck(&installed, &own), Ok(()));
        let other = jwt(&json!({"issuer": {"id": "did:key:z6MkForger"}}));
        assert_eq!(precheck(&installed, &other), Err(Refusal::OtherAnchor));
        assert_eq!(precheck(&installed, "a.b.c"), Err(Refusal::Malformed));
        let no_issuer = jwt(&json!({"credentialSubject": {}}));
        assert_eq!(precheck(&installed, &no_issuer), Err(Refusal::Malformed));
    }

    #[test]
    fn messages_are_bounded_and_must_carry_a_compact_jwt() {
        let token = jwt(&json!({"issuer": ANCHOR}));
        assert_eq!(
            credential_of(&json!({"credential": token})),
            Ok(token.as_str())
        );
        assert_eq!(credential_of(&json!({})), Err(MessageError::Missing));
        assert_eq!(
            credential_of(&json!({"credential": 7})),
            Err(MessageError::Missing)
        );
        for not_jwt in [
            "",
            "abc",
            "a.b",
            "a.b.c.d",
            "a..c",
            "a.b c.d",
            "{\"issuer\":1}",
        ] {
            assert_eq!(
                credential_of(&json!({ "credential": not_jwt })),
                Err(MessageError::NotJwt),
                "{not_jwt}"
            );
        }
        let huge = format!(
            "{}.{}.c2ln",
            "e".repeat(8),
            "p".repeat(MAX_CREDENTIAL_BYTES)
        );
        let error = credential_of(&json!({ "credential": huge })).unwrap_err();
        assert!(matches!(error, MessageError::TooLarge { .. }));
        assert!(error.to_string().contains("262144"), "{error}");
    }
}
