//! An authority, a hospital and an insurer: membership issued with status, presented to the
//! insurer over HTTP, revoked by the authority, and then refused by the insurer.

use std::time::Duration;

use serde_json::{json, Value};
use symbolon::connector::datadir::DataDir;
use symbolon::connector::server::{start, ServeOptions};
use symbolon::identity::{create_presentation, Format, Identity, Input, KeyAlgorithm, Secured};

struct Connector {
    _dir: DataDir,
    identity: Identity,
    url: String,
    token: String,
    _tmp: tempfile::TempDir,
}

fn connector() -> Connector {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let identity = dir.init(KeyAlgorithm::Ed25519, None).unwrap();
    let options = ServeOptions {
        status_cache_ttl: Duration::ZERO,
        allow_private_callbacks: true,
        ..ServeOptions::new("127.0.0.1:0".parse().unwrap())
    };
    let running = start(dir.clone(), options).unwrap();
    tokio::spawn(running.server);
    let token = dir.admin_token().unwrap().expose().to_owned();
    Connector {
        _dir: dir,
        identity,
        url: running.url,
        token,
        _tmp: tmp,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_presented_then_revoked_is_refused() {
    let authority = connector();
    let hospital = connector();
    let insurer = connector();
    let http = reqwest::Client::new();

    // The authority publishes the trust list; the insurer installs it.
    let entries = [(
        authority.identity.did.to_string(),
        ["DataSpaceMembershipCredential".to_owned()].into(),
    )]
    .into();
    let trust = symbolon::identity::TrustList::credential(&authority.identity.did, "hds", &entries)
        .unwrap();
    let trust = symbolon::identity::issue_credential(&authority.identity, trust, Format::Jwt)
        .await
        .unwrap();
    let installed = http
        .put(format!("{}/api/v1/trust-list", insurer.url))
        .bearer_auth(&insurer.token)
        .json(&json!({ "credential": trust.to_text() }))
        .send()
        .await
        .unwrap();
    assert_eq!(installed.status(), 200);

    // The authority issues the hospital's membership, with status, over its VC-API.
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
        "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
        "credentialSubject": {"id": hospital.identity.did.as_str(), "legalName": "Ziekenhuis", "registrationNumber": "KvK-7",
                              "role": "Hospital", "dataSpaceId": "hds"}
    });
    let response = http
        .post(format!("{}/credentials/issue", authority.url))
        .bearer_auth(&authority.token)
        .json(&json!({"credential": credential, "options": {"credentialStatus": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let issued: Value = response.json().await.unwrap();
    let Input::Jwt(token) = Input::from_value(issued["verifiableCredential"].clone()) else {
        panic!("expected a JWT")
    };
    let id = symbolon::identity::verify::peek_jwt_payload(&token).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The hospital presents it to the insurer, bound to the insurer's challenge and URL.
    let present = |challenge: &'static str| {
        let holder = hospital.identity.clone();
        let credential = Secured::Jwt(token.clone());
        let audience = insurer.url.clone();
        async move {
            create_presentation(&holder, &[credential], Format::Jwt, challenge, &audience)
                .await
                .unwrap()
        }
    };
    let verify = |vp: Secured, challenge: &'static str| {
        let request = http
            .post(format!("{}/presentations/verify", insurer.url))
            .json(&json!({"verifiablePresentation": vp.to_text(), "options": {"challenge": challenge, "domain": insurer.url}}));
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, report) = verify(present("challenge-1").await, "challenge-1").await;
    assert_eq!(status, 200, "{report}");
    let trust_check = &report["credentials"][0]["checks"];
    assert!(
        trust_check
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "trust" && c["outcome"] == "passed"),
        "{report}"
    );

    // The authority revokes it; the insurer refuses the next presentation and says why.
    let response = http
        .post(format!("{}/credentials/status", authority.url))
        .bearer_auth(&authority.token)
        .json(&json!({"credentialId": id, "credentialStatus": [{"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": true}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, report) = verify(present("challenge-2").await, "challenge-2").await;
    assert_eq!(status, 422, "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("revoked"),
        "{report}"
    );
}
