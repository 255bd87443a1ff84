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
        ("did:key:zBAD", "invalidPublicKeyType"),
    ] {
        let response = client()
            .get(format!("{}/identifiers/{did}", node.url))
            .send()
            .await
            .unwrap();
        // DID Resolution, HTTP(S) binding: methodNotSupported is a 501.
        assert!(
            response.status().is_client_error() || response.status() == 501,
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

// ---- Standards conformance, issue #16 ------------------------------------------------------

/// Issues a membership for `subject` over the VC-API and returns the compact JWS.
async fn issued_token(node: &Node, subject: &str) -> String {
    let issued: Value = client()
        .post(format!("{}/credentials/issue", node.url))
        .bearer_auth(&node.token)
        .json(&json!({"credential": membership(node, subject)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    match symbolon_identity::Input::credential(issued["verifiableCredential"].clone()).unwrap() {
        symbolon_identity::Input::Jwt(token) => token,
        other => panic!("expected a JWT, got {other:?}"),
    }
}

/// A JWT presentation of `token` by `signer`, holder as given (absent when null).
fn presentation(
    signer: &symbolon_identity::Identity,
    holder: Value,
    token: &str,
    challenge: &str,
    domain: &str,
) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [symbolon_identity::Secured::Jwt(token.to_owned()).to_enveloped("vc+jwt")],
        "nonce": challenge, "aud": domain, "iat": now, "exp": now + 300,
    });
    if !holder.is_null() {
        vp["holder"] = holder;
    }
    symbolon_identity::jose::sign(&signer.key, &signer.verification_method(), "vp+jwt", &vp)
}

// VC Data Model 2.0 §4.12 (holder optional, a URL or an object with `id`) and VC-API
// "Verify Presentation" (`options.domain` optional); holder binding is reported as its own
// check and asked for with Symbolon's `options.holderBinding`.
#[tokio::test]
async fn vc_api_verifies_presentations_without_holder_or_domain() {
    let node = node(None);
    let holder = symbolon_identity::Identity::generate(KeyAlgorithm::Ed25519);
    let token = issued_token(&node, holder.did.as_str()).await;
    let url = format!("{}/presentations/verify", node.url);
    for (i, shape) in [Value::Null, json!({"id": holder.did.as_str()})]
        .into_iter()
        .enumerate()
    {
        let challenge = format!("c-{i}");
        let vp = presentation(&holder, shape, &token, &challenge, "anywhere");
        let body = json!({"verifiablePresentation": vp, "options": {"challenge": challenge}});
        let response = client().post(&url).json(&body).send().await.unwrap();
        let status = response.status();
        let report: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{report}");
        let checks = report["checks"].as_array().unwrap();
        let outcome = |name: &str| {
            checks
                .iter()
                .find(|c| c["check"] == name)
                .map(|c| c["outcome"].clone())
        };
        assert_eq!(outcome("audience"), Some(json!("skipped")));
        assert_eq!(outcome("holder_binding"), Some(json!("passed")));
    }
    // Someone else presenting the holder's credential: verified unless binding is asked for.
    let other = symbolon_identity::Identity::generate(KeyAlgorithm::Ed25519);
    let vp = presentation(&other, Value::Null, &token, "c-other", "anywhere");
    let body = json!({"verifiablePresentation": vp, "options": {"challenge": "c-other", "holderBinding": true}});
    let response = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let body = json!({"verifiablePresentation": vp, "options": {"challenge": "c-other"}});
    let response = client().post(&url).json(&body).send().await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "the refusal above did not burn the challenge"
    );
    let bad = json!({"verifiablePresentation": vp, "options": {"challenge": "c-x", "holderBinding": "yes"}});
    let response = client().post(&url).json(&bad).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["path"], "/options/holderBinding");
}

// VC-API: a challenge is single-use, but a presentation that failed does not burn it.
#[tokio::test]
async fn vc_api_a_refused_presentation_does_not_burn_its_challenge() {
    let node = node(None);
    let holder = symbolon_identity::Identity::generate(KeyAlgorithm::Ed25519);
    let token = issued_token(&node, holder.did.as_str()).await;
    let url = format!("{}/presentations/verify", node.url);
    let vp = presentation(
        &holder,
        json!(holder.did.as_str()),
        &token,
        "c-1",
        &node.url,
    );
    let wrong_domain = json!({"verifiablePresentation": vp, "options": {"challenge": "c-1", "domain": "https://other.example"}});
    let response = client()
        .post(&url)
        .json(&wrong_domain)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let right =
        json!({"verifiablePresentation": vp, "options": {"challenge": "c-1", "domain": node.url}});
    let response = client().post(&url).json(&right).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let response = client().post(&url).json(&right).send().await.unwrap();
    assert_eq!(response.status(), 422, "now the challenge is used");
}

// VC Data Model 2.0 §4.10 (status `id` a URL), §4.11 (schemas need `id` and `type`), §5.3
// (related resources: objects with a unique URL `id` and a digest): refused before signing,
// naming the member's JSON pointer.
#[tokio::test]
async fn vc_api_issue_refuses_what_the_data_model_forbids_naming_the_path() {
    let node = node(None);
    let cases = [
        (
            "credentialStatus",
            json!({"id": "not a url", "type": "BitstringStatusListEntry"}),
            "/credential/credentialStatus/id",
        ),
        (
            "credentialSchema",
            json!([{"type": "JsonSchema"}]),
            "/credential/credentialSchema/0/id",
        ),
        (
            "relatedResource",
            json!([{"id": "https://example.org/a"}]),
            "/credential/relatedResource/0",
        ),
        (
            "relatedResource",
            json!([{"id": "https://example.org/a", "digestSRI": "sha384-a"}, {"id": "https://example.org/a", "digestSRI": "sha384-a"}]),
            "/credential/relatedResource/1/id",
        ),
        (
            "relatedResource",
            json!({"digestSRI": "sha384-a"}),
            "/credential/relatedResource/id",
        ),
    ];
    for (member, value, path) in cases {
        let mut credential = membership(&node, &node.did);
        credential[member] = value;
        let response = client()
            .post(format!("{}/credentials/issue", node.url))
            .bearer_auth(&node.token)
            .json(&json!({"credential": credential}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["path"], path, "{error}");
    }
}

// VC Data Model 2.0 §4.13, VC-JOSE-COSE §3.1.1: the envelope's context, exact type and
// `data:` media type are checked, not only the token inside.
#[tokio::test]
async fn vc_api_verify_checks_the_envelope() {
    let node = node(None);
    let token = issued_token(&node, &node.did).await;
    let url = format!("{}/credentials/verify", node.url);
    let good = json!({"@context": "https://www.w3.org/ns/credentials/v2", "type": "EnvelopedVerifiableCredential", "id": format!("data:application/vc+jwt,{token}")});
    let response = client()
        .post(&url)
        .json(&json!({"verifiableCredential": good}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut wrong_media = good.clone();
    wrong_media["id"] = format!("data:application/vp+jwt,{token}").into();
    let mut wrong_type = good.clone();
    wrong_type["type"] = json!(["EnvelopedVerifiableCredential", "VerifiableCredential"]);
    let mut no_context = good.clone();
    no_context.as_object_mut().unwrap().remove("@context");
    for envelope in [wrong_media, wrong_type, no_context] {
        let response = client()
            .post(&url)
            .json(&json!({"verifiableCredential": envelope}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{envelope}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["path"], "/verifiableCredential", "{error}");
    }
}

// DID Resolution, HTTP(S) binding and "DID URL Dereferencing"; did:key resolution options
// `publicKeyFormat` and `enableEncryptionKeyDerivation`, and the method's error names.
#[tokio::test]
async fn did_resolution_dereferences_fragments_honours_options_and_names_errors() {
    let node = node(None);
    let response = client()
        .get(format!("{}/identifiers/{}", node.url, node.did))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/ld+json;profile=\"https://w3id.org/did-resolution\""
    );
    let fragment = node.did.strip_prefix("did:key:").unwrap();
    let response = client()
        .get(format!(
            "{}/identifiers/{}%23{fragment}",
            node.url, node.did
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(
        result["contentStream"]["id"],
        format!("{}#{fragment}", node.did)
    );
    assert_eq!(
        result["dereferencingMetadata"]["contentType"],
        "application/did+ld+json"
    );
    let response = client()
        .get(format!("{}/identifiers/{}%23nothing", node.url, node.did))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["dereferencingMetadata"]["error"], "notFound");
    let response = client()
        .get(format!(
            "{}/identifiers/{}?publicKeyFormat=JsonWebKey2020&enableEncryptionKeyDerivation=true",
            node.url, node.did
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(
        result["didDocument"]["verificationMethod"][0]["type"],
        "JsonWebKey2020"
    );
    assert_eq!(
        result["didDocument"]["verificationMethod"][1]["publicKeyJwk"]["crv"],
        "X25519"
    );
    let response = client()
        .get(format!("{}/identifiers/{}", node.url, node.did))
        .header("accept", "application/did+ld+json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/did+ld+json"
    );
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["id"], node.did.as_str());
    // A 31-byte Ed25519 key, and an unknown key format.
    let mut short = vec![0xed, 0x01];
    short.extend_from_slice(&[7; 31]);
    let short = format!("did:key:z{}", bs58::encode(short).into_string());
    for (url, code) in [
        (
            format!("{}/identifiers/{short}", node.url),
            "invalidPublicKeyLength",
        ),
        (
            format!(
                "{}/identifiers/{}?publicKeyFormat=RsaVerificationKey2018",
                node.url, node.did
            ),
            "unsupportedPublicKeyType",
        ),
    ] {
        let response = client().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 400, "{url}");
        let result: Value = response.json().await.unwrap();
        assert_eq!(result["didResolutionMetadata"]["error"], code, "{url}");
    }
}

// Bitstring Status List v1.0 §3 and VC-JOSE-COSE: the status list credential by content
// negotiation — VC-JOSE by default, Data Integrity JSON-LD when asked for.
#[tokio::test]
async fn status_lists_are_served_by_content_negotiation() {
    let node = node(None);
    let url = format!("{}/status/revocation", node.url);
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/vc+jwt");
    for accept in [
        "application/vc+ld+json",
        "application/ld+json, application/vc+jwt;q=0.5",
    ] {
        let response = client()
            .get(&url)
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let media_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(accept.starts_with(&media_type), "{accept}: {media_type}");
        let text = response.text().await.unwrap();
        let report = symbolon_identity::Verifier::new(std::sync::Arc::new(
            symbolon_identity::DidResolver::offline(),
        ))
        .verify_credential(&symbolon_identity::Input::parse(&text).unwrap())
        .await;
        assert!(report.verified, "{:?}", report.error);
        assert_eq!(report.format.as_deref(), Some("eddsa-rdfc-2022"));
        assert_eq!(report.types, ["BitstringStatusListCredential"]);
    }
}
