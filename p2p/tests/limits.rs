//! A node keeps no more connections than it is configured for.

use std::time::Duration;

use symbolon_p2p::Node;

use crate::common::{authenticated, Authority, Member};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_refuses_further_peers() {
    let authority = Authority::new();
    let hub_member = Member::new(&authority, "Authority").await;
    let mut config = hub_member.config(&authority, &[]);
    config.max_connections = 1;
    let hub = Node::start(config).await.unwrap();

    let first = Member::new(&authority, "Hospital").await;
    let first = Node::start(first.config(&authority, &[&hub]))
        .await
        .unwrap();
    assert!(
        hub.wait_until(Duration::from_secs(20), |n| authenticated(n, &first))
            .await,
        "the first peer was not admitted: {:#?}",
        hub.peers()
    );

    // A second peer finds the hub full: it never gets a connection, so never authenticates.
    let second = Member::new(&authority, "Insurer").await;
    let second = Node::start(second.config(&authority, &[&hub]))
        .await
        .unwrap();
    let admitted = hub
        .wait_until(Duration::from_secs(3), |n| authenticated(n, &second))
        .await;
    assert!(!admitted, "{:#?}", hub.peers());
    assert!(authenticated(&hub, &first));
    for node in [&hub, &first, &second] {
        node.shutdown().await;
    }
}
