//! Clean errors everywhere: every 4xx and 5xx answer is JSON with a code and a message (actix's
//! own 404, 405 and 413 and its extractor errors included), field errors name the field,
//! proof ranges outside the log are 400, and a stranger learns nothing from a 404.

use actix_web::http::header;
use actix_web::{test, App};
use serde_json::{json, Value};
use symbolon_connector::api;
use symbolon_identity::{Identity, KeyAlgorithm};

use crate::dsp::*;
use crate::handlers::parts;

/// Status, headers and JSON body of `request` sent to `app` (the body must be JSON).
macro_rules! call {
    ($app:expr, $request:expr) => {{
        let response = test::call_service($app, $request.to_request()).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = test::read_body(response).await;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "status {status}: the body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, headers, body)
    }};
}

fn admin(request: test::TestRequest, token: &str) -> test::TestRequest {
    request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
}

// Before: actix answered an unknown route with an empty 404, a method a route does not answer
// with an empty 404 (or 405), an oversized body with a plain-text 413 and a malformed query
// string with a plain-text 400.
#[actix_web::test]
async fn every_error_answer_is_json_with_a_code_and_a_message() {
    let (parts, token, _tmp) = parts();
    let app = test::init_service(App::new().configure(api::configure(parts))).await;

    let (status, _, body) = call!(&app, test::TestRequest::get().uri("/nowhere/at/all"));
    assert_eq!(
        (status, &body["error"]),
        (404, &json!("not_found")),
        "{body}"
    );
    assert_eq!(body["message"], "no endpoint at `/nowhere/at/all`");

    let (status, headers, body) = call!(&app, test::TestRequest::get().uri("/credentials/verify"));
    assert_eq!(status, 405, "{body}");
    assert_eq!(body["error"], "method_not_allowed");
    assert_eq!(body["message"], "`/credentials/verify` does not answer GET");
    assert_eq!(headers.get(header::ALLOW).unwrap(), "POST");

    let (status, _, body) = call!(
        &app,
        admin(test::TestRequest::put().uri("/api/v1/offers"), &token)
    );
    assert_eq!(
        (status, &body["error"]),
        (405, &json!("method_not_allowed"))
    );

    let big = vec![b' '; 2 * 1024 * 1024];
    let (status, _, body) = call!(
        &app,
        test::TestRequest::post()
            .uri("/credentials/verify")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(big)
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"], "payload_too_large");
    assert_eq!(body["message"], "the request body exceeds 1048576 bytes");

    let (status, _, body) = call!(
        &app,
        admin(
            test::TestRequest::get().uri("/api/v1/events?from=abc"),
            &token
        )
    );
    assert_eq!((status, &body["error"]), (400, &json!("bad_request")));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("query parameter `from`: "),
        "{body}"
    );
    let (status, _, body) = call!(
        &app,
        admin(
            test::TestRequest::get().uri("/api/v1/audit/proof/inclusion"),
            &token
        )
    );
    assert_eq!(status, 400);
    assert_eq!(body["message"], "query parameter `index` is missing");

    let (status, _, body) = call!(&app, test::TestRequest::post().uri("/dsp/2025-1/nowhere"));
    assert_eq!(
        (status, &body["error"]),
        (404, &json!("not_found")),
        "{body}"
    );
    let (status, _, body) = call!(
        &app,
        test::TestRequest::delete().uri("/dsp/2025-1/catalog/request")
    );
    assert_eq!(
        (status, &body["error"]),
        (405, &json!("method_not_allowed")),
        "{body}"
    );

    let (status, headers, body) = call!(&app, test::TestRequest::get().uri("/api/v1/offers"));
    assert_eq!((status, &body["error"]), (401, &json!("unauthorized")));
    assert_eq!(headers.get(header::WWW_AUTHENTICATE).unwrap(), "Bearer");
}

// Before: a missing member was reported on its parent, as "field `.`: missing field `title`".
#[actix_web::test]
async fn field_errors_name_the_field() {
    let (parts, token, _tmp) = parts();
    let app = test::init_service(App::new().configure(api::configure(parts))).await;
    let cases = [
        (
            "/api/v1/offers",
            json!({"id": "x", "policy": ""}),
            "field `title` is missing",
        ),
        (
            "/api/v1/negotiations/urn:uuid:1/terminate",
            json!({}),
            "field `reason` is missing",
        ),
        (
            "/api/v1/credentials",
            json!({"credential": "x"}),
            "field `verifiableCredential` is missing",
        ),
        (
            "/credentials/verify",
            json!({"credential": "x"}),
            "field `verifiableCredential` is missing",
        ),
        (
            "/presentations/verify",
            json!({"verifiablePresentation": "x", "options": {"domain": "d"}}),
            "field `options.challenge` is missing",
        ),
    ];
    for (uri, body, expected) in cases {
        let request = admin(test::TestRequest::post().uri(uri).set_json(body), &token);
        let (status, _, answer) = call!(&app, request);
        assert_eq!(status, 400, "{uri}: {answer}");
        assert_eq!(answer["message"], expected, "{uri}");
        assert!(!answer.to_string().contains("`.`"), "{uri}: {answer}");
    }
    let request = admin(
        test::TestRequest::post()
            .uri("/api/v1/offers")
            .set_json(json!({"id": "x", "title": "t", "policy": "", "kind": "film"})),
        &token,
    );
    let (status, _, answer) = call!(&app, request);
    assert_eq!(status, 400);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("field `kind`: unknown variant `film`"),
        "{answer}"
    );
}

#[actix_web::test]
async fn proof_ranges_outside_the_log_are_400_not_500() {
    let (parts, token, _tmp) = parts();
    let trail = parts.connector.audit().clone();
    for n in 0..3 {
        trail
            .record(trail.event(
                symbolon_audit::EventKind::OfferCreated,
                format!("offer-{n}"),
                "ok",
                Value::Null,
            ))
            .await
            .unwrap();
    }
    let app = test::init_service(App::new().configure(api::configure(parts))).await;
    let get = |uri: &str| admin(test::TestRequest::get().uri(uri), &token);
    for (uri, names) in [
        ("/api/v1/audit/proof/inclusion?index=3", "3"),
        (
            "/api/v1/audit/proof/inclusion?index=18446744073709551615",
            "18446744073709551615",
        ),
        ("/api/v1/audit/proof/consistency?from=3&to=2", "3"),
        ("/api/v1/audit/proof/consistency?from=1&to=4", "4"),
        ("/api/v1/audit/proof/consistency?from=9&to=99", "99"),
        ("/api/v1/audit/entries?from=5&to=2", "5"),
    ] {
        let (status, _, body) = call!(&app, get(uri));
        assert_eq!(status, 400, "{uri}: {body}");
        assert_eq!(body["error"], "bad_request", "{uri}");
        assert!(
            body["message"].as_str().unwrap().contains(names),
            "{uri}: {body}"
        );
    }
    let (status, _, body) = call!(&app, get("/api/v1/audit/proof/consistency?from=1&to=3"));
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = call!(&app, get("/api/v1/audit/proof/inclusion?index=2"));
    assert_eq!(status, 200, "{body}");
}

/// `body` with `pid` written as `PID`, to compare answers about different process ids.
fn without(body: &Value, pid: &str) -> String {
    body.to_string().replace(pid, "PID")
}

// Before: a stranger asking about a negotiation that exists got its provider process id back
// in the error, and on the events endpoint another message than for one that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_cannot_tell_which_negotiations_exist() {
    let (_authority, provider, hospital) = provider_and_member_hospital().await;
    let negotiation = negotiate(&hospital, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    let existing = negotiation["provider_pid"].as_str().unwrap().to_owned();
    let absent = "urn:uuid:00000000-0000-4000-8000-000000000000";
    let stranger = Identity::generate(KeyAlgorithm::Ed25519);
    let event = json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiationEventMessage",
        "providerPid": "urn:uuid:p",
        "consumerPid": "urn:uuid:c",
        "eventType": "ACCEPTED",
    });
    let termination = json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiationTerminationMessage",
        "providerPid": "urn:uuid:p",
        "consumerPid": "urn:uuid:c",
        "code": "x",
    });
    for authenticated in [true, false] {
        let mut answers = Vec::new();
        for pid in [existing.as_str(), absent] {
            let base = format!("{}/negotiations/{pid}", provider.dsp());
            let mut seen = Vec::new();
            for (url, body) in [
                (base.clone(), None),
                (format!("{base}/events"), Some(&event)),
                (format!("{base}/termination"), Some(&termination)),
                (format!("{base}/agreement/verification"), Some(&event)),
            ] {
                let mut request = match body {
                    Some(body) => http().post(&url).json(body),
                    None => http().get(&url),
                };
                if authenticated {
                    request = request.bearer_auth(token(&stranger, provider.did(), &[]).await);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                seen.push((status, without(&body, pid)));
            }
            answers.push(seen);
        }
        for (with, without) in answers[0].iter().zip(&answers[1]) {
            assert_eq!(with, without, "authenticated: {authenticated}");
        }
        let expected = if authenticated {
            [404, 404]
        } else {
            [401, 401]
        };
        assert_eq!([answers[0][0].0, answers[0][1].0], expected);
    }
    // The provider itself still finds it.
    let (status, _) = provider
        .get(&format!("/api/v1/negotiations/{existing}"))
        .await;
    assert_eq!(status, 200);
}
