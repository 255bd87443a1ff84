//! Onboarding by credential request (Decentralized Claims Protocol 1.0 issuance): an authority's
//! Issuer Service decides by its issuance policy or its operator, delivers to the holder's
//! Storage API, and every message is checked against the specification's schemas (vendored in
//! `tests/data/dcp-1.0`).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use symbolon_connector::dcp::messages;
use symbolon_identity::{Identity, KeyAlgorithm};

use crate::dsp::{
    connector, eventually, http, negotiate, publish, token, trust, Connector, Recorder,
};

pub const ISSUANCE_POLICY: &str = r#"
policy "membership-for-care" {
  permit enroll on offer "DataSpaceMembershipCredential"
  when holder.role in ["Hospital", "Insurer"] and holder.member_of == "hds"
}
"#;

/// The DCP schemas, each registered under the URL the others refer to it by.
pub struct DcpSchemas {
    root: PathBuf,
}

impl DcpSchemas {
    pub fn load() -> DcpSchemas {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/dcp-1.0");
        assert!(root.is_dir(), "`{}` is missing", root.display());
        DcpSchemas { root }
    }

    fn read(&self, relative: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.root.join(relative)).unwrap()).unwrap()
    }

    /// Asserts that `instance` validates against `<name>` (under `issuance/` unless it names
    /// its folder).
    pub fn check(&self, name: &str, instance: &Value) {
        let errors = self.errors(name, instance);
        assert!(errors.is_empty(), "{name}: {errors:?}\n{instance:#}");
    }

    /// Why `instance` does not validate against `issuance/<name>`.
    fn errors(&self, name: &str, instance: &Value) -> Vec<String> {
        let base = "https://w3id.org/dspace-dcp/v1.0";
        let mut options = jsonschema::options().with_draft(jsonschema::Draft::Draft201909);
        let resources = [
            (
                "common/context-schema.json",
                format!("{base}/common/context-schema.json"),
            ),
            (
                "issuance/credential-object-schema.json",
                format!("{base}/issuance/credential-object-schema.json"),
            ),
            (
                "issuance/credential-message-schema.json",
                format!("{base}/presentation/credential-message-schema.json"),
            ),
        ];
        for (file, id) in resources {
            let mut schema = self.read(file);
            schema["$id"] = id.clone().into();
            options = options.with_resource(id, jsonschema::Resource::from_contents(schema));
        }
        options = options.with_resource(
            "https://identity.foundation/presentation-exchange/schemas/presentation-definition.json",
            jsonschema::Resource::from_contents(json!({})),
        );
        // Presentation Exchange is not supported here; its submission stays unconstrained.
        options = options.with_resource(
            "https://identity.foundation/presentation-exchange/schemas/presentation-submission.json",
            jsonschema::Resource::from_contents(
                json!({"properties": {"presentation_submission": {}}}),
            ),
        );
        let schema = if name.contains('/') {
            self.read(name)
        } else {
            self.read(&format!("issuance/{name}"))
        };
        let validator = options.build(&schema).unwrap();
        validator
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    }

    fn example(&self, name: &str) -> Value {
        self.read(&format!("issuance/example/{name}"))
    }
}

pub fn issuer_url(authority: &Connector) -> String {
    format!("{}/dcp/issuer", authority.url)
}

/// Registers `members` (DID, role) in the authority's registry and sets its settings.
pub async fn configure(authority: &Connector, members: &[(&str, &str)], approval: &str) {
    let organisations: serde_json::Map<String, Value> = members
        .iter()
        .map(|(did, role)| {
            (
                (*did).to_owned(),
                json!({"legalName": format!("{role} B.V."), "registrationNumber": "KvK-7",
                       "role": role, "dataSpaceId": "hds"}),
            )
        })
        .collect();
    let (status, body) = authority
        .put(
            "/api/v1/issuer/registry",
            &json!({ "organisations": organisations }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = authority
        .put(
            "/api/v1/issuer/config",
            &json!({"approval": approval, "policy": ISSUANCE_POLICY}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Waits up to `within` until `holder`'s onboarding request `pid` has `status` (`ISSUED`,
/// `REJECTED`, …); the request as it then stands.
pub async fn onboarding_reaches(
    holder: &Connector,
    pid: &str,
    status: &str,
    within: Duration,
) -> Value {
    let what = format!("onboarding request {pid} to be {status}");
    eventually(within, &what, || async {
        let (_, onboarding) = holder.get(&format!("/api/v1/onboarding/{pid}")).await;
        (onboarding["status"] == status).then_some(onboarding)
    })
    .await
}

/// `holder` asks `authority` for a membership, waiting `wait` seconds.
pub async fn join(holder: &Connector, authority: &Connector, wait: u64) -> Value {
    let (status, onboarding) = holder
        .post(
            "/api/v1/onboarding",
            &json!({"authority_url": authority.url, "credential_type": "DataSpaceMembershipCredential",
                    "wait_seconds": wait}),
        )
        .await;
    assert_eq!(status, 200, "{onboarding}");
    onboarding
}

pub async fn wallet_types(node: &Connector) -> Vec<Value> {
    let (status, held) = node.get("/api/v1/credentials").await;
    assert_eq!(status, 200, "{held}");
    held.as_array().unwrap().clone()
}

/// Sends `body` to `url` with `bearer` (if any); returns status, `Location` and the answer.
pub async fn send(url: &str, bearer: Option<&str>, body: Option<&Value>) -> (u16, String, Value) {
    let mut request = match body {
        Some(body) => http().post(url).json(body),
        None => http().get(url),
    };
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        location,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_membership_requested_is_issued_by_policy_and_opens_a_negotiation() {
    let (authority, provider, hospital) = (connector(), connector(), connector());
    trust(&authority, &authority).await;
    trust(&authority, &provider).await;
    configure(&authority, &[(hospital.did(), "Hospital")], "auto").await;

    let onboarding = join(&hospital, &authority, 20).await;
    assert_eq!(onboarding["status"], "ISSUED", "{onboarding}");
    assert_eq!(onboarding["issuer"], authority.did());

    let held = wallet_types(&hospital).await;
    let membership = held
        .iter()
        .find(|c| c["types"] == json!(["DataSpaceMembershipCredential"]))
        .expect("the membership is in the wallet");
    let payload =
        symbolon_identity::verify::peek_jwt_payload(membership["credential"].as_str().unwrap())
            .unwrap();
    assert_eq!(payload["credentialSubject"]["role"], "Hospital");
    assert_eq!(payload["credentialSubject"]["dataSpaceId"], "hds");
    assert_eq!(payload["credentialSubject"]["legalName"], "Hospital B.V.");
    let entries = payload["credentialStatus"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["statusPurpose"] == "revocation"),
        "{payload}"
    );

    let (_, requests) = authority.get("/api/v1/issuer/requests").await;
    assert_eq!(requests[0]["status"], "ISSUED", "{requests}");
    let events = authority.events().await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    for kind in [
        "issuance.requested",
        "credential.issued",
        "issuance.decided",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }

    publish(&provider).await;
    let negotiation = negotiate(&hospital, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_approves_one_request_and_rejects_another_with_a_reason() {
    let (authority, hospital) = (connector(), connector());
    trust(&authority, &authority).await;
    configure(&authority, &[(hospital.did(), "Hospital")], "manual").await;

    let first = join(&hospital, &authority, 0).await;
    assert_eq!(first["status"], "RECEIVED", "{first}");
    let (_, requests) = authority.get("/api/v1/issuer/requests").await;
    let id = requests[0]["issuer_pid"].as_str().unwrap().to_owned();
    assert_eq!(requests[0]["status"], "RECEIVED");
    let (status, approved) = authority
        .post(&format!("/api/v1/issuer/requests/{id}/approve"), &json!({}))
        .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "ISSUED");
    let pid = first["holder_pid"].as_str().unwrap().to_owned();
    onboarding_reaches(&hospital, &pid, "ISSUED", Duration::from_secs(5)).await;
    assert_eq!(wallet_types(&hospital).await.len(), 1);
    let (status, again) = authority
        .post(&format!("/api/v1/issuer/requests/{id}/approve"), &json!({}))
        .await;
    assert_eq!(status, 409, "{again}");

    let second = join(&hospital, &authority, 0).await;
    let (_, requests) = authority.get("/api/v1/issuer/requests").await;
    let pending = requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "RECEIVED")
        .unwrap();
    let id = pending["issuer_pid"].as_str().unwrap();
    let (status, rejected) = authority
        .post(
            &format!("/api/v1/issuer/requests/{id}/reject"),
            &json!({"reason": "registration not confirmed yet"}),
        )
        .await;
    assert_eq!(status, 200, "{rejected}");
    let pid = second["holder_pid"].as_str().unwrap().to_owned();
    let onboarding = onboarding_reaches(&hospital, &pid, "REJECTED", Duration::from_secs(5)).await;
    assert_eq!(
        onboarding["reasons"],
        json!(["registration not confirmed yet"])
    );
    assert_eq!(wallet_types(&hospital).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strangers_and_roles_the_policy_denies_are_rejected_with_its_reasons() {
    let (authority, pharmacy, stranger) = (connector(), connector(), connector());
    trust(&authority, &authority).await;
    configure(&authority, &[(pharmacy.did(), "Pharmacy")], "auto").await;

    let denied = join(&pharmacy, &authority, 10).await;
    assert_eq!(denied["status"], "REJECTED", "{denied}");
    let reasons = denied["reasons"].to_string();
    assert!(
        reasons.contains(r#"holder.role was \"Pharmacy\""#),
        "{reasons}"
    );

    // A stranger's request is refused outright: the issuer keeps, records, resolves and
    // delivers nothing for it.
    let (status, unknown) = stranger
        .post(
            "/api/v1/onboarding",
            &json!({"authority_url": authority.url, "credential_type": "DataSpaceMembershipCredential",
                    "wait_seconds": 10}),
        )
        .await;
    assert_eq!(status, 502, "{unknown}");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("not in the issuer's registry"),
        "{unknown}"
    );
    let (_, requests) = authority.get("/api/v1/issuer/requests").await;
    assert!(
        requests
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["holder"] != stranger.did()),
        "{requests}"
    );
    let events = authority.events().await;
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["subject"] != stranger.did() || e["type"] == "auth.failed"));
    assert!(wallet_types(&pharmacy).await.is_empty());
    assert!(wallet_types(&stranger).await.is_empty());
}

#[test]
fn the_specification_examples_fit_the_parsers_and_the_schemas() {
    let schemas = DcpSchemas::load();
    for (example, schema) in [
        (
            "credential-request-message.json",
            "credential-request-message-schema.json",
        ),
        ("credential-status.json", "credential-status-schema.json"),
        ("credential-message.json", "credential-message-schema.json"),
        (
            "credential-message-rejected.json",
            "credential-message-schema.json",
        ),
        ("issuer-metadata.json", "issuer-metadata-schema.json"),
    ] {
        schemas.check(schema, &schemas.example(example));
    }
    // The schemas do refuse: a status outside the enumeration, a context without DCP's.
    let mut bad = schemas.example("credential-status.json");
    bad["status"] = "MAYBE".into();
    assert!(!schemas
        .errors("credential-status-schema.json", &bad)
        .is_empty());
    let mut bad = schemas.example("credential-request-message.json");
    bad["@context"] = json!(["https://example.org"]);
    assert!(!schemas
        .errors("credential-request-message-schema.json", &bad)
        .is_empty());
    let (status, _) = messages::parse_status(&schemas.example("credential-status.json")).unwrap();
    assert_eq!(status.as_str(), "RECEIVED");
    let rejected =
        messages::parse_credential_message(&schemas.example("credential-message-rejected.json"))
            .unwrap();
    assert_eq!(
        rejected.rejection_reason.as_deref(),
        Some("final approval not granted")
    );
    // The example asks for credential objects of another issuer, and carries a JSON-LD
    // credential: refused by name.
    let error =
        messages::parse_request(&schemas.example("credential-request-message.json")).unwrap_err();
    assert_eq!(error.field, "credentials/0/id");
    let error = messages::parse_credential_message(&schemas.example("credential-message.json"))
        .unwrap_err();
    assert_eq!(error.field, "credentials/1/format");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_the_issuer_refuses_leaves_nothing_open() {
    let hospital = connector();
    let issuer = Identity::generate(KeyAlgorithm::Ed25519);
    let metadata = messages::metadata(issuer.did.as_str());
    let refusing = Recorder::start_with(vec![
        ("/metadata", 200, metadata),
        (
            "/credentials",
            400,
            json!({"error": "bad_request", "message": "no"}),
        ),
    ])
    .await;
    let (status, error) = hospital
        .post(
            "/api/v1/onboarding",
            &json!({"authority_url": refusing.url, "credential_type": "DataSpaceMembershipCredential"}),
        )
        .await;
    assert_eq!(
        (status, error["error"].as_str()),
        (502, Some("bad_gateway"))
    );
    let sent = refusing.wait_for("/dcp/issuer/credentials").await;
    DcpSchemas::load().check("credential-request-message-schema.json", &sent);
    let (_, open) = hospital.get("/api/v1/onboarding").await;
    assert_eq!(open, json!([]));
    let (status, error) = hospital
        .post(
            "/api/v1/onboarding",
            &json!({"authority_url": refusing.url, "credential_type": "Passport"}),
        )
        .await;
    assert_eq!(status, 422, "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_registered_organisation_cannot_pile_up_undecided_requests() {
    let authority = connector();
    trust(&authority, &authority).await;
    let holder = Identity::generate(KeyAlgorithm::Ed25519);
    configure(&authority, &[(holder.did.as_str(), "Hospital")], "manual").await;
    let service = Recorder::start().await;
    let url = format!("{}/credentials", issuer_url(&authority));
    let limit = symbolon_connector::dcp::issuer::MAX_UNDECIDED_PER_HOLDER;
    for i in 0..=limit {
        let request = messages::request_message(
            &format!("holder-{i}"),
            "DataSpaceMembershipCredential",
            &format!("{}/dcp/holder", service.url),
        );
        let bearer = token(&holder, authority.did(), &[]).await;
        let (status, _, answer) = send(&url, Some(&bearer), Some(&request)).await;
        if i < limit {
            assert_eq!(status, 201, "request {i}: {answer}");
        } else {
            assert_eq!(status, 409, "{answer}");
            assert!(answer["message"]
                .as_str()
                .unwrap()
                .contains("requests here already"));
        }
    }
    // A repeated request is still answered with its record.
    let request = messages::request_message(
        "holder-0",
        "DataSpaceMembershipCredential",
        &format!("{}/dcp/holder", service.url),
    );
    let bearer = token(&holder, authority.did(), &[]).await;
    let (status, _, _) = send(&url, Some(&bearer), Some(&request)).await;
    assert_eq!(status, 201);
}
