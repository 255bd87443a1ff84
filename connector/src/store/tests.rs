use super::*;
use crate::domain::{Negotiation, Obligation};
use crate::negotiation::state::{transition, Move, NegotiationState, Role};
use crate::protocol::messages::MessageOffer;

fn negotiation(pid: &str, state: NegotiationState) -> Negotiation {
    Negotiation {
        role: Role::Provider,
        provider_pid: Some(pid.to_owned()),
        consumer_pid: Some("urn:uuid:consumer".into()),
        state,
        offer_id: "ward-statistics".into(),
        counterparty: "did:key:z6MkConsumer".into(),
        counterparty_address: "https://consumer.example/dsp/2025-1".into(),
        offer: MessageOffer::new("urn:symbolon:offer:ward-statistics"),
        agreement_id: None,
        reason: Vec::new(),
        purpose: None,
        pending: None,
        decision: Default::default(),
        recommendation: None,
        created: crate::domain::now(),
        updated: crate::domain::now(),
    }
}

/// The audit record of a change: a negotiation transition naming its new state.
fn record() -> Record {
    Box::new(|n: &Negotiation| {
        symbolon_audit::AuditEvent::new(
            "negotiation.transition",
            "did:key:z6MkProvider",
            "urn:uuid:audited",
            n.state.as_str(),
        )
    })
}

fn agreement(id: &str) -> Agreement {
    Agreement {
        id: id.into(),
        offer_id: "ward-statistics".into(),
        provider: "did:key:z6MkProvider".into(),
        assignee: "did:key:z6MkConsumer".into(),
        provider_pid: "urn:uuid:p".into(),
        consumer_pid: "urn:uuid:consumer".into(),
        action: "use".into(),
        obligations: vec![Obligation {
            name: "delete_after".into(),
            params: Default::default(),
            policy: None,
        }],
        policy: None,
        odrl: serde_json::json!({}),
        signature: Some("x.y.z".into()),
        timestamp: crate::domain::now(),
        grounds: Vec::new(),
        withdrawn: None,
    }
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    {
        let _store = Store::open(dir.path()).unwrap();
    }
    {
        let db =
            rusqlite::Connection::open(dir.path().join(STORE_DIR).join(DATABASE_FILE)).unwrap();
        db.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
            [i64::from(SCHEMA_VERSION + 1)],
        )
        .unwrap();
    }
    let error = Store::open(dir.path()).unwrap_err();
    assert!(matches!(error, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1));
    assert!(error.to_string().contains("upgrade Symbolon"), "{error}");
}

#[test]
fn a_sled_store_of_an_earlier_build_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join(STORE_DIR);
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("conf"), b"segment_size: 524288\n").unwrap();
    std::fs::write(store.join("db"), b"\0\0\0\0").unwrap();
    let error = Store::open(dir.path()).unwrap_err();
    assert!(matches!(error, StoreError::SledStore { .. }), "{error}");
    assert!(error.to_string().contains("sled"), "{error}");
}

#[test]
fn a_second_opener_is_told_the_store_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Store::open(dir.path()).unwrap();
    let error = Store::open(dir.path()).unwrap_err();
    assert!(matches!(error, StoreError::InUse { .. }), "{error}");
    assert!(error.to_string().contains("symbolon serve"), "{error}");
}

// A failed move must not leave an agreement behind: the agreement and the move to AGREED are
// one transaction (before, the agreement was stored first and stayed when the move failed).
#[test]
fn an_agreement_is_stored_only_with_the_move_to_agreed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let pid = "urn:uuid:terminated";
    store
        .negotiations
        .create(
            pid,
            &negotiation(pid, NegotiationState::Terminated),
            record(),
        )
        .unwrap();
    let error = store
        .negotiations
        .update_with_agreement(
            pid,
            &agreement("urn:uuid:orphan"),
            Box::new(|mut n| {
                n.state = transition(n.state, Role::Provider, Move::Agree)?;
                Ok(n)
            }),
            record(),
        )
        .unwrap_err();
    assert!(matches!(error, UpdateError::Illegal(_)), "{error}");
    assert_eq!(store.agreements.get("urn:uuid:orphan").unwrap(), None);

    let pid = "urn:uuid:requested";
    store
        .negotiations
        .create(
            pid,
            &negotiation(pid, NegotiationState::Requested),
            record(),
        )
        .unwrap();
    let agreed = store
        .negotiations
        .update_with_agreement(
            pid,
            &agreement("urn:uuid:kept"),
            Box::new(|mut n| {
                n.state = transition(n.state, Role::Provider, Move::Agree)?;
                n.agreement_id = Some("urn:uuid:kept".into());
                Ok(n)
            }),
            record(),
        )
        .unwrap();
    assert_eq!(agreed.state, NegotiationState::Agreed);
    assert!(store.agreements.get("urn:uuid:kept").unwrap().is_some());
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert!(store.agreements.get("urn:uuid:kept").unwrap().is_some());
    assert_eq!(
        store.negotiations.get(pid).unwrap().unwrap().state,
        NegotiationState::Agreed
    );
}

// A negotiation's change and its audit event are one transaction: an illegal move writes
// neither, a legal one both.
#[test]
fn a_change_and_its_audit_event_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let pid = "urn:uuid:audited";
    let created = store
        .negotiations
        .create(
            pid,
            &negotiation(pid, NegotiationState::Requested),
            record(),
        )
        .unwrap();
    assert!(created);
    assert_eq!(store.log.len(), 1);
    assert!(!store
        .negotiations
        .create(
            pid,
            &negotiation(pid, NegotiationState::Requested),
            record()
        )
        .unwrap());
    assert_eq!(store.log.len(), 1, "a refused create recorded an event");
    let error = store
        .negotiations
        .update(
            pid,
            Box::new(|mut n| {
                n.state = transition(n.state, Role::Consumer, Move::Verify)?;
                Ok(n)
            }),
            Some(record()),
        )
        .unwrap_err();
    assert!(matches!(error, UpdateError::Illegal(_)), "{error}");
    assert_eq!(store.log.len(), 1, "an illegal move recorded an event");
    store
        .negotiations
        .update(
            pid,
            Box::new(|mut n| {
                n.state = transition(n.state, Role::Provider, Move::Offer)?;
                Ok(n)
            }),
            Some(record()),
        )
        .unwrap();
    assert_eq!(store.log.len(), 2);
    let entries = store.log.entries(0, 2).unwrap();
    assert_eq!(entries[1].event.outcome, "OFFERED");
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.log.len(), 2);
    assert_eq!(
        store.negotiations.get(pid).unwrap().unwrap().state,
        NegotiationState::Offered
    );
}

// Two updates racing on one negotiation: both changes apply, in some order, none is lost.
#[test]
fn concurrent_updates_of_one_negotiation_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let pid = "urn:uuid:shared";
    store
        .negotiations
        .create(
            pid,
            &negotiation(pid, NegotiationState::Requested),
            record(),
        )
        .unwrap();
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let store = store.clone();
            std::thread::spawn(move || {
                for step in 0..25 {
                    store
                        .negotiations
                        .update(
                            pid,
                            Box::new(move |mut n| {
                                n.reason.push(format!("{worker}.{step}"));
                                Ok(n)
                            }),
                            None,
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(
        store.negotiations.get(pid).unwrap().unwrap().reason.len(),
        100
    );
}

// Before: a VC-API challenge was kept in memory only, so it was accepted again after a
// restart. Seen nonces are in the store: a replay is refused across a reopen, and pruning
// forgets only the expired.
#[test]
fn seen_nonces_survive_a_restart_and_pruning_forgets_only_the_expired() {
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now();
    let later = now + chrono::Duration::hours(1);
    let earlier = now - chrono::Duration::hours(1);
    {
        let store = Store::open(dir.path()).unwrap();
        assert!(store.nonces.check_and_record("vp", "c-1", later).unwrap());
        assert!(!store.nonces.check_and_record("vp", "c-1", later).unwrap());
        assert!(store.nonces.check_and_record("jti", "c-1", later).unwrap());
        assert!(store.nonces.check_and_record("vp", "old", earlier).unwrap());
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.nonces.check_and_record("vp", "c-1", later).unwrap());
    assert_eq!(store.nonces.prune(now).unwrap(), 1);
    assert!(!store.nonces.check_and_record("vp", "c-1", later).unwrap());
    assert!(store.nonces.check_and_record("vp", "old", later).unwrap());
}

// A data directory of the sled builds: refused by `open`, moved by `migrate_sled` with every
// record, nonce and audit entry, the audit log checked, the sled files kept aside.
#[test]
fn a_sled_store_is_migrated_with_its_records_nonces_and_audit_log() {
    use symbolon_identity::{Did, KeyAlgorithm, KeyPair};

    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join(STORE_DIR);
    // A reference log, to take canonical entries and a signed head from.
    let reference = tempfile::tempdir().unwrap();
    let log = DurableLog::open(&reference.path().join("audit.sqlite")).unwrap();
    let key = KeyPair::generate(KeyAlgorithm::Ed25519);
    let did = Did::key(&key.public_key());
    for i in 0..5 {
        log.append(&symbolon_audit::AuditEvent::new(
            "offer.created",
            did.as_str(),
            &format!("offer-{i}"),
            "ok",
        ))
        .unwrap();
    }
    let head = log.sign_head(&key, &did).unwrap();
    {
        // The layout of the sled builds.
        let db = sled::open(&store_dir).unwrap();
        let offers = db.open_tree("offers").unwrap();
        let offer = crate::fixtures::offer();
        offers
            .insert(offer.id.as_bytes(), serde_json::to_vec(&offer).unwrap())
            .unwrap();
        db.open_tree("negotiations")
            .unwrap()
            .insert(
                b"urn:uuid:n1",
                serde_json::to_vec(&negotiation("urn:uuid:n1", NegotiationState::Agreed)).unwrap(),
            )
            .unwrap();
        db.open_tree("agreements")
            .unwrap()
            .insert(
                b"urn:uuid:a1",
                serde_json::to_vec(&agreement("urn:uuid:a1")).unwrap(),
            )
            .unwrap();
        let later = (chrono::Utc::now() + chrono::Duration::hours(1)).timestamp();
        db.open_tree("nonces")
            .unwrap()
            .insert(b"jti:seen-token", &later.to_be_bytes())
            .unwrap();
        let audit = db.open_tree("audit").unwrap();
        for index in 0..5u64 {
            let mut key = vec![b'e'];
            key.extend_from_slice(&index.to_be_bytes());
            audit.insert(key, log.entry_bytes(index).unwrap()).unwrap();
        }
        let mut key = vec![b'h'];
        key.extend_from_slice(&5u64.to_be_bytes());
        audit.insert(key, head.jws.as_bytes()).unwrap();
        db.flush().unwrap();
    }
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::SledStore { .. })
    ));

    let migrated = migrate::migrate_sled(dir.path()).unwrap();
    assert_eq!(migrated.nonces, 1);
    assert_eq!(migrated.audit_entries, 5);
    assert_eq!(migrated.heads, 1);
    assert!(dir
        .path()
        .join(migrate::SLED_BACKUP_DIR)
        .join("conf")
        .exists());

    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.offers.list().unwrap().len(), 1);
    assert_eq!(
        store
            .negotiations
            .get("urn:uuid:n1")
            .unwrap()
            .unwrap()
            .state,
        NegotiationState::Agreed
    );
    assert!(store.agreements.get("urn:uuid:a1").unwrap().is_some());
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(!store
        .nonces
        .check_and_record("jti", "seen-token", later)
        .unwrap());
    assert_eq!(store.log.len(), 5);
    assert_eq!(store.log.root().unwrap(), log.root().unwrap());
    assert_eq!(store.log.head().unwrap().jws, head.jws);
    drop(store);
    // Nothing left to migrate.
    assert!(matches!(
        migrate::migrate_sled(dir.path()),
        Err(migrate::MigrateError::NothingToMigrate(_))
    ));
}

#[test]
fn did_documents_are_kept_with_the_event_that_needs_them() {
    let dir = tempfile::tempdir().unwrap();
    let did = "did:web:authority.example";
    {
        let store = Store::open(dir.path()).unwrap();
        let documents: BTreeMap<String, Value> =
            [(did.to_owned(), serde_json::json!({"id": did, "v": 1}))].into();
        let event = symbolon_audit::AuditEvent::new(
            "credential.issued",
            "did:key:z6MkProvider",
            "urn:c",
            "ok",
        );
        assert_eq!(
            store.did_documents.append_with(&event, &documents).unwrap(),
            0
        );
        assert_eq!(store.log.len(), 1);
        // A newer copy replaces the older.
        let newer: BTreeMap<String, Value> =
            [(did.to_owned(), serde_json::json!({"id": did, "v": 2}))].into();
        store.did_documents.put(&newer).unwrap();
        // An event the log refuses leaves no document behind either.
        let refused = symbolon_audit::AuditEvent::new("x", "not a DID", "s", "o");
        let other: BTreeMap<String, Value> =
            [("did:web:other.example".to_owned(), serde_json::json!({}))].into();
        assert!(store.did_documents.append_with(&refused, &other).is_err());
    }
    let store = Store::open(dir.path()).unwrap();
    let wanted: BTreeSet<String> = [did.to_owned(), "did:web:other.example".to_owned()].into();
    let found = store.did_documents.get(&wanted).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[did]["v"], 2);
}
