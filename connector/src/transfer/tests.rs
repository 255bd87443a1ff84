//! The transfer repository and this connector's own moves, without a counterparty: a process
//! and its record are one write, a repeated request finds its process, an illegal change
//! writes nothing, and a move the counterparty never acknowledged is not made.

use symbolon_identity::KeyAlgorithm;

use super::state::{Move, Role, TransferState};
use super::{MoveError, Transfers};
use crate::context::{Connector, Settings};
use crate::datadir::DataDir;
use crate::domain::{now, Transfer};
use crate::store::{Opened, TransferRecord, TransferUpdateError};

fn transfer(pid: &str, consumer_pid: &str) -> Transfer {
    Transfer {
        role: Role::Provider,
        provider_pid: Some(pid.to_owned()),
        consumer_pid: consumer_pid.to_owned(),
        state: TransferState::Requested,
        agreement_id: "urn:uuid:agreement".into(),
        offer_id: "ward-statistics".into(),
        format: "symbolon:dataset".into(),
        counterparty: "did:key:z6MkConsumer".into(),
        // Nobody listens there: every send fails.
        counterparty_address: "http://127.0.0.1:9/dsp/2025-1".into(),
        access: None,
        pulls: 0,
        data_address: None,
        code: None,
        reason: Vec::new(),
        created: now(),
        updated: now(),
    }
}

fn record() -> TransferRecord {
    Box::new(|t: &Transfer| {
        symbolon_audit::AuditEvent::new(
            "transfer.transition",
            "did:key:z6MkProvider",
            "urn:uuid:audited",
            t.state.as_str(),
        )
    })
}

fn open_connector() -> (tempfile::TempDir, Connector) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    dir.init(KeyAlgorithm::Ed25519, None).unwrap();
    let connector = Connector::open(&dir, Settings::offline()).unwrap();
    (tmp, connector)
}

#[test]
fn a_repeated_request_finds_its_process_and_writes_nothing() {
    let (_tmp, cx) = open_connector();
    let store = cx.store();
    let first = transfer("urn:uuid:p-1", "urn:uuid:c-1");
    assert_eq!(
        store
            .transfers
            .open("urn:uuid:p-1", &first, record())
            .unwrap(),
        Opened::Created
    );
    let logged = store.log.len();
    // The same consumer, the same consumerPid: the process it opened, nothing written.
    let again = transfer("urn:uuid:p-2", "urn:uuid:c-1");
    assert_eq!(
        store
            .transfers
            .open("urn:uuid:p-2", &again, record())
            .unwrap(),
        Opened::Existing(Box::new(first.clone()))
    );
    assert_eq!(store.log.len(), logged);
    assert!(store.transfers.get("urn:uuid:p-2").unwrap().is_none());
    // Another consumer may use the same consumerPid; a taken provider pid is refused.
    let mut other = transfer("urn:uuid:p-3", "urn:uuid:c-1");
    other.counterparty = "did:key:z6MkOther".into();
    assert_eq!(
        store
            .transfers
            .open("urn:uuid:p-3", &other, record())
            .unwrap(),
        Opened::Created
    );
    let clash = transfer("urn:uuid:p-1", "urn:uuid:c-9");
    assert_eq!(
        store
            .transfers
            .open("urn:uuid:p-1", &clash, record())
            .unwrap(),
        Opened::Taken
    );
    assert_eq!(store.transfers.list().unwrap().len(), 2);
    assert_eq!(store.log.len(), logged + 1);
}

#[test]
fn an_illegal_change_writes_neither_the_process_nor_its_record() {
    let (_tmp, cx) = open_connector();
    let store = cx.store();
    let stored = transfer("urn:uuid:p-1", "urn:uuid:c-1");
    store
        .transfers
        .open("urn:uuid:p-1", &stored, record())
        .unwrap();
    let logged = store.log.len();
    let error = store
        .transfers
        .update(
            "urn:uuid:p-1",
            Box::new(|mut t: Transfer| {
                t.state = super::state::transition(Some(t.state), Role::Consumer, Move::Complete)?;
                Ok(t)
            }),
            Some(record()),
        )
        .unwrap_err();
    assert!(matches!(error, TransferUpdateError::Illegal(_)), "{error}");
    assert_eq!(store.log.len(), logged);
    assert_eq!(
        store.transfers.get("urn:uuid:p-1").unwrap().unwrap(),
        stored
    );
    let started = store
        .transfers
        .update(
            "urn:uuid:p-1",
            Box::new(|mut t: Transfer| {
                t.state = super::state::transition(Some(t.state), Role::Provider, Move::Start)?;
                Ok(t)
            }),
            Some(record()),
        )
        .unwrap();
    assert_eq!(started.state, TransferState::Started);
    assert_eq!(store.log.len(), logged + 1);
    let missing = store
        .transfers
        .update("urn:uuid:nothing", Box::new(Ok), None)
        .unwrap_err();
    assert!(matches!(missing, TransferUpdateError::Missing(_)));
}

// A move is made only once the counterparty acknowledged it: one that cannot be delivered
// leaves the process where it was, and the failed send is on record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_the_consumer_never_acknowledged_is_not_made() {
    let (_tmp, cx) = open_connector();
    let stored = transfer("urn:uuid:p-1", "urn:uuid:c-1");
    cx.store()
        .transfers
        .open("urn:uuid:p-1", &stored, record())
        .unwrap();
    let service = Transfers::new(cx.clone());
    let error = service.start("urn:uuid:p-1").await.unwrap_err();
    assert!(matches!(error, MoveError::Send(_)), "{error}");
    let now = cx.store().transfers.get("urn:uuid:p-1").unwrap().unwrap();
    assert_eq!(now.state, TransferState::Requested);
    let total = cx.audit().log().len();
    let events = cx.audit().events(0, total).unwrap();
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == symbolon_audit::EventKind::TransferSendFailed)
        .collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    assert_eq!(failed[0].details["message"], "TransferStartMessage");
    // Illegal moves are refused before anything is sent.
    let error = service.complete("urn:uuid:p-1").await.unwrap_err();
    assert!(matches!(error, MoveError::Illegal(_)), "{error}");
    assert_eq!(cx.audit().log().len(), total);
    let error = service.start("urn:uuid:nothing").await.unwrap_err();
    assert!(matches!(error, MoveError::NotFound(_)), "{error}");
}

/// A consumer's callback on 127.0.0.1 that acknowledges every message; returns its base URL
/// and the paths it was sent.
fn acknowledging_consumer() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let shared = web::Data::new(seen.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = HttpServer::new(move || {
        App::new().app_data(shared.clone()).default_service(web::to(
            |request: HttpRequest,
             seen: web::Data<std::sync::Arc<std::sync::Mutex<Vec<String>>>>| async move {
                seen.lock().unwrap().push(request.path().to_owned());
                HttpResponse::Ok().json(serde_json::json!({}))
            },
        ))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (format!("http://{address}/callback"), seen)
}

// A start not acknowledged before a restart would leave the process REQUESTED for good:
// `serve` takes it up on start (the consumer's processes are not its to start).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requested_transfer_is_started_when_the_connector_resumes() {
    let (_tmp, cx) = open_connector();
    let (callback, seen) = acknowledging_consumer();
    let mut requested = transfer("urn:uuid:p-1", "urn:uuid:c-1");
    requested.counterparty_address = callback;
    cx.store()
        .transfers
        .open("urn:uuid:p-1", &requested, record())
        .unwrap();
    let mut consumers = transfer("urn:uuid:c-2", "urn:uuid:c-2");
    consumers.role = Role::Consumer;
    cx.store()
        .transfers
        .open("urn:uuid:c-2", &consumers, record())
        .unwrap();
    let service = Transfers::new(cx.clone());
    assert_eq!(
        service.resume().unwrap(),
        1,
        "only the provider's own start"
    );
    let started = service
        .wait_until("urn:uuid:p-1", std::time::Duration::from_secs(10), |t| {
            t.state != TransferState::Requested
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(started.state, TransferState::Started);
    assert_eq!(
        *seen.lock().unwrap(),
        ["/callback/transfers/urn:uuid:c-1/start"]
    );
}
