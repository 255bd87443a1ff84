//! Peer network figures on loopback: time until 10 nodes are all mutually authenticated,
//! announcement propagation to all peers, and resident memory per node.
//!
//! `cargo bench -p symbolon-p2p --bench p2p`
#![recursion_limit = "256"]
#![allow(clippy::unwrap_used, reason = "bench")]
#![allow(missing_docs, reason = "criterion macros")]

#[allow(dead_code, reason = "the bench uses part of the test fixtures")]
#[path = "../tests/common.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{wait_mesh, Authority, Member};
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::json;
use symbolon_p2p::{Node, NodeHandle};

const NODES: usize = 10;
const TIMEOUT: Duration = Duration::from_secs(30);

/// Starts `NODES` nodes, all bootstrapping from the first; returns them once all are
/// mutually authenticated, with the time that took.
async fn mesh(authority: &Authority, members: &[Member]) -> (Vec<NodeHandle>, Duration) {
    let started = Instant::now();
    let first = Node::start(members[0].config(authority, &[]))
        .await
        .unwrap();
    let mut nodes = vec![first];
    for member in &members[1..] {
        let node = Node::start(member.config(authority, &[&nodes[0]]))
            .await
            .unwrap();
        nodes.push(node);
    }
    let all: Vec<&NodeHandle> = nodes.iter().collect();
    assert!(wait_mesh(&all, TIMEOUT).await, "no full mesh");
    (nodes, started.elapsed())
}

async fn stop(nodes: Vec<NodeHandle>) {
    for node in nodes {
        node.shutdown().await;
    }
}

fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let authority = Authority::new();
    let members: Vec<Member> = runtime.block_on(async {
        let mut members = Vec::new();
        for i in 0..NODES {
            let role = [
                "Hospital",
                "Insurer",
                "StatisticsBureau",
                "Pharmacy",
                "Auditor",
            ][i % 5];
            members.push(Member::new(&authority, role).await);
        }
        members
    });

    // Memory: resident set before and after one mesh of NODES nodes.
    runtime.block_on(async {
        let before = resident_kib();
        let (nodes, took) = mesh(&authority, &members).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = resident_kib();
        if let (Some(before), Some(after)) = (before, after) {
            println!(
                "memory: {} KiB resident for {NODES} nodes with {} peers each, {} KiB per node (mesh in {took:?})",
                after.saturating_sub(before),
                NODES - 1,
                after.saturating_sub(before) / NODES as u64
            );
        }
        stop(nodes).await;
    });

    let mut group = c.benchmark_group("p2p");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("10 nodes mutually authenticated", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let (nodes, took) = mesh(&authority, &members).await;
                    total += took;
                    stop(nodes).await;
                }
                total
            })
        })
    });

    let (nodes, _) = runtime.block_on(mesh(&authority, &members));
    let mut round = 0u64;
    group.bench_function("announcement reaches 9 peers", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    round += 1;
                    let id = format!("urn:offer:{round}");
                    let started = Instant::now();
                    nodes[0]
                        .announce(json!({"id": id, "round": round}))
                        .await
                        .unwrap();
                    for node in &nodes[1..] {
                        let arrived = node
                            .wait_until(TIMEOUT, |n| {
                                n.federated_catalog().iter().any(|a| a.offer_id == id)
                            })
                            .await;
                        assert!(arrived, "announcement lost");
                    }
                    total += started.elapsed();
                }
                total
            })
        })
    });
    group.finish();
    runtime.block_on(stop(nodes));
}

criterion_group!(benches, bench);
criterion_main!(benches);
