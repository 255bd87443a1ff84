//! mDNS discovery on the local network.
//!
//! libp2p's mDNS skips loopback interfaces and advertises only the addresses of the interface
//! a query came in on, so these nodes listen on all interfaces (they still find each other on
//! this host through multicast loopback on its first non-loopback interface).

use symbolon_p2p::Node;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_on_the_local_network_find_each_other_with_mdns() {
    let authority = Authority::new();
    let mut nodes = Vec::new();
    for role in ["Hospital", "Insurer"] {
        let member = Member::new(&authority, role).await;
        let mut config = member.config(&authority, &[]);
        config.mdns = true;
        config.listen = vec!["/ip4/0.0.0.0/tcp/0".parse().unwrap()];
        nodes.push(Node::start(config).await.unwrap());
    }
    let all: Vec<_> = nodes.iter().collect();
    assert!(wait_mesh(&all, WAIT).await, "{:#?}", nodes[0].peers());
    for node in &nodes {
        node.shutdown().await;
    }
}
