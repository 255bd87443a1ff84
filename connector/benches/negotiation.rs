//! One full contract negotiation on loopback, request → FINALIZED: a hospital asks an
//! insurer's connector for an offer, presenting its membership; the insurer verifies it,
//! evaluates the policy, signs the agreement; both sides store every step durably.
//! Target: median under 20 ms.
#![allow(missing_docs, reason = "criterion generates undocumented items")]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;
use symbolon_connector::server::{start, ServeOptions};
use symbolon_identity::{issue_credential, Format, Identity, KeyAlgorithm};

struct Node {
    identity: Identity,
    url: String,
    token: String,
    _tmp: tempfile::TempDir,
}

fn node() -> Node {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = DataDir::new(tmp.path());
    let identity = dir.init(KeyAlgorithm::Ed25519, None).expect("init");
    let options = ServeOptions {
        status_cache_ttl: Duration::from_secs(30),
        // Both connectors call each other from 127.0.0.1 as fast as they can.
        rate_limit: None,
        allow_private_callbacks: true,
        ..ServeOptions::new("127.0.0.1:0".parse().expect("address"))
    };
    let running = start(dir.clone(), options).expect("serve");
    tokio::spawn(running.server);
    Node {
        identity,
        url: running.url,
        token: dir.admin_token().expect("token").expose().to_owned(),
        _tmp: tmp,
    }
}

async fn call(node: &Node, method: reqwest::Method, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", node.url))
        .bearer_auth(&node.token)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.expect("JSON")
}

async fn data_space() -> (Node, Node, Node) {
    let (authority, insurer, hospital) = (node(), node(), node());
    let entries = [(
        authority.identity.did.to_string(),
        ["DataSpaceMembershipCredential".to_owned()].into(),
    )]
    .into();
    let trust = symbolon_identity::TrustList::credential(&authority.identity.did, "hds", &entries)
        .expect("trust list");
    let trust = issue_credential(&authority.identity, trust, Format::Jwt)
        .await
        .expect("signed trust list");
    call(
        &insurer,
        reqwest::Method::PUT,
        "/api/v1/trust-list",
        json!({"credential": trust.to_text()}),
    )
    .await;
    let membership = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
        "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
        "credentialSubject": {"id": hospital.identity.did.as_str(), "legalName": "Ziekenhuis", "registrationNumber": "KvK-7",
                              "role": "Hospital", "dataSpaceId": "hds"}
    });
    let issued = call(
        &authority,
        reqwest::Method::POST,
        "/credentials/issue",
        json!({"credential": membership, "options": {"credentialStatus": true}}),
    )
    .await;
    call(
        &hospital,
        reqwest::Method::POST,
        "/api/v1/credentials",
        json!({"verifiableCredential": issued["verifiableCredential"]}),
    )
    .await;
    let policy = r#"policy "members" { permit use on offer "ward-statistics" when holder.role == "Hospital" and holder.member_of == "hds" obligation delete_after { days = 30 } }"#;
    call(
        &insurer,
        reqwest::Method::POST,
        "/api/v1/offers",
        json!({"id": "ward-statistics", "title": "Ward statistics", "policy": policy}),
    )
    .await;
    (authority, insurer, hospital)
}

fn negotiation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (_authority, insurer, hospital) = runtime.block_on(data_space());
    let provider_url = format!("{}/dsp/2025-1", insurer.url);
    let provider_did = insurer.identity.did.to_string();
    let mut group = c.benchmark_group("negotiation");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("request_to_finalized_loopback", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let outcome = call(
                    &hospital,
                    reqwest::Method::POST,
                    "/api/v1/negotiations",
                    json!({"provider_url": provider_url, "provider_did": provider_did,
                           "offer_id": "ward-statistics", "wait_seconds": 10}),
                )
                .await;
                assert_eq!(outcome["state"], "FINALIZED", "{outcome}");
            })
        })
    });
    group.finish();
}

criterion_group!(benches, negotiation);
criterion_main!(benches);
