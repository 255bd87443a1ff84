//! Transfer processes between two connectors on 127.0.0.1 (Dataspace Protocol 2025-1): a
//! hospital that negotiated an agreement requests the dataset, the provider starts it on its
//! own, and either operator suspends, restarts, completes or terminates it.

use std::time::Duration;

use serde_json::{json, Value};

use crate::dsp::*;

/// A provider and a hospital with a FINALIZED agreement on both sides (and the authority
/// that issued the hospital's membership); returns the agreement's id.
pub async fn agreed() -> (Connector, Connector, Connector, String) {
    let (authority, provider, hospital) = provider_and_member_hospital().await;
    let negotiation = negotiate(&hospital, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    state_of(
        &provider,
        negotiation["provider_pid"].as_str().unwrap(),
        "FINALIZED",
    )
    .await;
    let agreement = negotiation["agreement_id"].as_str().unwrap().to_owned();
    (authority, provider, hospital, agreement)
}

/// Waits until `node`'s transfer `pid` is in state `want`; returns it.
pub async fn transfer_state(node: &Connector, pid: &str, want: &str) -> Value {
    let what = format!("transfer {pid} to reach {want}");
    eventually(Duration::from_secs(10), &what, || async {
        let (_, transfer) = node.get(&format!("/api/v1/transfers/{pid}")).await;
        (transfer["state"] == want).then_some(transfer)
    })
    .await
}

/// The hospital requests the agreement's dataset; both sides reach STARTED. Returns the
/// consumer's and the provider's process ids.
pub async fn started(
    provider: &Connector,
    hospital: &Connector,
    agreement: &str,
) -> (String, String) {
    let (status, transfer) = hospital
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": agreement, "format": "symbolon:dataset", "wait_seconds": 10}),
        )
        .await;
    assert_eq!(status, 201, "{transfer}");
    assert_eq!(transfer["state"], "STARTED", "{transfer}");
    assert_eq!(transfer["role"], "consumer");
    let consumer_pid = transfer["consumer_pid"].as_str().unwrap().to_owned();
    let provider_pid = transfer["provider_pid"].as_str().unwrap().to_owned();
    // The provider stores STARTED once the hospital acknowledged the start.
    let theirs = transfer_state(provider, &provider_pid, "STARTED").await;
    assert_eq!(theirs["role"], "provider");
    assert_eq!(theirs["consumer_pid"], consumer_pid.as_str());
    assert_eq!(theirs["counterparty"], hospital.did());
    assert_eq!(theirs["agreement_id"], agreement);
    assert_eq!(theirs["offer_id"], "ward-statistics");
    (consumer_pid, provider_pid)
}

/// An operator's move on `node`'s transfer `pid`; returns the status and the answer.
pub async fn operator(node: &Connector, pid: &str, action: &str, body: Value) -> (u16, Value) {
    node.post(&format!("/api/v1/transfers/{pid}/{action}"), &body)
        .await
}

/// The states `node` recorded for its transfer `pid` (`transfer.transition` events), in order,
/// with the DID that caused each.
pub async fn transitions(node: &Connector, pid: &str) -> Vec<(String, String)> {
    node.events()
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "transfer.transition" && e["subject"] == pid)
        .map(|e| {
            (
                e["outcome"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn states(transitions: &[(String, String)]) -> Vec<&str> {
    transitions.iter().map(|(s, _)| s.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hospital_requests_the_dataset_it_is_started_on_both_sides_and_completed() {
    let (_authority, provider, hospital, agreement) = agreed().await;
    let (consumer_pid, provider_pid) = started(&provider, &hospital, &agreement).await;
    for (node, pid) in [(&provider, &provider_pid), (&hospital, &consumer_pid)] {
        let (status, list) = node.get("/api/v1/transfers").await;
        assert_eq!(status, 200);
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["state"], "STARTED");
        assert_eq!(list[0]["format"], "symbolon:dataset");
        let (status, _) = node.get(&format!("/api/v1/transfers/{pid}x")).await;
        assert_eq!(status, 404);
    }

    // The hospital completes; the provider has stored it before it acknowledged.
    let (status, done) = operator(&hospital, &consumer_pid, "complete", json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "COMPLETED");
    let (_, theirs) = provider
        .get(&format!("/api/v1/transfers/{provider_pid}"))
        .await;
    assert_eq!(theirs["state"], "COMPLETED");

    // A completed transfer takes no more moves, on either side: 409, and nothing is sent.
    for (node, pid) in [(&provider, &provider_pid), (&hospital, &consumer_pid)] {
        for action in ["start", "suspend", "complete"] {
            let (status, error) = operator(node, pid, action, json!({})).await;
            assert_eq!(status, 409, "{action}: {error}");
            assert!(
                error["message"]
                    .as_str()
                    .unwrap()
                    .contains("not allowed in state COMPLETED"),
                "{error}"
            );
        }
        let (status, _) = operator(node, pid, "terminate", json!({"reason": "late"})).await;
        assert_eq!(status, 409);
    }

    // Every transition is on record on both sides, with who caused it.
    let (provider_did, hospital_did) = (provider.did().to_owned(), hospital.did().to_owned());
    assert_eq!(
        transitions(&provider, &provider_pid).await,
        [
            ("REQUESTED".to_owned(), hospital_did.clone()),
            ("STARTED".to_owned(), provider_did.clone()),
            ("COMPLETED".to_owned(), hospital_did.clone()),
        ]
    );
    assert_eq!(
        transitions(&hospital, &consumer_pid).await,
        [
            ("REQUESTED".to_owned(), hospital_did.clone()),
            ("STARTED".to_owned(), provider_did),
            ("COMPLETED".to_owned(), hospital_did),
        ]
    );
    let events = provider.events().await;
    let event = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "transfer.transition" && e["outcome"] == "STARTED")
        .unwrap();
    assert_eq!(event["details"]["agreement"], agreement.as_str());
    assert_eq!(event["details"]["consumer_pid"], consumer_pid.as_str());
    assert!(!events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "transfer.send_failed" || e["type"] == "transfer.refused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn either_operator_suspends_and_restarts_and_the_provider_completes() {
    let (_authority, provider, hospital, agreement) = agreed().await;
    let (consumer_pid, provider_pid) = started(&provider, &hospital, &agreement).await;

    // The provider suspends, with a reason the hospital keeps.
    let (status, suspended) = operator(
        &provider,
        &provider_pid,
        "suspend",
        json!({"reason": "maintenance"}),
    )
    .await;
    assert_eq!(status, 200, "{suspended}");
    assert_eq!(suspended["state"], "SUSPENDED");
    let (_, theirs) = hospital
        .get(&format!("/api/v1/transfers/{consumer_pid}"))
        .await;
    assert_eq!(theirs["state"], "SUSPENDED");
    assert_eq!(theirs["reason"], json!(["maintenance"]));
    // Suspended: no second suspension, no completion.
    for action in ["suspend", "complete"] {
        let (status, _) = operator(&provider, &provider_pid, action, json!({})).await;
        assert_eq!(status, 409, "{action} in SUSPENDED");
    }

    // The hospital restarts it (the protocol lets either party restart).
    let (status, restarted) = operator(&hospital, &consumer_pid, "start", json!({})).await;
    assert_eq!(status, 200, "{restarted}");
    assert_eq!(restarted["state"], "STARTED");
    transfer_state(&provider, &provider_pid, "STARTED").await;

    // The hospital suspends (no reason), the provider restarts.
    let (status, _) = operator(&hospital, &consumer_pid, "suspend", json!({})).await;
    assert_eq!(status, 200);
    transfer_state(&provider, &provider_pid, "SUSPENDED").await;
    let (status, _) = operator(&provider, &provider_pid, "start", json!({})).await;
    assert_eq!(status, 200);
    transfer_state(&hospital, &consumer_pid, "STARTED").await;

    // The provider completes.
    let (status, done) = operator(&provider, &provider_pid, "complete", json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "COMPLETED");
    transfer_state(&hospital, &consumer_pid, "COMPLETED").await;

    let expected = [
        "REQUESTED",
        "STARTED",
        "SUSPENDED",
        "STARTED",
        "SUSPENDED",
        "STARTED",
        "COMPLETED",
    ];
    assert_eq!(
        states(&transitions(&provider, &provider_pid).await),
        expected
    );
    assert_eq!(
        states(&transitions(&hospital, &consumer_pid).await),
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn either_operator_terminates_a_started_or_suspended_transfer() {
    let (_authority, provider, hospital, agreement) = agreed().await;
    // (who terminates, whether it is suspended first); transfers under one agreement.
    for (by_provider, suspended_first) in
        [(false, false), (true, false), (false, true), (true, true)]
    {
        let (consumer_pid, provider_pid) = started(&provider, &hospital, &agreement).await;
        let (us, our_pid, them, their_pid) = if by_provider {
            (&provider, &provider_pid, &hospital, &consumer_pid)
        } else {
            (&hospital, &consumer_pid, &provider, &provider_pid)
        };
        if suspended_first {
            // The other side suspended it.
            let (status, _) = operator(them, their_pid, "suspend", json!({})).await;
            assert_eq!(status, 200);
            transfer_state(us, our_pid, "SUSPENDED").await;
        }
        let (status, ended) = operator(
            us,
            our_pid,
            "terminate",
            json!({"reason": "no longer needed"}),
        )
        .await;
        assert_eq!(status, 200, "{ended}");
        assert_eq!(ended["state"], "TERMINATED");
        let theirs = transfer_state(them, their_pid, "TERMINATED").await;
        assert_eq!(theirs["reason"], json!(["no longer needed"]));
        assert_eq!(theirs["code"], "operator");
        for (node, pid) in [(us, our_pid), (them, their_pid)] {
            for action in ["start", "suspend", "complete"] {
                let (status, _) = operator(node, pid, action, json!({})).await;
                assert_eq!(status, 409, "{action} after a termination");
            }
        }
        let last = transitions(them, their_pid).await.pop().unwrap();
        assert_eq!(last, ("TERMINATED".to_owned(), us.did().to_owned()));
    }
    let (_, list) = provider.get("/api/v1/transfers").await;
    assert_eq!(list.as_array().unwrap().len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_needs_a_finalized_agreement_this_connector_holds_as_consumer() {
    let (_authority, provider, hospital, agreement) = agreed().await;
    let request = |agreement: &str| json!({"agreement_id": agreement, "format": "symbolon:dataset", "wait_seconds": 0});
    let (status, error) = hospital
        .post("/api/v1/transfers", &request("urn:uuid:no-such-agreement"))
        .await;
    assert_eq!(status, 404, "{error}");
    // The provider holds the agreement too, but as provider: it cannot request under it.
    let (status, error) = provider
        .post("/api/v1/transfers", &request(&agreement))
        .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("as provider"),
        "{error}"
    );
    // A format the dataset is not distributed in: the provider refuses, the process ends.
    let (status, refused) = hospital
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": agreement, "format": "HttpData-PUSH"}),
        )
        .await;
    assert_eq!(status, 201, "{refused}");
    assert_eq!(refused["state"], "TERMINATED");
    assert!(
        refused["reason"][0]
            .as_str()
            .unwrap()
            .contains("not a format of dataset `ward-statistics`"),
        "{refused}"
    );
    let (_, list) = provider.get("/api/v1/transfers").await;
    assert_eq!(list, json!([]));
    let (status, _) = hospital
        .post("/api/v1/transfers", &json!({"format": "x"}))
        .await;
    assert_eq!(status, 400);
}
