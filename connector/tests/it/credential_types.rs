//! `symbolon credential types`: each credential type, its claims and an example, from the JSON
//! Schemas the issuer checks.
//! See: issue #21, "Credential claims are undocumented".

use super::cli::{init, ok, symbolon};

#[test]
fn every_type_is_listed_with_its_required_claims_and_an_example() {
    let listed = ok(&["credential", "types"]);
    for credential_type in [
        "DataSpaceMembershipCredential",
        "TrialSiteCredential",
        "AuditorCredential",
        "ConsentCredential",
        "TrustListCredential",
        "DataPermitCredential",
    ] {
        assert!(
            listed.lines().any(|line| line == credential_type),
            "{credential_type}: {listed}"
        );
    }
    let membership = ok(&["credential", "types", "DataSpaceMembershipCredential"]);
    let required = membership
        .split("required claims:")
        .nth(1)
        .and_then(|rest| rest.split("example:").next())
        .unwrap_or_else(|| panic!("{membership}"));
    for claim in ["legalName", "registrationNumber", "dataSpaceId", "role"] {
        assert!(required.contains(claim), "{claim}: {membership}");
    }
    assert!(membership.contains("holder.role"), "{membership}");
    assert!(
        membership.contains("--type DataSpaceMembershipCredential --subject DID"),
        "{membership}"
    );
    let consent = ok(&["credential", "types", "ConsentCredential"]);
    assert!(consent.contains("one of these is required:"), "{consent}");
    assert!(consent.contains("optional claims:"), "{consent}");

    let unknown = symbolon(&["credential", "types", "MembershipCredential"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("DataSpaceMembershipCredential"));
}

#[test]
fn each_printed_example_issues() {
    let dir = tempfile::tempdir().unwrap();
    let did = init(dir.path());
    let schemas: serde_json::Value =
        serde_json::from_str(&ok(&["credential", "types", "--json"])).unwrap();
    for schema in schemas.as_array().unwrap() {
        let credential_type = schema["title"].as_str().unwrap();
        if credential_type == "TrustListCredential" {
            continue; // made by `trust-list issue`
        }
        let example = schema["examples"][0].to_string();
        let mut args = vec![
            "credential",
            "issue",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--type",
            credential_type,
            "--subject",
            &did,
            "--claims",
            &example,
        ];
        if credential_type == "DataPermitCredential" {
            let without_status = symbolon(&args);
            assert_eq!(without_status.status.code(), Some(2));
            assert!(String::from_utf8_lossy(&without_status.stderr).contains("--status"));
            args.extend([
                "--valid-until",
                "2999-01-01T00:00:00Z",
                "--status",
                "--status-base",
                "http://127.0.0.1:9/status",
            ]);
        }
        ok(&args);
    }
    let one: serde_json::Value = serde_json::from_str(&ok(&[
        "credential",
        "types",
        "TrialSiteCredential",
        "--json",
    ]))
    .unwrap();
    assert_eq!(one["required"], serde_json::json!(["trialId", "siteId"]));
}

#[test]
fn a_missing_claim_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let did = init(dir.path());
    let output = symbolon(&[
        "credential",
        "issue",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--type",
        "TrialSiteCredential",
        "--subject",
        &did,
        "--claims",
        r#"{"trialId":"NL-1"}"#,
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("siteId"), "{stderr}");
}
