//! A `symbolon serve` killed with SIGKILL while it takes concurrent writes — offers, held
//! credentials, issued credentials, negotiations and their audit events — loses none that it
//! acknowledged, and its audit trail still verifies.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;
use symbolon_connector::negotiation::state::NegotiationState;
use symbolon_connector::store::Store;

use crate::cli::{init, ok, serve};
use crate::dsp::{connector, membership, publish, trust};

const ANY_OFFER_POLICY: &str =
    r#"policy "members-only" { permit use on offer * when holder.member_of == "hds" }"#;

/// The `symbolon serve` under load, as its admin reaches it.
#[derive(Clone)]
struct Node {
    url: String,
    token: String,
    client: reqwest::Client,
}

impl Node {
    /// POSTs `body`; the status and answer, or `None` when the server is gone.
    async fn post(&self, path: &str, body: Value) -> Option<(u16, Value)> {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.ok()?))
    }
}

/// What the server acknowledged.
#[derive(Default)]
struct Acknowledged {
    offers: Vec<String>,
    held: Vec<String>,
    issued: Vec<String>,
    negotiations: Vec<String>,
    /// Why writers stopped before the kill.
    stopped: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_under_concurrent_writes_loses_no_acknowledged_write() {
    let (authority, provider) = (connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let dir = tempfile::tempdir().unwrap();
    let did = init(dir.path());
    let (mut server, url) = serve(dir.path());
    let token = DataDir::new(dir.path())
        .admin_token()
        .unwrap()
        .expose()
        .to_owned();
    let node = Node {
        url,
        token,
        client: reqwest::Client::new(),
    };
    let mut memberships = Vec::new();
    for _ in 0..12 {
        memberships.push(membership(&authority, &did, "Hospital").await.0);
    }
    let first = memberships.remove(0);
    let (status, _) = node
        .post(
            "/api/v1/credentials",
            json!({ "verifiableCredential": first }),
        )
        .await
        .unwrap();
    assert_eq!(status, 201);

    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let mut load = Vec::new();
    for writer in 0..3 {
        let (node, acked) = (node.clone(), acked.clone());
        load.push(tokio::spawn(async move {
            for i in 0.. {
                let id = format!("offer-{writer}-{i}");
                let body = json!({"id": id, "title": "A cohort", "policy": ANY_OFFER_POLICY});
                match node.post("/api/v1/offers", body).await {
                    Some((201, _)) => acked.lock().unwrap().offers.push(id),
                    other => {
                        acked
                            .lock()
                            .unwrap()
                            .stopped
                            .push(format!("offer: {other:?}"));
                        break;
                    }
                }
            }
        }));
    }
    for writer in 0..2 {
        let (node, acked) = (node.clone(), acked.clone());
        load.push(tokio::spawn(async move {
            for i in 0.. {
                let id = format!("urn:uuid:00000000-0000-4000-8000-{writer:04}{i:08}");
                let credential = json!({
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "id": id,
                    "type": ["VerifiableCredential"],
                    "credentialSubject": {"id": "did:example:subject"},
                });
                match node
                    .post("/credentials/issue", json!({ "credential": credential }))
                    .await
                {
                    Some((201, _)) => acked.lock().unwrap().issued.push(id),
                    other => {
                        acked
                            .lock()
                            .unwrap()
                            .stopped
                            .push(format!("issue: {other:?}"));
                        break;
                    }
                }
            }
        }));
    }
    {
        let (node, acked) = (node.clone(), acked.clone());
        load.push(tokio::spawn(async move {
            for credential in memberships {
                let body = json!({ "verifiableCredential": credential });
                match node.post("/api/v1/credentials", body).await {
                    Some((201, held)) => {
                        let key = held["key"].as_str().unwrap().to_owned();
                        acked.lock().unwrap().held.push(key);
                    }
                    other => {
                        acked
                            .lock()
                            .unwrap()
                            .stopped
                            .push(format!("hold: {other:?}"));
                        break;
                    }
                }
            }
        }));
    }
    for _ in 0..3 {
        let (node, acked, dsp) = (node.clone(), acked.clone(), provider.dsp());
        load.push(tokio::spawn(async move {
            loop {
                let body = json!({"provider_url": dsp, "offer_id": "ward-statistics",
                                  "wait_seconds": 20});
                match node.post("/api/v1/negotiations", body).await {
                    Some((200, negotiation)) if negotiation["state"] == "FINALIZED" => {
                        let pid = negotiation["consumer_pid"].as_str().unwrap().to_owned();
                        acked.lock().unwrap().negotiations.push(pid);
                    }
                    other => {
                        acked
                            .lock()
                            .unwrap()
                            .stopped
                            .push(format!("negotiate: {other:?}"));
                        break;
                    }
                }
            }
        }));
    }
    // Kill once every kind of write has been acknowledged a few times.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        {
            let acked = acked.lock().unwrap();
            if acked.offers.len() >= 200
                && acked.issued.len() >= 200
                && acked.held.len() >= 5
                && acked.negotiations.len() >= 20
            {
                break;
            }
        }
        if Instant::now() > deadline {
            let acked = acked.lock().unwrap();
            panic!(
                "the load made too little progress: {} offers, {} issued, {} held, {} negotiations; {:?}",
                acked.offers.len(),
                acked.issued.len(),
                acked.held.len(),
                acked.negotiations.len(),
                acked.stopped,
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    for task in load {
        task.await.unwrap();
    }

    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let store = Store::open(dir.path()).unwrap();
    for id in &acked.offers {
        assert!(store.offers.get(id).unwrap().is_some(), "offer {id} lost");
    }
    let held: BTreeSet<String> = store
        .credentials
        .list()
        .unwrap()
        .into_iter()
        .map(|c| c.key)
        .collect();
    for key in &acked.held {
        assert!(held.contains(key), "held credential {key} lost");
    }
    for pid in &acked.negotiations {
        let negotiation = store.negotiations.get(pid).unwrap().unwrap();
        assert_eq!(negotiation.state, NegotiationState::Finalized, "{pid}");
        let agreement = negotiation.agreement_id.unwrap();
        assert!(
            store.agreements.get(&agreement).unwrap().is_some(),
            "{agreement} lost"
        );
    }
    let entries = store.log.entries(0, store.log.len()).unwrap();
    let recorded = |kind: &str, subject: &str, outcome: &str| {
        entries.iter().any(|e| {
            e.event.kind == kind && e.event.subject == subject && e.event.outcome == outcome
        })
    };
    for id in &acked.issued {
        assert!(
            recorded("credential.issued", id, "ok"),
            "issuance of {id} unrecorded"
        );
    }
    for pid in &acked.negotiations {
        assert!(
            recorded("negotiation.transition", pid, "FINALIZED"),
            "FINALIZED of {pid} unrecorded"
        );
    }
    drop(store);
    let data = dir.path().to_str().unwrap();
    let bundle = dir.path().join("bundle.json");
    ok(&[
        "audit",
        "export",
        "--data-dir",
        data,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_str(&ok(&[
        "audit",
        "verify",
        "--json",
        bundle.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(report["valid"], true, "{report}");
}
