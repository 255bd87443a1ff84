//! Every message a counterparty may send, in every state of a negotiation where it is not
//! allowed, on either side: a 400 `ContractNegotiationError` naming the state, and nothing
//! changes. The operators' manual answers hold the negotiation in each state.

use serde_json::{json, Value};

use crate::dsp::*;
use crate::manual::{assessed, operator, publish_manual};
use crate::protocol::request_message;

const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";

/// A message the test sends to a negotiation: its name, the path under
/// `/negotiations/{pid}`, its body, and the states in which it is allowed.
type Probe = (&'static str, &'static str, Value, &'static [&'static str]);

/// Sends every probe not allowed in `state` to `base` (`…/negotiations/{pid}`) with a fresh
/// token from `identity` for `audience`, and checks each is answered 400 with a
/// `ContractNegotiationError` naming the state, and that the state is unchanged.
async fn every_illegal_move_is_400(
    node: &Connector,
    pid: &str,
    base: &str,
    identity: &symbolon_identity::Identity,
    probes: &[Probe],
    state: &str,
) -> usize {
    let mut refused = 0;
    for (name, path, body, allowed) in probes {
        if allowed.contains(&state) {
            continue;
        }
        let (status, error) = dsp_post(
            &format!("{base}{path}"),
            &token(identity, node.did(), &[]).await,
            body,
        )
        .await;
        assert_eq!(status, 400, "{name} in {state}: {error}");
        assert_eq!(
            error["@type"], "ContractNegotiationError",
            "{name} in {state}"
        );
        let reason = error["reason"][0].as_str().unwrap();
        assert!(
            reason.contains(&format!("not allowed in state {state}")),
            "{name} in {state}: {reason}"
        );
        refused += 1;
    }
    state_of(node, pid, state).await;
    refused
}

// Every message a consumer may send, in every state of a provider's negotiation where it is
// not allowed, is a 400 `ContractNegotiationError` (the operator's manual answers hold the
// negotiation in each state; a consumer that refuses the finalisation holds it VERIFIED).
/// A negotiation message of `kind` naming the process ids `pids`, with `extra` members.
fn message_of(kind: &str, pids: &Value, extra: Value) -> Value {
    let mut m = json!({"@context": [DSP_CONTEXT], "@type": kind});
    let object = m.as_object_mut().unwrap();
    object.extend(pids.as_object().unwrap().clone());
    object.extend(extra.as_object().unwrap().clone());
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_illegal_consumer_message_to_a_provider_is_a_400_negotiation_error() {
    let (authority, provider) = (connector(), connector());
    trust(&authority, &provider).await;
    publish_manual(&provider).await;
    let consumer = symbolon_identity::Identity::generate(symbolon_identity::KeyAlgorithm::Ed25519);
    let (credential, _) = membership(&authority, consumer.did.as_str(), "Hospital").await;
    // The consumer acknowledges everything but the finalisation.
    let recorder = Recorder::start_with(vec![("/events", 400, json!({}))]).await;
    let consumer_pid = "urn:uuid:c-probe";
    let (status, created) = dsp_post(
        &format!("{}/negotiations/request", provider.dsp()),
        &token(&consumer, provider.did(), &[&credential]).await,
        &request_message(consumer_pid, &recorder.url),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let pid = created["providerPid"].as_str().unwrap().to_owned();
    let base = format!("{}/negotiations/{pid}", provider.dsp());
    let pids = json!({"providerPid": pid, "consumerPid": consumer_pid});
    let message = |kind: &str, extra: Value| message_of(kind, &pids, extra);
    let offer = request_message(consumer_pid, &recorder.url)["offer"].clone();
    let probes: Vec<Probe> = vec![
        (
            "counter-request",
            "/request",
            message("ContractRequestMessage", json!({"offer": offer})),
            &["OFFERED"],
        ),
        (
            "acceptance",
            "/events",
            message(
                "ContractNegotiationEventMessage",
                json!({"eventType": "ACCEPTED"}),
            ),
            &["OFFERED"],
        ),
        (
            "finalisation by the consumer",
            "/events",
            message(
                "ContractNegotiationEventMessage",
                json!({"eventType": "FINALIZED"}),
            ),
            &[],
        ),
        (
            "verification",
            "/agreement/verification",
            message("ContractAgreementVerificationMessage", json!({})),
            &["AGREED"],
        ),
    ];
    let mut refused = 0;
    assessed(&provider, &pid, "REQUESTED").await;
    refused +=
        every_illegal_move_is_400(&provider, &pid, &base, &consumer, &probes, "REQUESTED").await;
    let (status, body) = operator(&provider, &pid, "offer", json!({})).await;
    assert_eq!(status, 200, "{body}");
    refused +=
        every_illegal_move_is_400(&provider, &pid, &base, &consumer, &probes, "OFFERED").await;
    let (status, body) = dsp_post(
        &format!("{base}/events"),
        &token(&consumer, provider.did(), &[&credential]).await,
        &probes[1].2,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assessed(&provider, &pid, "ACCEPTED").await;
    refused +=
        every_illegal_move_is_400(&provider, &pid, &base, &consumer, &probes, "ACCEPTED").await;
    let (status, body) = operator(&provider, &pid, "agree", json!({})).await;
    assert_eq!(status, 200, "{body}");
    refused +=
        every_illegal_move_is_400(&provider, &pid, &base, &consumer, &probes, "AGREED").await;
    let (status, body) = dsp_post(
        &format!("{base}/agreement/verification"),
        &token(&consumer, provider.did(), &[]).await,
        &probes[3].2,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The consumer refuses the finalisation: the provider stays VERIFIED.
    recorder.wait_for("/events").await;
    refused +=
        every_illegal_move_is_400(&provider, &pid, &base, &consumer, &probes, "VERIFIED").await;
    let (status, body) = operator(&provider, &pid, "terminate", json!({"reason": "done"})).await;
    assert_eq!(status, 200, "{body}");
    let termination = message(
        "ContractNegotiationTerminationMessage",
        json!({"code": "1"}),
    );
    let mut probes = probes;
    probes.push(("termination", "/termination", termination, &[]));
    refused +=
        every_illegal_move_is_400(&provider, &pid, &base, &consumer, &probes, "TERMINATED").await;
    // REQUESTED 4, OFFERED 2, ACCEPTED 4, AGREED 3, VERIFIED 4, TERMINATED 5.
    assert_eq!(refused, 4 + 2 + 4 + 3 + 4 + 5);
}

// Every message a provider may send, in every state of a consumer's negotiation where it is
// not allowed, is a 400 `ContractNegotiationError` (the consumer's operator answers by hand,
// so it holds each state; the test plays the provider).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_illegal_provider_message_to_a_consumer_is_a_400_negotiation_error() {
    let hospital = connector();
    let provider = symbolon_identity::Identity::generate(symbolon_identity::KeyAlgorithm::Ed25519);
    let provider_pid = "urn:uuid:p-probe";
    let dataset = json!({"@context": [DSP_CONTEXT], "@id": "ds-1", "@type": "Dataset",
        "hasPolicy": [{"@id": "urn:uuid:o-1", "@type": "Offer", "permission": [{"action": "use"}]}],
        "distribution": [{"@type": "Distribution", "format": "symbolon:dataset", "accessService": "urn:s"}]});
    let answer = json!({"@context": [DSP_CONTEXT], "@type": "ContractNegotiation",
        "providerPid": provider_pid, "consumerPid": "set-by-consumer", "state": "REQUESTED"});
    let recorder = Recorder::start_with(vec![
        ("/catalog/datasets/ds-1", 200, dataset),
        ("/negotiations/request", 201, answer),
    ])
    .await;
    let (status, started) = hospital
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": format!("{}/dsp", recorder.url), "provider_did": provider.did.as_str(),
                    "offer_id": "ds-1", "decision": "manual", "wait_seconds": 0}),
        )
        .await;
    assert_eq!(status, 200, "{started}");
    let pid = started["consumer_pid"].as_str().unwrap().to_owned();
    let base = format!("{}/negotiations/{pid}", hospital.dsp());
    let pids = json!({"providerPid": provider_pid, "consumerPid": pid});
    let message = |kind: &str, extra: Value| message_of(kind, &pids, extra);
    let offer = json!({"@type": "Offer", "@id": "urn:uuid:o-2", "target": "ds-1",
                       "permission": [{"action": "use"}]});
    let agreement = json!({"@id": "urn:uuid:a-probe", "@type": "Agreement", "target": "ds-1",
        "assigner": provider.did.as_str(), "assignee": hospital.did(),
        "timestamp": "2026-11-23T12:00:00Z", "permission": [{"action": "use"}]});
    let probes: Vec<Probe> = vec![
        (
            "counter-offer",
            "/offers",
            message("ContractOfferMessage", json!({"offer": offer})),
            &["REQUESTED"],
        ),
        (
            "agreement",
            "/agreement",
            message("ContractAgreementMessage", json!({"agreement": agreement})),
            &["REQUESTED", "ACCEPTED"],
        ),
        (
            "finalisation",
            "/events",
            message(
                "ContractNegotiationEventMessage",
                json!({"eventType": "FINALIZED"}),
            ),
            &["VERIFIED"],
        ),
        (
            "acceptance by the provider",
            "/events",
            message(
                "ContractNegotiationEventMessage",
                json!({"eventType": "ACCEPTED"}),
            ),
            &[],
        ),
    ];
    let mut refused = 0;
    let send = |probe: usize| {
        let (url, body) = (
            format!("{base}{}", probes[probe].1),
            probes[probe].2.clone(),
        );
        let provider = provider.clone();
        let audience = hospital.did().to_owned();
        async move {
            let (status, body) =
                dsp_post(&url, &token(&provider, &audience, &[]).await, &body).await;
            assert_eq!(status, 200, "{body}");
        }
    };
    refused +=
        every_illegal_move_is_400(&hospital, &pid, &base, &provider, &probes, "REQUESTED").await;
    send(0).await;
    refused +=
        every_illegal_move_is_400(&hospital, &pid, &base, &provider, &probes, "OFFERED").await;
    let (status, body) = operator(&hospital, &pid, "accept", json!({"wait_seconds": 0})).await;
    assert_eq!(status, 200, "{body}");
    refused +=
        every_illegal_move_is_400(&hospital, &pid, &base, &provider, &probes, "ACCEPTED").await;
    send(1).await;
    refused +=
        every_illegal_move_is_400(&hospital, &pid, &base, &provider, &probes, "AGREED").await;
    let (status, body) = operator(&hospital, &pid, "verify", json!({})).await;
    assert_eq!(status, 200, "{body}");
    refused +=
        every_illegal_move_is_400(&hospital, &pid, &base, &provider, &probes, "VERIFIED").await;
    send(2).await;
    let termination = message(
        "ContractNegotiationTerminationMessage",
        json!({"code": "1"}),
    );
    let mut probes = probes;
    probes.push(("termination", "/termination", termination, &[]));
    refused +=
        every_illegal_move_is_400(&hospital, &pid, &base, &provider, &probes, "FINALIZED").await;
    // REQUESTED 2, OFFERED 4, ACCEPTED 3, AGREED 4, VERIFIED 3, FINALIZED 5.
    assert_eq!(refused, 2 + 4 + 3 + 4 + 3 + 5);
}
