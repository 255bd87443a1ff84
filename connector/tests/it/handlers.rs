//! Handler tests on the application alone, without a socket: authentication, malformed input
//! and unknown routes get clear JSON errors, and the protocol's HTTPS binding answers from the
//! transport-neutral service.

use actix_web::http::header;
use actix_web::{test, App};
use serde_json::{json, Value};
use symbolon_connector::api::{self, Parts};
use symbolon_connector::context::{Connector, Settings};
use symbolon_connector::datadir::DataDir;
use symbolon_connector::issuer::StatusRegistry;
use symbolon_identity::KeyAlgorithm;

/// The parts of a connector's application, its admin token and its directory.
pub fn parts() -> (Parts, String, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    dir.init(KeyAlgorithm::Ed25519, None).unwrap();
    let admin_token = dir.admin_token().unwrap();
    let token = admin_token.expose().to_owned();
    let settings = Settings {
        public_url: "http://127.0.0.1:1".into(),
        ..Settings::offline()
    };
    let parts = Parts {
        connector: Connector::open(&dir, settings).unwrap(),
        admin_token,
        status: StatusRegistry::new(dir, "http://127.0.0.1:1"),
        throttle: api::Throttle::off(),
        auditor_sign_in: Default::default(),
    };
    (parts, token, tmp)
}

#[actix_web::test]
async fn management_calls_without_the_admin_token_are_refused() {
    let (parts, token, _tmp) = parts();
    let app = test::init_service(App::new().configure(api::configure(parts))).await;
    for bearer in [None, Some("wrong"), Some(&token[1..])] {
        let mut request = test::TestRequest::get().uri("/api/v1/offers");
        if let Some(bearer) = bearer {
            request = request.insert_header((header::AUTHORIZATION, format!("Bearer {bearer}")));
        }
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
        let body: Value = test::read_body_json(response).await;
        assert_eq!(body["error"], "unauthorized");
    }
    let response = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/offers")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 200);
}

/// The status and `message` the admin (bearer `$token`) gets for `$request` from `$app`.
macro_rules! answer {
    ($app:expr, $request:expr, $token:expr) => {{
        let request = $request
            .insert_header((header::AUTHORIZATION, format!("Bearer {}", $token)))
            .to_request();
        let response = test::call_service($app, request).await;
        let status = response.status().as_u16();
        let body: Value = serde_json::from_slice(&test::read_body(response).await).unwrap();
        (
            status,
            body["message"].as_str().unwrap_or_default().to_owned(),
        )
    }};
}

#[actix_web::test]
async fn malformed_bodies_and_unknown_ids_get_clear_errors() {
    let (parts, token, _tmp) = parts();
    let app = test::init_service(App::new().configure(api::configure(parts))).await;
    let offers = || test::TestRequest::post().uri("/api/v1/offers");
    let (status, message) = answer!(&app, offers().set_payload("{\"id\": "), &token);
    assert_eq!(status, 400);
    assert!(message.starts_with("malformed JSON"), "{message}");
    let wrong_type = json!({"id": "x", "title": 7, "policy": ""});
    let (status, message) = answer!(&app, offers().set_json(wrong_type), &token);
    assert_eq!(status, 400);
    assert!(message.starts_with("field `title`"), "{message}");
    let unknown = test::TestRequest::get().uri("/api/v1/offers/nothing-here");
    let (status, message) = answer!(&app, unknown, &token);
    assert_eq!(status, 404);
    assert_eq!(message, "no offer `nothing-here`");
    let backwards = test::TestRequest::get().uri("/api/v1/events?from=5&to=2");
    let (status, message) = answer!(&app, backwards, &token);
    assert_eq!(status, 400);
    assert!(message.contains("`from` (5)"), "{message}");
}

#[actix_web::test]
async fn the_protocol_binding_routes_authenticates_and_records_refusals() {
    let (parts, token, _tmp) = parts();
    let did = parts.connector.did().to_owned();
    let app = test::init_service(App::new().configure(api::configure(parts))).await;

    let response = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/.well-known/dspace-version")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["protocolVersions"][0]["participantId"], did.as_str());

    let response = test::call_service(
        &app,
        test::TestRequest::put()
            .uri("/dsp/2025-1/catalog/request")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 405);

    let response = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/dsp/2025-1/nowhere")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 404);

    let response = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/dsp/2025-1/catalog/request")
            .set_json(
                json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                             "@type": "CatalogRequestMessage"}),
            )
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
        "Bearer"
    );
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["@type"], "CatalogError");
    assert_eq!(body["code"], "401");

    let response = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/events")
            .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
            .to_request(),
    )
    .await;
    let body: Value = test::read_body_json(response).await;
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{body}");
    assert_eq!(events[0]["type"], "auth.failed");
    assert_eq!(events[0]["subject"], "/dsp/2025-1/catalog/request");
}
