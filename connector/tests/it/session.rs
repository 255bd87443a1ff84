//! MPC sessions that must not run, on the peer network: a holder's refusal with its code ends
//! the session for every party; a revoked credential before or during the session; a peer
//! outside the roster, or a party with another manifest, cannot send shares; a party that
//! drops mid-session ends it for all within the round timeout. Nothing is released.

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_p2p::futures::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::dsp::*;
use crate::mpc_fixture::*;
use crate::peers::peer;
use crate::transfer::transfer_state;

fn holders<'a>(policy: &'a str, decisions: [&'a str; 2], rows: usize) -> Vec<Holder<'a>> {
    decisions
        .iter()
        .enumerate()
        .map(|(i, decision)| Holder {
            role: "Hospital",
            csv: column_csv(
                "value",
                &(0..rows as i64)
                    .map(|r| (r * 7 + i as i64) % 1000)
                    .collect::<Vec<_>>(),
            ),
            binding: json!({"file": "input.csv", "columns": {"value": "value"}}),
            policy,
            decision,
        })
        .collect()
}

fn mean_session(study: &Study, k: u64, extra: Value) -> Value {
    let mut body = json!({
        "program": {"id": "mean", "params": {"column": "value", "min": 0, "max": 1000}},
        "agreements": study.agreements, "min_group_size": k, "purpose": "official-statistics",
        "join_seconds": 30, "round_timeout_ms": 3000
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

/// Every transfer of the analyst's session view ended TERMINATED; returns their codes.
async fn all_terminated(study: &Study, session: &Value) -> Vec<String> {
    let mut codes = Vec::new();
    for party in session["parties"].as_array().unwrap() {
        if let Some(pid) = party["transfer"].as_str() {
            let ended = transfer_state(&study.analyst, pid, "TERMINATED").await;
            codes.push(ended["code"].as_str().unwrap_or_default().to_owned());
        }
    }
    codes
}

async fn no_result(node: &Connector, id: &str) {
    let (status, body) = node.get(&format!("/api/v1/sessions/{id}/result")).await;
    assert!(status == 409 || status == 404, "{status} {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_refusing_the_manifest_ends_the_session_for_all_with_its_code() {
    let policy = policy("study", r#""mean""#, 10);
    let study = study(holders(&policy, ["auto", "auto"], 20)).await;

    // Groups of 5 where the policy wants 10: each holder refuses with `mpc:k-too-small`.
    let started = start_session(&study, mean_session(&study, 5, json!({"wait_seconds": 20}))).await;
    let id = started["id"].as_str().unwrap();
    let failed = session_until(&study.analyst, id, 20, |s| s["state"] == "failed").await;
    assert_eq!(failed["code"], "mpc:party-refused", "{failed:#}");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("mpc:k-too-small"),
        "{failed:#}"
    );
    let codes = all_terminated(&study, &failed).await;
    assert!(codes.iter().all(|c| c.starts_with("mpc:")), "{codes:?}");
    assert!(codes.contains(&"mpc:k-too-small".to_owned()), "{codes:?}");
    no_result(&study.analyst, id).await;

    // A program the policy does not name is refused the same way.
    let (status, _) = study
        .analyst
        .post(
            "/api/v1/sessions",
            &json!({
        "program": {"id": "sum", "params": {"column": "value", "min": 0, "max": 1000}},
        "agreements": study.agreements, "min_group_size": 10, "purpose": "official-statistics",
        "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, sessions) = study.analyst.get("/api/v1/sessions").await;
    let second = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] != id)
        .unwrap();
    let second = session_until(&study.analyst, second["id"].as_str().unwrap(), 20, |s| {
        s["state"] == "failed"
    })
    .await;
    assert!(
        second["reason"]
            .as_str()
            .unwrap()
            .contains("mpc:program-not-allowed"),
        "{second:#}"
    );

    // Bad requests never reach a holder: an unknown program, bad parameters, too few parties.
    for (body, words) in [
        (
            json!({"program": {"id": "teleport"}, "agreements": study.agreements,
                "min_group_size": 10, "purpose": "x"}),
            "no program `teleport`",
        ),
        (
            json!({"program": {"id": "mean", "params": {"column": "value"}},
                "agreements": study.agreements, "min_group_size": 10, "purpose": "x"}),
            "max",
        ),
        (
            json!({"program": {"id": "mean", "params": {"column": "value", "min": 0, "max": 9}},
                "agreements": [study.agreements[0]], "min_group_size": 10, "purpose": "x"}),
            "three parties",
        ),
        (
            json!({"program": {"id": "mean", "params": {"column": "value", "min": 0, "max": 9}},
                "agreements": ["urn:uuid:nope"], "min_group_size": 10, "purpose": "x"}),
            "no agreement",
        ),
    ] {
        let (status, answer) = study.analyst.post("/api/v1/sessions", &body).await;
        assert!(status == 400 || status == 404, "{status} {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(words),
            "{answer}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_analyst_is_refused_before_the_session() {
    let policy = policy("study", r#""mean""#, 4);
    let study = study(holders(&policy, ["auto", "auto"], 20)).await;
    revoke(&study).await;
    let started = start_session(&study, mean_session(&study, 4, json!({"wait_seconds": 20}))).await;
    let id = started["id"].as_str().unwrap();
    let failed = session_until(&study.analyst, id, 20, |s| s["state"] == "failed").await;
    let codes = all_terminated(&study, &failed).await;
    assert!(
        codes.contains(&"mpc:credential-revoked".to_owned()),
        "{codes:?}"
    );
    no_result(&study.analyst, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_withdrawn_agreement_is_refused_before_the_session() {
    let policy = policy("study", r#""mean""#, 4);
    let study = study(holders(&policy, ["auto", "auto"], 20)).await;
    let (status, body) = study.holders[1]
        .post(
            &format!("/api/v1/agreements/{}/withdraw", study.agreements[1]),
            &json!({"reason": "the study's permit ended"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let started = start_session(&study, mean_session(&study, 4, json!({"wait_seconds": 20}))).await;
    let id = started["id"].as_str().unwrap();
    let failed = session_until(&study.analyst, id, 20, |s| s["state"] == "failed").await;
    let codes = all_terminated(&study, &failed).await;
    assert!(
        codes.contains(&"mpc:agreement-withdrawn".to_owned()),
        "{codes:?}"
    );
    assert!(
        failed.to_string().contains("the study's permit ended"),
        "{failed}"
    );
    no_result(&study.analyst, id).await;
}

async fn revoke(study: &Study) {
    let (status, body) = study
        .authority
        .post(
            "/credentials/status",
            &json!({"credentialId": study.analyst_membership, "credentialStatus": [
                {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": true}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Sends a hello on a new session stream from `node` to `to`; returns the answer's status
/// byte and reason.
async fn hello(node: &symbolon_p2p::NodeHandle, to: &str, body: &Value) -> (u8, String) {
    let mut opened = node.open_session_stream(to).await.unwrap();
    let bytes = serde_json::to_vec(body).unwrap();
    let stream = &mut opened.stream;
    stream
        .write_all(&(bytes.len() as u32).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(&bytes).await.unwrap();
    stream.flush().await.unwrap();
    let mut head = [0u8; 3];
    stream.read_exact(&mut head).await.unwrap();
    let mut reason = vec![0u8; u16::from_be_bytes([head[1], head[2]]) as usize];
    stream.read_exact(&mut reason).await.unwrap();
    (head[0], String::from_utf8(reason).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strangers_and_other_manifests_cannot_join_and_a_revocation_during_the_session_ends_it() {
    // The second holder answers by hand, so the first waits for it with the session open.
    let policy = policy("study", r#""mean""#, 4);
    let study = study(holders(&policy, ["auto", "manual"], 20)).await;
    let started = start_session(&study, mean_session(&study, 4, json!({}))).await;
    let id = started["id"].as_str().unwrap().to_owned();
    let first = &study.holders[0];
    let joining = session_until(first, &id, 10, |s| s["state"] == "joining").await;
    let digest = joining["digest"].as_str().unwrap().to_owned();

    // A member of the data space outside the roster, posing as the second holder (party 1).
    let (_stranger, _, stranger_node) =
        peer(&study.authority, "Insurer", study.bootstrap.clone()).await;
    let stranger_did = stranger_node.did().to_string();
    assert!(
        study.holder_nodes[0]
            .wait_until(Duration::from_secs(10), |n| n
                .peers()
                .iter()
                .any(|p| p.did == stranger_did && p.authenticated))
            .await
    );
    assert!(
        stranger_node
            .wait_until(Duration::from_secs(10), |n| n
                .peers()
                .iter()
                .any(|p| p.did == first.did() && p.authenticated))
            .await
    );
    let (status, reason) = hello(
        &stranger_node,
        first.did(),
        &json!({"session": id, "digest": digest, "from": 1, "countersignature": "x.y.z"}),
    )
    .await;
    assert_eq!(status, 2, "refused: {reason}");
    assert!(reason.contains("not this peer"), "{reason}");
    let events = first.events().await;
    let stranger_event = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "session.stranger")
        .expect("the stranger is on record");
    assert_eq!(stranger_event["subject"], id.as_str());
    assert_eq!(stranger_event["details"]["claimed_party"], 1);

    // The second holder itself, with another manifest's digest, or a forged countersignature.
    let second_node = &study.holder_nodes[1];
    let (status, reason) = hello(
        second_node,
        first.did(),
        &json!({"session": id, "digest": "00".repeat(32), "from": 1, "countersignature": "x"}),
    )
    .await;
    assert_eq!(
        (status, reason.contains("another manifest")),
        (2, true),
        "{reason}"
    );
    let (status, reason) = hello(
        second_node,
        first.did(),
        &json!({"session": id, "digest": digest, "from": 1, "countersignature": "x.y.z"}),
    )
    .await;
    assert_eq!(
        (status, reason.contains("countersignature")),
        (2, true),
        "{reason}"
    );

    // The analyst's membership is revoked while the first holder waits: it ends the session,
    // and with it every party's transfer.
    revoke(&study).await;
    let ended = session_until(first, &id, 10, |s| s["state"] == "failed").await;
    assert_eq!(ended["code"], "mpc:credential-revoked", "{ended:#}");
    let failed = session_until(&study.analyst, &id, 10, |s| s["state"] == "failed").await;
    let codes = all_terminated(&study, &failed).await;
    assert!(
        codes.contains(&"mpc:credential-revoked".to_owned()),
        "{codes:?}"
    );
    no_result(&study.analyst, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_party_dropping_mid_session_ends_it_for_everyone_within_the_timeout() {
    // A computation long enough to drop out of: the size of the intersection of two holders'
    // 20,000 pseudonyms, linked privately (curve arithmetic for every record).
    let policy = policy("study", r#""psi-cardinality""#, 4);
    let holders = (0..2)
        .map(|i| Holder {
            role: "Hospital",
            csv: {
                let mut csv = String::from("pseudonym\n");
                for r in 0..20_000 {
                    csv.push_str(&format!("p{}\n", r + i * 10_000));
                }
                csv
            },
            binding: json!({"file": "input.csv", "ids": "pseudonym", "columns": {}}),
            policy: &policy,
            decision: "auto",
        })
        .collect();
    let study = study(holders).await;
    let body = json!({
        "program": {"id": "psi-cardinality", "params": {}},
        "agreements": study.agreements, "min_group_size": 4, "purpose": "official-statistics",
        "join_seconds": 60, "round_timeout_ms": 10000
    });
    let started = start_session(&study, body).await;
    let id = started["id"].as_str().unwrap().to_owned();
    session_until(&study.analyst, &id, 60, |s| {
        s["state"] == "running" && s["progress"]["messages_received"].as_u64() > Some(0)
    })
    .await;
    study.holder_nodes[1].shutdown().await;
    let began = std::time::Instant::now();
    let failed = session_until(&study.analyst, &id, 15, |s| s["state"] == "failed").await;
    assert!(
        failed["code"] == "mpc:party-dropped" || failed["code"] == "mpc:round-timeout",
        "{failed:#}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
    let other = session_until(&study.holders[0], &id, 15, |s| s["state"] == "failed").await;
    assert!(
        other["code"].as_str().unwrap().starts_with("mpc:"),
        "{other:#}"
    );
    no_result(&study.analyst, &id).await;
    let (status, _) = study.holders[0]
        .get(&format!("/api/v1/sessions/{id}/result"))
        .await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_analyst_cancels_a_session_and_every_transfer_ends_with_mpc_cancelled() {
    let policy = policy("study", r#""mean""#, 4);
    let study = study(holders(&policy, ["auto", "manual"], 20)).await;
    let started = start_session(&study, mean_session(&study, 4, json!({}))).await;
    let id = started["id"].as_str().unwrap().to_owned();
    session_until(&study.holders[0], &id, 10, |s| s["state"] == "joining").await;
    let (status, cancelled) = study
        .analyst
        .post(&format!("/api/v1/sessions/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(status, 200, "{cancelled}");
    let ended = session_until(&study.analyst, &id, 10, |s| s["state"] == "cancelled").await;
    assert_eq!(ended["code"], "mpc:cancelled", "{ended:#}");
    let codes = all_terminated(&study, &ended).await;
    assert!(codes.iter().all(|c| c == "mpc:cancelled"), "{codes:?}");
    let holder = session_until(&study.holders[0], &id, 10, |s| s["state"] == "failed").await;
    assert_eq!(holder["code"], "mpc:party-refused", "{holder:#}");
    let (status, again) = study
        .analyst
        .post(&format!("/api/v1/sessions/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(status, 409, "{again}");
    no_result(&study.analyst, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_policy_silent_on_the_program_admits_any_program_of_the_library() {
    let policy = r#"policy "statistics" { permit join_computation on offer "study" when holder.role == "StatisticsBureau" and holder.member_of == "hds" and session.min_group_size >= 4 }"#;
    let study = study(holders(policy, ["auto", "auto"], 20)).await;
    let started = start_session(&study, mean_session(&study, 4, json!({"wait_seconds": 20}))).await;
    assert_eq!(started["state"], "completed", "{started:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_requiring_a_role_no_other_party_holds_refuses_with_roster_unverified() {
    let policy = policy("study", r#""mean""#, 4).replace(
        "and session.min_group_size",
        r#"and session.party_roles contains "Pharmacy" and session.min_group_size"#,
    );
    let study = study(holders(&policy, ["auto", "auto"], 20)).await;
    let started = start_session(&study, mean_session(&study, 4, json!({"wait_seconds": 20}))).await;
    let id = started["id"].as_str().unwrap();
    let failed = session_until(&study.analyst, id, 20, |s| s["state"] == "failed").await;
    let codes = all_terminated(&study, &failed).await;
    assert!(
        codes.contains(&"mpc:roster-unverified".to_owned()),
        "{codes:?}"
    );
    no_result(&study.analyst, id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_a_restart_interrupted_ends_failed_with_its_code() {
    use symbolon_connector::domain::{Session, SessionState};
    let tmp = tempfile::tempdir().unwrap();
    let dir = symbolon_connector::datadir::DataDir::new(tmp.path());
    dir.init(symbolon_identity::KeyAlgorithm::Ed25519, None)
        .unwrap();
    {
        let store = symbolon_connector::store::Store::open(tmp.path()).unwrap();
        store
            .sessions
            .put(&Session {
                id: "urn:uuid:interrupted".into(),
                analyst: false,
                manifest: "a.b.c".into(),
                digest: "00".repeat(32),
                program: "mean@1".into(),
                index: 0,
                parties: Vec::new(),
                transfers: Vec::new(),
                state: SessionState::Running,
                code: None,
                reason: None,
                sealed_result: None,
                transcript: None,
                reports: Vec::new(),
                created: "2026-12-02T00:00:00Z".into(),
                updated: "2026-12-02T00:00:00Z".into(),
            })
            .unwrap();
    }
    let running = symbolon_connector::server::start(
        dir.clone(),
        symbolon_connector::server::ServeOptions::new("127.0.0.1:0".parse().unwrap()),
    )
    .unwrap();
    tokio::spawn(running.server);
    let node = Connector {
        _dir: dir.clone(),
        identity: dir.identity().unwrap(),
        url: running.url.clone(),
        token: dir.admin_token().unwrap().expose().to_owned(),
        _tmp: tmp,
    };
    let (status, session) = node.get("/api/v1/sessions/urn:uuid:interrupted").await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["state"], "failed");
    assert_eq!(session["code"], "mpc:interrupted");
    eventually(
        Duration::from_secs(5),
        "the interruption on record",
        || async {
            let events = node.events().await;
            events
                .as_array()
                .unwrap()
                .iter()
                .any(|e| {
                    e["type"] == "session.transition" && e["details"]["code"] == "mpc:interrupted"
                })
                .then_some(())
        },
    )
    .await;
}
