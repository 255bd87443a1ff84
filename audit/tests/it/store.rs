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
        let log = DurableLog::open(&dir.path().join("audit.sqlite")).unwrap();
        for i in 0..50 {
            log.append(&event(&org.did, i)).unwrap();
        }
        let head = log.sign_head(&org.key, &org.did).unwrap();
        assert_eq!(head.head.tree_size, 50);
        log.root().unwrap()
    };
    let path = dir.path().join("audit.sqlite");
    let log = DurableLog::open(&path).unwrap();
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
    let mut bytes = segment(&path, 7);
    let at = bytes.iter().position(|b| *b == b'd' || *b == b'p').unwrap();
    bytes[at] = b'X';
    set_segment(&path, 7, &bytes);
    assert!(matches!(
        DurableLog::open(&path),
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
        let log = DurableLog::open(&dir.path().join("audit.sqlite")).unwrap();
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
    let log = DurableLog::open(&dir.path().join("audit.sqlite")).unwrap();
    assert_eq!(log.len(), 2502);
    assert_eq!(log.root().unwrap(), root);
    assert_eq!(log.entry_bytes(1023).unwrap(), bytes_1023);
    assert_eq!(log.entries(0, 2502).unwrap().len(), 2502);
}

#[test]
fn entries_stored_whole_still_open_and_grow() {
    let org = org();
    org.fill(5, 100);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    drop(DurableLog::open(&path).unwrap());
    // A row may hold one canonical entry, whole, rather than a segment.
    for index in 0..5u64 {
        set_segment(&path, index, &org.log.entry_bytes(index).unwrap());
    }
    let log = DurableLog::open(&path).unwrap();
    assert_eq!(log.len(), 5);
    assert_eq!(log.root().unwrap(), org.log.root().unwrap());
    log.append_batch(&[event(&org.did, 5), event(&org.did, 6)])
        .unwrap();
    assert_eq!(log.entries(3, 7).unwrap()[3].event.subject, "offer-6");
    drop(log);
    assert_eq!(DurableLog::open(&path).unwrap().len(), 7);
}

#[test]
fn a_damaged_segment_is_refused_at_open_naming_its_entry() {
    let org = org();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.sqlite");
    let log = DurableLog::open(&path).unwrap();
    let batch: Vec<_> = (0..10).map(|i| event(&org.did, i)).collect();
    log.append_batch(&batch).unwrap();
    drop(log);
    let stored = segment(&path, 0);
    // Cut the segment inside its last entry.
    set_segment(&path, 0, &stored[..stored.len() - 3]);
    match DurableLog::open(&path) {
        Err(StoreError::Corrupt { index, .. }) => assert_eq!(index, 9),
        other => panic!("expected a corrupt entry 9, got {other:?}"),
    }
}

#[test]
fn a_failed_job_leaves_no_trace_and_the_others_of_its_group_commit() {
    let org = Arc::new(org());
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let org = Arc::clone(&org);
            std::thread::spawn(move || {
                let event = event(&org.did, t);
                org.log.write(move |tx| {
                    tx.append(&event)?;
                    if t % 2 == 1 {
                        // Fails after its append: the append must be undone.
                        return Err(StoreError::NoHead);
                    }
                    Ok(())
                })
            })
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 4);
    assert_eq!(org.log.len(), 4);
    let subjects: Vec<_> = org
        .log
        .entries(0, 4)
        .unwrap()
        .into_iter()
        .map(|e| e.event.subject)
        .collect();
    for subject in &subjects {
        let n: u64 = subject.trim_start_matches("offer-").parse().unwrap();
        assert_eq!(n % 2, 0, "{subjects:?}");
    }
    org.log.sign_head(&org.key, &org.did).unwrap();
    assert!(verify_bundle(&org.bundle()).is_valid());
}

/// The stored row whose first entry is `start`.
fn segment(path: &std::path::Path, start: u64) -> Vec<u8> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT body FROM audit_segments WHERE start = ?1",
        [start as i64],
        |row| row.get(0),
    )
    .unwrap()
}

/// Replaces (or adds) the row whose first entry is `start`.
fn set_segment(path: &std::path::Path, start: u64, body: &[u8]) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute(
        "INSERT OR REPLACE INTO audit_segments (start, body) VALUES (?1, ?2)",
        (start as i64, body),
    )
    .unwrap();
}
