use std::sync::mpsc;
use std::time::Duration;

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
        created: crate::domain::now(),
        updated: crate::domain::now(),
    }
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
        signature: "x.y.z".into(),
        timestamp: crate::domain::now(),
    }
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    {
        let _store = Store::open(dir.path()).unwrap();
    }
    {
        let db = sled::open(dir.path().join(STORE_DIR)).unwrap();
        db.open_tree(META_TREE)
            .unwrap()
            .insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let error = Store::open(dir.path()).unwrap_err();
    assert!(matches!(error, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1));
    assert!(error.to_string().contains("upgrade Symbolon"), "{error}");
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
        .create(pid, &negotiation(pid, NegotiationState::Terminated))
        .unwrap();
    let error = store
        .negotiations
        .update_with_agreement(pid, &agreement("urn:uuid:orphan"), &|mut n| {
            n.state = transition(n.state, Role::Provider, Move::Agree)?;
            Ok(n)
        })
        .unwrap_err();
    assert!(matches!(error, UpdateError::Illegal(_)), "{error}");
    assert_eq!(store.agreements.get("urn:uuid:orphan").unwrap(), None);

    let pid = "urn:uuid:requested";
    store
        .negotiations
        .create(pid, &negotiation(pid, NegotiationState::Requested))
        .unwrap();
    let agreed = store
        .negotiations
        .update_with_agreement(pid, &agreement("urn:uuid:kept"), &|mut n| {
            n.state = transition(n.state, Role::Provider, Move::Agree)?;
            n.agreement_id = Some("urn:uuid:kept".into());
            Ok(n)
        })
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

// Updates of different negotiations do not wait for each other (before, one process-wide lock
// was held across every update and its flush).
#[test]
fn an_update_does_not_wait_for_another_negotiations_update() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for pid in ["urn:uuid:a", "urn:uuid:b"] {
        store
            .negotiations
            .create(pid, &negotiation(pid, NegotiationState::Requested))
            .unwrap();
    }
    let (entered, in_change) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let released = std::sync::Mutex::new(released);
    let slow = {
        let store = store.clone();
        std::thread::spawn(move || {
            store.negotiations.update("urn:uuid:a", &|mut n| {
                let _ = entered.send(());
                let _ = released
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10));
                n.reason = vec!["slow".into()];
                Ok(n)
            })
        })
    };
    in_change.recv().unwrap();
    let (done, finished) = mpsc::channel();
    let fast = {
        let store = store.clone();
        std::thread::spawn(move || {
            let result = store.negotiations.update("urn:uuid:b", &|mut n| {
                n.reason = vec!["fast".into()];
                Ok(n)
            });
            let _ = done.send(result.is_ok());
        })
    };
    let fast_finished = finished.recv_timeout(Duration::from_secs(5));
    release.send(()).unwrap();
    assert_eq!(
        fast_finished,
        Ok(true),
        "the update of `b` waited for the update of `a`"
    );
    fast.join().unwrap();
    assert!(slow.join().unwrap().is_ok());
    assert_eq!(
        store
            .negotiations
            .get("urn:uuid:a")
            .unwrap()
            .unwrap()
            .reason,
        ["slow"]
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
        .create(pid, &negotiation(pid, NegotiationState::Requested))
        .unwrap();
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let store = store.clone();
            std::thread::spawn(move || {
                for step in 0..25 {
                    store
                        .negotiations
                        .update(pid, &|mut n| {
                            n.reason.push(format!("{worker}.{step}"));
                            Ok(n)
                        })
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
