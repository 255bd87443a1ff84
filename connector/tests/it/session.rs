//! MPC sessions over the transfer process (`MpcSession-PUSH`), two connectors on 127.0.0.1: an
//! analyst that agreed on a holder's computation offer requests a session with a signed
//! manifest; the holder admits it against its agreement and policy and starts with its
//! countersignature, or terminates it with the profile's code.

use serde_json::{json, Value};
use symbolon_identity::{jose, DidResolver};

use crate::dsp::*;
use crate::transfer::transfer_state;

const POLICY: &str = r#"
policy "salary-statistics" {
  permit join_computation on offer "salaries"
  when holder.role == "StatisticsBureau" and holder.member_of == "hds"
   and session.program in ["mean", "sum"] and session.min_group_size >= 4
}
"#;

fn manifest(analyst: &Connector, holder: &Connector, agreement: &str, k: u64) -> Value {
    json!({
        "iss": "", "session_id": format!("urn:uuid:session-{k}"),
        "program": {"id": "mean", "version": "1", "hash": "ab".repeat(32), "params": {}},
        "engine": {"name": "symbolon-mpc", "threshold": 1, "security": "semi-honest"},
        "parties": [
            {"did": holder.did(), "peer_id": "12D3KooWHolder", "roles": ["input", "compute"], "agreement": agreement},
            {"did": analyst.did(), "peer_id": "12D3KooWAnalyst", "roles": ["output"]}
        ],
        "recipients": [analyst.did()], "min_group_size": k, "purpose": "official-statistics",
        "join_deadline": "2099-01-01T00:00:00Z", "round_timeout_ms": 5000,
        "expires": "2099-01-02T00:00:00Z", "nonce": format!("n-{k}")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_admits_a_session_within_its_agreement_and_refuses_one_outside_with_its_code() {
    let (authority, holder, analyst) = (connector(), connector(), connector());
    trust(&authority, &holder).await;
    let (status, offer) = holder
        .post(
            "/api/v1/offers",
            &json!({"id": "salaries", "title": "Salaries", "kind": "computation", "policy": POLICY}),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    let (credential, _) = membership(&authority, analyst.did(), "StatisticsBureau").await;
    hold(&analyst, &credential).await;
    let (status, negotiation) = analyst
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": holder.dsp(), "offer_id": "salaries", "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{negotiation}");
    assert_eq!(
        negotiation["state"], "FINALIZED",
        "the session's terms wait for the manifest: {negotiation}"
    );
    state_of(
        &holder,
        negotiation["provider_pid"].as_str().unwrap(),
        "FINALIZED",
    )
    .await;
    let agreement = negotiation["agreement_id"].as_str().unwrap();

    // Within the agreement: STARTED, with the holder's countersignature of the manifest.
    let (status, session) = analyst
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": agreement, "format": "MpcSession-PUSH", "wait_seconds": 10,
                    "manifest": manifest(&analyst, &holder, agreement, 4)}),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    assert_eq!(session["state"], "STARTED", "{session}");
    let countersignature = session["data_address"]["endpointProperties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "countersignature")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let payload = jose::decode(&countersignature).unwrap().payload;
    assert_eq!(payload["iss"], holder.did());
    assert_eq!(payload["session_id"], "urn:uuid:session-4");
    symbolon_connector::session::manifest::verify_countersignature(
        &countersignature,
        holder.did(),
        "urn:uuid:session-4",
        payload["manifest_digest"].as_str().unwrap(),
        &DidResolver::offline(),
    )
    .await
    .unwrap();

    // Groups too small for the policy: terminated with the profile's code, on both sides.
    let (status, refused) = analyst
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": agreement, "format": "MpcSession-PUSH", "wait_seconds": 10,
                    "manifest": manifest(&analyst, &holder, agreement, 2)}),
        )
        .await;
    assert_eq!(status, 201, "{refused}");
    let pid = refused["consumer_pid"].as_str().unwrap();
    let ended = transfer_state(&analyst, pid, "TERMINATED").await;
    assert_eq!(ended["code"], "mpc:k-too-small", "{ended}");
    assert!(
        ended["reason"].to_string().contains("min_group_size"),
        "{ended}"
    );

    // The holder's trail holds both decisions, with the manifests they were made on.
    let events = holder.events().await;
    let admissions: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "session.admission")
        .collect();
    let outcomes: Vec<&str> = admissions
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["admitted", "mpc:k-too-small"]);
    assert_eq!(admissions[0]["details"]["session"], "urn:uuid:session-4");
    assert_eq!(
        admissions[0]["details"]["countersignature"],
        countersignature.as_str()
    );
    assert_eq!(admissions[0]["actor"], analyst.did());

    // A session request without a manifest is refused at once.
    let (status, body) = analyst
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": agreement, "format": "MpcSession-PUSH"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}
