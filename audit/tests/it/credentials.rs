//! Embedded credentials and presentations are checked offline.

use serde_json::json;
use symbolon_audit::{verify_bundle, AuditEvent, FindingKind as K};
use symbolon_identity::{
    create_presentation, credential, issue_credential, Format, Identity, KeyAlgorithm, Secured,
};

use crate::common::{org, Org};

/// A membership credential for `member` by `issuer`, signed in `format`.
async fn membership(issuer: &Identity, member: &Identity, format: Format) -> String {
    let unsigned = credential::build(
        &issuer.did,
        "DataSpaceMembershipCredential",
        &member.did,
        &json!({"legalName": "Org", "registrationNumber": "KvK-1", "role": "Hospital", "dataSpaceId": "hds"}),
        None,
    )
    .unwrap();
    issue_credential(issuer, unsigned, format)
        .await
        .unwrap()
        .to_text()
}

/// A membership credential for `member`, signed by `issuer` as a JWT.
async fn membership_jwt(issuer: &Identity, member: &Identity) -> String {
    membership(issuer, member, Format::Jwt).await
}

/// Logs that `org` verified `presentation` by `member`.
fn log_presentation(org: &Org, member: &Identity, presentation: &str) {
    org.log
        .append(
            &AuditEvent::new(
                "presentation.verified",
                org.did.as_str(),
                member.did.as_str(),
                "ok",
            )
            .with_details(json!({"presentation": presentation})),
        )
        .unwrap();
}

/// Logs the issuance of `token` by `issuer` and signs a head.
fn log_issuance(org: &Org, issuer: &Identity, id: &str, token: &str) {
    org.log
        .append(
            &AuditEvent::new("credential.issued", issuer.did.as_str(), id, "ok")
                .with_details(json!({"credential": token})),
        )
        .unwrap();
    org.log.sign_head(&org.key, &org.did).unwrap();
}

/// Verifies a bundle off the async runtime's thread.
async fn verify(bundle: symbolon_audit::AuditBundle) -> symbolon_audit::BundleReport {
    tokio::task::spawn_blocking(move || verify_bundle(&bundle))
        .await
        .unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn credentials_are_checked_and_a_broken_one_is_named() {
    let authority = Identity::generate(KeyAlgorithm::Ed25519);
    let member = Identity::generate(KeyAlgorithm::Ed25519);
    let token = membership_jwt(&authority, &member).await;
    let vp = create_presentation(
        &member,
        &[Secured::Jwt(token.clone())],
        Format::Jwt,
        "n-1",
        "did:key:zAud",
    )
    .await
    .unwrap();
    let org = org();
    org.log
        .append(
            &AuditEvent::new("credential.issued", authority.did.as_str(), "urn:c", "ok")
                .with_details(json!({"credential": token})),
        )
        .unwrap();
    log_presentation(&org, &member, &vp.to_text());
    org.log.sign_head(&org.key, &org.did).unwrap();
    let mut bundle = org.bundle();
    bundle.credentials.push(json!(token));
    let report = verify(bundle).await;
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.credentials_checked, 3);
    assert_eq!(report.of_kind(K::NotChecked).count(), 1);

    // A credential whose signature is broken is named by entry, even when logged that way.
    let mut broken = token.clone();
    broken.pop();
    broken.push(if token.ends_with('A') { 'B' } else { 'A' });
    log_issuance(&org, &authority, "urn:c2", &broken);
    let report = verify(org.bundle()).await;
    let bad: Vec<_> = report.of_kind(K::CredentialInvalid).collect();
    assert_eq!(bad.len(), 1, "{report}");
    assert_eq!(bad[0].index, Some(2));
}

#[tokio::test(flavor = "current_thread")]
async fn a_did_web_issuer_is_checked_from_the_document_in_the_bundle() {
    let key = Identity::generate(KeyAlgorithm::Ed25519).key;
    let issuer = Identity {
        key,
        did: symbolon_identity::Did::parse("did:web:authority.example").unwrap(),
    };
    let member = Identity::generate(KeyAlgorithm::Ed25519);
    let token = membership_jwt(&issuer, &member).await;
    let method = issuer.verification_method();
    let document = json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": issuer.did.as_str(),
        "verificationMethod": [{
            "id": method,
            "type": "Multikey",
            "controller": issuer.did.as_str(),
            "publicKeyMultibase": issuer.key.public_key().to_multibase(),
        }],
        "assertionMethod": [method],
    });
    let org = org();
    log_issuance(&org, &issuer, "urn:c", &token);

    // Without the issuer's document the proof cannot be checked offline: the report says
    // which document is missing (before: the credential was reported as failing its proof).
    let report = verify(org.bundle()).await;
    assert!(!report.is_valid());
    assert_eq!(report.of_kind(K::CredentialInvalid).count(), 0, "{report}");
    let missing: Vec<_> = report.of_kind(K::MissingDidDocument).collect();
    assert_eq!(missing.len(), 1, "{report}");
    assert_eq!(missing[0].index, Some(0));
    assert!(
        missing[0].message.contains("`did:web:authority.example`"),
        "{report}"
    );
    assert_eq!(report.missing_did_documents, ["did:web:authority.example"]);

    // With it, the credential verifies.
    let mut bundle = org.bundle();
    bundle
        .did_documents
        .insert(issuer.did.to_string(), document.clone());
    let report = verify(bundle).await;
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.credentials_checked, 1);

    // A document filed under the DID but naming another is not used.
    let mut bundle = org.bundle();
    let mut impostor = document;
    impostor["id"] = json!("did:web:other.example");
    bundle
        .did_documents
        .insert(issuer.did.to_string(), impostor);
    let report = verify(bundle).await;
    assert_eq!(report.of_kind(K::MissingDidDocument).count(), 1, "{report}");
    assert_eq!(report.missing_did_documents, ["did:web:authority.example"]);
}

/// `presented` (an SD-JWT with its Key Binding JWT) with the Key Binding JWT signed again by
/// `key` as issued at `iat` (seconds since the epoch).
fn key_bound_at(presented: &str, key: &symbolon_identity::KeyPair, iat: i64) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine as _;
    let without_kb = &presented[..presented.rfind('~').unwrap() + 1];
    let header = json!({"alg": "EdDSA", "typ": "kb+jwt"});
    let body = json!({"iat": iat, "aud": "did:key:zAud", "nonce": "n-2",
                      "sd_hash": symbolon_identity::sd_jwt::key_binding_hash(without_kb)});
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(body.to_string())
    );
    format!(
        "{without_kb}{input}.{}",
        B64.encode(key.sign(input.as_bytes()))
    )
}

// A Key Binding JWT is a presenter's proof: an auditor checks its signature and `sd_hash`, not
// its age, which has passed by audit time (as a credential's validity window has).
#[tokio::test(flavor = "current_thread")]
async fn an_sd_jwt_presented_long_ago_still_verifies_and_a_forged_key_binding_is_named() {
    let authority = Identity::generate(KeyAlgorithm::Ed25519);
    let member = Identity::generate(KeyAlgorithm::Ed25519);
    let sd = membership(&authority, &member, Format::SdJwt).await;
    let presented = symbolon_identity::sd_jwt::present(
        &sd,
        &member.key,
        &symbolon_identity::sd_jwt::Presentation {
            disclose: &["legalName".to_owned()],
            nonce: "n-2",
            audience: "did:key:zAud",
        },
    )
    .unwrap();
    let a_day_ago = chrono::Utc::now().timestamp() - 86_400;
    let old = key_bound_at(&presented, &member.key, a_day_ago);
    let org = org();
    log_presentation(&org, &member, &old);
    org.log.sign_head(&org.key, &org.did).unwrap();
    let mut bundle = org.bundle();
    bundle.credentials.push(json!(old));
    let report = verify(bundle).await;
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.credentials_checked, 2);

    // Signed by another key than the credential's holder key, or over other disclosures.
    let thief = Identity::generate(KeyAlgorithm::Ed25519);
    let forged = key_bound_at(&presented, &thief.key, a_day_ago);
    let (issuer_jwt, _) = old.split_once('~').unwrap();
    let kb = old.rsplit('~').next().unwrap();
    let fewer = format!("{issuer_jwt}~{kb}");
    let mut bundle = org.bundle();
    bundle.credentials.extend([json!(forged), json!(fewer)]);
    let report = verify(bundle).await;
    let bad: Vec<String> = report
        .of_kind(K::CredentialInvalid)
        .map(|f| f.message.clone())
        .collect();
    assert_eq!(bad.len(), 2, "{report}");
    assert!(bad[0].contains("Key Binding JWT"), "{bad:?}");
    assert!(bad[1].contains("sd_hash"), "{bad:?}");
}
