//! Provider-initiated negotiations: a provider offers a contract, the consumer's operator
//! accepts it (presenting its membership) or terminates it, over the Dataspace Protocol on
//! 127.0.0.1.

use serde_json::{json, Value};

use crate::dsp::*;

/// The provider offers `ward-statistics` to `consumer`; returns the provider's negotiation.
async fn offer_to(provider: &Connector, consumer: &Connector) -> Value {
    let (status, offered) = provider
        .post(
            "/api/v1/negotiations/offers",
            &json!({"consumer_url": consumer.dsp(), "offer_id": "ward-statistics"}),
        )
        .await;
    assert_eq!(status, 200, "{offered}");
    assert_eq!(offered["state"], "OFFERED", "{offered}");
    assert_eq!(offered["role"], "provider");
    offered
}

/// The consumer's negotiation for the provider's process `provider_pid`.
async fn consumer_side(consumer: &Connector, provider_pid: &str) -> Value {
    let (status, all) = consumer.get("/api/v1/negotiations").await;
    assert_eq!(status, 200, "{all}");
    all.as_array()
        .unwrap()
        .iter()
        .find(|n| n["provider_pid"] == provider_pid)
        .cloned()
        .unwrap_or_else(|| panic!("the consumer has no negotiation for {provider_pid}: {all}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_offers_and_the_hospital_accepts_to_finalized() {
    let (_authority, provider, hospital) = provider_and_member_hospital().await;

    let offered = offer_to(&provider, &hospital).await;
    let provider_pid = offered["provider_pid"].as_str().unwrap();
    let consumer = consumer_side(&hospital, provider_pid).await;
    assert_eq!(consumer["state"], "OFFERED");
    assert_eq!(consumer["role"], "consumer");
    assert_eq!(offered["consumer_pid"], consumer["consumer_pid"]);
    assert_eq!(consumer["offer_id"], "ward-statistics");

    let consumer_pid = consumer["consumer_pid"].as_str().unwrap();
    let (status, accepted) = hospital
        .post(
            &format!("/api/v1/negotiations/{consumer_pid}/accept"),
            &json!({"wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["state"], "FINALIZED", "{accepted}");
    state_of(&provider, provider_pid, "FINALIZED").await;
    let agreement_id = accepted["agreement_id"].as_str().unwrap();
    for node in [&provider, &hospital] {
        let (status, agreement) = node
            .get(&format!("/api/v1/agreements/{agreement_id}"))
            .await;
        assert_eq!(status, 200, "{agreement}");
        assert_eq!(agreement["assignee"], hospital.did());
    }

    // A final negotiation cannot be accepted or terminated again.
    let (status, body) = hospital
        .post(
            &format!("/api/v1/negotiations/{consumer_pid}/accept"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = provider
        .post(
            &format!("/api/v1/negotiations/{provider_pid}/terminate"),
            &json!({"reason": "late"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_accepted_without_a_membership_is_refused_with_reasons() {
    let (authority, provider, stranger) = (connector(), connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let offered = offer_to(&provider, &stranger).await;
    let provider_pid = offered["provider_pid"].as_str().unwrap();
    let consumer_pid = offered["consumer_pid"].as_str().unwrap();
    let (status, answered) = stranger
        .post(
            &format!("/api/v1/negotiations/{consumer_pid}/accept"),
            &json!({"wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(answered["state"], "TERMINATED", "{answered}");
    assert!(
        !answered["reason"].as_array().unwrap().is_empty(),
        "{answered}"
    );
    state_of(&provider, provider_pid, "TERMINATED").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_terminates_an_offer_and_the_provider_learns_why() {
    let (authority, provider, hospital) = (connector(), connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let offered = offer_to(&provider, &hospital).await;
    let provider_pid = offered["provider_pid"].as_str().unwrap();
    let consumer_pid = offered["consumer_pid"].as_str().unwrap();
    let (status, terminated) = hospital
        .post(
            &format!("/api/v1/negotiations/{consumer_pid}/terminate"),
            &json!({"reason": "we have no use for ward statistics"}),
        )
        .await;
    assert_eq!(status, 200, "{terminated}");
    assert_eq!(terminated["state"], "TERMINATED");
    let at_provider = state_of(&provider, provider_pid, "TERMINATED").await;
    assert_eq!(
        at_provider["reason"],
        json!(["we have no use for ward statistics"])
    );

    // Unknown negotiations, unknown offers and malformed requests are refused clearly.
    let (status, _) = hospital
        .post("/api/v1/negotiations/urn:uuid:nope/accept", &json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, body) = provider
        .post(
            "/api/v1/negotiations/offers",
            &json!({"consumer_url": hospital.dsp(), "offer_id": "no-such-offer"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("no-such-offer"), "{body}");
    let (status, _) = provider
        .post(
            "/api/v1/negotiations/offers",
            &json!({"consumer_url": "ftp://x", "offer_id": "ward-statistics"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = hospital
        .post(
            &format!("/api/v1/negotiations/{consumer_pid}/terminate"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 400, "a termination needs a reason");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offer_the_provider_sends_follows_the_protocol_schema() {
    let provider = connector();
    publish(&provider).await;
    let consumer = symbolon_identity::Identity::generate(symbolon_identity::KeyAlgorithm::Ed25519);
    let answer = json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiation",
        "providerPid": "urn:uuid:filled-in-by-the-test",
        "consumerPid": "urn:uuid:c-1",
        "state": "OFFERED",
    });
    let recorder = Recorder::start_with(vec![("/negotiations/offers", 201, answer)]).await;
    let (status, offered) = provider
        .post(
            "/api/v1/negotiations/offers",
            &json!({"consumer_url": format!("{}/dsp", recorder.url),
                    "consumer_did": consumer.did.as_str(), "offer_id": "ward-statistics"}),
        )
        .await;
    assert_eq!(status, 200, "{offered}");
    assert_eq!(offered["consumer_pid"], "urn:uuid:c-1");
    let message = recorder.wait_for("/dsp/negotiations/offers").await;
    assert_eq!(message["@type"], "ContractOfferMessage");
    assert_eq!(message["offer"]["target"], "ward-statistics");
    assert_eq!(message["callbackAddress"], provider.dsp());
    {
        let schemas = Schemas::load();
        schemas.check("negotiation/contract-offer-message-schema.json", &message);
    }

    // A consumer that cannot be reached ends the negotiation, with the reason.
    let (status, offered) = provider
        .post(
            "/api/v1/negotiations/offers",
            &json!({"consumer_url": "http://127.0.0.1:9/dsp", "consumer_did": consumer.did.as_str(),
                    "offer_id": "ward-statistics"}),
        )
        .await;
    assert_eq!(status, 200, "{offered}");
    assert_eq!(offered["state"], "TERMINATED", "{offered}");
}
