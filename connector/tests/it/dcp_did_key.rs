//! A did:key connector publishes its Credential Service in its signed self-issued token (its
//! DID document cannot name one) and negotiates by the Decentralized Claims Protocol; the
//! provider holds the URL to its address policy (checked in `dcp::verifier`).

use serde_json::Value;
use symbolon_connector::negotiation::auth::TokenDraft;
use symbolon_connector::negotiation::PresentationMode;
use symbolon_identity::{Identity, KeyAlgorithm};

use crate::dsp::{
    connector, connector_serving, connector_with, eventually, hold, membership, negotiate, publish,
    trust,
};
use crate::protocol::request_message;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_service_outside_the_address_policy_is_not_called() {
    // A provider that reaches public addresses only. Its refusal cannot be delivered to the
    // caller's callback either (a provider's move is stored only once the counterparty has
    // it), so the refusal is read from the provider's record.
    let provider = connector_with(false);
    publish(&provider).await;
    let authority = connector();
    trust(&authority, &provider).await;
    let caller = Identity::generate(KeyAlgorithm::Ed25519);
    let named = ["http://10.1.2.3/dcp/holder", "file:///etc/passwd"];
    for url in named {
        let token = TokenDraft::new(provider.did())
            .with_access_token("opaque".into())
            .with_credential_service(Some(url))
            .sign(&caller, None, None);
        let consumer_pid = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let response = reqwest::Client::new()
            .post(format!("{}/negotiations/request", provider.dsp()))
            .bearer_auth(token)
            .json(&request_message(
                &consumer_pid,
                "https://consumer.invalid/dsp",
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{url}");
    }
    let refused = eventually(
        std::time::Duration::from_secs(10),
        "both refusals on the provider's record",
        || async {
            let events = provider.events().await;
            let refused = of_kind(&events, "presentation.verified");
            (refused.len() == 2).then_some(refused)
        },
    )
    .await;
    for url in named {
        let event = refused
            .iter()
            .find(|e| e["details"]["error"].as_str().unwrap().contains(url))
            .unwrap_or_else(|| panic!("no refusal names `{url}`: {refused:?}"));
        assert_eq!(event["outcome"], "refused", "{event}");
        assert!(
            event["details"]["error"]
                .as_str()
                .unwrap()
                .contains("is refused"),
            "{event}"
        );
    }
    // Nothing else was verified: no presentation was fetched from either address.
    let verified = of_kind(&provider.events().await, "presentation.verified");
    assert!(
        verified.iter().all(|e| e["outcome"] == "refused"),
        "{verified:?}"
    );
}
