//! The protocol's messages one by one, with a test playing the counterparty: tokens, illegal
//! moves, the consumer's side, schema-valid messages and malformed input.

use serde_json::{json, Value};
use symbolon_identity::{jose, Identity, KeyAlgorithm};

use crate::dsp::*;

pub const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";

pub fn request_message(consumer_pid: &str, callback: &str) -> Value {
    json!({
        "@context": [DSP_CONTEXT],
        "@type": "ContractRequestMessage",
        "consumerPid": consumer_pid,
        "offer": {"@type": "Offer", "@id": "urn:symbolon:offer:ward-statistics", "target": "ward-statistics",
                  "permission": [{"action": "use"}]},
        "callbackAddress": callback,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_misaddressed_expired_and_missing_tokens_are_refused_with_401() {
    let provider = connector();
    let caller = Identity::generate(KeyAlgorithm::Ed25519);
    let url = format!("{}/catalog/request", provider.dsp());
    let body = json!({"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []});

    let good = token(&caller, provider.did(), &[]).await;
    assert_eq!(dsp_post(&url, &good, &body).await.0, 200);
    let (status, error) = dsp_post(&url, &good, &body).await;
    assert_eq!(status, 401, "a replayed token");
    assert!(
        error["reason"][0]
            .as_str()
            .unwrap()
            .contains("already used"),
        "{error}"
    );
    assert_eq!(error["@type"], "CatalogError");

    let elsewhere = token(
        &caller,
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        &[],
    )
    .await;
    let (status, error) = dsp_post(&url, &elsewhere, &body).await;
    assert_eq!(status, 401, "a token for another audience");
    assert!(
        error["reason"][0].as_str().unwrap().contains("audience"),
        "{error}"
    );

    let now = chrono::Utc::now().timestamp();
    let stale = jose::sign(
        &caller.key,
        &caller.verification_method(),
        "JWT",
        &json!({"iss": caller.did.as_str(), "sub": caller.did.as_str(), "aud": provider.did(),
                "jti": "urn:uuid:stale", "iat": now - 900, "exp": now - 600}),
    );
    let (status, error) = dsp_post(&url, &stale, &body).await;
    assert_eq!(status, 401, "an expired token");
    assert!(
        error["reason"][0].as_str().unwrap().contains("expired"),
        "{error}"
    );

    let genuine = token(&caller, provider.did(), &[]).await;
    let at = genuine.len() - 20;
    let flipped = if &genuine[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{flipped}{}", &genuine[..at], &genuine[at + 1..]);
    assert_eq!(
        dsp_post(&url, &forged, &body).await.0,
        401,
        "a bad signature"
    );

    let response = http().post(&url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 401, "no token");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");

    let events = provider.events().await;
    let failures = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "auth.failed")
        .count();
    assert_eq!(failures, 5, "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_illegal_transition_is_answered_400_and_strangers_get_404() {
    let (authority, provider) = (connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let consumer = Identity::generate(KeyAlgorithm::Ed25519);
    let (credential, _) = membership(&authority, consumer.did.as_str(), "Hospital").await;
    let recorder = Recorder::start().await;
    let consumer_pid = "urn:uuid:consumer-1";
    let token_for = |with: bool| {
        let consumer = consumer.clone();
        let credential = credential.clone();
        let audience = provider.did().to_owned();
        async move {
            if with {
                token(&consumer, &audience, &[&credential]).await
            } else {
                token(&consumer, &audience, &[]).await
            }
        }
    };
    let (status, created) = dsp_post(
        &format!("{}/negotiations/request", provider.dsp()),
        &token_for(true).await,
        &request_message(consumer_pid, &recorder.url),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["state"], "REQUESTED");
    let pid = created["providerPid"].as_str().unwrap().to_owned();
    let agreement = recorder.wait_for("/agreement").await;
    assert_eq!(agreement["@type"], "ContractAgreementMessage");
    state_of(&provider, &pid, "AGREED").await;

    let base = format!("{}/negotiations/{pid}", provider.dsp());
    let pids = json!({"providerPid": pid, "consumerPid": consumer_pid});
    let message = |kind: &str, extra: Value| {
        let mut m = json!({"@context": [DSP_CONTEXT], "@type": kind});
        m.as_object_mut()
            .unwrap()
            .extend(pids.as_object().unwrap().clone());
        m.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        m
    };
    let accepted = message(
        "ContractNegotiationEventMessage",
        json!({"eventType": "ACCEPTED"}),
    );
    let finalized = message(
        "ContractNegotiationEventMessage",
        json!({"eventType": "FINALIZED"}),
    );
    let verification = message("ContractAgreementVerificationMessage", json!({}));
    let counter = message(
        "ContractRequestMessage",
        json!({"offer": request_message(consumer_pid, &recorder.url)["offer"]}),
    );
    let termination = message(
        "ContractNegotiationTerminationMessage",
        json!({"code": "1", "reason": ["changed our mind"]}),
    );

    // In AGREED, the consumer may only verify (or terminate).
    for (path, body) in [
        ("/events", &accepted),
        ("/events", &finalized),
        ("/request", &counter),
    ] {
        let (status, error) =
            dsp_post(&format!("{base}{path}"), &token_for(false).await, body).await;
        assert_eq!(status, 400, "{path} {body} in AGREED: {error}");
        assert_eq!(error["@type"], "ContractNegotiationError");
        assert_eq!(error["providerPid"], pid.as_str());
        assert!(
            error["reason"][0]
                .as_str()
                .unwrap()
                .contains("not allowed in state AGREED"),
            "{error}"
        );
    }
    // A stranger (a valid token from someone else) learns nothing: 404.
    let stranger = Identity::generate(KeyAlgorithm::Ed25519);
    let (status, _) = dsp_post(
        &format!("{base}/agreement/verification"),
        &token(&stranger, provider.did(), &[]).await,
        &verification,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = dsp_post(
        &format!(
            "{}/negotiations/urn:uuid:nobody/termination",
            provider.dsp()
        ),
        &token_for(false).await,
        &termination,
    )
    .await;
    assert_eq!(status, 404);

    // Verify: the provider finalises and says so.
    let (status, answer) = dsp_post(
        &format!("{base}/agreement/verification"),
        &token_for(false).await,
        &verification,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let event = recorder.wait_for("/events").await;
    assert_eq!(event["eventType"], "FINALIZED");
    state_of(&provider, &pid, "FINALIZED").await;

    // FINALIZED accepts nothing, not even a termination.
    for (path, body) in [
        ("/agreement/verification", &verification),
        ("/termination", &termination),
        ("/events", &accepted),
        ("/request", &counter),
    ] {
        let (status, error) =
            dsp_post(&format!("{base}{path}"), &token_for(false).await, body).await;
        assert_eq!(status, 400, "{path} in FINALIZED: {error}");
    }
    let response = http()
        .get(&base)
        .bearer_auth(token_for(false).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let state: Value = response.json().await.unwrap();
    assert_eq!(state["state"], "FINALIZED");

    {
        let schemas = Schemas::load();
        schemas.check("negotiation/contract-negotiation-schema.json", &created);
        schemas.check("negotiation/contract-negotiation-schema.json", &state);
        schemas.check(
            "negotiation/contract-agreement-message-schema.json",
            &agreement,
        );
        schemas.check(
            "negotiation/contract-negotiation-event-message-schema.json",
            &event,
        );
        let (_, error) = dsp_post(
            &format!("{base}/termination"),
            &token_for(false).await,
            &termination,
        )
        .await;
        schemas.check("negotiation/contract-negotiation-error-schema.json", &error);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_name_the_field_and_the_specification_examples_are_understood() {
    let provider = connector();
    let caller = Identity::generate(KeyAlgorithm::Ed25519);
    let url = format!("{}/negotiations/request", provider.dsp());
    let recorder = Recorder::start().await;
    let mut missing = request_message("urn:uuid:c", &recorder.url);
    missing.as_object_mut().unwrap().remove("consumerPid");
    let (status, error) =
        dsp_post(&url, &token(&caller, provider.did(), &[]).await, &missing).await;
    assert_eq!(status, 400);
    assert!(
        error["reason"][0]
            .as_str()
            .unwrap()
            .contains("missing field `consumerPid`"),
        "{error}"
    );
    let mut wrong = request_message("urn:uuid:c", &recorder.url);
    wrong["offer"]["@id"] = json!(7);
    let (status, error) = dsp_post(&url, &token(&caller, provider.did(), &[]).await, &wrong).await;
    assert_eq!(status, 400);
    assert!(
        error["reason"][0]
            .as_str()
            .unwrap()
            .contains("field `offer.@id`"),
        "{error}"
    );
    let response = http()
        .post(&url)
        .bearer_auth(token(&caller, provider.did(), &[]).await)
        .header("content-type", "application/json")
        .body("{\"@context\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let oversized = json!({"@context": [DSP_CONTEXT], "@type": "ContractRequestMessage", "pad": "x".repeat(2 * 1024 * 1024)});
    let response = http()
        .post(&url)
        .bearer_auth(token(&caller, provider.did(), &[]).await)
        .json(&oversized)
        .send()
        .await
        .unwrap();
    assert!(
        response.status() == 413 || response.status() == 400,
        "{}",
        response.status()
    );

    let schemas = Schemas::load();
    // Each example message parses: it reaches the lookup (404 for an unknown process), the
    // catalog (400 for an initial request naming a dataset this provider does not hold) or,
    // for an initial offer, creates a negotiation (201).
    for (name, example) in schemas.examples("negotiation") {
        let kind = example["@type"].as_str().unwrap();
        let path = match kind {
            "ContractRequestMessage" if example.get("providerPid").is_none() => {
                "/negotiations/request".to_owned()
            }
            "ContractRequestMessage" => "/negotiations/urn:uuid:unknown/request".to_owned(),
            "ContractOfferMessage" if example.get("consumerPid").is_none() => {
                "/negotiations/offers".to_owned()
            }
            "ContractOfferMessage" => "/negotiations/urn:uuid:unknown/offers".to_owned(),
            "ContractAgreementMessage" => "/negotiations/urn:uuid:unknown/agreement".to_owned(),
            "ContractAgreementVerificationMessage" => {
                "/negotiations/urn:uuid:unknown/agreement/verification".to_owned()
            }
            "ContractNegotiationEventMessage" => "/negotiations/urn:uuid:unknown/events".to_owned(),
            "ContractNegotiationTerminationMessage" => {
                "/negotiations/urn:uuid:unknown/termination".to_owned()
            }
            _ => continue,
        };
        let (status, answer) = dsp_post(
            &format!("{}{path}", provider.dsp()),
            &token(&caller, provider.did(), &[]).await,
            &example,
        )
        .await;
        if path == "/negotiations/request" {
            // It parsed, and reached the catalog: the example's dataset is not in this one.
            assert_eq!(status, 400, "{name}: {answer}");
            assert!(
                answer
                    .to_string()
                    .contains("is not in this provider's catalog"),
                "{name}: {answer}"
            );
            continue;
        }
        let expected = if path.contains("unknown") { 404 } else { 201 };
        assert_eq!(status, expected, "{name}: {answer}");
    }
    // The catalog and the version document follow the specification's schemas.
    publish(&provider).await;
    let (status, catalog) = dsp_post(
        &format!("{}/catalog/request", provider.dsp()),
        &token(&caller, provider.did(), &[]).await,
        &schemas
            .examples("catalog")
            .into_iter()
            .find(|(n, _)| n == "catalog-request-message.json")
            .unwrap()
            .1,
    )
    .await;
    assert_eq!(status, 200, "{catalog}");
    schemas.check("catalog/catalog-schema.json", &catalog);
    let dataset = http()
        .get(format!(
            "{}/catalog/datasets/ward-statistics",
            provider.dsp()
        ))
        .bearer_auth(token(&caller, provider.did(), &[]).await)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    schemas.check("catalog/dataset-schema.json", &dataset);
    let response = http()
        .get(format!("{}/catalog/datasets/nothing-here", provider.dsp()))
        .bearer_auth(token(&caller, provider.did(), &[]).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    schemas.check(
        "catalog/catalog-error-schema.json",
        &response.json::<Value>().await.unwrap(),
    );
    let version: Value = http()
        .get(format!("{}/.well-known/dspace-version", provider.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    schemas.check("common/protocol-version-schema.json", &version);
    assert_eq!(version["protocolVersions"][0]["version"], "2025-1");
    assert_eq!(
        version["protocolVersions"][0]["participantId"],
        provider.did()
    );
}

// Before: a request naming a dataset the provider does not hold got 201 and then an
// asynchronous termination, and one naming an offer `@id` the provider never made was decided
// on its target alone. Both are refused with 400 at request time, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_for_unknown_datasets_or_foreign_offers_are_refused_with_400() {
    let (_authority, provider, hospital) = provider_and_member_hospital().await;
    let url = format!("{}/negotiations/request", provider.dsp());
    let mut unknown = request_message("urn:uuid:c-unknown", &hospital.dsp());
    unknown["offer"]["target"] = "no-such-dataset".into();
    unknown["offer"]["@id"] = "urn:symbolon:offer:no-such-dataset".into();
    let (status, error) = dsp_post(
        &url,
        &token(&hospital.identity, provider.did(), &[]).await,
        &unknown,
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(error.to_string().contains("no-such-dataset"), "{error}");

    let mut foreign = request_message("urn:uuid:c-foreign", &hospital.dsp());
    foreign["offer"]["@id"] = "urn:example:an-offer-never-made".into();
    let (status, error) = dsp_post(
        &url,
        &token(&hospital.identity, provider.did(), &[]).await,
        &foreign,
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error
            .to_string()
            .contains("urn:example:an-offer-never-made"),
        "{error}"
    );

    let (_, listed) = provider.get("/api/v1/negotiations").await;
    assert_eq!(listed.as_array().unwrap().len(), 0, "{listed}");
    // The offer as the catalog names it is taken.
    let good = request_message("urn:uuid:c-good", &hospital.dsp());
    let (status, answer) = dsp_post(
        &url,
        &token(&hospital.identity, provider.did(), &[]).await,
        &good,
    )
    .await;
    assert_eq!(status, 201, "{answer}");
}

// Before: a catalog request's `filter` was ignored and the whole catalog returned, as if the
// filter had been applied. An unsupported filter is refused with a 400 `CatalogError`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_catalog_filters_are_refused_with_400() {
    let provider = connector();
    let caller = Identity::generate(KeyAlgorithm::Ed25519);
    let url = format!("{}/catalog/request", provider.dsp());
    let filtered = json!({"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage",
                          "filter": [{"keyword": "cardiology"}]});
    let (status, error) =
        dsp_post(&url, &token(&caller, provider.did(), &[]).await, &filtered).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["@type"], "CatalogError", "{error}");
    assert!(error.to_string().contains("filter"), "{error}");
    Schemas::load().check("catalog/catalog-error-schema.json", &error);
    for whole in [
        json!({"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage", "filter": []}),
        json!({"@context": [DSP_CONTEXT], "@type": "CatalogRequestMessage"}),
    ] {
        let (status, catalog) =
            dsp_post(&url, &token(&caller, provider.did(), &[]).await, &whole).await;
        assert_eq!(status, 200, "{catalog}");
    }
}
