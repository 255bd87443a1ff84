//! The issuer's decisions, claims and pids.

use super::*;
use crate::dcp::delivery::service_of;

fn request(types: &[&str]) -> IssuanceRequest {
    IssuanceRequest {
        issuer_pid: issuer_pid("did:key:z6Mk", "h-1"),
        holder_pid: "h-1".into(),
        holder: "did:key:z6Mk".into(),
        credential_types: types.iter().map(|t| (*t).to_owned()).collect(),
        credential_service: None,
        status: IssuanceStatus::Received,
        reasons: Vec::new(),
        issued: Vec::new(),
        delivery: None,
        delivery_attempts: 0,
        next_delivery: None,
        created: now(),
        updated: now(),
    }
}

fn hospital() -> Organisation {
    Organisation {
        legal_name: "Ziekenhuis B.V.".into(),
        registration_number: "KvK-1".into(),
        role: "Hospital".into(),
        data_space_id: Some("hds".into()),
        trial_id: None,
        site_id: None,
        public_sector: None,
        permits: Vec::new(),
    }
}

#[test]
fn the_issuer_pid_is_the_same_for_a_repeated_request_only() {
    assert_eq!(issuer_pid("did:a", "1"), issuer_pid("did:a", "1"));
    assert_ne!(issuer_pid("did:a", "1"), issuer_pid("did:b", "1"));
    assert_ne!(issuer_pid("did:a", "1"), issuer_pid("did:a", "2"));
}

#[test]
fn the_registry_and_the_policy_decide() {
    let policy = r#"policy "p" { permit enroll on offer "DataSpaceMembershipCredential" when holder.role == "Hospital" and holder.member_of == "hds" }"#;
    let config = IssuerConfig {
        validity_seconds: None,
        approval: Approval::Auto,
        policy: Some(policy.into()),
    };
    let asked = request(&["DataSpaceMembershipCredential"]);
    let organisation = hospital();
    assert_eq!(
        evaluate(&config, Some(&organisation), Some("hds"), &asked),
        Verdict::Permit
    );
    let Verdict::Deny(reasons) = evaluate(&config, None, Some("hds"), &asked) else {
        panic!("a stranger is denied")
    };
    assert!(reasons[0].contains("registry"), "{reasons:?}");
    let Verdict::Deny(reasons) = evaluate(&config, Some(&organisation), Some("other"), &asked)
    else {
        panic!("another data space is denied")
    };
    assert!(reasons[0].contains("data space"), "{reasons:?}");
    let trial = request(&["TrialSiteCredential"]);
    assert!(matches!(
        evaluate(&config, Some(&organisation), Some("hds"), &trial),
        Verdict::Deny(_)
    ));
    let silent = IssuerConfig {
        validity_seconds: None,
        approval: Approval::Auto,
        policy: None,
    };
    assert!(matches!(
        evaluate(&silent, Some(&organisation), Some("hds"), &asked),
        Verdict::Deny(_)
    ));
}

#[test]
fn claims_come_from_the_registry_and_a_trial_site_needs_its_trial() {
    let organisation = hospital();
    let claims = subject(
        "DataSpaceMembershipCredential",
        "did:x",
        &organisation,
        "hds",
    )
    .unwrap();
    assert_eq!(claims["role"], "Hospital");
    assert_eq!(claims["dataSpaceId"], "hds");
    assert!(subject("TrialSiteCredential", "did:x", &organisation, "hds").is_err());
}

#[test]
fn the_credential_service_of_a_did_document() {
    let document = json!({"service": [
        {"type": "LinkedDomains", "serviceEndpoint": "https://a.example"},
        {"type": "CredentialService", "serviceEndpoint": "https://h.example/dcp/holder"}
    ]});
    assert_eq!(
        service_of(&document).as_deref(),
        Some("https://h.example/dcp/holder")
    );
    assert_eq!(service_of(&json!({})), None);
}
