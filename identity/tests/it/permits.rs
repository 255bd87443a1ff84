//! `DataPermitCredential`: a health data access body's data permit verifies in every format
//! when the trust list trusts the body for the type; a malformed permit is refused before it is
//! signed, naming the claim; a tampered one, or one from an issuer not trusted for permits,
//! does not verify.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Value};
use symbolon_identity::{
    credential, Did, Format, Identity, Outcome, Secured, TrustList, VerifyError,
};

use crate::common::*;

fn claims() -> Value {
    json!({
        "permitId": "HDAB-NL-2026-0042",
        "purpose": "scientific-research",
        "datasets": ["ibd-registry-2024", "ward-statistics"],
        "authorisedPersons": [
            {"id": "did:web:insurer.example:people:pi", "principalInvestigator": true},
            {"id": "did:web:insurer.example:people:analyst"}
        ],
        "outputMode": "anonymised-statistics",
        "minimumCellSize": 10
    })
}

fn until() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::days(365)
}

/// An unsigned permit from `hdab` about `subject` with `claims`.
fn permit(hdab: &Identity, subject: &Did, claims: &Value) -> Result<Value, String> {
    credential::build(
        &hdab.did,
        "DataPermitCredential",
        subject,
        claims,
        Some(until()),
    )
    .map_err(|e| e.to_string())
}

/// A verifier whose trust list trusts `hdab` for permits and `authority` for memberships.
fn trusting(authority: &Identity, hdab: &Identity) -> symbolon_identity::Verifier {
    let entries = [
        (
            authority.did.to_string(),
            ["DataSpaceMembershipCredential".to_owned()].into(),
        ),
        (
            hdab.did.to_string(),
            ["DataPermitCredential".to_owned()].into(),
        ),
    ]
    .into();
    let list = TrustList::credential(&authority.did, DATA_SPACE, &entries).unwrap();
    verifier().with_trust_list(TrustList::from_verified_credential(&list).unwrap())
}

#[tokio::test]
async fn a_permit_from_the_trusted_hdab_verifies_in_every_format() {
    let (authority, hdab, user) = (identity(), identity(), identity());
    let verifier = trusting(&authority, &hdab);
    for format in FORMATS {
        let unsigned = permit(&hdab, &user.did, &claims()).unwrap();
        let signed = issue(&hdab, unsigned, format).await;
        let report = verifier.verify_credential(&input(&signed)).await;
        assert!(report.verified, "{format:?}: {:?}", report.error);
        assert_eq!(report.types, vec!["DataPermitCredential"]);
        assert_eq!(report.outcome("trust"), Some(Outcome::Passed));
    }
}

#[test]
fn a_malformed_permit_is_refused_before_signing_naming_the_claim() {
    let (hdab, user) = (identity(), identity());
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "no permit id",
            json!({"permitId": null}),
            "/credentialSubject/permitId",
        ),
        (
            "an Art. 54 purpose",
            json!({"purpose": "marketing"}),
            "/credentialSubject/purpose",
        ),
        (
            "no datasets",
            json!({"datasets": []}),
            "/credentialSubject/datasets",
        ),
        (
            "a dataset twice",
            json!({"datasets": ["a", "a"]}),
            "/credentialSubject/datasets",
        ),
        (
            "an empty dataset id",
            json!({"datasets": [""]}),
            "/credentialSubject/datasets",
        ),
        (
            "no persons",
            json!({"authorisedPersons": []}),
            "/credentialSubject/authorisedPersons",
        ),
        (
            "no principal investigator",
            json!({"authorisedPersons": [{"id": "did:web:a"}]}),
            "/credentialSubject/authorisedPersons",
        ),
        (
            "two principal investigators",
            json!({"authorisedPersons": [{"id": "did:web:a", "principalInvestigator": true},
                                         {"id": "did:web:b", "principalInvestigator": true}]}),
            "/credentialSubject/authorisedPersons",
        ),
        (
            "a person who is no DID",
            json!({"authorisedPersons": [{"id": "Dr. Jansen", "principalInvestigator": true}]}),
            "/credentialSubject/authorisedPersons/0/id",
        ),
        (
            "a raw export",
            json!({"outputMode": "raw-export"}),
            "/credentialSubject/outputMode",
        ),
        (
            "cells of 0",
            json!({"minimumCellSize": 0}),
            "/credentialSubject/minimumCellSize",
        ),
        (
            "cells of text",
            json!({"minimumCellSize": "10"}),
            "/credentialSubject/minimumCellSize",
        ),
    ];
    for (what, change, path) in cases {
        let mut bad = claims();
        for (name, value) in change.as_object().unwrap() {
            if value.is_null() {
                bad.as_object_mut().unwrap().remove(name);
            } else {
                bad[name] = value.clone();
            }
        }
        let error = permit(&hdab, &user.did, &bad).unwrap_err();
        assert!(error.contains(path), "{what}: {error}");
        // The verifier's own check refuses the same document.
        let mut document = permit(&hdab, &user.did, &claims()).unwrap();
        document["credentialSubject"] = bad;
        document["credentialSubject"]["id"] = user.did.as_str().into();
        assert!(credential::validate(&document).is_err(), "{what}");
    }
    let error = credential::build(
        &hdab.did,
        "DataPermitCredential",
        &user.did,
        &claims(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("/validUntil"),
        "a permit has a period: {error}"
    );
}

#[tokio::test]
async fn a_tampered_permit_does_not_verify() {
    let (authority, hdab, user) = (identity(), identity(), identity());
    let verifier = trusting(&authority, &hdab);
    let signed = issue(
        &hdab,
        permit(&hdab, &user.did, &claims()).unwrap(),
        Format::Jwt,
    )
    .await
    .to_text();
    // Widen the datasets in the JWT's payload, keeping the signature.
    let parts: Vec<&str> = signed.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    payload["credentialSubject"]["datasets"] = json!(["ibd-registry-2024", "everything"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(payload.to_string()),
        parts[2]
    );
    let report = verifier
        .verify_credential(&symbolon_identity::Input::parse(&forged).unwrap())
        .await;
    assert!(!report.verified);
    assert!(
        matches!(report.rejection(), Some(VerifyError::BadSignature(_))),
        "{:?}",
        report.error
    );

    // The same with an embedded proof: another person added to the permit.
    for format in [Format::DataIntegrity, Format::DataIntegrityJcs] {
        let unsigned = permit(&hdab, &user.did, &claims()).unwrap();
        let Secured::Json(mut document) = issue(&hdab, unsigned, format).await else {
            panic!("{format:?} is a JSON document");
        };
        document["credentialSubject"]["authorisedPersons"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": "did:web:intruder.example"}));
        let report = verifier
            .verify_credential(&symbolon_identity::Input::parse(&document.to_string()).unwrap())
            .await;
        assert!(!report.verified, "{format:?}");
        assert_eq!(
            report.outcome("signature"),
            Some(Outcome::Failed),
            "{format:?}"
        );
    }
}

#[tokio::test]
async fn a_permit_from_an_issuer_not_trusted_for_permits_does_not_verify() {
    let (authority, hdab, user) = (identity(), identity(), identity());
    let verifier = trusting(&authority, &hdab);
    // The membership authority is trusted, but not for permits; a stranger not at all.
    for issuer in [&authority, &identity()] {
        let signed = issue(
            issuer,
            permit(issuer, &user.did, &claims()).unwrap(),
            Format::Jwt,
        )
        .await;
        let report = verifier.verify_credential(&input(&signed)).await;
        assert!(
            matches!(
                report.rejection(),
                Some(VerifyError::UntrustedIssuer { .. })
            ),
            "{:?}",
            report.error
        );
    }
}
