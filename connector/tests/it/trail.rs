//! The audit trail records, it is not a dumping ground: what strangers send is recorded as a
//! bounded summary, the endpoints anyone may call are rate-limited per caller, an export makes
//! no network call (DID documents are captured when recorded, or the verifier names the ones
//! missing), and an action is answered only once its entry is on disk.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header;
use actix_web::{test, web, App, HttpResponse, HttpServer};
use serde_json::{json, Value};
use symbolon_audit::{verify_bundle, AuditBundle, EventKind, FindingKind};
use symbolon_connector::api::{self, RateLimit, Throttle};
use symbolon_connector::audit::AuditTrail;
use symbolon_connector::context::Connector;
use symbolon_connector::datadir::DataDir;
use symbolon_identity::{
    create_presentation, issue_credential, Did, DidResolver, Format, Identity, KeyAlgorithm,
    Secured,
};

use crate::dsp::membership_document;
use crate::handlers::parts;

/// A credential of `role` for `subject`, signed by `issuer` now, as a compact JWS.
async fn credential(issuer: &Identity, subject: &str, extra: Option<&str>) -> String {
    let mut document = membership_document(subject, "Hospital");
    document["issuer"] = json!(issuer.did.as_str());
    document["validFrom"] = json!(symbolon_identity::credential::format_time(
        chrono::Utc::now()
    ));
    if let Some(extra) = extra {
        document["credentialSubject"]["notes"] = json!(extra);
    }
    issue_credential(issuer, document, Format::Jwt)
        .await
        .unwrap()
        .to_text()
}

/// A did:web identity whose document a small server on 127.0.0.1 serves; once `silent` is set,
/// the server holds every request without answering.
struct WebDid {
    identity: Identity,
    document: Value,
    silent: Arc<AtomicBool>,
}

async fn web_did() -> WebDid {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let identity = Identity {
        key: Identity::generate(KeyAlgorithm::Ed25519).key,
        did: Did::parse(&format!("did:web:127.0.0.1%3A{port}")).unwrap(),
    };
    let method = identity.verification_method();
    let document = json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": identity.did.as_str(),
        "verificationMethod": [{
            "id": method, "type": "Multikey", "controller": identity.did.as_str(),
            "publicKeyMultibase": identity.key.public_key().to_multibase(),
        }],
        "assertionMethod": [method],
    });
    let silent = Arc::new(AtomicBool::new(false));
    let (served, hold) = (web::Data::new(document.clone()), silent.clone());
    let server = HttpServer::new(move || {
        let hold = web::Data::new(hold.clone());
        App::new()
            .app_data(served.clone())
            .app_data(hold)
            .default_service(web::to(
                |document: web::Data<Value>, hold: web::Data<Arc<AtomicBool>>| async move {
                    if hold.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_secs(120)).await;
                    }
                    HttpResponse::Ok().json(document.get_ref())
                },
            ))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    WebDid {
        identity,
        document,
        silent,
    }
}

/// Every event `connector` recorded, oldest first.
fn events(connector: &Connector) -> Vec<Value> {
    let trail = connector.audit();
    trail
        .events(0, trail.log().len())
        .unwrap()
        .into_iter()
        .map(|event| serde_json::to_value(event).unwrap())
        .collect()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

// Before: `POST /credentials/verify` recorded nothing at all, and a refused token's reason went
// into the trail whole (here a 40 kB token id).
#[actix_web::test]
async fn strangers_leave_bounded_summaries_in_the_trail() {
    let (parts, _token, _tmp) = parts();
    let connector = parts.connector.clone();
    let node_did = connector.did().to_owned();
    let app = test::init_service(App::new().configure(api::configure(parts))).await;
    let junk = "J".repeat(600_000);

    let request = test::TestRequest::post()
        .uri("/presentations/verify")
        .set_json(json!({
            "verifiablePresentation": junk,
            "options": {"challenge": "c".repeat(150_000), "domain": "d".repeat(150_000)},
        }));
    let status = test::call_service(&app, request.to_request())
        .await
        .status();
    assert!(status.is_client_error(), "{status}");
    let request = test::TestRequest::post()
        .uri("/credentials/verify")
        .set_json(json!({ "verifiableCredential": junk }));
    let status = test::call_service(&app, request.to_request())
        .await
        .status();
    assert!(status.is_client_error(), "{status}");

    // A stranger's token with a 40 kB id, accepted once, then replayed.
    let stranger = Identity::generate(KeyAlgorithm::Ed25519);
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": stranger.did.as_str(), "sub": stranger.did.as_str(), "aud": node_did,
        "jti": "x".repeat(40_000), "iat": now, "exp": now + 60,
    });
    let token = symbolon_identity::jose::sign(
        &stranger.key,
        &stranger.verification_method(),
        "JWT",
        &claims,
    );
    let catalog_request = json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogRequestMessage",
    });
    for expected in [200, 401] {
        let request = test::TestRequest::post()
            .uri("/dsp/2025-1/catalog/request")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .set_json(&catalog_request);
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status().as_u16(), expected);
    }

    let recorded = events(&connector);
    for event in &recorded {
        let size = event.to_string().len();
        assert!(
            size < 4096,
            "an event of {size} bytes: {:.300}",
            event.to_string()
        );
        assert!(!event.to_string().contains(&"J".repeat(1000)));
    }
    let presentations = of_type(&recorded, "presentation.verified");
    assert_eq!(presentations.len(), 1, "{recorded:?}");
    let presented = &presentations[0]["details"];
    assert_eq!(
        presented["digest"]["bytes"],
        json!(junk.len() + 2),
        "{presented}"
    );
    assert!(presented["challenge"]
        .as_str()
        .unwrap()
        .contains("150000 bytes in all, sha256 "));
    let credentials = of_type(&recorded, "credential.verified");
    assert_eq!(credentials.len(), 1, "{recorded:?}");
    assert_eq!(credentials[0]["outcome"], "refused");
    assert_eq!(
        credentials[0]["details"]["digest"]["bytes"],
        json!(junk.len() + 2)
    );
    let refused = of_type(&recorded, "auth.failed");
    assert_eq!(refused.len(), 1, "{recorded:?}");
    assert_eq!(refused[0]["details"]["code"], "replayed");
    assert!(refused[0]["details"]["reason"]
        .as_str()
        .unwrap()
        .contains("bytes in all, sha256 "));
}

// An action is answered only once its entry is on disk: a presentation of most of a mebibyte
// is verified (200) and its check is on record, as a digest (before the digest, its entry
// exceeded the log's cap and the 200 went out without one).
#[actix_web::test]
async fn a_large_presentation_is_answered_with_its_check_on_record() {
    let (parts, _token, _tmp) = parts();
    let connector = parts.connector.clone();
    let app = test::init_service(App::new().configure(api::configure(parts))).await;
    let (authority, holder) = (
        Identity::generate(KeyAlgorithm::Ed25519),
        Identity::generate(KeyAlgorithm::Ed25519),
    );
    let issued = credential(&authority, holder.did.as_str(), Some(&"n".repeat(450_000))).await;
    let presentation = create_presentation(
        &holder,
        &[Secured::Jwt(issued)],
        Format::Jwt,
        "large-1",
        "https://verifier.example",
    )
    .await
    .unwrap()
    .to_text();
    assert!(presentation.len() > 750_000, "{}", presentation.len());
    let before = connector.audit().log().len();
    let request = test::TestRequest::post()
        .uri("/presentations/verify")
        .set_json(json!({
            "verifiablePresentation": presentation,
            "options": {"challenge": "large-1", "domain": "https://verifier.example"},
        }));
    let response = test::call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(connector.audit().log().len(), before + 1);
    let recorded = events(&connector);
    let last = recorded.last().unwrap();
    assert_eq!(last["type"], "presentation.verified");
    assert_eq!(last["outcome"], "ok");
    assert_eq!(last["subject"], holder.did.as_str());
    assert!(last["details"]["digest"]["bytes"].as_u64().unwrap() > 750_000);
}

/// Builds one request to an endpoint.
type MakeRequest = Box<dyn Fn() -> test::TestRequest>;

fn peer(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 40_000))
}

// Before: no endpoint had a rate limit; a stranger could call (and grow the trail) as fast as
// the server answered.
#[actix_web::test]
async fn the_endpoints_anyone_may_call_are_rate_limited_per_caller() {
    let (mut parts, token, _tmp) = parts();
    parts.throttle = Throttle::new(Some(RateLimit {
        per_second: 1,
        burst: 1,
        max_callers: 100,
    }));
    let connector = parts.connector.clone();
    let did = connector.did().to_owned();
    let app = test::init_service(App::new().configure(api::configure(parts))).await;
    let verify = || {
        test::TestRequest::post()
            .uri("/credentials/verify")
            .set_json(json!({"verifiableCredential": "x"}))
    };
    let endpoints: Vec<(&str, MakeRequest)> = vec![
        ("credential verification", Box::new(verify)),
        (
            "presentation verification",
            Box::new(|| {
                test::TestRequest::post()
                    .uri("/presentations/verify")
                    .set_json(json!({"verifiablePresentation": "x",
                                     "options": {"challenge": "c", "domain": "d"}}))
            }),
        ),
        (
            "DID resolution",
            Box::new(move || test::TestRequest::get().uri(&format!("/identifiers/{did}"))),
        ),
        (
            "status list",
            Box::new(|| test::TestRequest::get().uri("/status/revocation")),
        ),
        (
            "catalog",
            Box::new(|| {
                test::TestRequest::post()
                    .uri("/dsp/2025-1/catalog/request")
                    .set_json(json!({}))
            }),
        ),
    ];
    for (n, (name, request)) in endpoints.iter().enumerate() {
        let caller = peer(u8::try_from(n).unwrap() + 1);
        let first = test::call_service(&app, request().peer_addr(caller).to_request()).await;
        assert_ne!(first.status(), 429, "{name}: the first call");
        let recorded = connector.audit().log().len();
        let second = test::call_service(&app, request().peer_addr(caller).to_request()).await;
        assert_eq!(second.status(), 429, "{name}: the second call");
        assert_eq!(second.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let body: Value = test::read_body_json(second).await;
        assert_eq!(body["error"], "too_many_requests", "{name}");
        assert!(body["message"].as_str().unwrap().contains("retry in 1 s"));
        assert_eq!(
            connector.audit().log().len(),
            recorded,
            "{name}: a refused call records nothing"
        );
    }
    // The protocol counts only refused calls: the version document, answered, is not limited
    // (a partner asks for it before each negotiation).
    for _ in 0..3 {
        let request = test::TestRequest::get()
            .uri("/.well-known/dspace-version")
            .peer_addr(peer(50));
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status(), 200);
    }
    // Another caller has its own allowance; the operator's calls are not limited.
    let other = test::call_service(&app, verify().peer_addr(peer(99)).to_request()).await;
    assert_ne!(other.status(), 429);
    for _ in 0..3 {
        let request = test::TestRequest::get()
            .uri("/api/v1/offers")
            .peer_addr(peer(1))
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_applies_its_configured_rate_limit() {
    use symbolon_connector::server::{start, ServeOptions};
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    dir.init(KeyAlgorithm::Ed25519, None).unwrap();
    let options = ServeOptions {
        rate_limit: Some(RateLimit {
            per_second: 1,
            burst: 2,
            max_callers: 10,
        }),
        ..ServeOptions::new("127.0.0.1:0".parse().unwrap())
    };
    let running = start(dir, options).unwrap();
    let url = format!("{}/credentials/verify", running.url);
    tokio::spawn(running.server);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let response = reqwest::Client::new()
            .post(&url)
            .json(&json!({"verifiableCredential": "x"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses[2], 429, "{statuses:?}");
    assert!(statuses[..2].iter().all(|s| *s != 429), "{statuses:?}");
}

// Before: the export resolved every did:web signer then, waiting 10 s for each whose host
// does not answer, and the bundle silently lacked its document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_resolves_nothing_and_the_verifier_names_the_missing_documents() {
    use symbolon_connector::server::{start, ServeOptions};
    // A host that accepts connections and never answers.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = black_hole.local_addr().unwrap().port();
    let issuer = Identity {
        key: Identity::generate(KeyAlgorithm::Ed25519).key,
        did: Did::parse(&format!("did:web:127.0.0.1%3A{port}")).unwrap(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    dir.init(KeyAlgorithm::Ed25519, None).unwrap();
    let running = start(
        dir.clone(),
        ServeOptions::new("127.0.0.1:0".parse().unwrap()),
    )
    .unwrap();
    let (url, connector) = (running.url.clone(), running.connector.clone());
    tokio::spawn(running.server);
    let token = dir.admin_token().unwrap().expose().to_owned();

    let issued = credential(&issuer, connector.did(), None).await;
    let audit = connector.audit();
    let started = Instant::now();
    let index = audit
        .record(audit.event_with_document(
            EventKind::CredentialIssued,
            "urn:uuid:web-issued",
            "ok",
            "credential",
            json!(issued),
        ))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "recording took {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let response = reqwest::Client::new()
        .get(format!("{url}/api/v1/audit/export"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bundle: AuditBundle = response.json().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the export took {:?}",
        started.elapsed()
    );
    assert!(!bundle.did_documents.contains_key(issuer.did.as_str()));
    let report = tokio::task::spawn_blocking(move || verify_bundle(&bundle))
        .await
        .unwrap();
    assert_eq!(report.missing_did_documents, [issuer.did.to_string()]);
    let missing: Vec<_> = report.of_kind(FindingKind::MissingDidDocument).collect();
    assert_eq!(missing.len(), 1, "{report}");
    assert_eq!(missing[0].index, Some(index));
    drop(black_hole);
}

// Before: the documents were fetched at export time, so an export after the issuer's host went
// quiet lacked them (after waiting 10 s for each).
#[actix_web::test]
async fn did_documents_captured_when_recorded_travel_in_the_bundle() {
    let web = web_did().await;
    let (parts, token, _tmp) = parts();
    let connector = parts.connector.clone();
    let app = test::init_service(App::new().configure(api::configure(parts))).await;
    // A credential for this connector from the did:web issuer, kept in its wallet...
    let held = credential(&web.identity, connector.did(), None).await;
    let request = test::TestRequest::post()
        .uri("/api/v1/credentials")
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
        .set_json(json!({ "verifiableCredential": held }));
    let response = test::call_service(&app, request.to_request()).await;
    assert_eq!(response.status(), 201);
    // ... and an event embedding another of its credentials.
    let other = credential(
        &web.identity,
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        None,
    )
    .await;
    let audit = connector.audit();
    audit
        .record(audit.event_with_document(
            EventKind::CredentialIssued,
            "urn:uuid:other",
            "ok",
            "credential",
            json!(other),
        ))
        .await
        .unwrap();
    drop(app);

    // The issuer's host goes quiet; the trail exports with a resolver that cannot resolve
    // did:web at all, so every document in the bundle comes from the store.
    web.silent.store(true, Ordering::SeqCst);
    let store = connector.store().clone();
    let offline = AuditTrail::new(
        store.log.clone(),
        store.did_documents.clone(),
        Arc::new(DidResolver::offline()),
        connector.identity().clone(),
    );
    let started = Instant::now();
    let bundle = tokio::task::spawn_blocking(move || {
        let credentials = store.credentials.list().unwrap();
        offline
            .export(credentials.into_iter().map(|c| c.credential).collect())
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        bundle.did_documents.get(web.identity.did.as_str()),
        Some(&web.document)
    );
    let report = verify_bundle(&bundle);
    assert!(report.is_valid(), "{report}");
    assert!(report.missing_did_documents.is_empty());
    assert_eq!(report.credentials_checked, 2, "{report}");
}
