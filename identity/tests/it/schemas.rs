//! The JSON Schemas of the credential types (`identity/schemas/`) agree with the hand-written
//! validation: each example passes both, and whatever the validation refuses the schema
//! refuses too, so the schema documents every rule an issuer enforces.
//! See: issue #21, "Credential claims are undocumented".

use serde_json::{json, Map, Value};
use symbolon_identity::credential;
use symbolon_identity::schemas;

const ISSUER: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

/// An unsigned credential of `credential_type` about `subject`, not yet validated.
fn credential(credential_type: &str, subject: &Map<String, Value>) -> Value {
    let mut subject = subject.clone();
    subject.insert("id".into(), ISSUER.into());
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
        "id": "urn:uuid:00000000-0000-4000-8000-000000000000",
        "type": ["VerifiableCredential", credential_type],
        "issuer": ISSUER,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2027-01-01T00:00:00Z",
        "credentialSubject": Value::Object(subject),
    })
}

/// Whether the hand-written validation accepts, and whether the schema does.
fn verdicts(credential_type: &str, subject: &Map<String, Value>) -> (bool, bool) {
    let document = credential(credential_type, subject);
    let by_code = credential::validate(&document).is_ok();
    let by_schema = schemas::of(credential_type)
        .unwrap()
        .check(&document["credentialSubject"])
        .is_ok();
    (by_code, by_schema)
}

#[test]
fn each_example_passes_the_validation_and_the_schema() {
    for schema in schemas::all() {
        let example = schema.example().and_then(Value::as_object).unwrap();
        assert_eq!(
            verdicts(schema.credential_type, example),
            (true, true),
            "{}",
            schema.credential_type
        );
    }
}

#[test]
fn whatever_the_validation_refuses_the_schema_refuses() {
    let mut cases = 0;
    for schema in schemas::all() {
        let example = schema.example().and_then(Value::as_object).unwrap();
        let mut variants: Vec<Map<String, Value>> = Vec::new();
        for name in example.keys() {
            let mut without = example.clone();
            without.remove(name);
            variants.push(without);
            for replacement in [json!(""), json!(42), json!([]), json!("NotARole")] {
                let mut changed = example.clone();
                changed.insert(name.clone(), replacement);
                variants.push(changed);
            }
        }
        variants.push(Map::from_iter([("unrelated".to_owned(), json!("x"))]));
        for variant in variants {
            let (by_code, by_schema) = verdicts(schema.credential_type, &variant);
            if !by_code {
                cases += 1;
                assert!(
                    !by_schema,
                    "{}: the validation refuses {variant:?}, the schema accepts it",
                    schema.credential_type
                );
            }
        }
    }
    assert!(cases > 20, "only {cases} refused variants were tried");
}

#[test]
fn an_issued_credential_is_checked_against_its_schema() {
    // The hand-written validation does not look at an auditor's `scope`; the schema does.
    let subject = symbolon_identity::Did::parse(ISSUER).unwrap();
    let error = credential::build(
        &subject,
        "AuditorCredential",
        &subject,
        &json!({"scope": 42}),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("/credentialSubject/scope"), "{error}");
}
