//! Contract negotiation between connectors on 127.0.0.1 (Dataspace Protocol 2025-1).

use serde_json::json;
use symbolon_identity::{jose, Identity, KeyAlgorithm};

use crate::dsp::*;
use crate::protocol::request_message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hospital_negotiates_to_finalized_and_both_keep_the_signed_agreement() {
    let (_authority, provider, hospital) = provider_and_member_hospital().await;

    let negotiation = negotiate(&hospital, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    let pid = negotiation["provider_pid"].as_str().unwrap();
    state_of(&provider, pid, "FINALIZED").await;

    let agreement_id = negotiation["agreement_id"].as_str().unwrap();
    for (side, node) in [("provider", &provider), ("consumer", &hospital)] {
        let (status, agreement) = node
            .get(&format!("/api/v1/agreements/{agreement_id}"))
            .await;
        assert_eq!(status, 200, "{side}: {agreement}");
        assert_eq!(agreement["offer_id"], "ward-statistics");
        assert_eq!(agreement["assignee"], hospital.did());
        assert_eq!(agreement["provider"], provider.did());
        let jws = jose::decode(agreement["signature"].as_str().unwrap()).unwrap();
        assert_eq!(jws.payload, agreement["odrl"], "{side}");
        assert_eq!(jws.payload["assignee"], hospital.did());
        let duties = jws.payload["obligation"].as_array().unwrap();
        assert!(duties
            .iter()
            .any(|d| d["action"].as_str().unwrap().ends_with("#delete_after")));
    }
    let (_, agreement) = provider
        .get(&format!("/api/v1/agreements/{agreement_id}"))
        .await;
    assert!(agreement["policy"]
        .as_str()
        .unwrap()
        .contains("hospital-statistics"));
    let names: Vec<&str> = agreement["obligations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["delete_after", "aggregate_only"]);

    // Every transition and the decision are on record, on both sides.
    let events = provider.events().await;
    let outcomes: Vec<String> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "negotiation.transition")
        .map(|e| e["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes, ["REQUESTED", "AGREED", "VERIFIED", "FINALIZED"]);
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "policy.decision" && e["outcome"] == "permit"));
    let events = hospital.events().await;
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["outcome"] == "FINALIZED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pharmacy_is_refused_and_the_reason_names_the_failed_condition() {
    let (authority, provider, pharmacy) = (connector(), connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let (credential, _) = membership(&authority, pharmacy.did(), "Pharmacy").await;
    hold(&pharmacy, &credential).await;

    let negotiation = negotiate(&pharmacy, &provider).await;
    assert_eq!(negotiation["state"], "TERMINATED", "{negotiation}");
    let reasons = negotiation["reason"].to_string();
    assert!(
        reasons.contains(r#"holder.role was \"Pharmacy\"; required one of Hospital, Insurer"#),
        "{reasons}"
    );
    let (_, agreements) = pharmacy.get("/api/v1/agreements").await;
    assert_eq!(agreements, json!([]));
    let events = provider.events().await;
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "policy.decision" && e["outcome"] == "deny"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_revoked_and_untrusted_credentials_are_refused() {
    let (authority, rogue, provider) = (connector(), connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;

    // Revoked by the authority after it was stored.
    let revoked = connector();
    let (credential, id) = membership(&authority, revoked.did(), "Hospital").await;
    hold(&revoked, &credential).await;
    let (status, _) = authority
        .post(
            "/credentials/status",
            &json!({"credentialId": id, "credentialStatus": [{"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": true}]}),
        )
        .await;
    assert_eq!(status, 200);
    let negotiation = negotiate(&revoked, &provider).await;
    assert_eq!(negotiation["state"], "TERMINATED");
    assert!(
        negotiation["reason"].to_string().contains("revoked"),
        "{negotiation}"
    );

    // Issued by an authority the provider's trust list does not name.
    let untrusted = connector();
    let (credential, _) = membership(&rogue, untrusted.did(), "Hospital").await;
    hold(&untrusted, &credential).await;
    let negotiation = negotiate(&untrusted, &provider).await;
    assert_eq!(negotiation["state"], "TERMINATED");
    assert!(
        negotiation["reason"].to_string().contains("trust"),
        "{negotiation}"
    );

    // Expired: signed by the trusted authority with a validity that has ended. It is sent
    // directly (the wallet would refuse to store it).
    let expired = Identity::generate(KeyAlgorithm::Ed25519);
    let mut document = membership_document(expired.did.as_str(), "Hospital");
    document["issuer"] = authority.did().into();
    document["validFrom"] = "2020-01-01T00:00:00Z".into();
    document["validUntil"] = "2021-01-01T00:00:00Z".into();
    let credential = symbolon_identity::issue_credential(
        &authority.identity,
        document,
        symbolon_identity::Format::Jwt,
    )
    .await
    .unwrap()
    .to_text();
    let recorder = Recorder::start().await;
    let token = token(&expired, provider.did(), &[&credential]).await;
    let (status, answer) = dsp_post(
        &format!("{}/negotiations/request", provider.dsp()),
        &token,
        &request_message("urn:uuid:expired", &recorder.url),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let termination = recorder.wait_for("/termination").await;
    assert!(
        termination["reason"].to_string().contains("expired"),
        "{termination}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_needs_the_admin_token_and_documents_itself() {
    let node = connector();
    for (method, path) in [
        ("GET", "/api/v1/offers"),
        ("POST", "/api/v1/offers"),
        ("GET", "/api/v1/credentials"),
        ("GET", "/api/v1/negotiations"),
        ("POST", "/api/v1/negotiations"),
        ("GET", "/api/v1/agreements"),
        ("POST", "/api/v1/negotiations/urn:uuid:n/agree"),
        ("POST", "/api/v1/negotiations/urn:uuid:n/offer"),
        ("POST", "/api/v1/negotiations/urn:uuid:n/request"),
        ("POST", "/api/v1/negotiations/urn:uuid:n/verify"),
        ("GET", "/api/v1/transfers"),
        ("POST", "/api/v1/transfers"),
        ("GET", "/api/v1/transfers/urn:uuid:t"),
        ("POST", "/api/v1/transfers/urn:uuid:t/start"),
        ("POST", "/api/v1/transfers/urn:uuid:t/suspend"),
        ("POST", "/api/v1/transfers/urn:uuid:t/complete"),
        ("POST", "/api/v1/transfers/urn:uuid:t/terminate"),
        ("GET", "/api/v1/trust-list"),
        ("GET", "/api/v1/events"),
    ] {
        let request = http().request(method.parse().unwrap(), format!("{}{path}", node.url));
        let response = request.json(&json!({})).send().await.unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
        let request = http().request(method.parse().unwrap(), format!("{}{path}", node.url));
        let response = request
            .bearer_auth("wrong")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{method} {path} with a wrong token");
    }
    let (status, document) = node.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    assert!(
        document["paths"]["/api/v1/offers"]["post"].is_object(),
        "{document}"
    );
    assert!(document["components"]["securitySchemes"]["admin"].is_object());
    for (path, method) in [
        ("/api/v1/transfers", "get"),
        ("/api/v1/transfers", "post"),
        ("/api/v1/transfers/{pid}", "get"),
        ("/api/v1/transfers/{pid}/start", "post"),
        ("/api/v1/transfers/{pid}/suspend", "post"),
        ("/api/v1/transfers/{pid}/complete", "post"),
        ("/api/v1/transfers/{pid}/terminate", "post"),
        ("/api/v1/negotiations/{pid}/agree", "post"),
        ("/api/v1/negotiations/{pid}/offer", "post"),
        ("/api/v1/negotiations/{pid}/request", "post"),
        ("/api/v1/negotiations/{pid}/accept", "post"),
        ("/api/v1/negotiations/{pid}/verify", "post"),
        ("/api/v1/negotiations/{pid}/terminate", "post"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    assert!(document["components"]["schemas"]["Transfer"].is_object());
    assert!(document["components"]["schemas"]["Recommendation"].is_object());
    assert!(
        document["components"]["schemas"]["Offer"]["properties"]["decision"].is_object(),
        "{}",
        document["components"]["schemas"]["Offer"]
    );

    // A policy that does not check is refused with the checker's diagnostics.
    let (status, refusal) = node
        .post(
            "/api/v1/offers",
            &json!({"id": "x", "title": "X", "policy": "policy \"p\" { permit use on offer \"x\" when holder.rol == \"Hospital\" }"}),
        )
        .await;
    assert_eq!(status, 422, "{refusal}");
    assert!(
        refusal["rendered"]
            .as_str()
            .unwrap()
            .contains("holder.role"),
        "{refusal}"
    );
    let (status, _) = node
        .post(
            "/api/v1/offers",
            &json!({"id": "bad id!", "title": "X", "policy": POLICY}),
        )
        .await;
    assert_eq!(status, 400);
    publish(&node).await;
    let (status, _) = node
        .post(
            "/api/v1/offers",
            &json!({"id": "ward-statistics", "title": "again", "policy": POLICY}),
        )
        .await;
    assert_eq!(status, 409);
}

// Before: about 200 concurrent calls left every sled I/O thread waiting in a flush, and 200
// parallel negotiations between two connectors finalized 0 of 200. Both sides have a tight
// rate limit for strangers: a partner's authenticated messages, however many, are not held
// to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_negotiations_all_finalize_on_both_sides() {
    let tight = Some(symbolon_connector::api::RateLimit {
        per_second: 1,
        burst: 5,
        max_callers: 100,
    });
    let (authority, provider, hospital) = (
        connector(),
        connector_limited(tight),
        connector_limited(tight),
    );
    trust(&authority, &provider).await;
    publish(&provider).await;
    let (credential, _) = membership(&authority, hospital.did(), "Hospital").await;
    hold(&hospital, &credential).await;
    let provider = std::sync::Arc::new(provider);
    let hospital = std::sync::Arc::new(hospital);
    let runs: Vec<_> = (0..200)
        .map(|_| {
            let (provider, hospital) = (provider.clone(), hospital.clone());
            tokio::spawn(async move {
                let (status, negotiation) = hospital
                    .post(
                        "/api/v1/negotiations",
                        &json!({"provider_url": provider.dsp(), "offer_id": "ward-statistics",
                                "wait_seconds": 120}),
                    )
                    .await;
                (status, negotiation)
            })
        })
        .collect();
    let mut provider_pids = Vec::new();
    for run in runs {
        let (status, negotiation) = run.await.unwrap();
        assert_eq!(status, 200, "{negotiation}");
        assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
        provider_pids.push(negotiation["provider_pid"].as_str().unwrap().to_owned());
    }
    for pid in &provider_pids {
        state_of(&provider, pid, "FINALIZED").await;
    }
    let (_, agreements) = provider.get("/api/v1/agreements").await;
    assert_eq!(agreements.as_array().unwrap().len(), 200, "{agreements}");
}

/// A consumer's revoked `AuditorCredential` does not shut it out of an offer its valid
/// membership suffices for (it is not even presented: a consumer presents only what the
/// offer's policy reads), and an offer that reads it is refused naming the revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_revoked_credential_shuts_out_only_the_offers_that_read_it() {
    let (authority, provider, hospital) = provider_and_member_hospital().await;
    let (status, issued) = authority
        .post(
            "/credentials/issue",
            &json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
                "type": ["VerifiableCredential", "AuditorCredential"],
                "credentialSubject": {"id": hospital.did(), "scope": ["did:example:a"]}},
                "options": {"credentialStatus": true}}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let auditor = issued["verifiableCredential"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let id = issued["verifiableCredential"]["id"].as_str().unwrap();
            id.split_once(',').unwrap().1.to_owned()
        });
    let auditor = auditor.as_str();
    let id = symbolon_identity::verify::peek_jwt_payload(auditor).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    hold(&hospital, auditor).await;
    let (status, _) = authority
        .post(
            "/credentials/status",
            &json!({"credentialId": id, "credentialStatus": [{"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": true}]}),
        )
        .await;
    assert_eq!(status, 200);

    let negotiation = negotiate(&hospital, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");

    let policy = r#"policy "auditors" { permit use on offer "audit-extract" when holder.credentials contains "AuditorCredential" }"#;
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "audit-extract", "title": "For auditors", "policy": policy}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, negotiation) = hospital
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": provider.dsp(), "offer_id": "audit-extract", "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{negotiation}");
    assert_eq!(negotiation["state"], "TERMINATED", "{negotiation}");
    let reasons = negotiation["reason"].to_string();
    assert!(
        reasons.contains("AuditorCredential was set aside") && reasons.contains("revoked"),
        "{reasons}"
    );
}
