//! The consumer's side of the protocol, with a test playing the provider: it follows the
//! provider's moves and refuses illegal ones, sends schema-valid messages, checks the
//! agreement's signature, and records an unsigned agreement from the provider it authenticated.

use serde_json::{json, Value};
use symbolon_identity::{jose, Identity, KeyAlgorithm};

use crate::dsp::*;
use crate::protocol::DSP_CONTEXT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_side_follows_the_provider_and_refuses_illegal_moves() {
    // The test plays the provider (with a key of its own) against a real consumer connector.
    let hospital = connector();
    let provider = Identity::generate(KeyAlgorithm::Ed25519);
    let recorder = Recorder::start().await;
    // A consumer-side negotiation arrives as an initial offer from the provider.
    let offer = json!({
        "@context": [DSP_CONTEXT], "@type": "ContractOfferMessage", "providerPid": "urn:uuid:p-1",
        "offer": {"@type": "Offer", "@id": "urn:uuid:o-1", "target": "ds-1", "permission": [{"action": "use"}]},
        "callbackAddress": recorder.url,
    });
    let (status, created) = dsp_post(
        &format!("{}/negotiations/offers", hospital.dsp()),
        &token(&provider, hospital.did(), &[]).await,
        &offer,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["state"], "OFFERED");
    let pid = created["consumerPid"].as_str().unwrap().to_owned();
    let base = format!("{}/negotiations/{pid}", hospital.dsp());
    // A provider may not finalise an offer, nor send a counter-offer in OFFERED.
    let finalized = json!({"@context": [DSP_CONTEXT], "@type": "ContractNegotiationEventMessage",
                           "providerPid": "urn:uuid:p-1", "consumerPid": pid, "eventType": "FINALIZED"});
    let (status, error) = dsp_post(
        &format!("{base}/events"),
        &token(&provider, hospital.did(), &[]).await,
        &finalized,
    )
    .await;
    assert_eq!(status, 400, "{error}");
    let mut counter = offer.clone();
    counter["consumerPid"] = pid.clone().into();
    let (status, _) = dsp_post(
        &format!("{base}/offers"),
        &token(&provider, hospital.did(), &[]).await,
        &counter,
    )
    .await;
    assert_eq!(status, 400);
    // An agreement is refused in OFFERED (the consumer has not requested or accepted).
    let agreement = json!({"@context": [DSP_CONTEXT], "@type": "ContractAgreementMessage",
        "providerPid": "urn:uuid:p-1", "consumerPid": pid,
        "agreement": {"@id": "urn:uuid:a-1", "@type": "Agreement", "target": "ds-1", "assigner": provider.did.as_str(),
                      "assignee": hospital.did(), "timestamp": "2026-01-01T00:00:00Z", "permission": [{"action": "use"}]}});
    let (status, error) = dsp_post(
        &format!("{base}/agreement"),
        &token(&provider, hospital.did(), &[]).await,
        &agreement,
    )
    .await;
    assert_eq!(status, 400, "an agreement in OFFERED: {error}");
    // The provider terminates; afterwards nothing is allowed.
    let termination = json!({"@context": [DSP_CONTEXT], "@type": "ContractNegotiationTerminationMessage",
        "providerPid": "urn:uuid:p-1", "consumerPid": pid, "code": "1", "reason": ["withdrawn"]});
    let (status, answer) = dsp_post(
        &format!("{base}/termination"),
        &token(&provider, hospital.did(), &[]).await,
        &termination,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "TERMINATED");
    let (status, _) = dsp_post(
        &format!("{base}/termination"),
        &token(&provider, hospital.did(), &[]).await,
        &termination,
    )
    .await;
    assert_eq!(status, 400);
    let (_, negotiation) = hospital.get(&format!("/api/v1/negotiations/{pid}")).await;
    assert_eq!(negotiation["reason"], json!(["withdrawn"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_sends_schema_valid_messages_and_checks_the_agreement_signature() {
    // The test plays the provider: a recorder serves its catalog entry and receives the
    // consumer's messages; the test signs the agreement with the provider's key.
    let hospital = connector();
    let provider = Identity::generate(KeyAlgorithm::Ed25519);
    let dataset = json!({"@context": [DSP_CONTEXT], "@id": "ds-1", "@type": "Dataset",
        "hasPolicy": [{"@id": "urn:uuid:o-1", "@type": "Offer", "permission": [{"action": "use"}]}],
        "distribution": [{"@type": "Distribution", "format": "x", "accessService": "urn:s"}]});
    let answer = json!({"@context": [DSP_CONTEXT], "@type": "ContractNegotiation",
        "providerPid": "urn:uuid:p-9", "consumerPid": "set-by-consumer", "state": "REQUESTED"});
    let recorder = Recorder::start_with(vec![
        ("/catalog/datasets/ds-1", 200, dataset),
        ("/negotiations/request", 201, answer),
    ])
    .await;
    let (status, started) = hospital
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": format!("{}/dsp", recorder.url), "provider_did": provider.did.as_str(),
                    "offer_id": "ds-1", "wait_seconds": 0}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["state"], "REQUESTED");
    assert_eq!(started["provider_pid"], "urn:uuid:p-9");
    let pid = started["consumer_pid"].as_str().unwrap().to_owned();
    let request = recorder.wait_for("/negotiations/request").await;
    assert_eq!(request["offer"]["target"], "ds-1");

    let agreement = json!({"@id": "urn:uuid:a-9", "@type": "Agreement", "target": "ds-1",
        "assigner": provider.did.as_str(), "assignee": hospital.did(),
        "timestamp": "2026-11-23T12:00:00Z", "permission": [{"action": "use"}]});
    let signature = jose::sign(
        &provider.key,
        &provider.verification_method(),
        "symbolon-agreement+jwt",
        &agreement,
    );
    let message = |agreement: &Value, signature: &str| {
        let mut body = agreement.clone();
        body["signature"] = signature.into();
        json!({"@context": [DSP_CONTEXT], "@type": "ContractAgreementMessage",
               "providerPid": "urn:uuid:p-9", "consumerPid": pid, "agreement": body})
    };
    let url = format!("{}/negotiations/{pid}/agreement", hospital.dsp());
    // A changed term under the old signature is refused, and so is another signer.
    let mut tampered = agreement.clone();
    tampered["target"] = "ds-2".into();
    let (status, error) = dsp_post(
        &url,
        &token(&provider, hospital.did(), &[]).await,
        &message(&tampered, &signature),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["reason"][0].as_str().unwrap().contains("signature"),
        "{error}"
    );
    let impostor = Identity::generate(KeyAlgorithm::Ed25519);
    let forged = jose::sign(
        &impostor.key,
        &impostor.verification_method(),
        "symbolon-agreement+jwt",
        &agreement,
    );
    let (status, _) = dsp_post(
        &url,
        &token(&provider, hospital.did(), &[]).await,
        &message(&agreement, &forged),
    )
    .await;
    assert_eq!(status, 400);
    // The genuine one is accepted; the consumer verifies and the test finalises.
    let (status, answer) = dsp_post(
        &url,
        &token(&provider, hospital.did(), &[]).await,
        &message(&agreement, &signature),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let verification = recorder.wait_for("/agreement/verification").await;
    assert_eq!(verification["consumerPid"], pid.as_str());
    state_of(&hospital, &pid, "VERIFIED").await;
    let finalized = json!({"@context": [DSP_CONTEXT], "@type": "ContractNegotiationEventMessage",
        "providerPid": "urn:uuid:p-9", "consumerPid": pid, "eventType": "FINALIZED"});
    let (status, answer) = dsp_post(
        &format!("{}/negotiations/{pid}/events", hospital.dsp()),
        &token(&provider, hospital.did(), &[]).await,
        &finalized,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "FINALIZED");
    let (status, kept) = hospital.get("/api/v1/agreements/urn:uuid:a-9").await;
    assert_eq!(status, 200);
    assert_eq!(kept["signature"], signature.as_str());

    {
        let schemas = Schemas::load();
        schemas.check("negotiation/contract-request-message-schema.json", &request);
        schemas.check(
            "negotiation/contract-agreement-verification-message-schema.json",
            &verification,
        );
        schemas.check("negotiation/contract-negotiation-schema.json", &answer);
    }
}

// Before: an agreement without Symbolon's own `signature` member — every agreement from a
// provider that is not Symbolon — was refused. From the authenticated provider it is taken
// and recorded as unsigned; a signature that is present must still verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_agreement_from_the_authenticated_provider_is_accepted_and_recorded() {
    let hospital = connector();
    let provider = Identity::generate(KeyAlgorithm::Ed25519);
    let (pid, _recorder) =
        requested_from_played_provider(&hospital, &provider, "urn:uuid:p-7", Vec::new()).await;
    let url = format!("{}/negotiations/{pid}/agreement", hospital.dsp());
    let agreement = json!({"@id": "urn:uuid:a-7", "@type": "Agreement", "target": "ds-1",
        "assigner": provider.did.as_str(), "assignee": hospital.did(),
        "timestamp": "2026-11-23T12:00:00Z", "permission": [{"action": "use"}]});
    let message = |agreement: &Value| {
        json!({"@context": [DSP_CONTEXT], "@type": "ContractAgreementMessage",
               "providerPid": "urn:uuid:p-7", "consumerPid": pid, "agreement": agreement})
    };
    // A signature that is present must verify: one over other terms is refused.
    let mut forged = agreement.clone();
    forged["signature"] = jose::sign(
        &provider.key,
        &provider.verification_method(),
        "symbolon-agreement+jwt",
        &json!({"other": "terms"}),
    )
    .into();
    let (status, error) = dsp_post(
        &url,
        &token(&provider, hospital.did(), &[]).await,
        &message(&forged),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(error.to_string().contains("signature"), "{error}");
    // Without a signature, from the authenticated provider: taken.
    let (status, answer) = dsp_post(
        &url,
        &token(&provider, hospital.did(), &[]).await,
        &message(&agreement),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    state_of(&hospital, &pid, "VERIFIED").await;
    let (status, stored) = hospital.get("/api/v1/agreements/urn:uuid:a-7").await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["signature"], Value::Null);
    let events = hospital.events().await;
    let agreed = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subject"] == pid.as_str() && e["outcome"] == "AGREED")
        .unwrap_or_else(|| panic!("no AGREED event: {events}"));
    assert_eq!(agreed["details"]["agreement_signed"], false, "{agreed}");
}
