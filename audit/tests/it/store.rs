//! The durable log: concurrency, reopening, range errors.

use std::sync::Arc;

use symbolon_audit::{verify_bundle, DurableLog, StoreError};

use crate::common::{event, org};

#[test]
fn concurrent_appends_get_distinct_indices_and_verify() {
    let org = Arc::new(org());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let org = Arc::clone(&org);
            std::thread::spawn(move || {
                (0..40)
                    .map(|i| org.log.append(&event(&org.did, t * 100 + i)).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..640).collect::<Vec<_>>());
    let first = org
        .log
        .append_batch(&[event(&org.did, 1), event(&org.did, 2)])
        .unwrap();
    assert_eq!(first, 640);
    org.log.sign_head(&org.key, &org.did).unwrap();
    let report = verify_bundle(&org.bundle());
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.signed_size, 642);
}

#[test]
fn reopening_rebuilds_the_tree_and_checks_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let org = org();
    let root = {
        let db = sled::open(dir.path()).unwrap();
        let log = DurableLog::open(db.open_tree("audit").unwrap()).unwrap();
        for i in 0..50 {
            log.append(&event(&org.did, i)).unwrap();
        }
        let head = log.sign_head(&org.key, &org.did).unwrap();
        assert_eq!(head.head.tree_size, 50);
        log.root().unwrap()
    };
    let db = sled::open(dir.path()).unwrap();
    let tree = db.open_tree("audit").unwrap();
    let log = DurableLog::open(tree.clone()).unwrap();
    assert_eq!(log.len(), 50);
    assert_eq!(log.root().unwrap(), root);
    assert_eq!(log.head().unwrap().head.tree_size, 50);
    let entries = log.entries(10, 13).unwrap();
    assert_eq!(
        entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![10, 11, 12]
    );
    assert_eq!(entries[0].event.subject, "offer-10");
    let proof = log.inclusion_proof(17).unwrap();
    proof.verify().unwrap();
    assert_eq!(proof.root_hash, log.head().unwrap().head.root_hash);
    let json = serde_json::to_value(&proof).unwrap();
    assert_eq!(json["path"].as_array().unwrap().len(), proof.path.len());
    log.consistency_proof(20, 50).unwrap().verify().unwrap();
    drop(log);

    // An entry changed on disk is refused at open.
    let mut key = vec![b'e'];
    key.extend_from_slice(&7u64.to_be_bytes());
    let mut bytes = tree.get(&key).unwrap().unwrap().to_vec();
    let at = bytes.iter().position(|b| *b == b'd' || *b == b'p').unwrap();
    bytes[at] = b'X';
    tree.insert(&key, bytes).unwrap();
    assert!(matches!(
        DurableLog::open(tree.clone()),
        Err(StoreError::Corrupt { .. } | StoreError::HeadMismatch { .. })
    ));
}

#[test]
fn out_of_range_reads_are_errors() {
    let org = org();
    assert!(matches!(
        org.log.inclusion_proof(0),
        Err(StoreError::NoHead)
    ));
    org.fill(10, 10);
    let log = &org.log;
    assert!(matches!(log.entries(5, 3), Err(StoreError::Range { .. })));
    assert!(matches!(log.entries(0, 11), Err(StoreError::Range { .. })));
    assert!(log.entries(10, 10).unwrap().is_empty());
    assert!(log.inclusion_proof(10).is_err());
    assert!(log.inclusion_proof_at(3, 11).is_err());
    assert!(log.consistency_proof(8, 4).is_err());
    assert!(log.consistency_proof(4, 11).is_err());
    assert!(log.entry_bytes(10).is_err());
    let err = log.entries(0, 11).unwrap_err().to_string();
    assert!(err.contains("0..11"), "{err}");
    let mut bad = event(&org.did, 1);
    bad.actor = "someone".into();
    assert!(matches!(log.append(&bad), Err(StoreError::Event(_))));
    assert_eq!(log.len(), 10);
}

#[test]
fn large_batches_span_segments_and_read_back_entry_by_entry() {
    let dir = tempfile::tempdir().unwrap();
    let org = org();
    let (root, bytes_1023) = {
        let db = sled::open(dir.path()).unwrap();
        let log = DurableLog::open(db.open_tree("audit").unwrap()).unwrap();
        log.append(&event(&org.did, 0)).unwrap();
        let batch: Vec<_> = (1..=2500).map(|i| event(&org.did, i)).collect();
        // 2500 entries: three segments (1024, 1024, 452) after the single append.
        assert_eq!(log.append_batch(&batch).unwrap(), 1);
        log.append(&event(&org.did, 2501)).unwrap();
        assert_eq!(log.len(), 2502);
        let across = log.entries(1020, 1030).unwrap();
        assert_eq!(
            across.iter().map(|e| e.index).collect::<Vec<_>>(),
            (1020..1030).collect::<Vec<_>>()
        );
        assert_eq!(across[5].event.subject, "offer-1025");
        assert_eq!(
            log.entries(2500, 2502).unwrap()[1].event.subject,
            "offer-2501"
        );
        log.sign_head(&org.key, &org.did).unwrap();
        let report = verify_bundle(
            &log.export(org.did.as_str(), Default::default(), Vec::new())
                .unwrap(),
        );
        assert!(report.is_valid(), "{report}");
        assert_eq!(report.signed_size, 2502);
        (log.root().unwrap(), log.entry_bytes(1023).unwrap())
    };
    let db = sled::open(dir.path()).unwrap();
    let log = DurableLog::open(db.open_tree("audit").unwrap()).unwrap();
    assert_eq!(log.len(), 2502);
    assert_eq!(log.root().unwrap(), root);
    assert_eq!(log.entry_bytes(1023).unwrap(), bytes_1023);
    assert_eq!(log.entries(0, 2502).unwrap().len(), 2502);
}

#[test]
fn logs_stored_one_entry_per_key_still_open_and_grow() {
    let org = org();
    org.fill(5, 100);
    let db = sled::Config::new().temporary(true).open().unwrap();
    let tree = db.open_tree("audit").unwrap();
    // The layout before segments: each key held one canonical entry, whole.
    for index in 0..5u64 {
        let mut key = vec![b'e'];
        key.extend_from_slice(&index.to_be_bytes());
        tree.insert(key, org.log.entry_bytes(index).unwrap())
            .unwrap();
    }
    let log = DurableLog::open(tree.clone()).unwrap();
    assert_eq!(log.len(), 5);
    assert_eq!(log.root().unwrap(), org.log.root().unwrap());
    log.append_batch(&[event(&org.did, 5), event(&org.did, 6)])
        .unwrap();
    assert_eq!(log.entries(3, 7).unwrap()[3].event.subject, "offer-6");
    drop(log);
    assert_eq!(DurableLog::open(tree).unwrap().len(), 7);
}

#[test]
fn a_damaged_segment_is_refused_at_open_naming_its_entry() {
    let org = org();
    let db = sled::Config::new().temporary(true).open().unwrap();
    let tree = db.open_tree("audit").unwrap();
    let log = DurableLog::open(tree.clone()).unwrap();
    let batch: Vec<_> = (0..10).map(|i| event(&org.did, i)).collect();
    log.append_batch(&batch).unwrap();
    drop(log);
    let mut key = vec![b'e'];
    key.extend_from_slice(&0u64.to_be_bytes());
    let stored = tree.get(&key).unwrap().unwrap().to_vec();
    // Cut the segment inside its last entry.
    tree.insert(&key, &stored[..stored.len() - 3]).unwrap();
    match DurableLog::open(tree.clone()) {
        Err(StoreError::Corrupt { index, .. }) => assert_eq!(index, 9),
        other => panic!("expected a corrupt entry 9, got {other:?}"),
    }
}
