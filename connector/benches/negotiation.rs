//! One full contract negotiation on loopback, request → FINALIZED: a hospital asks an
//! insurer's connector for an offer, presenting its membership; the insurer verifies it,
//! evaluates the policy, signs the agreement; both sides store every step durably. Measured
//! side by side: the presentation inside the token (`inline`, between Symbolon connectors), and
//! by the Decentralized Claims Protocol (`dcp`: the insurer queries the hospital's Credential
//! Service). Targets: inline under 20 ms, dcp under 30 ms; and the Credential Service answers
//! a one-scope query (`credential_service_query`, one HTTP round trip) in under 2 ms.
#![allow(missing_docs, reason = "criterion generates undocumented items")]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;
use symbolon_connector::dcp::scope;
use symbolon_connector::negotiation::auth::TokenDraft;
use symbolon_connector::negotiation::PresentationMode;
use symbolon_connector::server::{start, ServeOptions};
use symbolon_identity::{issue_credential, Format, Identity, KeyAlgorithm, KeyPair};

struct Node {
    identity: Identity,
    url: String,
    token: String,
    _tmp: tempfile::TempDir,
}

fn node() -> Node {
    node_with(false)
}

/// A node; with `did_web`, its DID is `did:web:127.0.0.1%3A<port>` and it presents by the
/// Decentralized Claims Protocol.
fn node_with(did_web: bool) -> Node {
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = DataDir::new(tmp.path());
    let key = KeyPair::generate(KeyAlgorithm::Ed25519);
    let (identity, http, presentations) = if did_web {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let did = format!("did:web:127.0.0.1%3A{port}");
        let identity = Identity::with_web_did(key, &did).expect("did:web");
        (identity, format!("127.0.0.1:{port}"), PresentationMode::Dcp)
    } else {
        let identity = Identity::from_key(key);
        (identity, "127.0.0.1:0".to_owned(), PresentationMode::Auto)
    };
    let identity = dir.init_with(identity, None).expect("init");
    let options = ServeOptions {
        presentations,
        status_cache_ttl: Duration::from_secs(30),
        // Both connectors call each other from 127.0.0.1 as fast as they can.
        rate_limit: None,
        allow_private_callbacks: true,
        ..ServeOptions::new(http.parse().expect("address"))
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

/// The authority, the insurer and two hospitals: one presenting inline, one by DCP.
async fn data_space() -> (Node, Node, Node, Node) {
    let (authority, insurer) = (node(), node());
    let (hospital, web_hospital) = (node(), node_with(true));
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
    for member in [&hospital, &web_hospital] {
        let membership = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
            "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
            "credentialSubject": {"id": member.identity.did.as_str(), "legalName": "Ziekenhuis",
                                  "registrationNumber": "KvK-7", "role": "Hospital", "dataSpaceId": "hds"}
        });
        let issued = call(
            &authority,
            reqwest::Method::POST,
            "/credentials/issue",
            json!({"credential": membership, "options": {"credentialStatus": true}}),
        )
        .await;
        call(
            member,
            reqwest::Method::POST,
            "/api/v1/credentials",
            json!({"verifiableCredential": issued["verifiableCredential"]}),
        )
        .await;
    }
    let policy = r#"policy "members" { permit use on offer "ward-statistics" when holder.role == "Hospital" and holder.member_of == "hds" obligation delete_after { days = 30 } }"#;
    call(
        &insurer,
        reqwest::Method::POST,
        "/api/v1/offers",
        json!({"id": "ward-statistics", "title": "Ward statistics", "policy": policy}),
    )
    .await;
    (authority, insurer, hospital, web_hospital)
}

fn negotiation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (_authority, insurer, hospital, web_hospital) = runtime.block_on(data_space());
    let provider_url = format!("{}/dsp/2025-1", insurer.url);
    let provider_did = insurer.identity.did.to_string();
    let mut group = c.benchmark_group("negotiation");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    for (name, consumer) in [
        ("request_to_finalized_loopback/inline", &hospital),
        ("request_to_finalized_loopback/dcp", &web_hospital),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let outcome = call(
                        consumer,
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
    }
    let verifier = Identity::generate(KeyAlgorithm::Ed25519);
    let granted = symbolon_connector::dcp::access::mint(
        &web_hospital.identity,
        verifier.did.as_str(),
        &[scope::MEMBERSHIP.to_owned()].into(),
    );
    let query = json!({
        "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
        "type": "PresentationQueryMessage",
        "scope": [scope::scope_for(scope::MEMBERSHIP)],
    });
    let url = format!("{}/dcp/holder/presentations/query", web_hospital.url);
    let client = reqwest::Client::new();
    group.bench_function("credential_service_query", |b| {
        b.iter_batched(
            || {
                TokenDraft::new(web_hospital.identity.did.as_str())
                    .with_access_token(granted.clone())
                    .sign(&verifier, None, None)
            },
            |token| {
                runtime.block_on(async {
                    let response = client
                        .post(&url)
                        .bearer_auth(token)
                        .json(&query)
                        .send()
                        .await
                        .expect("query");
                    assert!(response.status().is_success(), "{}", response.status());
                    let answer: Value = response.json().await.expect("JSON");
                    assert_eq!(answer["presentation"].as_array().map(Vec::len), Some(1));
                })
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, negotiation);
criterion_main!(benches);
