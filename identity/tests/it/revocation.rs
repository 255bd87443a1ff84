//! Bitstring Status List: revoked and suspended credentials are rejected.

use std::sync::Arc;

use symbolon_identity::status_list::{
    self, StaticStatusSource, StatusFetchError, StatusList, StatusPurpose,
};
use symbolon_identity::{jose, Format, Identity, VerifyError};

use crate::common::*;

const REVOCATION: &str = "https://authority.example/status/revocation";
const SUSPENSION: &str = "https://authority.example/status/suspension";

fn publish(
    source: &StaticStatusSource,
    issuer: &Identity,
    url: &str,
    purpose: StatusPurpose,
    list: &StatusList,
) {
    let credential = list.credential(&issuer.did, url, purpose);
    source.insert(
        url,
        jose::sign(
            &issuer.key,
            &issuer.verification_method(),
            "vc+jwt",
            &credential,
        ),
    );
}

#[tokio::test]
async fn revoked_and_suspended_credentials_are_rejected() {
    let authority = identity();
    let subject = identity();
    let source = Arc::new(StaticStatusSource::default());
    let mut revocation = StatusList::new();
    let mut suspension = StatusList::new();
    publish(
        &source,
        &authority,
        REVOCATION,
        StatusPurpose::Revocation,
        &revocation,
    );
    publish(
        &source,
        &authority,
        SUSPENSION,
        StatusPurpose::Suspension,
        &suspension,
    );
    // Verified lists are reused while their text is unchanged: a change is seen at once.
    let verifier = verifier()
        .with_status_source(source.clone())
        .with_verified_lists(Arc::default());

    for (index, format) in FORMATS.into_iter().enumerate() {
        let index = 1000 + index as u64;
        let mut unsigned = membership(&authority, &subject.did);
        unsigned["credentialStatus"] = serde_json::json!([
            status_list::entry(REVOCATION, StatusPurpose::Revocation, index),
            status_list::entry(SUSPENSION, StatusPurpose::Suspension, index),
        ]);
        let signed = issue(&authority, unsigned, format).await;
        assert!(
            verifier.verify_credential(&input(&signed)).await.verified,
            "{format:?} fresh"
        );

        suspension.set(index, true).unwrap();
        publish(
            &source,
            &authority,
            SUSPENSION,
            StatusPurpose::Suspension,
            &suspension,
        );
        let report = verifier.verify_credential(&input(&signed)).await;
        assert!(
            matches!(report.rejection(), Some(VerifyError::Suspended { .. })),
            "{format:?}: {:?}",
            report.error
        );

        suspension.set(index, false).unwrap();
        publish(
            &source,
            &authority,
            SUSPENSION,
            StatusPurpose::Suspension,
            &suspension,
        );
        assert!(
            verifier.verify_credential(&input(&signed)).await.verified,
            "{format:?} reinstated"
        );

        revocation.set(index, true).unwrap();
        publish(
            &source,
            &authority,
            REVOCATION,
            StatusPurpose::Revocation,
            &revocation,
        );
        let report = verifier.verify_credential(&input(&signed)).await;
        assert!(
            matches!(report.rejection(), Some(VerifyError::Revoked { .. })),
            "{format:?}: {:?}",
            report.error
        );
    }
}

#[tokio::test]
async fn a_list_signed_by_someone_else_or_missing_fails_closed() {
    let authority = identity();
    let impostor = identity();
    let subject = identity();
    let source = Arc::new(StaticStatusSource::default());
    publish(
        &source,
        &impostor,
        REVOCATION,
        StatusPurpose::Revocation,
        &StatusList::new(),
    );
    let verifier = verifier().with_status_source(source);
    let mut unsigned = membership(&authority, &subject.did);
    unsigned["credentialStatus"] = status_list::entry(REVOCATION, StatusPurpose::Revocation, 7);
    let signed = issue(&authority, unsigned.clone(), Format::Jwt).await;
    let report = verifier.verify_credential(&input(&signed)).await;
    assert!(
        matches!(report.rejection(), Some(VerifyError::StatusUnavailable(_))),
        "{:?}",
        report.error
    );

    unsigned["credentialStatus"] = status_list::entry(SUSPENSION, StatusPurpose::Suspension, 7);
    let signed = issue(&authority, unsigned, Format::Jwt).await;
    let report = verifier.verify_credential(&input(&signed)).await;
    let rejection = report.rejection().unwrap();
    assert!(
        matches!(rejection, VerifyError::StatusFetch(e) if matches!(**e, StatusFetchError::NotFound(_))),
        "{rejection:?}"
    );
    assert_eq!(rejection.code(), "status_unavailable");
    assert!(
        std::error::Error::source(rejection).is_some(),
        "the cause is kept"
    );
}

#[tokio::test]
async fn a_kept_credential_stops_standing_once_revoked_or_expired() {
    let authority = identity();
    let subject = identity();
    let source = Arc::new(StaticStatusSource::default());
    let mut revocation = StatusList::new();
    publish(
        &source,
        &authority,
        REVOCATION,
        StatusPurpose::Revocation,
        &revocation,
    );
    let verifier = verifier()
        .with_status_source(source.clone())
        .with_verified_lists(Arc::default());
    let mut unsigned = membership(&authority, &subject.did);
    unsigned["credentialStatus"] = status_list::entry(REVOCATION, StatusPurpose::Revocation, 42);
    let report = verifier
        .verify_credential(&input(&issue(&authority, unsigned, Format::Jwt).await))
        .await;
    assert!(report.verified, "{:?}", report.error);
    let kept = report.document.expect("a verified credential's document");
    verifier
        .check_standing(&kept)
        .await
        .expect("a fresh credential stands");

    revocation.set(42, true).unwrap();
    publish(
        &source,
        &authority,
        REVOCATION,
        StatusPurpose::Revocation,
        &revocation,
    );
    assert!(matches!(
        verifier.check_standing(&kept).await,
        Err(VerifyError::Revoked { index: 42, .. })
    ));

    let mut expired = kept.clone();
    expired["validUntil"] = "2020-01-01T00:00:00Z".into();
    expired.as_object_mut().unwrap().remove("credentialStatus");
    assert!(matches!(
        verifier.check_standing(&expired).await,
        Err(VerifyError::Expired(_))
    ));

    let mut unreachable = kept;
    unreachable["credentialStatus"] = status_list::entry(
        "https://authority.example/status/elsewhere",
        StatusPurpose::Revocation,
        1,
    );
    let missing = verifier.check_standing(&unreachable).await;
    assert!(
        matches!(missing, Err(VerifyError::StatusFetch(_))),
        "{missing:?}"
    );
}

// Bitstring Status List v1.0 §2.1 (`statusPurpose` `message`, `statusSize`, `statusMessage`)
// and §3.2 (validation): a message entry is reported with its message, never rejected.
#[tokio::test]
async fn bitstring_status_list_3_2_a_message_status_is_reported_not_rejected() {
    const MESSAGES: &str = "https://authority.example/status/messages";
    let authority = identity();
    let subject = identity();
    let source = Arc::new(StaticStatusSource::default());
    let mut list = StatusList::new();
    // Entry 5 of two bits each: bits 10 and 11 = 0b10.
    list.set(10, true).unwrap();
    let mut credential = list.credential(&authority.did, MESSAGES, StatusPurpose::Revocation);
    credential["credentialSubject"]["statusPurpose"] = "message".into();
    source.insert(
        MESSAGES,
        jose::sign(
            &authority.key,
            &authority.verification_method(),
            "vc+jwt",
            &credential,
        ),
    );
    let verifier = verifier().with_status_source(source.clone());
    let mut unsigned = membership(&authority, &subject.did);
    unsigned["credentialStatus"] = serde_json::json!({
        "type": "BitstringStatusListEntry",
        "statusPurpose": "message",
        "statusListIndex": "5",
        "statusListCredential": MESSAGES,
        "statusSize": 2,
        "statusMessage": [
            {"status": "0x0", "message": "pending"},
            {"status": "0x1", "message": "accepted"},
            {"status": "0x2", "message": "under review"},
            {"status": "0x3", "message": "withdrawn"}
        ]
    });
    for format in FORMATS {
        let signed = issue(&authority, unsigned.clone(), format).await;
        let report = verifier.verify_credential(&input(&signed)).await;
        assert!(report.verified, "{format:?}: {:?}", report.error);
        assert_eq!(report.status_messages.len(), 1);
        assert_eq!(report.status_messages[0].status, "0x2");
        assert_eq!(
            report.status_messages[0].message.as_deref(),
            Some("under review")
        );
    }
    // An oversized `statusSize` is refused as malformed, not read.
    unsigned["credentialStatus"]["statusSize"] = 64.into();
    let signed = issue(&authority, unsigned, Format::Jwt).await;
    let report = verifier.verify_credential(&input(&signed)).await;
    assert!(matches!(
        report.rejection(),
        Some(VerifyError::Malformed(_))
    ));
}

// Bitstring Status List v1.0 §3 (a status list credential may be secured by any mechanism):
// the verifier reads a Data Integrity–secured JSON-LD list as it reads a VC-JOSE one.
#[tokio::test]
async fn bitstring_status_list_a_data_integrity_list_is_read_too() {
    let authority = identity();
    let subject = identity();
    let source = Arc::new(StaticStatusSource::default());
    let mut list = StatusList::new();
    list.set(77, true).unwrap();
    let credential = list.credential(&authority.did, REVOCATION, StatusPurpose::Revocation);
    let signed = issue(&authority, credential, Format::DataIntegrity).await;
    source.insert(REVOCATION, signed.to_text());
    let verifier = verifier().with_status_source(source.clone());
    for (index, revoked) in [(76, false), (77, true)] {
        let mut unsigned = membership(&authority, &subject.did);
        unsigned["credentialStatus"] =
            status_list::entry(REVOCATION, StatusPurpose::Revocation, index);
        let vc = issue(&authority, unsigned, Format::Jwt).await;
        let report = verifier.verify_credential(&input(&vc)).await;
        assert_eq!(report.verified, !revoked, "{index}: {:?}", report.error);
        if revoked {
            assert!(matches!(
                report.rejection(),
                Some(VerifyError::Revoked { .. })
            ));
        }
    }
}
