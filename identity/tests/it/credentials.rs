//! Issuing and verifying credentials, and every way a credential is rejected.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use symbolon_identity::{
    credential, issue_credential, Format, Input, IssueError, KeyAlgorithm, Outcome, TrustList,
    VerifyError,
};

use crate::common::*;

#[tokio::test]
async fn issue_and_verify_in_every_format_and_key_type() {
    for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::P256] {
        let issuer = symbolon_identity::Identity::generate(alg);
        let subject = identity();
        for format in FORMATS {
            if alg == KeyAlgorithm::P256 && format == Format::DataIntegrityJcs {
                let err = issue_credential(&issuer, membership(&issuer, &subject.did), format)
                    .await
                    .unwrap_err();
                assert!(matches!(err, IssueError::Unsupported(_)));
                continue;
            }
            let signed = issue(&issuer, membership(&issuer, &subject.did), format).await;
            let report = verifier().verify_credential(&input(&signed)).await;
            assert!(report.verified, "{alg:?} {format:?}: {:?}", report.error);
            assert_eq!(report.types, vec!["DataSpaceMembershipCredential"]);
            assert_eq!(report.outcome("signature"), Some(Outcome::Passed));
        }
    }
}

#[tokio::test]
async fn enveloped_credentials_verify() {
    let issuer = identity();
    let signed = issue(&issuer, membership(&issuer, &identity().did), Format::Jwt).await;
    let report = verifier()
        .verify_credential(&Input::from_value(signed.to_enveloped("vc+jwt")))
        .await;
    assert!(report.verified, "{:?}", report.error);
}

fn jwt_parts(token: &str) -> (Value, Value, String) {
    let parts: Vec<&str> = token.split('.').collect();
    let header = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let payload = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    (header, payload, parts[2].to_owned())
}

fn jwt_from(header: &Value, payload: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        B64.encode(header.to_string()),
        B64.encode(payload.to_string())
    )
}

async fn rejection(text: &str) -> VerifyError {
    let report = verifier()
        .verify_credential(&Input::parse(text).unwrap())
        .await;
    assert!(!report.verified);
    report.rejection().cloned().unwrap()
}

#[tokio::test]
async fn jws_alg_none_is_rejected() {
    let issuer = identity();
    let signed = issue(&issuer, membership(&issuer, &identity().did), Format::Jwt)
        .await
        .to_text();
    let (mut header, payload, _) = jwt_parts(&signed);
    header["alg"] = "none".into();
    let forged = format!(
        "{}.{}.",
        B64.encode(header.to_string()),
        B64.encode(payload.to_string())
    );
    assert!(matches!(
        rejection(&forged).await,
        VerifyError::DisallowedAlgorithm(_)
    ));
}

#[tokio::test]
async fn algorithm_not_matching_the_key_is_rejected() {
    let issuer = identity();
    let signed = issue(&issuer, membership(&issuer, &identity().did), Format::Jwt)
        .await
        .to_text();
    let (mut header, payload, signature) = jwt_parts(&signed);
    header["alg"] = "ES256".into();
    let err = rejection(&jwt_from(&header, &payload, &signature)).await;
    assert!(
        matches!(err, VerifyError::AlgorithmKeyMismatch { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn tampered_jwt_payload_is_rejected() {
    let issuer = identity();
    let signed = issue(&issuer, membership(&issuer, &identity().did), Format::Jwt)
        .await
        .to_text();
    let (header, mut payload, signature) = jwt_parts(&signed);
    payload["credentialSubject"]["role"] = "Insurer".into();
    assert!(matches!(
        rejection(&jwt_from(&header, &payload, &signature)).await,
        VerifyError::BadSignature(_)
    ));
}

#[tokio::test]
async fn tampered_proof_value_is_rejected() {
    let issuer = identity();
    for format in [Format::DataIntegrity, Format::DataIntegrityJcs] {
        let mut signed = match issue(&issuer, membership(&issuer, &identity().did), format).await {
            symbolon_identity::Secured::Json(v) => v,
            other => panic!("{other:?}"),
        };
        let value = signed["proof"]["proofValue"].as_str().unwrap().to_owned();
        let mut chars: Vec<char> = value.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        signed["proof"]["proofValue"] = chars.into_iter().collect::<String>().into();
        let err = rejection(&signed.to_string()).await;
        assert!(
            matches!(err, VerifyError::BadSignature(_)),
            "{format:?}: {err}"
        );
    }
}

#[tokio::test]
async fn expired_and_not_yet_valid_are_rejected() {
    let issuer = identity();
    let subject = identity();
    for format in FORMATS {
        let mut expired = membership(&issuer, &subject.did);
        expired["validFrom"] = credential::format_time(Utc::now() - Duration::days(10)).into();
        expired["validUntil"] = credential::format_time(Utc::now() - Duration::days(1)).into();
        let signed = issue(&issuer, expired, format).await;
        assert!(
            matches!(rejection(&signed.to_text()).await, VerifyError::Expired(_)),
            "{format:?}"
        );

        let mut future = membership(&issuer, &subject.did);
        future["validFrom"] = credential::format_time(Utc::now() + Duration::days(1)).into();
        let signed = issue(&issuer, future, format).await;
        assert!(
            matches!(
                rejection(&signed.to_text()).await,
                VerifyError::NotYetValid(_)
            ),
            "{format:?}"
        );
    }
}

#[tokio::test]
async fn clock_skew_within_leeway_is_accepted() {
    let issuer = identity();
    let mut credential = membership(&issuer, &identity().did);
    credential["validFrom"] = credential::format_time(Utc::now() + Duration::seconds(20)).into();
    let signed = issue(&issuer, credential, Format::Jwt).await;
    assert!(verifier().verify_credential(&input(&signed)).await.verified);
}

#[tokio::test]
async fn untrusted_issuer_and_wrong_data_space_are_rejected() {
    let authority = identity();
    let rogue = identity();
    let subject = identity();
    let entries = [(
        authority.did.to_string(),
        ["DataSpaceMembershipCredential".to_owned()].into(),
    )]
    .into();
    let trust_credential = TrustList::credential(&authority.did, DATA_SPACE, &entries).unwrap();
    let trust = TrustList::from_verified_credential(&trust_credential).unwrap();
    let verifier = verifier().with_trust_list(trust);

    let good = issue(
        &authority,
        membership(&authority, &subject.did),
        Format::Jwt,
    )
    .await;
    assert!(verifier.verify_credential(&input(&good)).await.verified);

    let forged = issue(&rogue, membership(&rogue, &subject.did), Format::Jwt).await;
    let report = verifier.verify_credential(&input(&forged)).await;
    assert!(
        matches!(
            report.rejection(),
            Some(VerifyError::UntrustedIssuer { .. })
        ),
        "{:?}",
        report.error
    );
    assert_eq!(report.outcome("trust"), Some(Outcome::Failed));

    let consent = credential::build(
        &authority.did,
        "ConsentCredential",
        &subject.did,
        &json!({"datasetId": "ds-1", "purposes": ["scientific-research"], "scope": "ibd"}),
        None,
    )
    .unwrap();
    let signed = issue(&authority, consent, Format::Jwt).await;
    let report = verifier.verify_credential(&input(&signed)).await;
    assert!(
        matches!(
            report.rejection(),
            Some(VerifyError::UntrustedIssuer { .. })
        ),
        "type not allowed"
    );

    let mut elsewhere = membership(&authority, &subject.did);
    elsewhere["credentialSubject"]["dataSpaceId"] = "another-space".into();
    let signed = issue(&authority, elsewhere, Format::Jwt).await;
    let report = verifier.verify_credential(&input(&signed)).await;
    assert!(matches!(
        report.rejection(),
        Some(VerifyError::WrongDataSpace { .. })
    ));
}

#[tokio::test]
async fn unknown_and_malformed_dids_are_rejected() {
    let issuer = identity();
    let signed = issue(&issuer, membership(&issuer, &identity().did), Format::Jwt)
        .await
        .to_text();
    let (mut header, mut payload, signature) = jwt_parts(&signed);
    payload["issuer"] = "did:example:123".into();
    header["kid"] = "did:example:123#key-1".into();
    let err = rejection(&jwt_from(&header, &payload, &signature)).await;
    assert_eq!(err.code(), "method_not_supported", "{err}");

    payload["issuer"] = "did:key:z6MkNOTAKEY".into();
    header["kid"] = "did:key:z6MkNOTAKEY#z6MkNOTAKEY".into();
    let err = rejection(&jwt_from(&header, &payload, &signature)).await;
    assert_eq!(err.code(), "invalid_did", "{err}");
}

#[tokio::test]
async fn undefined_json_ld_terms_are_errors() {
    let issuer = identity();
    let mut unsigned = membership(&issuer, &identity().did);
    unsigned["credentialSubject"]["shoeSize"] = 44.into();
    for format in [Format::DataIntegrity, Format::DataIntegrityJcs] {
        let err = issue_credential(&issuer, unsigned.clone(), format)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("JSON-LD"), "{err}");
    }
    // A signed credential that gains an undefined term is rejected at verification.
    let signed = match issue(
        &issuer,
        membership(&issuer, &identity().did),
        Format::DataIntegrityJcs,
    )
    .await
    {
        symbolon_identity::Secured::Json(v) => v,
        other => panic!("{other:?}"),
    };
    let mut altered = signed;
    altered["credentialSubject"]["shoeSize"] = 44.into();
    let err = rejection(&altered.to_string()).await;
    assert!(matches!(err, VerifyError::JsonLd(_)), "{err}");
}

#[tokio::test]
async fn oversized_and_deeply_nested_inputs_are_rejected() {
    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    assert!(matches!(
        Input::parse(&big),
        Err(VerifyError::TooLarge { .. })
    ));
    let deep = format!("{}{}", "{\"a\":".repeat(5000), "}".repeat(5000));
    assert!(matches!(Input::parse(&deep), Err(VerifyError::TooDeep(_))));
    let deep_payload = B64.encode("[".repeat(5000));
    let token = format!("{}.{deep_payload}.AA", B64.encode(r#"{"alg":"EdDSA"}"#));
    let report = verifier()
        .verify_credential(&Input::parse(&token).unwrap())
        .await;
    assert!(matches!(report.rejection(), Some(VerifyError::TooDeep(_))));
}

#[tokio::test]
async fn malformed_inputs_never_panic() {
    let samples = [
        "",
        "{}",
        "[]",
        "null",
        "\"\"",
        "a.b.c",
        "{\"proof\":{}}",
        "{\"proof\":[]}",
        "eyJhbGciOiJFZERTQSJ9.e30.AA",
        "{\"@context\":[]}",
    ];
    for sample in samples {
        let Ok(input) = Input::parse(sample) else {
            continue;
        };
        let report = verifier().verify_credential(&input).await;
        assert!(!report.verified, "{sample}");
        assert!(report.error.is_some());
    }
}

#[tokio::test]
async fn credentials_are_validated_before_signing() {
    let issuer = identity();
    let mut unsigned = membership(&issuer, &identity().did);
    unsigned["credentialStatus"] = json!({"id": "https://x.example/1"});
    let err = issue_credential(&issuer, unsigned, Format::Jwt)
        .await
        .unwrap_err();
    // A single status object's pointer is `/credentialStatus`, not `/credentialStatus/0`.
    assert!(err.to_string().contains("/credentialStatus/type"), "{err}");

    let other = identity();
    let unsigned = membership(&other, &identity().did);
    let err = issue_credential(&issuer, unsigned, Format::Jwt)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/issuer"), "{err}");
}

#[tokio::test]
async fn errors_never_contain_the_private_key() {
    let issuer = identity();
    let secret = B64.encode(issuer.key.secret_bytes().as_slice());
    let mut unsigned = membership(&issuer, &identity().did);
    unsigned["credentialSubject"]["bogus"] = 1.into();
    let err = issue_credential(&issuer, unsigned, Format::DataIntegrity)
        .await
        .unwrap_err();
    assert!(!err.to_string().contains(&secret));
    assert!(!format!("{issuer:?}").contains(&secret));
}
