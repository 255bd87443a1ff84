//! Discovery through a bootstrap node, mutual authentication, refusals, announcements,
//! forgeries, application requests, a stopped peer and a restart (issue #7).

use std::time::Duration;

use serde_json::json;
use symbolon_p2p::{sign_announcement, Node, NodeHandle, P2pError, P2pEvent};
use tokio::sync::broadcast;

use crate::common::*;

/// Waits for an event matching `wanted`.
async fn wait_event(
    events: &mut broadcast::Receiver<P2pEvent>,
    timeout: Duration,
    wanted: impl Fn(&P2pEvent) -> bool,
) -> Option<P2pEvent> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(event)) if wanted(&event) => return Some(event),
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return None,
        }
    }
}

fn has_offer(node: &NodeHandle, offer_id: &str) -> bool {
    node.federated_catalog()
        .iter()
        .any(|a| a.offer_id == offer_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_find_and_authenticate_each_other_and_outsiders_see_nothing() {
    let authority = Authority::new();
    let rogue = Authority::new();

    // Four members: one serves as the bootstrap node of the other three.
    let boot_member = Member::new(&authority, "Authority").await;
    let boot = Node::start(boot_member.config(&authority, &[]))
        .await
        .unwrap();
    let mut members = vec![Member::new(&authority, "Hospital").await];
    members.push(Member::new(&authority, "Insurer").await);
    members.push(Member::new(&authority, "StatisticsBureau").await);
    let mut nodes = Vec::new();
    for member in &members {
        nodes.push(
            Node::start(member.config(&authority, &[&boot]))
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        symbolon_p2p::did_of_peer(&nodes[0].peer_id()).unwrap(),
        members[0].identity.did
    );
    let all: Vec<&NodeHandle> = std::iter::once(&boot).chain(nodes.iter()).collect();
    assert!(wait_mesh(&all, WAIT).await, "{:#?}", boot.peers());

    // The PeerId and the DID are the same key; roles come from the verified credential.
    let seen = entry(&nodes[0], &boot).unwrap();
    assert_eq!(seen.peer_id, boot.peer_id().to_string());
    assert_eq!(seen.roles, vec!["Authority".to_owned()]);
    assert!(seen.reachable && seen.reason.is_none());
    assert!(!seen.addresses.is_empty());
    let json = serde_json::to_value(&seen).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "addresses",
            "authenticated",
            "did",
            "last_seen",
            "peer_id",
            "reachable",
            "reason",
            "roles"
        ]
    );
    for address in boot.listen_addrs() {
        assert!(address
            .to_string()
            .ends_with(&format!("/p2p/{}", boot.peer_id())));
    }

    // A revoked member and a member of an untrusted issuer are refused with the reason.
    let revoked = Member::new(&authority, "Hospital").await;
    authority.revoke(revoked.status_index);
    let untrusted = Member::new(&rogue, "Hospital").await;
    let fifth = Node::start(revoked.config(&authority, &[&boot]))
        .await
        .unwrap();
    let sixth = Node::start(untrusted.config(&authority, &[&boot]))
        .await
        .unwrap();
    let refused = |node: &NodeHandle, other: &NodeHandle, words: &str| {
        entry(node, other).is_some_and(|p| {
            !p.authenticated && p.reason.as_deref().is_some_and(|r| r.contains(words))
        })
    };
    assert!(
        boot.wait_until(WAIT, |b| refused(b, &fifth, "revoked")
            && refused(b, &sixth, "not trusted"))
            .await,
        "{:#?}",
        boot.peers()
    );
    for node in &all {
        for outsider in [&fifth, &sixth] {
            assert!(
                !authenticated(node, outsider),
                "an outsider was authenticated"
            );
        }
    }
    // Refused peers are disconnected and get nothing.
    assert!(
        boot.wait_until(WAIT, |b| entry(b, &fifth).is_some_and(|p| !p.reachable))
            .await
    );
    let answer = fifth
        .request(&boot.did().to_string(), json!({"hello": 1}))
        .await;
    assert!(answer.is_err(), "{answer:?}");
    let answer = boot
        .request(&sixth.did().to_string(), json!({"hello": 1}))
        .await;
    assert!(
        matches!(answer, Err(P2pError::NotAuthenticated { ref reason, .. }) if reason.contains("not trusted")),
        "{answer:?}"
    );

    // An offer announced by one member reaches every member's federated catalog.
    let offer = json!({"id": "urn:offer:salary-average", "title": "Average salary"});
    let announced = nodes[0].announce(offer.clone()).await.unwrap();
    assert_eq!(announced.issuer, nodes[0].did().to_string());
    for node in all.iter().filter(|n| n.peer_id() != nodes[0].peer_id()) {
        assert!(
            node.wait_until(WAIT, |n| has_offer(n, "urn:offer:salary-average"))
                .await,
            "{:?} did not get the offer",
            node.did()
        );
        let entry = node
            .federated_catalog()
            .into_iter()
            .find(|a| a.offer_id == "urn:offer:salary-average")
            .unwrap();
        assert_eq!(entry.issuer, nodes[0].did().to_string());
        assert_eq!(entry.offer, offer);
    }
    assert!(
        nodes[0].federated_catalog().is_empty(),
        "own offers are not federated"
    );

    // A forged announcement (valid signature by another member's DID) is dropped.
    let mut events = nodes[0].events();
    let forged = sign_announcement(
        &members[2].identity.key,
        DATA_SPACE,
        &json!({"id": "urn:offer:forged"}),
        1,
    )
    .unwrap();
    nodes[1].publish_signed(forged).await.unwrap();
    let dropped = wait_event(
        &mut events,
        WAIT,
        |e| matches!(e, P2pEvent::AnnouncementDropped { reason, .. } if reason.contains("forged")),
    )
    .await;
    assert!(dropped.is_some(), "the forgery was not reported");
    for node in &all {
        assert!(!has_offer(node, "urn:offer:forged"));
    }

    // Application requests between members, answered by the application.
    let mut incoming = nodes[0].incoming_requests().unwrap();
    assert!(nodes[0].incoming_requests().is_none());
    tokio::spawn(async move {
        while let Some(request) = incoming.recv().await {
            let answer =
                json!({"echo": request.payload, "from": request.from, "roles": request.roles});
            request.responder.respond(answer).await.unwrap();
        }
    });
    let answer = nodes[1]
        .request(&nodes[0].did().to_string(), json!({"ask": "hi"}))
        .await
        .unwrap();
    assert_eq!(answer["echo"]["ask"], "hi");
    assert_eq!(answer["from"], nodes[1].did().to_string());
    assert_eq!(answer["roles"], json!(["Insurer"]));
    let answer = nodes[1]
        .request(&nodes[2].peer_id().to_string(), json!({}))
        .await;
    assert!(
        matches!(answer, Err(P2pError::Refused(ref r)) if r.contains("no application requests")),
        "{answer:?}"
    );

    // Outsiders saw nothing.
    for outsider in [&fifth, &sixth] {
        assert!(outsider.federated_catalog().is_empty());
    }

    // A stopped peer shows as unreachable.
    let stopped_did = nodes[2].did().to_string();
    nodes[2].shutdown().await;
    let unreachable = |n: &NodeHandle| {
        n.peers()
            .iter()
            .any(|p| p.did == stopped_did && !p.reachable && !p.authenticated)
    };
    assert!(
        nodes[0].wait_until(WAIT, unreachable).await,
        "{:#?}",
        nodes[0].peers()
    );
    let reason = entry(&nodes[0], &nodes[2]).unwrap().reason.unwrap();
    assert_eq!(reason, "unreachable");

    // Restarted with the same key: the same PeerId, authenticated again, and it learns the
    // offers announced while it was away.
    let old_peer_id = nodes[2].peer_id();
    let restarted = Node::start(members[2].config(&authority, &[&boot]))
        .await
        .unwrap();
    assert_eq!(restarted.peer_id(), old_peer_id);
    let members_now: Vec<&NodeHandle> = vec![&boot, &nodes[0], &nodes[1], &restarted];
    assert!(
        wait_mesh(&members_now, WAIT).await,
        "{:#?}",
        restarted.peers()
    );
    assert!(
        restarted
            .wait_until(WAIT, |n| has_offer(n, "urn:offer:salary-average"))
            .await
    );

    for node in [&boot, &nodes[0], &nodes[1], &restarted, &fifth, &sixth] {
        node.shutdown().await;
    }
    let after = nodes[0].request(&boot.did().to_string(), json!({})).await;
    assert!(matches!(after, Err(P2pError::Stopped)), "{after:?}");
}
