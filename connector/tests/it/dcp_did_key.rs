//! A did:key connector publishes its Credential Service in its signed self-issued token (its
//! DID document cannot name one) and negotiates by the Decentralized Claims Protocol; the
//! provider holds the URL to its address policy (checked in `dcp::verifier`).

use serde_json::Value;
use symbolon_connector::negotiation::PresentationMode;
use symbolon_identity::{Identity, KeyAlgorithm};

use crate::dsp::{connector, connector_serving, hold, membership, negotiate, publish, trust};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn of_kind(events: &Value, kind: &str) -> Vec<Value> {
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_did_key_consumer_naming_its_credential_service_negotiates_by_dcp() {
    let (authority, provider) = (connector(), connector());
    let port = free_port();
    let consumer = connector_serving(
        Identity::generate(KeyAlgorithm::Ed25519),
        format!("127.0.0.1:{port}").parse().unwrap(),
        |options| {
            options.presentations = PresentationMode::Dcp;
            options.credential_service = Some(format!("http://127.0.0.1:{port}/dcp/holder"));
        },
    );
    assert!(consumer.did().starts_with("did:key:"));
    trust(&authority, &provider).await;
    publish(&provider).await;
    let (credential, _) = membership(&authority, consumer.did(), "Hospital").await;
    hold(&consumer, &credential).await;

    let negotiation = negotiate(&consumer, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    // The provider queried the consumer's Credential Service, at the address its token named.
    let verified = of_kind(&provider.events().await, "presentation.verified");
    assert_eq!(verified.len(), 1, "{verified:?}");
    assert_eq!(verified[0]["outcome"], "ok", "{verified:?}");
    assert_eq!(verified[0]["details"]["mode"], "dcp");
    let queried = of_kind(&consumer.events().await, "presentation.queried");
    assert_eq!(queried.len(), 1, "{queried:?}");
    assert_eq!(queried[0]["outcome"], "answered");
    assert_eq!(queried[0]["actor"], provider.did());
}
