//! Tests of credential building and validation.

use super::*;
use crate::keys::{KeyAlgorithm, KeyPair};

fn did() -> Did {
    Did::key(&KeyPair::generate(KeyAlgorithm::Ed25519).public_key())
}

fn membership() -> Value {
    json!({"legalName": "Ziekenhuis", "registrationNumber": "KvK-1", "role": "Hospital", "dataSpaceId": "hds-nl"})
}

#[test]
fn builds_a_valid_membership_credential() {
    let (issuer, subject) = (did(), did());
    let vc = build(
        &issuer,
        "DataSpaceMembershipCredential",
        &subject,
        &membership(),
        None,
    )
    .unwrap();
    assert_eq!(subject_ids(&vc), vec![subject.as_str()]);
    assert_eq!(specific_types(&vc), vec!["DataSpaceMembershipCredential"]);
}

#[test]
fn vc_dm_5_3_well_formed_related_resources_schemas_and_status_pass() {
    let mut vc = build(
        &did(),
        "DataSpaceMembershipCredential",
        &did(),
        &membership(),
        None,
    )
    .unwrap();
    vc["relatedResource"] = json!([
        {"id": "https://example.org/a.json", "digestSRI": "sha384-abc", "mediaType": "application/json"},
        {"id": "https://example.org/b.png", "digestMultibase": "uEiBZ"}
    ]);
    vc["credentialSchema"] = json!({"id": "https://example.org/schema.json", "type": "JsonSchema"});
    vc["credentialStatus"] = json!({"type": "BitstringStatusListEntry"});
    validate(&vc).unwrap();
}

// VC Data Model 2.0 §4.12: `holder` is optional, a URL or an object with an `id`.
#[test]
fn vc_dm_4_12_holder_is_optional_and_may_be_an_object() {
    let base = json!({"@context": [CREDENTIALS_V2_CONTEXT], "type": "VerifiablePresentation"});
    validate_presentation(&base).unwrap();
    let mut object = base.clone();
    object["holder"] = json!({"id": "did:example:holder", "name": "Holder"});
    validate_presentation(&object).unwrap();
    assert_eq!(holder_id(&object), Some("did:example:holder"));
    object["holder"] = json!({"name": "Holder"});
    match validate_presentation(&object) {
        Err(IssueError::Invalid { path, .. }) => assert_eq!(path, "/holder/id"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_malformed_credential_names_its_path() {
    let (issuer, subject) = (did(), did());
    let good = build(
        &issuer,
        "DataSpaceMembershipCredential",
        &subject,
        &membership(),
        None,
    )
    .unwrap();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("/@context", Box::new(|v| v["@context"] = "x".into())),
        (
            "/@context/0",
            Box::new(|v| v["@context"] = json!(["https://example.org/not-a-base-context"])),
        ),
        (
            // A VC 1.1 credential is read, and 1.1 requires `issuanceDate` (VC 1.1 §4.6).
            "/issuanceDate",
            Box::new(|v| v["@context"] = json!(["https://www.w3.org/2018/credentials/v1"])),
        ),
        (
            "/@context/1",
            Box::new(|v| v["@context"][1] = "https://evil.example/ctx".into()),
        ),
        ("/type", Box::new(|v| v["type"] = json!(["Foo"]))),
        ("/issuer", Box::new(|v| v["issuer"] = json!(5))),
        (
            "/credentialSubject",
            Box::new(|v| v["credentialSubject"] = json!([])),
        ),
        (
            "/validFrom",
            Box::new(|v| v["validFrom"] = "yesterday".into()),
        ),
        (
            "/validUntil",
            Box::new(|v| v["validUntil"] = "2000-01-01T00:00:00Z".into()),
        ),
        (
            "/credentialStatus/type",
            Box::new(|v| v["credentialStatus"] = json!({"id": "x:y"})),
        ),
        (
            "/credentialSchema/0/type",
            Box::new(|v| v["credentialSchema"] = json!([{"id": "x:y"}])),
        ),
        (
            "/evidence/type",
            Box::new(|v| v["evidence"] = json!({"id": "x:y"})),
        ),
        (
            "/termsOfUse/type",
            Box::new(|v| v["termsOfUse"] = json!({"id": "x:y"})),
        ),
        // VC Data Model 2.0 §4.10: a status entry's `id` is a URL.
        (
            "/credentialStatus/id",
            Box::new(|v| {
                v["credentialStatus"] =
                    json!({"id": "status 1", "type": "BitstringStatusListEntry"})
            }),
        ),
        // §4.4: every `id` is a URL; §5.6, §5.5 the same for evidence and terms of use.
        (
            "/evidence/1/id",
            Box::new(|v| {
                v["evidence"] =
                    json!([{"type": "Evidence"}, {"id": "no-scheme", "type": "Evidence"}])
            }),
        ),
        ("/id", Box::new(|v| v["id"] = "1:urn".into())),
        // §4.11: a schema entry needs `id` and `type`.
        (
            "/credentialSchema/id",
            Box::new(|v| v["credentialSchema"] = json!({"type": "JsonSchema"})),
        ),
        (
            "/credentialSchema/0/type",
            Box::new(|v| v["credentialSchema"] = json!([{"id": "https://example.org/s.json"}])),
        ),
        // §5.3: related resources are objects with a URL id, unique, and a digest.
        (
            "/relatedResource",
            Box::new(|v| v["relatedResource"] = json!([])),
        ),
        (
            "/relatedResource",
            Box::new(|v| v["relatedResource"] = json!("https://example.org/a")),
        ),
        (
            "/relatedResource/0/id",
            Box::new(|v| v["relatedResource"] = json!([{"digestSRI": "sha384-x"}])),
        ),
        (
            "/relatedResource/0",
            Box::new(|v| v["relatedResource"] = json!([{"id": "https://example.org/a"}])),
        ),
        (
            "/relatedResource/1/id",
            Box::new(|v| {
                v["relatedResource"] = json!([
                    {"id": "https://example.org/a", "digestSRI": "sha384-x"},
                    {"id": "https://example.org/a", "digestMultibase": "uEiB"}
                ])
            }),
        ),
        (
            "/relatedResource/0/digestMultibase",
            Box::new(|v| {
                v["relatedResource"] =
                    json!([{"id": "https://example.org/a", "digestMultibase": 5}])
            }),
        ),
        (
            "/credentialSubject/role",
            Box::new(|v| v["credentialSubject"]["role"] = "Florist".into()),
        ),
        (
            "/credentialSubject/legalName",
            Box::new(|v| {
                v["credentialSubject"]
                    .as_object_mut()
                    .unwrap()
                    .remove("legalName");
            }),
        ),
    ];
    for (path, mutate) in cases {
        let mut vc = good.clone();
        assert!(validate(&vc).is_ok());
        mutate(&mut vc);
        match validate(&vc) {
            Err(IssueError::Invalid { path: found, .. }) => assert_eq!(found, path),
            other => panic!("{path}: expected an error, got {other:?}"),
        }
    }
}
