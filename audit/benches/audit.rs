//! Audit log benchmarks: batched and durable appends, proofs at 10^6 entries.
//!
//! Run with `cargo bench -p symbolon-audit`. Durable figures depend on the disk's flush
//! latency; the store lives in a temporary directory under the target directory.
#![allow(clippy::unwrap_used, reason = "benches")]
#![allow(missing_docs, reason = "benches")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::json;
use symbolon_audit::merkle::leaf_hash;
use symbolon_audit::{verify_consistency, verify_inclusion, AuditEvent, DurableLog, MerkleTree};
use symbolon_identity::{Did, KeyAlgorithm, KeyPair};

fn did() -> Did {
    Did::key(&KeyPair::generate(KeyAlgorithm::Ed25519).public_key())
}

fn event(did: &Did, i: u64) -> AuditEvent {
    AuditEvent::new(
        "policy.decision",
        did.as_str(),
        &format!("offer-{i}"),
        "permit",
    )
    .with_details(json!({"policies": ["p1"], "n": i}))
}

/// A log on disk (not tmpfs), so flushes are real.
fn open_log() -> (tempfile::TempDir, Arc<DurableLog>) {
    let base = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(base).unwrap();
    let log = Arc::new(DurableLog::open(&dir.path().join("audit.sqlite")).unwrap());
    (dir, log)
}

fn appends(c: &mut Criterion) {
    let did = did();
    let mut group = c.benchmark_group("append");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.warm_up_time(Duration::from_millis(500));

    let (_dir, log) = open_log();
    let batch: Vec<AuditEvent> = (0..1000).map(|i| event(&did, i)).collect();
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("durable batch of 1000", |b| {
        b.iter(|| log.append_batch(&batch).unwrap())
    });

    group.throughput(Throughput::Elements(1));
    let (_dir1, log1) = open_log();
    let mut i = 0;
    group.bench_function("durable, 1 writer", |b| {
        b.iter(|| {
            i += 1;
            log1.append(&event(&did, i)).unwrap()
        })
    });

    const WRITERS: u64 = 64;
    const PER_WRITER: u64 = 16;
    group.throughput(Throughput::Elements(WRITERS * PER_WRITER));
    let (_dir64, log64) = open_log();
    group.bench_function("durable, 64 writers", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                std::thread::scope(|s| {
                    for w in 0..WRITERS {
                        let (log, did) = (&log64, &did);
                        s.spawn(move || {
                            for i in 0..PER_WRITER {
                                log.append(&event(did, w * 1000 + i)).unwrap();
                            }
                        });
                    }
                });
            }
            start.elapsed()
        })
    });

    let mut tree = MerkleTree::new();
    let leaves: Vec<_> = (0..1000u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    group.throughput(Throughput::Elements(1000));
    group.bench_function("in-memory tree, 1000 leaves", |b| {
        b.iter(|| {
            for leaf in &leaves {
                tree.push_hash(*leaf);
            }
            tree.root()
        })
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let mut tree = MerkleTree::new();
    for i in 0..N {
        tree.push(&i.to_be_bytes());
    }
    let root = tree.root();
    let index = 765_432;
    let inclusion = tree.inclusion_proof(index, N).unwrap();
    let old = 500_001;
    let old_root = tree.root_at(old).unwrap();
    let consistency = tree.consistency_proof(old, N).unwrap();
    eprintln!(
        "at 10^6 entries: inclusion proof {} hashes ({} bytes), consistency proof {}..{} {} hashes ({} bytes)",
        inclusion.len(),
        inclusion.len() * 32,
        old,
        N,
        consistency.len(),
        consistency.len() * 32
    );
    let leaf = leaf_hash(&index.to_be_bytes());

    let mut group = c.benchmark_group("proofs at 10^6");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_millis(300));
    group.bench_function("inclusion proof", |b| {
        b.iter(|| tree.inclusion_proof(index, N).unwrap())
    });
    group.bench_function("verify inclusion", |b| {
        b.iter(|| verify_inclusion(&leaf, index, N, &inclusion, &root).unwrap())
    });
    group.bench_function("consistency proof", |b| {
        b.iter(|| tree.consistency_proof(old, N).unwrap())
    });
    group.bench_function("verify consistency", |b| {
        b.iter(|| verify_consistency(old, N, &old_root, &root, &consistency).unwrap())
    });
    group.finish();
}

criterion_group!(benches, appends, proofs);
criterion_main!(benches);
