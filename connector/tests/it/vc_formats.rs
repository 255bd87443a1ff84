//! The VC-API with the formats beside VC-JOSE 2.0: SD-JWT VCs (IETF RFC 9901,
//! draft-ietf-oauth-sd-jwt-vc), VC 1.1 credentials with `eddsa-rdfc-2022`, and Data Integrity
//! proof sets (Data Integrity 1.0 §2.1.1), over real sockets on 127.0.0.1.

use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;
use symbolon_connector::server::{start, ServeOptions};
use symbolon_identity::data_integrity::{add_proof, Cryptosuite, ProofParams};
use symbolon_identity::sd_jwt::{self, Presentation};
use symbolon_identity::{Identity, Input, KeyAlgorithm};

struct Node {
    url: String,
    token: String,
    did: String,
    _dir: tempfile::TempDir,
}

fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    let identity = data.init(KeyAlgorithm::Ed25519, None).unwrap();
    // Status lists are served on 127.0.0.1: the verifier may fetch from loopback.
    let running = start(
        data.clone(),
        ServeOptions {
            allow_private_callbacks: true,
            ..ServeOptions::new("127.0.0.1:0".parse().unwrap())
        },
    )
    .unwrap();
    tokio::spawn(running.server);
    Node {
        url: running.url,
        token: data.admin_token().unwrap().expose().to_owned(),
        did: identity.did.to_string(),
        _dir: dir,
    }
}

fn membership(context: &str, issuer: &str, subject: &str) -> Value {
    json!({
        "@context": [context, "https://w3id.org/symbolon/v1"],
        "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
        "issuer": issuer,
        "credentialSubject": {"id": subject, "legalName": "H", "registrationNumber": "KvK-7",
                              "role": "Hospital", "dataSpaceId": "hds"}
    })
}

async fn post(node: &Node, route: &str, body: &Value, admin: bool) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{route}", node.url))
        .json(body);
    if admin {
        request = request.bearer_auth(&node.token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

// `options.format: "sd-jwt"`: issued, verified as a credential (status included), presented by
// its holder with only some claims and a Key Binding JWT, and verified as a presentation.
#[tokio::test]
async fn sd_jwt_vcs_over_the_vc_api() {
    let node = node();
    let holder = Identity::generate(KeyAlgorithm::Ed25519);
    let v2 = "https://www.w3.org/ns/credentials/v2";
    let body = json!({
        "credential": membership(v2, &node.did, holder.did.as_str()),
        "options": {"format": "sd-jwt", "credentialStatus": true,
                    "selectivelyDisclosable": ["registrationNumber", "legalName"]}
    });
    let (status, issued) = post(&node, "/credentials/issue", &body, true).await;
    assert_eq!(status, 201, "{issued}");
    let enveloped = issued["verifiableCredential"].clone();
    assert!(enveloped["id"]
        .as_str()
        .unwrap()
        .starts_with("data:application/dc+sd-jwt,"));
    let (status, report) = post(
        &node,
        "/credentials/verify",
        &json!({"verifiableCredential": enveloped}),
        false,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["format"], "dc+sd-jwt");
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "status" && c["outcome"] == "passed"),
        "{report}"
    );
    let Input::Jwt(sd_jwt_text) = Input::credential(enveloped).unwrap() else {
        panic!("an SD-JWT VC is a token");
    };
    let presented = sd_jwt::present(
        &sd_jwt_text,
        &holder.key,
        &Presentation {
            disclose: &["legalName".to_owned()],
            nonce: "c-sd-1",
            audience: &node.url,
        },
    )
    .unwrap();
    let url = "/presentations/verify";
    let body = json!({"verifiablePresentation": presented,
                      "options": {"challenge": "c-sd-1", "domain": node.url, "holderBinding": true}});
    let (status, report) = post(&node, url, &body, false).await;
    assert_eq!(status, 200, "{report}");
    // The report's JSON carries no documents; which claims were disclosed is tested in
    // identity/tests/it/sd_jwt.rs.
    assert_eq!(report["verified"], true, "{report}");
    // The challenge was used; another challenge is refused.
    let (status, _) = post(&node, url, &body, false).await;
    assert_eq!(status, 422);
    let wrong = json!({"verifiablePresentation": presented,
                       "options": {"challenge": "c-sd-2", "domain": node.url}});
    assert_eq!(post(&node, url, &wrong, false).await.0, 422);
    // Without the Key Binding JWT it is no presentation.
    let cut = presented.rfind('~').unwrap() + 1;
    let unbound = json!({"verifiablePresentation": &presented[..cut],
                         "options": {"challenge": "c-sd-3"}});
    let (status, report) = post(&node, url, &unbound, false).await;
    assert_eq!(status, 422, "{report}");
    // `selectivelyDisclosable` belongs to sd-jwt, and must name claims.
    for options in [
        json!({"format": "jwt", "selectivelyDisclosable": ["legalName"]}),
        json!({"format": "sd-jwt", "selectivelyDisclosable": "legalName"}),
        json!({"format": "sd-jwt", "selectivelyDisclosable": ["noSuchClaim"]}),
    ] {
        let body = json!({"credential": membership(v2, &node.did, holder.did.as_str()),
                          "options": options});
        let (status, error) = post(&node, "/credentials/issue", &body, true).await;
        assert_eq!(status, 400, "{options}: {error}");
    }
}

// VC Data Model 1.1 (`credentials/v1`, `issuanceDate`) issued when asked for, with Data
// Integrity only; and a proof set verified over the VC-API.
#[tokio::test]
async fn vc_1_1_and_proof_sets_over_the_vc_api() {
    let node = node();
    let holder = Identity::generate(KeyAlgorithm::Ed25519);
    let v1 = "https://www.w3.org/2018/credentials/v1";
    let body = json!({"credential": membership(v1, &node.did, holder.did.as_str()),
                      "options": {"format": "di"}});
    let (status, issued) = post(&node, "/credentials/issue", &body, true).await;
    assert_eq!(status, 201, "{issued}");
    let credential = issued["verifiableCredential"].clone();
    assert_eq!(credential["@context"][0], v1);
    assert!(credential["issuanceDate"].is_string());
    assert!(credential.get("validFrom").is_none());
    assert_eq!(credential["proof"]["cryptosuite"], "eddsa-rdfc-2022");
    let (status, report) = post(
        &node,
        "/credentials/verify",
        &json!({"verifiableCredential": credential}),
        false,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    // VC-JOSE is VC 2.0 only.
    let body = json!({"credential": membership(v1, &node.did, holder.did.as_str()),
                      "options": {"format": "jwt"}});
    assert_eq!(post(&node, "/credentials/issue", &body, true).await.0, 400);
    // A second proof (a notary's) makes a set; both verify.
    let notary = Identity::generate(KeyAlgorithm::Ed25519);
    let with_set = add_proof(
        credential,
        &notary.key,
        &notary.verification_method(),
        Cryptosuite::Rdfc,
        &ProofParams::default(),
        &[],
    )
    .await
    .unwrap();
    let (status, report) = post(
        &node,
        "/credentials/verify",
        &json!({"verifiableCredential": with_set.clone()}),
        false,
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let mut broken = with_set;
    broken["proof"][1]["previousProof"] = "urn:uuid:nowhere".into();
    let (status, report) = post(
        &node,
        "/credentials/verify",
        &json!({"verifiableCredential": broken}),
        false,
    )
    .await;
    assert_eq!(status, 422, "{report}");
}
