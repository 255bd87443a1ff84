//! The provider's decision driven from the store: resumed after a restart, and terminated
//! with a reason whatever fails on the way.

use std::time::Duration;

use symbolon_identity::{create_presentation, Format, Identity, KeyAlgorithm};

use super::state::{NegotiationState, Role};
use super::Negotiations;
use crate::context::{Connector, Settings};
use crate::datadir::DataDir;
use crate::domain::{now, Negotiation, PendingDecision};
use crate::fixtures::{offer, Authority};
use crate::protocol::messages::MessageOffer;

/// A provider (its data directory, trust list and offer) and a member hospital.
struct Setup {
    _tmp: tempfile::TempDir,
    dir: DataDir,
    hospital: Identity,
    membership: symbolon_identity::Secured,
}

async fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    dir.init(KeyAlgorithm::Ed25519, None).unwrap();
    let authority = Authority::new();
    let hospital = Identity::generate(KeyAlgorithm::Ed25519);
    let list = authority.trust_list().await;
    let membership = authority.membership(&hospital, "Hospital").await;
    {
        let provider = Connector::open(&dir, Settings::offline()).unwrap();
        let verification = provider.verification();
        verification
            .trust
            .install(&list.to_text(), verification.resolver.clone())
            .await
            .unwrap();
        assert!(provider.store().offers.create(&offer()).unwrap());
    }
    Setup {
        _tmp: tmp,
        dir,
        hospital,
        membership,
    }
}

/// A consumer's callback on 127.0.0.1 that acknowledges every message (`200 {}`); its
/// protocol base URL.
fn acknowledging_consumer() -> String {
    use actix_web::{web, App, HttpResponse, HttpServer};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = HttpServer::new(|| {
        App::new().default_service(web::to(|| async {
            HttpResponse::Ok().json(serde_json::json!({}))
        }))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    format!("http://{address}/dsp/2025-1")
}

/// Where nobody listens: a send there fails.
const UNREACHABLE: &str = "http://127.0.0.1:9/dsp/2025-1";

/// A provider negotiation REQUESTED by the hospital (whose callback is `at`), with its
/// presentation kept for the decision, stored as a restart would leave it.
async fn requested(
    setup: &Setup,
    provider: &Connector,
    consumer_pid: Option<&str>,
    at: &str,
) -> String {
    let jti = "urn:uuid:token-1";
    let presentation = create_presentation(
        &setup.hospital,
        std::slice::from_ref(&setup.membership),
        Format::Jwt,
        jti,
        provider.did(),
    )
    .await
    .unwrap();
    let pid = "urn:uuid:provider-1".to_owned();
    let mut offer = MessageOffer::new("urn:symbolon:offer:ward-statistics");
    offer.target = Some("ward-statistics".into());
    let negotiation = Negotiation {
        role: Role::Provider,
        provider_pid: Some(pid.clone()),
        consumer_pid: consumer_pid.map(str::to_owned),
        state: NegotiationState::Requested,
        offer_id: "ward-statistics".into(),
        counterparty: setup.hospital.did.as_str().to_owned(),
        counterparty_address: at.into(),
        offer,
        agreement_id: None,
        reason: Vec::new(),
        purpose: None,
        pending: Some(PendingDecision {
            jti: jti.into(),
            presentation: Some(presentation.to_text()),
            access_token: None,
            credential_service: None,
            offer_refused: None,
        }),
        decision: Default::default(),
        recommendation: None,
        created: now(),
        updated: now(),
    };
    assert!(provider
        .store()
        .negotiations
        .create(
            &pid,
            &negotiation,
            Box::new(|n: &Negotiation| symbolon_audit::AuditEvent::new(
                "negotiation.transition",
                "did:key:z6MkProvider",
                "urn:uuid:restart",
                n.state.as_str(),
            )),
        )
        .unwrap());
    pid
}

// Before: the presentation lived only in memory between the request and the decision, so a
// restart left the negotiation REQUESTED for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_left_undecided_by_a_restart_is_decided_on_start() {
    let setup = setup().await;
    let pid = {
        let provider = Connector::open(&setup.dir, Settings::offline()).unwrap();
        requested(
            &setup,
            &provider,
            Some("urn:uuid:consumer-1"),
            &acknowledging_consumer(),
        )
        .await
    };
    let provider = Connector::open(&setup.dir, Settings::offline()).unwrap();
    let service = Negotiations::new(provider.clone());
    let resumed = service.resume().unwrap();
    assert_eq!(resumed.decisions, 1);
    let outcome = wait_until_moved(&service, &pid).await;
    assert_eq!(outcome.state, NegotiationState::Agreed, "{outcome:?}");
    assert_eq!(
        outcome.pending, None,
        "the presentation is not kept after the decision"
    );
    let agreement_id = outcome.agreement_id.unwrap();
    let agreement = provider
        .store()
        .agreements
        .get(&agreement_id)
        .unwrap()
        .unwrap();
    assert_eq!(agreement.assignee, setup.hospital.did.as_str());
    assert_eq!(agreement.obligations[0].name, "delete_after");
}

// Before: when agreeing failed after the policy permitted, the error was only logged and the
// negotiation stayed REQUESTED, the consumer never told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_after_the_permit_terminates_with_a_reason() {
    let setup = setup().await;
    let provider = Connector::open(&setup.dir, Settings::offline()).unwrap();
    // A negotiation without the consumer's process id cannot be agreed (nor told).
    let pid = requested(&setup, &provider, None, UNREACHABLE).await;
    let service = Negotiations::new(provider.clone());
    service.decide(&pid).await;
    let outcome = provider.store().negotiations.get(&pid).unwrap().unwrap();
    assert_eq!(outcome.state, NegotiationState::Terminated);
    assert_eq!(
        outcome.reason,
        ["the provider failed to decide; request again later"]
    );
    assert!(provider.store().agreements.list().unwrap().is_empty());
}

// Before: the provider stored AGREED, then sent the agreement; a consumer that never received
// it was left REQUESTED while the provider held an agreement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agreement_the_consumer_cannot_receive_leaves_the_request_requested() {
    let setup = setup().await;
    let provider = Connector::open(&setup.dir, Settings::offline()).unwrap();
    let pid = requested(&setup, &provider, Some("urn:uuid:consumer-1"), UNREACHABLE).await;
    let service = Negotiations::new(provider.clone());
    service.decide(&pid).await;
    let outcome = provider.store().negotiations.get(&pid).unwrap().unwrap();
    assert_eq!(outcome.state, NegotiationState::Requested, "{outcome:?}");
    assert_eq!(outcome.agreement_id, None);
    assert!(
        outcome.pending.is_some(),
        "the presentation is kept to decide again on restart"
    );
    assert!(provider.store().agreements.list().unwrap().is_empty());
    let total = provider.audit().log().len();
    let events = provider.audit().events(0, total).unwrap();
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == symbolon_audit::EventKind::NegotiationSendFailed && e.subject == pid)
        .collect();
    assert_eq!(
        failed.len(),
        3,
        "three attempts, each on record: {failed:?}"
    );
    assert_eq!(failed[0].details["message"], "ContractAgreementMessage");
}

/// The negotiation once it has left REQUESTED.
async fn wait_until_moved(service: &Negotiations, pid: &str) -> Negotiation {
    let mut changes = service.connector().watch_negotiations();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let current = service
            .connector()
            .store()
            .negotiations
            .get(pid)
            .unwrap()
            .unwrap();
        if current.state != NegotiationState::Requested {
            return current;
        }
        tokio::time::timeout_at(deadline, changes.recv())
            .await
            .expect("the negotiation stayed REQUESTED")
            .unwrap();
    }
}
