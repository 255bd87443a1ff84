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
    let authority = identity();
    let holder = identity();
    let credential = issue(&authority, membership(&authority, &holder.did), Format::Jwt).await;
    for format in FORMATS {
        let vp = create_presentation(
            &holder,
            std::slice::from_ref(&credential),
            format,
            "nonce-1",
            "did:web:verifier.example",
        )
        .await
        .unwrap();
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
