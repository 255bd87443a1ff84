//! Presentations: challenge, audience, replay and holder binding.

use std::sync::Arc;

use symbolon_identity::nonce::MemoryNonceStore;
use symbolon_identity::{create_presentation, Expectations, Format, Input, Outcome, VerifyError};

use crate::common::*;

fn expect(challenge: &str, audience: &str) -> Expectations {
    Expectations {
        challenge: challenge.into(),
        audience: audience.into(),
    }
}

/// A holder, and its presentation of a membership (`vc+jwt`) in every format, with
/// `challenge` and `audience`.
async fn member_presentations(
    challenge: &str,
    audience: &str,
) -> (
    symbolon_identity::Identity,
    Vec<(Format, symbolon_identity::Secured)>,
) {
    let authority = identity();
    let holder = identity();
    let credential = issue(&authority, membership(&authority, &holder.did), Format::Jwt).await;
    let mut presented = Vec::new();
    for format in FORMATS {
        let vp = create_presentation(
            &holder,
            std::slice::from_ref(&credential),
            format,
            challenge,
            audience,
        )
        .await
        .unwrap();
        presented.push((format, vp));
    }
    (holder, presented)
}

#[tokio::test]
async fn presentations_verify_in_every_format() {
    let authority = identity();
    let holder = identity();
    let verifier_did = identity().did.to_string();
    for credential_format in [Format::Jwt, Format::DataIntegrityJcs] {
        let credential = issue(
            &authority,
            membership(&authority, &holder.did),
            credential_format,
        )
        .await;
        for format in FORMATS {
            let vp = create_presentation(
                &holder,
                std::slice::from_ref(&credential),
                format,
                "nonce-1",
                &verifier_did,
            )
            .await
            .unwrap();
            let report = verifier()
                .verify_presentation(&input(&vp), &expect("nonce-1", &verifier_did))
                .await;
            assert!(
                report.verified,
                "{credential_format:?} in {format:?}: {:?}",
                report.error
            );
            assert_eq!(report.credentials.len(), 1);
            assert_eq!(report.outcome("holder_binding"), Some(Outcome::Passed));
        }
    }
}

#[tokio::test]
async fn wrong_challenge_and_audience_are_rejected() {
    let (_, presented) = member_presentations("nonce-1", "did:web:verifier.example").await;
    for (format, vp) in presented {
        let report = verifier()
            .verify_presentation(&input(&vp), &expect("nonce-2", "did:web:verifier.example"))
            .await;
        assert!(
            matches!(report.rejection(), Some(VerifyError::WrongChallenge { .. })),
            "{format:?}"
        );
        let report = verifier()
            .verify_presentation(&input(&vp), &expect("nonce-1", "did:web:other.example"))
            .await;
        assert!(
            matches!(report.rejection(), Some(VerifyError::WrongAudience { .. })),
            "{format:?}"
        );
    }
}

#[tokio::test]
async fn replayed_presentation_is_rejected() {
    let authority = identity();
    let holder = identity();
    let credential = issue(&authority, membership(&authority, &holder.did), Format::Jwt).await;
    let verifier = verifier().with_nonce_store(Arc::new(MemoryNonceStore::default()));
    for format in FORMATS {
        let nonce = format!("nonce-{format:?}");
        let vp = create_presentation(
            &holder,
            std::slice::from_ref(&credential),
            format,
            &nonce,
            "aud",
        )
        .await
        .unwrap();
        assert!(
            verifier
                .verify_presentation(&input(&vp), &expect(&nonce, "aud"))
                .await
                .verified
        );
        let again = verifier
            .verify_presentation(&input(&vp), &expect(&nonce, "aud"))
            .await;
        assert!(
            matches!(again.rejection(), Some(VerifyError::Replay(_))),
            "{format:?}"
        );
    }
}

#[tokio::test]
async fn holder_must_be_the_subject() {
    let authority = identity();
    let holder = identity();
    let thief = identity();
    let credential = issue(&authority, membership(&authority, &holder.did), Format::Jwt).await;
    let vp = create_presentation(&thief, &[credential], Format::Jwt, "n", "aud")
        .await
        .unwrap();
    let report = verifier()
        .verify_presentation(&input(&vp), &expect("n", "aud"))
        .await;
    assert!(
        matches!(report.rejection(), Some(VerifyError::HolderMismatch { .. })),
        "{:?}",
        report.error
    );
}

#[tokio::test]
async fn tampered_presentation_is_rejected() {
    let authority = identity();
    let holder = identity();
    let credential = issue(&authority, membership(&authority, &holder.did), Format::Jwt).await;
    let vp = create_presentation(&holder, &[credential], Format::DataIntegrityJcs, "n", "aud")
        .await
        .unwrap();
    let mut value = match vp {
        symbolon_identity::Secured::Json(value) => value,
        other => panic!("{other:?}"),
    };
    value["proof"]["challenge"] = "other".into();
    let report = verifier()
        .verify_presentation(&Input::Json(value), &expect("other", "aud"))
        .await;
    assert!(
        matches!(report.rejection(), Some(VerifyError::BadSignature(_))),
        "{:?}",
        report.error
    );
}

#[tokio::test]
async fn a_bad_credential_inside_fails_the_presentation() {
    let authority = identity();
    let holder = identity();
    let mut expired = membership(&authority, &holder.did);
    expired["validFrom"] = "2020-01-01T00:00:00Z".into();
    expired["validUntil"] = "2021-01-01T00:00:00Z".into();
    let credential = issue(&authority, expired, Format::Jwt).await;
    let vp = create_presentation(&holder, &[credential], Format::Jwt, "n", "aud")
        .await
        .unwrap();
    let report = verifier()
        .verify_presentation(&input(&vp), &expect("n", "aud"))
        .await;
    assert!(!report.verified);
    assert_eq!(report.outcome("credentials"), Some(Outcome::Failed));
    assert!(matches!(
        report.credentials[0].rejection(),
        Some(VerifyError::Expired(_))
    ));
}

// ---- Standards conformance, issue #16 point 1 ----------------------------------------------

use serde_json::{json, Value};
use symbolon_identity::data_integrity::{self, Cryptosuite, ProofParams};
use symbolon_identity::{jose, Identity, PresentationOptions, Secured};

fn options<'a>(
    challenge: &'a str,
    domain: Option<&'a str>,
    holder_binding: bool,
) -> PresentationOptions<'a> {
    PresentationOptions {
        challenge,
        domain,
        holder_binding,
    }
}

/// A presentation of `credentials` signed by `signer`, with `holder` as given (absent when
/// `Value::Null`), as a JWT (`nonce`, `aud`) or with a Data Integrity proof.
async fn presentation_by(
    signer: &Identity,
    holder: Value,
    credentials: &[Secured],
    format: Format,
    challenge: &str,
    domain: &str,
) -> Input {
    let mut vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": credentials.iter().map(|c| c.to_enveloped("vc+jwt")).collect::<Vec<_>>(),
    });
    if !holder.is_null() {
        vp["holder"] = holder;
    }
    let method = signer.verification_method();
    match format {
        Format::Jwt => {
            let now = chrono::Utc::now().timestamp();
            vp["nonce"] = challenge.into();
            vp["aud"] = domain.into();
            vp["iat"] = now.into();
            vp["exp"] = (now + 300).into();
            Input::Jwt(jose::sign(&signer.key, &method, "vp+jwt", &vp))
        }
        _ => {
            let params = ProofParams {
                authentication: true,
                challenge: Some(challenge),
                domain: Some(domain),
            };
            let suite = if format == Format::DataIntegrity {
                Cryptosuite::Rdfc
            } else {
                Cryptosuite::Jcs
            };
            Input::Json(
                data_integrity::sign(vp, &signer.key, &method, suite, &params)
                    .await
                    .unwrap(),
            )
        }
    }
}

// VC Data Model 2.0 §4.12 Verifiable Presentations: "holder" is optional; the presenter is
// then the controller of the key that signed it.
#[tokio::test]
async fn vc_dm_4_12_a_presentation_without_holder_verifies() {
    let authority = identity();
    let holder = identity();
    let credential = issue(&authority, membership(&authority, &holder.did), Format::Jwt).await;
    for format in FORMATS {
        let vp = presentation_by(
            &holder,
            Value::Null,
            std::slice::from_ref(&credential),
            format,
            "n",
            "aud",
        )
        .await;
        let report = verifier()
            .verify_presentation(&vp, &expect("n", "aud"))
            .await;
        assert!(report.verified, "{format:?}: {:?}", report.error);
        assert_eq!(report.signer.as_deref(), Some(holder.did.as_str()));
        assert_eq!(report.outcome("holder_binding"), Some(Outcome::Passed));
    }
}

// VC Data Model 2.0 §4.12: "holder" may be an object with an "id".
#[tokio::test]
async fn vc_dm_4_12_a_presentation_with_an_object_holder_verifies() {
    let authority = identity();
    let holder = identity();
    let credential = issue(&authority, membership(&authority, &holder.did), Format::Jwt).await;
    for format in FORMATS {
        let vp = presentation_by(
            &holder,
            json!({"id": holder.did.as_str()}),
            std::slice::from_ref(&credential),
            format,
            "n",
            "aud",
        )
        .await;
        let report = verifier()
            .verify_presentation(&vp, &expect("n", "aud"))
            .await;
        assert!(report.verified, "{format:?}: {:?}", report.error);
        // An object holder without `id`, or whose key did not sign, is refused.
        let thief = identity();
        let stolen = presentation_by(
            &thief,
            json!({"id": holder.did.as_str()}),
            std::slice::from_ref(&credential),
            format,
            "n",
            "aud",
        )
        .await;
        let report = verifier()
            .verify_presentation(&stolen, &expect("n", "aud"))
            .await;
        assert_eq!(
            report.outcome("signature"),
            Some(Outcome::Failed),
            "{format:?}"
        );
        let nameless = presentation_by(
            &holder,
            json!({"name": "no id"}),
            std::slice::from_ref(&credential),
            format,
            "n",
            "aud",
        )
        .await;
        let report = verifier()
            .verify_presentation(&nameless, &expect("n", "aud"))
            .await;
        assert!(
            matches!(report.rejection(), Some(VerifyError::Invalid(_))),
            "{format:?}: {:?}",
            report.error
        );
    }
}

// Holder binding is a verifier's policy, not a rule of VC Data Model 2.0 (§4.12, §8.5): an
// option of the verify call, reported as its own check; `verify_presentation` keeps it on.
#[tokio::test]
async fn holder_binding_is_an_option_reported_as_its_own_check() {
    let authority = identity();
    let subject = identity();
    let presenter = identity();
    let credential = issue(
        &authority,
        membership(&authority, &subject.did),
        Format::Jwt,
    )
    .await;
    let vp = create_presentation(&presenter, &[credential], Format::Jwt, "n", "aud")
        .await
        .unwrap();
    let off = verifier()
        .verify_presentation_with(&input(&vp), &options("n", Some("aud"), false))
        .await;
    assert!(off.verified, "{:?}", off.error);
    assert_eq!(off.outcome("holder_binding"), Some(Outcome::Skipped));
    let on = verifier()
        .verify_presentation_with(&input(&vp), &options("n", Some("aud"), true))
        .await;
    assert_eq!(on.outcome("holder_binding"), Some(Outcome::Failed));
    assert!(matches!(
        on.rejection(),
        Some(VerifyError::HolderMismatch { .. })
    ));
    let default = verifier()
        .verify_presentation(&input(&vp), &expect("n", "aud"))
        .await;
    assert_eq!(default.outcome("holder_binding"), Some(Outcome::Failed));
}

// VC-API §3.5.x (verify presentation): `options.domain` is optional.
#[tokio::test]
async fn vc_api_a_presentation_verifies_without_a_domain() {
    let (_, presented) = member_presentations("n", "anywhere").await;
    for (format, vp) in presented {
        let report = verifier()
            .verify_presentation_with(&input(&vp), &options("n", None, true))
            .await;
        assert!(report.verified, "{format:?}: {:?}", report.error);
        assert_eq!(report.outcome("audience"), Some(Outcome::Skipped));
        let report = verifier()
            .verify_presentation_with(&input(&vp), &options("other", None, true))
            .await;
        assert!(matches!(
            report.rejection(),
            Some(VerifyError::WrongChallenge { .. })
        ));
    }
}

// A challenge is single-use, but a presentation that failed must not burn it (issue #16).
#[tokio::test]
async fn a_failed_presentation_does_not_burn_its_challenge() {
    let authority = identity();
    let holder = identity();
    let mut expired = membership(&authority, &holder.did);
    expired["validFrom"] = "2020-01-01T00:00:00Z".into();
    expired["validUntil"] = "2021-01-01T00:00:00Z".into();
    let bad = issue(&authority, expired, Format::Jwt).await;
    let good = issue(&authority, membership(&authority, &holder.did), Format::Jwt).await;
    let store = Arc::new(MemoryNonceStore::default());
    let verifier = verifier().with_nonce_store(store.clone());
    for format in FORMATS {
        let nonce = format!("c-{format:?}");
        let failing =
            create_presentation(&holder, std::slice::from_ref(&bad), format, &nonce, "aud")
                .await
                .unwrap();
        let report = verifier
            .verify_presentation(&input(&failing), &expect(&nonce, "aud"))
            .await;
        assert!(!report.verified);
        assert_eq!(
            report.outcome("replay"),
            Some(Outcome::Skipped),
            "{format:?}"
        );
        assert!(
            !store.contains(&nonce),
            "{format:?}: the challenge was burnt"
        );
        let passing =
            create_presentation(&holder, std::slice::from_ref(&good), format, &nonce, "aud")
                .await
                .unwrap();
        let report = verifier
            .verify_presentation(&input(&passing), &expect(&nonce, "aud"))
            .await;
        assert!(report.verified, "{format:?}: {:?}", report.error);
        // Now used: a replay is refused before any credential is verified.
        let again = verifier
            .verify_presentation(&input(&passing), &expect(&nonce, "aud"))
            .await;
        assert!(matches!(again.rejection(), Some(VerifyError::Replay(_))));
        assert!(again.credentials.is_empty());
        assert_eq!(again.outcome("credentials"), Some(Outcome::Skipped));
    }
}

// VC Data Model 2.0 §4.13 Enveloped Verifiable Credentials, VC-JOSE-COSE §3.1.1: the
// envelope's `@context`, exact type and `data:` media type are checked.
#[tokio::test]
async fn vc_dm_4_13_a_malformed_envelope_inside_a_presentation_fails_it() {
    let authority = identity();
    let holder = identity();
    let credential = issue(&authority, membership(&authority, &holder.did), Format::Jwt).await;
    let Secured::Jwt(token) = &credential else {
        panic!("a JWT")
    };
    let envelopes = [
        json!({"@context": "https://www.w3.org/ns/credentials/v2", "type": "EnvelopedVerifiableCredential", "id": format!("data:application/vp+jwt,{token}")}),
        json!({"@context": "https://www.w3.org/ns/credentials/v2", "type": ["EnvelopedVerifiableCredential", "Other"], "id": format!("data:application/vc+jwt,{token}")}),
        json!({"type": "EnvelopedVerifiableCredential", "id": format!("data:application/vc+jwt,{token}")}),
        json!({"@context": "https://www.w3.org/ns/credentials/v2", "type": "EnvelopedVerifiablePresentation", "id": format!("data:application/vp+jwt,{token}")}),
    ];
    for (i, envelope) in envelopes.into_iter().enumerate() {
        let vp = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiablePresentation"],
            "holder": holder.did.as_str(),
            "verifiableCredential": [envelope.clone()],
            "nonce": "n", "aud": "aud",
        });
        let vp = Input::Jwt(jose::sign(
            &holder.key,
            &holder.verification_method(),
            "vp+jwt",
            &vp,
        ));
        let report = verifier()
            .verify_presentation(&vp, &expect("n", "aud"))
            .await;
        assert!(!report.verified, "{envelope}");
        assert_eq!(
            report.credentials[0].outcome("format"),
            Some(Outcome::Failed),
            "{envelope}"
        );
        // The same envelope as a credential on its own.
        assert!(Input::credential(envelope.clone()).is_err(), "{envelope}");
        if i < 3 {
            // Read leniently, a malformed envelope stays JSON and is refused as one.
            let report = verifier()
                .verify_credential(&Input::from_value(envelope.clone()))
                .await;
            assert_eq!(
                report.outcome("format"),
                Some(Outcome::Failed),
                "{envelope}"
            );
        }
    }
    let good = credential.to_enveloped("vc+jwt");
    assert!(matches!(Input::credential(good.clone()), Ok(Input::Jwt(_))));
    assert!(Input::presentation(good).is_err());
}
