//! Negotiations answered by the operators (an offer whose `decision` is `manual`, a consumer
//! that verifies by hand), and moves that are stored only once the counterparty acknowledged
//! them, between connectors on 127.0.0.1.

use std::time::Duration;

use serde_json::{json, Value};

use crate::dsp::*;
use crate::protocol::request_message;

/// Publishes `ward-statistics` under [`POLICY`], answered by the provider's operator.
pub async fn publish_manual(provider: &Connector) {
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "ward-statistics", "title": "Ward statistics", "policy": POLICY,
                    "decision": "manual"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["decision"], "manual", "{body}");
}

/// Waits until the provider's negotiation `pid` is in `state` with the policy's verdict kept.
pub async fn assessed(provider: &Connector, pid: &str, state: &str) -> Value {
    let what = format!("negotiation {pid} to be {state} with a verdict");
    eventually(Duration::from_secs(10), &what, || async {
        let (_, n) = provider.get(&format!("/api/v1/negotiations/{pid}")).await;
        (n["state"] == state && n["recommendation"].is_object()).then_some(n)
    })
    .await
}

/// An operator's move `mv` on `node`'s negotiation `pid`; answers the status and the body.
pub async fn operator(node: &Connector, pid: &str, mv: &str, body: Value) -> (u16, Value) {
    node.post(&format!("/api/v1/negotiations/{pid}/{mv}"), &body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_mode_drives_offer_counter_request_offer_accept_agreement_verification_to_finalized()
{
    let (authority, provider, hospital) = (connector(), connector(), connector());
    trust(&authority, &provider).await;
    publish_manual(&provider).await;
    let (credential, _) = membership(&authority, hospital.did(), "Hospital").await;
    hold(&hospital, &credential).await;

    // The hospital requests, verifying agreements by hand; the provider does not decide on
    // its own but keeps the policy's verdict for its operator.
    let (status, started) = hospital
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": provider.dsp(), "offer_id": "ward-statistics",
                    "decision": "manual", "wait_seconds": 0}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["state"], "REQUESTED", "{started}");
    assert_eq!(started["decision"], "manual");
    let consumer_pid = started["consumer_pid"].as_str().unwrap().to_owned();
    let provider_pid = started["provider_pid"].as_str().unwrap().to_owned();
    let requested = assessed(&provider, &provider_pid, "REQUESTED").await;
    assert_eq!(requested["decision"], "manual");
    assert_eq!(requested["recommendation"]["agree"], true, "{requested}");
    let names: Vec<&str> = requested["recommendation"]["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["delete_after", "aggregate_only"]);
    assert_eq!(requested["agreement_id"], Value::Null);

    // A counter-offer that loosens the policy is refused before anything is sent.
    let mut looser = requested["offer"].clone();
    looser["permission"] = json!([{"action": "use"}]);
    let (status, error) = operator(
        &provider,
        &provider_pid,
        "offer",
        json!({ "offer": looser }),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("`permission`"),
        "{error}"
    );
    // One that adds a duty is sent: OFFERED on both sides.
    let duty = json!({"action": "inform", "comment": "report each use to the ward"});
    let mut stricter = requested["offer"].clone();
    stricter["@id"] = "urn:uuid:counter-offer-1".into();
    stricter["obligation"]
        .as_array_mut()
        .map(|duties| duties.push(duty.clone()))
        .unwrap_or_else(|| stricter["obligation"] = json!([duty.clone()]));
    let (status, offered) = operator(
        &provider,
        &provider_pid,
        "offer",
        json!({ "offer": stricter }),
    )
    .await;
    assert_eq!(status, 200, "{offered}");
    assert_eq!(offered["state"], "OFFERED");
    let at_hospital = state_of(&hospital, &consumer_pid, "OFFERED").await;
    assert_eq!(at_hospital["offer"]["@id"], "urn:uuid:counter-offer-1");

    // The hospital counter-requests the terms it was offered; the provider assesses again.
    let (status, again) = operator(
        &hospital,
        &consumer_pid,
        "request",
        json!({"purpose": "ward planning"}),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["state"], "REQUESTED");
    let requested = assessed(&provider, &provider_pid, "REQUESTED").await;
    assert_eq!(requested["recommendation"]["agree"], true, "{requested}");
    assert_eq!(requested["purpose"], "ward planning");
    assert_eq!(requested["offer"]["@id"], "urn:uuid:counter-offer-1");

    // The provider offers its terms (with the duty) again; the hospital accepts.
    let (status, offered) = operator(
        &provider,
        &provider_pid,
        "offer",
        json!({ "offer": requested["offer"] }),
    )
    .await;
    assert_eq!(status, 200, "{offered}");
    state_of(&hospital, &consumer_pid, "OFFERED").await;
    let (status, accepted) = operator(
        &hospital,
        &consumer_pid,
        "accept",
        json!({"wait_seconds": 0}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["state"], "ACCEPTED");
    let accepted = assessed(&provider, &provider_pid, "ACCEPTED").await;
    assert_eq!(accepted["recommendation"]["agree"], true, "{accepted}");

    // The provider's operator agrees: AGREED on both sides, and the hospital, in manual
    // mode, does not verify on its own.
    let (status, agreed) = operator(&provider, &provider_pid, "agree", json!({})).await;
    assert_eq!(status, 200, "{agreed}");
    assert_eq!(agreed["state"], "AGREED");
    state_of(&hospital, &consumer_pid, "AGREED").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, still) = hospital
        .get(&format!("/api/v1/negotiations/{consumer_pid}"))
        .await;
    assert_eq!(still["state"], "AGREED", "{still}");

    let (status, verified) = operator(&hospital, &consumer_pid, "verify", json!({})).await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["state"], "VERIFIED");
    state_of(&provider, &provider_pid, "FINALIZED").await;
    let finalized = state_of(&hospital, &consumer_pid, "FINALIZED").await;

    // The agreement carries the policy's obligations and the duty the offer added.
    let agreement_id = finalized["agreement_id"].as_str().unwrap();
    let (status, agreement) = hospital
        .get(&format!("/api/v1/agreements/{agreement_id}"))
        .await;
    assert_eq!(status, 200, "{agreement}");
    let duties = agreement["odrl"]["obligation"].as_array().unwrap();
    assert!(duties.contains(&duty), "{agreement}");
    assert!(
        duties
            .iter()
            .any(|d| d["action"].as_str().unwrap().ends_with("#delete_after")),
        "{agreement}"
    );
    let outcomes: Vec<String> = provider
        .events()
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "negotiation.transition" && e["subject"] == provider_pid.as_str())
        .map(|e| e["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        outcomes,
        [
            "REQUESTED",
            "OFFERED",
            "REQUESTED",
            "OFFERED",
            "ACCEPTED",
            "AGREED",
            "VERIFIED",
            "FINALIZED"
        ]
    );

    // A transfer under it waits for the provider's operator to start it.
    let (status, requested) = hospital
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": agreement_id, "format": "symbolon:dataset", "wait_seconds": 0}),
        )
        .await;
    assert_eq!(status, 201, "{requested}");
    let transfer_pid = requested["provider_pid"].as_str().unwrap().to_owned();
    let consumer_transfer = requested["consumer_pid"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, waiting) = provider
        .get(&format!("/api/v1/transfers/{transfer_pid}"))
        .await;
    assert_eq!(waiting["state"], "REQUESTED", "{waiting}");
    let (status, started) = provider
        .post(
            &format!("/api/v1/transfers/{transfer_pid}/start"),
            &json!({}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["state"], "STARTED");
    crate::transfer::transfer_state(&hospital, &consumer_transfer, "STARTED").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_cannot_agree_against_the_policys_verdict_and_moves_out_of_turn_are_409() {
    let (authority, provider, pharmacy) = (connector(), connector(), connector());
    trust(&authority, &provider).await;
    publish_manual(&provider).await;
    let (credential, _) = membership(&authority, pharmacy.did(), "Pharmacy").await;
    hold(&pharmacy, &credential).await;
    let started = negotiate_without_waiting(&pharmacy, &provider).await;
    let provider_pid = started["provider_pid"].as_str().unwrap();
    let consumer_pid = started["consumer_pid"].as_str().unwrap();
    let requested = assessed(&provider, provider_pid, "REQUESTED").await;
    assert_eq!(requested["recommendation"]["agree"], false, "{requested}");
    assert!(
        requested["recommendation"]["reasons"]
            .to_string()
            .contains("Pharmacy"),
        "{requested}"
    );

    let (status, error) = operator(&provider, provider_pid, "agree", json!({})).await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["error"], "conflict");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("does not permit"),
        "{error}"
    );
    // Moves of the other role, or out of turn, are refused and change nothing.
    for (node, pid, mv, want) in [
        (&provider, provider_pid, "verify", 400),
        (&provider, provider_pid, "request", 400),
        (&pharmacy, consumer_pid, "agree", 400),
        (&pharmacy, consumer_pid, "offer", 400),
        (&pharmacy, consumer_pid, "verify", 409),
        (&pharmacy, consumer_pid, "request", 409),
        (&pharmacy, consumer_pid, "accept", 409),
    ] {
        let (status, error) = operator(node, pid, mv, json!({"wait_seconds": 0})).await;
        assert_eq!(status, want, "{mv}: {error}");
        assert!(error["message"].is_string(), "{error}");
    }
    let (status, _) = operator(&provider, "urn:uuid:nothing", "agree", json!({})).await;
    assert_eq!(status, 404);
    let (status, error) = provider
        .post(
            &format!("/api/v1/negotiations/{provider_pid}/offer"),
            &json!({"offer": "not an offer"}),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("field `offer`"),
        "{error}"
    );

    // The operator refuses: TERMINATED on both sides, with the reason.
    let (status, ended) = operator(
        &provider,
        provider_pid,
        "terminate",
        json!({"reason": "pharmacies are not served"}),
    )
    .await;
    assert_eq!(status, 200, "{ended}");
    let at_pharmacy = state_of(&pharmacy, consumer_pid, "TERMINATED").await;
    assert_eq!(at_pharmacy["reason"], json!(["pharmacies are not served"]));
}

/// Starts a negotiation from `consumer` for `ward-statistics` and answers it at once.
async fn negotiate_without_waiting(consumer: &Connector, provider: &Connector) -> Value {
    let (status, started) = consumer
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": provider.dsp(), "offer_id": "ward-statistics",
                    "wait_seconds": 0}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    started
}

/// A provider (offer decided by its operator when `manual`) with a request from a consumer the
/// test plays, whose callback nobody answers; returns the authority, the provider and the
/// provider's process id.
async fn requested_by_an_unreachable_consumer(manual: bool) -> (Connector, Connector, String) {
    let (authority, provider) = (connector(), connector());
    trust(&authority, &provider).await;
    if manual {
        publish_manual(&provider).await;
    } else {
        publish(&provider).await;
    }
    let consumer = symbolon_identity::Identity::generate(symbolon_identity::KeyAlgorithm::Ed25519);
    let (credential, _) = membership(&authority, consumer.did.as_str(), "Hospital").await;
    let gone = format!("http://127.0.0.1:{}", closed_port());
    let (status, created) = dsp_post(
        &format!("{}/negotiations/request", provider.dsp()),
        &token(&consumer, provider.did(), &[&credential]).await,
        &request_message("urn:uuid:c-gone", &gone),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let pid = created["providerPid"].as_str().unwrap().to_owned();
    (authority, provider, pid)
}

/// A port on 127.0.0.1 nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

// Before: the provider stored AGREED (and the agreement) and then sent it; a consumer that
// never received it was left REQUESTED while the provider claimed an agreement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_whose_consumer_is_unreachable_stays_requested_and_records_the_failed_send() {
    let (_authority, provider, pid) = requested_by_an_unreachable_consumer(false).await;
    // The policy permits; the agreement is tried three times and never stored.
    let failed = eventually(Duration::from_secs(15), "three failed sends", || async {
        let events = provider.events().await;
        let failed: Vec<Value> = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "negotiation.send_failed" && e["subject"] == pid.as_str())
            .cloned()
            .collect();
        (failed.len() == 3).then_some(failed)
    })
    .await;
    assert_eq!(failed[0]["details"]["message"], "ContractAgreementMessage");
    let (_, negotiation) = provider.get(&format!("/api/v1/negotiations/{pid}")).await;
    assert_eq!(negotiation["state"], "REQUESTED", "{negotiation}");
    assert_eq!(negotiation["agreement_id"], Value::Null);
    let (_, agreements) = provider.get("/api/v1/agreements").await;
    assert_eq!(agreements, json!([]));
    let transitions = transitions(&provider, &pid).await;
    assert_eq!(transitions.len(), 1, "only REQUESTED: {transitions:?}");

    // The operator's termination cannot be delivered either: 502, unchanged, unless forced.
    let (status, error) = operator(&provider, &pid, "terminate", json!({"reason": "gone"})).await;
    assert_eq!(status, 502, "{error}");
    assert_eq!(error["error"], "bad_gateway");
    assert!(
        error["message"].as_str().unwrap().contains("unchanged"),
        "{error}"
    );
    state_of(&provider, &pid, "REQUESTED").await;
    let (status, ended) = operator(
        &provider,
        &pid,
        "terminate",
        json!({"reason": "gone", "force": true}),
    )
    .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"], "TERMINATED");
}

/// The `negotiation.transition` events of `pid` on `node`.
async fn transitions(node: &Connector, pid: &str) -> Vec<Value> {
    let events = node.events().await;
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "negotiation.transition" && e["subject"] == pid)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_agreement_the_consumer_cannot_receive_is_a_502_and_changes_nothing() {
    let (_authority, provider, pid) = requested_by_an_unreachable_consumer(true).await;
    assessed(&provider, &pid, "REQUESTED").await;
    for mv in ["agree", "offer"] {
        let (status, error) = operator(&provider, &pid, mv, json!({})).await;
        assert_eq!(status, 502, "{mv}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains("unchanged"),
            "{error}"
        );
        let (_, negotiation) = provider.get(&format!("/api/v1/negotiations/{pid}")).await;
        assert_eq!(negotiation["state"], "REQUESTED", "{mv}: {negotiation}");
        assert!(
            negotiation["recommendation"].is_object(),
            "the verdict is kept"
        );
    }
    let (_, agreements) = provider.get("/api/v1/agreements").await;
    assert_eq!(agreements, json!([]));
    let events = provider.events().await;
    let failed: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "negotiation.send_failed")
        .map(|e| e["details"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["ContractAgreementMessage", "ContractOfferMessage"]);
}

/// What the played consumer of the race saw: when it acknowledged the agreement, and the
/// status of its verification with when it was answered.
#[derive(Default)]
struct Race {
    acknowledged: Option<std::time::Instant>,
    verification: Option<(u16, std::time::Instant)>,
}

/// The consumer the race test plays: on the agreement it sends its verification at once and
/// acknowledges the agreement only 300 ms later, so the verification reaches the provider
/// before the provider can have stored AGREED. Everything else is acknowledged.
struct EagerConsumer {
    identity: symbolon_identity::Identity,
    provider_dsp: String,
    provider_did: String,
    race: std::sync::Mutex<Race>,
}

async fn eager(
    request: actix_web::HttpRequest,
    body: actix_web::web::Bytes,
    consumer: actix_web::web::Data<std::sync::Arc<EagerConsumer>>,
) -> actix_web::HttpResponse {
    if request.path().ends_with("/agreement") {
        let message: Value = serde_json::from_slice(&body).unwrap();
        let verifier = consumer.get_ref().clone();
        tokio::spawn(async move {
            let consumer = verifier;
            let provider_pid = message["providerPid"].as_str().unwrap();
            let verification = json!({
                "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                "@type": "ContractAgreementVerificationMessage",
                "providerPid": provider_pid, "consumerPid": message["consumerPid"]});
            let (status, _) = dsp_post(
                &format!(
                    "{}/negotiations/{provider_pid}/agreement/verification",
                    consumer.provider_dsp
                ),
                &token(&consumer.identity, &consumer.provider_did, &[]).await,
                &verification,
            )
            .await;
            consumer.race.lock().unwrap().verification = Some((status, std::time::Instant::now()));
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        consumer.race.lock().unwrap().acknowledged = Some(std::time::Instant::now());
    }
    actix_web::HttpResponse::Ok().json(json!({}))
}

// The race acknowledging before moving creates: a consumer that acknowledged the agreement
// may send its verification before the provider stored AGREED. The verification waits for
// the provider's move to settle and is then applied: FINALIZED, not a 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_sent_before_the_agreement_was_acknowledged_waits_and_is_applied() {
    let (authority, provider) = (connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let identity = symbolon_identity::Identity::generate(symbolon_identity::KeyAlgorithm::Ed25519);
    let (credential, _) = membership(&authority, identity.did.as_str(), "Hospital").await;
    let consumer = std::sync::Arc::new(EagerConsumer {
        identity: identity.clone(),
        provider_dsp: provider.dsp(),
        provider_did: provider.did().to_owned(),
        race: Default::default(),
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let shared = actix_web::web::Data::new(consumer.clone());
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(shared.clone())
            .default_service(actix_web::web::to(eager))
    })
    .workers(2)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);

    let (status, created) = dsp_post(
        &format!("{}/negotiations/request", provider.dsp()),
        &token(&identity, provider.did(), &[&credential]).await,
        &request_message("urn:uuid:c-eager", &format!("http://{address}")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let pid = created["providerPid"].as_str().unwrap().to_owned();
    state_of(&provider, &pid, "FINALIZED").await;
    let (acknowledged, verification) = {
        let race = consumer.race.lock().unwrap();
        (race.acknowledged, race.verification)
    };
    let acknowledged = acknowledged.expect("the agreement was acknowledged");
    let (status, answered) = verification.expect("the verification was answered");
    assert_eq!(status, 200, "the early verification was refused");
    assert!(
        answered >= acknowledged,
        "the verification was answered before the agreement was acknowledged"
    );
    let outcomes: Vec<String> = transitions(&provider, &pid)
        .await
        .iter()
        .map(|e| e["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes, ["REQUESTED", "AGREED", "VERIFIED", "FINALIZED"]);
}
