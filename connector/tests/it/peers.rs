//! Two connectors on the peer network (127.0.0.1, mDNS off): they authenticate each other by
//! their memberships, and an offer one publishes reaches the other's federated catalog.

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_connector::datadir::DataDir;
use symbolon_connector::p2p::PeerOptions;
use symbolon_connector::server::{start, ServeOptions};
use symbolon_identity::KeyAlgorithm;
use symbolon_p2p::NodeHandle as Node;

use crate::dsp::*;
use crate::transfer::{operator, transfer_state};

pub(crate) async fn peer(
    authority: &Connector,
    role: &str,
    bootstrap: Vec<String>,
) -> (Connector, Vec<String>, Node) {
    peer_announcing_every(authority, role, bootstrap, Duration::from_secs(200)).await
}

pub(crate) async fn peer_announcing_every(
    authority: &Connector,
    role: &str,
    bootstrap: Vec<String>,
    reannounce_every: Duration,
) -> (Connector, Vec<String>, Node) {
    let (node, addresses, handle, _) = peer_with(
        Some(authority),
        role,
        bootstrap,
        reannounce_every,
        // Revocations take effect at once (no cached status lists).
        Duration::ZERO,
    )
    .await;
    (node, addresses, handle)
}

/// A connector on the peer network holding a `role` membership from `authority` (from
/// itself, trusting itself, when `None`), caching status lists for `status_cache_ttl`;
/// returns it, its addresses, its node and its membership's id.
pub(crate) async fn peer_with(
    authority: Option<&Connector>,
    role: &str,
    bootstrap: Vec<String>,
    reannounce_every: Duration,
    status_cache_ttl: Duration,
) -> (Connector, Vec<String>, Node, String) {
    let (node, connector) = serve_on_loopback(ServeOptions {
        status_cache_ttl,
        ..ServeOptions::new("127.0.0.1:0".parse().unwrap())
    });
    let authority = authority.unwrap_or(&node);
    trust(authority, &node).await;
    let (credential, membership_id) = membership(authority, node.did(), role).await;
    hold(&node, &credential).await;
    let (addresses, handle) = join_on_loopback(&connector, bootstrap, reannounce_every).await;
    (node, addresses, handle, membership_id)
}

/// A fresh connector served on 127.0.0.1 with `options` (private callbacks allowed): its
/// management API and the running connector.
pub(crate) fn serve_on_loopback(
    options: ServeOptions,
) -> (Connector, symbolon_connector::context::Connector) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let identity = dir.init(KeyAlgorithm::Ed25519, None).unwrap();
    let running = start(
        dir.clone(),
        ServeOptions {
            allow_private_callbacks: true,
            ..options
        },
    )
    .unwrap();
    let api = Connector {
        _dir: dir.clone(),
        identity,
        url: running.url.clone(),
        token: dir.admin_token().unwrap().expose().to_owned(),
        _tmp: tmp,
    };
    let connector = running.connector.clone();
    tokio::spawn(running.server);
    (api, connector)
}

/// Joins `connector` to the peer network on 127.0.0.1 (mDNS off), bootstrapping from
/// `bootstrap`: its addresses and its node.
pub(crate) async fn join_on_loopback(
    connector: &symbolon_connector::context::Connector,
    bootstrap: Vec<String>,
    reannounce_every: Duration,
) -> (Vec<String>, Node) {
    let addresses = symbolon_connector::p2p::join(
        connector,
        &PeerOptions {
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            bootstrap,
            mdns: false,
            reannounce_every,
        },
    )
    .await
    .unwrap();
    let handle = connector.network().peers().node().unwrap().clone();
    (addresses.iter().map(ToString::to_string).collect(), handle)
}

async fn until(node: &Connector, path: &str, check: impl Fn(&Value) -> bool) -> Value {
    let what = format!("`{path}` to satisfy the check");
    eventually(Duration::from_secs(5), &what, || async {
        let (status, body) = node.get(path).await;
        (status == 200 && check(&body)).then_some(body)
    })
    .await
}

/// Waits until `node` lists `other` as an authenticated peer; returns the peer list.
async fn until_authenticated(node: &Connector, other: &str) -> Value {
    until(node, "/api/v1/peers", |peers| {
        peers
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["did"] == other && p["authenticated"] == true)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_authenticate_each_other_and_see_each_others_offers() {
    let authority = connector();
    let (insurer, addresses, _) = peer(&authority, "Insurer", Vec::new()).await;
    let (hospital, _, _) = peer(&authority, "Hospital", addresses.clone()).await;
    assert!(addresses[0].contains("/p2p/12D3KooW"), "{addresses:?}");

    let peers = until_authenticated(&hospital, insurer.did()).await;
    let entry = peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["did"] == insurer.did())
        .unwrap();
    assert_eq!(entry["roles"], serde_json::json!(["Insurer"]));
    until_authenticated(&insurer, hospital.did()).await;

    publish(&insurer).await;
    let catalog = until(&hospital, "/api/v1/catalog/federated", |c| {
        !c.as_array().unwrap().is_empty()
    })
    .await;
    let offer = &catalog[0];
    assert_eq!(offer["issuer"], insurer.did());
    assert_eq!(offer["offer"]["id"], "ward-statistics");
    assert_eq!(offer["offer"]["provider_url"], insurer.dsp());

    let events = hospital.events().await;
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "peer.authenticated"
            && e["outcome"] == "ok"
            && e["subject"] == insurer.did()));
    let (status, _) = authority.get("/api/v1/peers").await;
    assert_eq!(status, 404, "the authority is not on the peer network");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_are_announced_again_so_peers_keep_them_fresh() {
    let authority = connector();
    let (insurer, addresses, _) = peer_announcing_every(
        &authority,
        "Insurer",
        Vec::new(),
        Duration::from_millis(200),
    )
    .await;
    let (hospital, _, _) = peer(&authority, "Hospital", addresses).await;
    until_authenticated(&hospital, insurer.did()).await;
    publish(&insurer).await;
    let first = until(&hospital, "/api/v1/catalog/federated", |c| {
        !c.as_array().unwrap().is_empty()
    })
    .await;
    let first_sequence = first[0]["sequence"].as_u64().unwrap();
    // A later announcement of the same offer replaces the entry, with a higher sequence.
    let later = until(&hospital, "/api/v1/catalog/federated", |c| {
        c.as_array().unwrap().len() == 1 && c[0]["sequence"].as_u64().unwrap() > first_sequence
    })
    .await;
    assert_eq!(later[0]["offer"]["id"], "ward-statistics");
    // Repeats are not audited: the insurer's trail holds one announcement of the offer.
    let events = insurer.events().await;
    let announced = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "peer.announced" && e["subject"] == "ward-statistics")
        .count();
    assert_eq!(announced, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_negotiate_and_transfer_over_the_peer_network() {
    let authority = connector();
    let (insurer, addresses, _) = peer(&authority, "Insurer", Vec::new()).await;
    let (hospital, _, hospital_node) = peer(&authority, "Hospital", addresses).await;
    until_authenticated(&hospital, insurer.did()).await;
    until_authenticated(&insurer, hospital.did()).await;
    publish(&insurer).await;
    let catalog = until(&hospital, "/api/v1/catalog/federated", |c| {
        !c.as_array().unwrap().is_empty()
    })
    .await;
    let address = catalog[0]["offer"]["provider_p2p"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(address.starts_with("p2p://12D3KooW"), "{address}");

    // The whole negotiation travels over libp2p, both ways.
    let (status, negotiation) = hospital
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": address, "offer_id": "ward-statistics", "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{negotiation}");
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    assert_eq!(negotiation["counterparty"], insurer.did());
    let pid = negotiation["provider_pid"].as_str().unwrap();
    let at_insurer = state_of(&insurer, pid, "FINALIZED").await;
    let callback = at_insurer["counterparty_address"].as_str().unwrap();
    assert!(callback.starts_with("p2p://12D3KooW"), "{callback}");

    // The transfer process too: requested, started by the insurer, suspended, restarted and
    // completed, every message over libp2p.
    let agreement = negotiation["agreement_id"].as_str().unwrap();
    let (status, transfer) = hospital
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": agreement, "format": "symbolon:dataset", "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 201, "{transfer}");
    assert_eq!(transfer["state"], "STARTED", "{transfer}");
    assert_eq!(transfer["counterparty_address"], address.as_str());
    let consumer_pid = transfer["consumer_pid"].as_str().unwrap();
    let provider_pid = transfer["provider_pid"].as_str().unwrap();
    let at_insurer = transfer_state(&insurer, provider_pid, "STARTED").await;
    let callback = at_insurer["counterparty_address"].as_str().unwrap();
    assert!(callback.starts_with("p2p://12D3KooW"), "{callback}");
    let (status, _) = operator(&insurer, provider_pid, "suspend", json!({})).await;
    assert_eq!(status, 200);
    transfer_state(&hospital, consumer_pid, "SUSPENDED").await;
    let (status, _) = operator(&hospital, consumer_pid, "start", json!({})).await;
    assert_eq!(status, 200);
    transfer_state(&insurer, provider_pid, "STARTED").await;
    let (status, done) = operator(&hospital, consumer_pid, "complete", json!({})).await;
    assert_eq!(status, 200, "{done}");
    transfer_state(&insurer, provider_pid, "COMPLETED").await;

    // Only the protocol's paths are reachable over the peer network, and only with the
    // sender's own token.
    let carried = |path: &str, authorization: Option<String>| json!({"method": "GET", "path": path, "authorization": authorization});
    let answer = hospital_node
        .request(
            insurer.did(),
            carried("/api/v1/offers", Some(format!("Bearer {}", insurer.token))),
        )
        .await
        .unwrap();
    assert_eq!(answer["status"], 404, "{answer}");
    let answer = hospital_node
        .request(
            insurer.did(),
            carried("/dsp/2025-1/catalog/datasets/ward-statistics", None),
        )
        .await
        .unwrap();
    assert_eq!(answer["status"], 401, "{answer}");
    let answer = hospital_node
        .request(insurer.did(), carried("/.well-known/dspace-version", None))
        .await
        .unwrap();
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(
        answer["body"]["protocolVersions"][0]["participantId"],
        insurer.did()
    );

    // A token is good once over the peer network too; malformed requests are refused.
    let bearer = format!(
        "Bearer {}",
        token(&hospital.identity, insurer.did(), &[]).await
    );
    let unknown = carried("/dsp/2025-1/negotiations/urn:uuid:unknown", Some(bearer));
    let first = hospital_node
        .request(insurer.did(), unknown.clone())
        .await
        .unwrap();
    assert_eq!(first["status"], 404, "{first}");
    let replayed = hospital_node.request(insurer.did(), unknown).await.unwrap();
    assert_eq!(replayed["status"], 401, "{replayed}");
    let malformed = hospital_node
        .request(insurer.did(), json!({"path": 7}))
        .await
        .unwrap();
    assert_eq!(malformed["status"], 400, "{malformed}");
    let mut delete = carried("/.well-known/dspace-version", None);
    delete["method"] = json!("DELETE");
    let answer = hospital_node.request(insurer.did(), delete).await.unwrap();
    assert_eq!(answer["status"], 405, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_told_over_the_peer_network_bites_at_once_despite_the_cache() {
    // The authority is on the peer network (its own member); the provider caches status
    // lists for ten minutes.
    let reannounce = Duration::from_secs(200);
    let (authority, addresses, _, _) =
        peer_with(None, "Authority", Vec::new(), reannounce, Duration::ZERO).await;
    let (provider, _, _, _) = peer_with(
        Some(&authority),
        "Insurer",
        addresses.clone(),
        reannounce,
        Duration::from_secs(600),
    )
    .await;
    let (hospital, _, hospital_node, membership_id) = peer_with(
        Some(&authority),
        "Hospital",
        addresses.clone(),
        reannounce,
        Duration::ZERO,
    )
    .await;
    until_authenticated(&authority, provider.did()).await;
    publish(&provider).await;
    let first = negotiate(&hospital, &provider).await;
    assert_eq!(first["state"], "FINALIZED", "{first}");

    // Another member cannot make the provider forget the authority's list, nor send it a
    // malformed notice.
    let list = format!("{}/status/revocation", authority.url.trim_end_matches('/'));
    let answer = hospital_node
        .request(
            provider.did(),
            json!({"kind": "status-list-updated", "url": list}),
        )
        .await
        .unwrap();
    assert_eq!(answer["body"]["forgotten"], false, "{answer}");
    for bad in [
        json!({"kind": "status-list-updated"}),
        json!({"kind": "status-list-updated", "url": "x".repeat(5000)}),
    ] {
        let answer = hospital_node.request(provider.did(), bad).await.unwrap();
        assert_eq!(answer["status"], 400, "{answer}");
    }
    let still = negotiate(&hospital, &provider).await;
    assert_eq!(still["state"], "FINALIZED", "{still}");

    // Revoked at the authority: the provider's cached list is forgotten at once.
    let (status, body) = authority
        .post(
            "/credentials/status",
            &json!({"credentialId": membership_id, "credentialStatus": [
                {"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": true}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let revoked = std::time::Instant::now();
    // Attempts start every 100 ms; the first refused one must have started within a second
    // of the revocation (the negotiation itself may take longer on a loaded machine).
    let (refused, started_after) = loop {
        let started_after = revoked.elapsed();
        assert!(
            started_after < Duration::from_secs(1),
            "still admitted a second after the revocation"
        );
        let answer = negotiate(&hospital, &provider).await;
        if answer["state"] == "TERMINATED" {
            break (answer, started_after);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(started_after < Duration::from_secs(1), "{started_after:?}");
    assert!(refused.to_string().contains("revoked"), "{refused}");
}
