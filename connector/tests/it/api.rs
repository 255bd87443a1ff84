//! The W3C VC-API over HTTP and HTTPS on 127.0.0.1 (ports chosen by the OS).

use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;
use symbolon_connector::server::{start, ServeOptions};
use symbolon_identity::KeyAlgorithm;

struct Node {
    url: String,
    token: String,
    did: String,
    _dir: tempfile::TempDir,
}

fn node(tls: Option<(std::path::PathBuf, std::path::PathBuf)>) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path());
    let identity = data.init(KeyAlgorithm::Ed25519, None).unwrap();
    let running = start(
        data.clone(),
        ServeOptions {
            tls,
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

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn membership(node: &Node, subject: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
        "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
        "issuer": node.did,
        "credentialSubject": {"id": subject, "legalName": "H", "registrationNumber": "1", "role": "Hospital", "dataSpaceId": "hds"}
    })
}

#[tokio::test]
async fn issue_needs_the_admin_token() {
    let node = node(None);
    let body = json!({"credential": membership(&node, &node.did)});
    let response = client()
        .post(format!("{}/credentials/issue", node.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = client()
        .post(format!("{}/credentials/issue", node.url))
        .bearer_auth("not-the-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "unauthorized");
}

#[tokio::test]
async fn issue_verify_revoke_over_http() {
    let node = node(None);
    let subject = symbolon_identity::Identity::generate(KeyAlgorithm::Ed25519)
        .did
        .to_string();
    for format in ["jwt", "di", "di-jcs"] {
        let body = json!({"credential": membership(&node, &subject), "options": {"format": format, "credentialStatus": true}});
        let response = client()
            .post(format!("{}/credentials/issue", node.url))
            .bearer_auth(&node.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{format}");
        let issued: Value = response.json().await.unwrap();
        let vc = issued["verifiableCredential"].clone();

        let response = client()
            .post(format!("{}/credentials/verify", node.url))
            .json(&json!({"verifiableCredential": vc}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let report: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{format}: {report}");
        assert_eq!(report["verified"], true);
        assert!(
            report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["check"] == "status" && c["outcome"] == "passed"),
            "{report}"
        );

        let mut tampered = vc.clone();
        if let Some(id) = tampered.get("id").and_then(Value::as_str) {
            tampered["id"] = format!("{}x", id.trim_end_matches(|c: char| c != '.')).into();
        } else {
            tampered["credentialSubject"]["role"] = "Insurer".into();
        }
        let response = client()
            .post(format!("{}/credentials/verify", node.url))
            .json(&json!({"verifiableCredential": tampered}))
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == 422 || response.status() == 400,
            "{format}: {}",
            response.status()
        );
    }
}

#[tokio::test]
async fn oversized_malformed_and_deep_bodies() {
    let node = node(None);
    let url = format!("{}/credentials/verify", node.url);
    let big = vec![b' '; 2 * 1024 * 1024];
    let response = client()
        .post(&url)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let response = client()
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "bad_request");
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let response = client()
        .post(&url)
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn did_resolution_results_and_errors() {
    let node = node(None);
    let response = client()
        .get(format!("{}/identifiers/{}", node.url, node.did))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["didDocument"]["id"], node.did.as_str());
    for (did, code) in [
        ("did:example:123", "methodNotSupported"),
        ("not-a-did", "invalidDid"),
        ("did:key:zBAD", "invalidDid"),
    ] {
        let response = client()
            .get(format!("{}/identifiers/{did}", node.url))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{did}: {}",
            response.status()
        );
        let result: Value = response.json().await.unwrap();
        assert_eq!(result["didResolutionMetadata"]["error"], code, "{did}");
    }
}

#[tokio::test]
async fn presentations_verify_with_challenge_and_domain_and_refuse_replay() {
    let node = node(None);
    let holder = symbolon_identity::Identity::generate(KeyAlgorithm::Ed25519);
    let body = json!({"credential": membership(&node, holder.did.as_str())});
    let issued: Value = client()
        .post(format!("{}/credentials/issue", node.url))
        .bearer_auth(&node.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let credential = symbolon_identity::Input::from_value(issued["verifiableCredential"].clone());
    let symbolon_identity::Input::Jwt(token) = credential else {
        panic!("expected a JWT")
    };
    let vp = symbolon_identity::create_presentation(
        &holder,
        &[symbolon_identity::Secured::Jwt(token)],
        symbolon_identity::Format::Jwt,
        "c-1",
        &node.url,
    )
    .await
    .unwrap();
    let body = json!({"verifiablePresentation": vp.to_text(), "options": {"challenge": "c-1", "domain": node.url}});
    let url = format!("{}/presentations/verify", node.url);
    let response = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 422, "a replay is refused");
    let report: Value = response.json().await.unwrap();
    assert!(
        report["error"].as_str().unwrap().contains("replay"),
        "{report}"
    );
    let wrong = json!({"verifiablePresentation": vp.to_text(), "options": {"challenge": "c-2", "domain": node.url}});
    assert_eq!(
        client()
            .post(&url)
            .json(&wrong)
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
}

#[tokio::test]
async fn https_serves_the_same_api() {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let node = node(Some((cert, key)));
    assert!(node.url.starts_with("https://"));
    let root = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .unwrap();
    let response = client
        .get(format!("{}/identifiers/{}", node.url, node.did))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .get(format!("{}/status/revocation", node.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/vc+jwt");
}
