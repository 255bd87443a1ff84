//! The Decentralized Claims Protocol's presentation flow: a consumer sends no presentation, only
//! an access token to its Credential Service; the provider queries that service and verifies
//! what it answers. Two Symbolon connectors negotiate this way to FINALIZED; each refusal the
//! protocol lists is refused with its own reason; the Credential Service answers only what the
//! access token grants; every message is checked against the protocol's schemas.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration as Span, Utc};
use serde_json::{json, Value};
use symbolon_connector::dcp::{access, scope};
use symbolon_connector::negotiation::auth::TokenDraft;
use symbolon_connector::negotiation::PresentationMode;
use symbolon_identity::{credential, issue_credential, Format, Identity, KeyAlgorithm};

use crate::dcp::DcpSchemas;
use crate::dcp_holder::{web_connector, Answer, FakeHolder};
use crate::dsp::{connector, eventually, hold, membership, negotiate, publish, trust, Connector};
use crate::protocol::request_message;

const DCP_CONTEXT: &str = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld";

fn kinds(events: &Value, kind: &str) -> Vec<Value> {
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_symbolon_connectors_negotiate_over_dcp_to_finalized() {
    let (authority, provider) = (connector(), connector());
    let consumer = web_connector(PresentationMode::Dcp);
    trust(&authority, &provider).await;
    publish(&provider).await;
    let (credential, _) = membership(&authority, consumer.did(), "Hospital").await;
    hold(&consumer, &credential).await;

    // The consumer's DID document names its Credential Service; the provider advertises DCP.
    let (status, document) = consumer.get("/.well-known/did.json").await;
    assert_eq!(status, 200, "{document}");
    assert_eq!(document["id"], consumer.did());
    let service = document["service"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == "CredentialService")
        .unwrap();
    assert_eq!(
        service["serviceEndpoint"],
        format!("{}/dcp/holder", consumer.url)
    );
    let (_, versions) = provider.get("/.well-known/dspace-version").await;
    assert_eq!(versions["protocolVersions"][0]["auth"]["protocol"], "DCP");
    assert_eq!(
        versions["protocolVersions"][0]["auth"]["profile"][0],
        "vc20-bssl/jwt"
    );

    let negotiation = negotiate(&consumer, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");

    // The provider verified presentations it queried, not one carried in the token.
    let events = provider.events().await;
    let verified = kinds(&events, "presentation.verified");
    assert_eq!(verified.len(), 1, "{verified:?}");
    assert_eq!(verified[0]["outcome"], "ok");
    assert_eq!(verified[0]["details"]["mode"], "dcp");
    assert_eq!(
        verified[0]["details"]["types"],
        json!(["DataSpaceMembershipCredential"])
    );
    // The consumer answered the query, with the scope derived from the offer's policy.
    let events = consumer.events().await;
    let queried = kinds(&events, "presentation.queried");
    assert_eq!(queried.len(), 1, "{queried:?}");
    assert_eq!(queried[0]["outcome"], "answered");
    assert_eq!(queried[0]["actor"], provider.did());
    assert_eq!(
        queried[0]["details"]["scope"],
        json!([scope::scope_for("DataSpaceMembershipCredential")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symbolon_provider_gets_the_presentation_inline_unless_dcp_is_required() {
    let (authority, provider) = (connector(), connector());
    let consumer = web_connector(PresentationMode::Auto);
    trust(&authority, &provider).await;
    publish(&provider).await;
    let (credential, _) = membership(&authority, consumer.did(), "Hospital").await;
    hold(&consumer, &credential).await;
    let negotiation = negotiate(&consumer, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    let verified = kinds(&provider.events().await, "presentation.verified");
    assert_eq!(verified[0]["details"]["mode"], "inline");
    assert!(kinds(&consumer.events().await, "presentation.queried").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_did_key_consumer_is_told_dcp_needs_a_did_web_identity() {
    let provider = connector();
    publish(&provider).await;
    let consumer = crate::dsp::connector_configured(|options| {
        options.presentations = PresentationMode::Dcp;
    });
    let (status, answer) = consumer
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": provider.dsp(), "offer_id": "ward-statistics"}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("--did-web"),
        "{answer}"
    );
}

/// A query to `holder`'s Credential Service from `verifier`, its token carrying `access`.
pub async fn query(
    holder: &Connector,
    verifier: &Identity,
    access: Option<String>,
    body: &Value,
) -> (u16, Value) {
    let mut draft = TokenDraft::new(holder.did());
    if let Some(access) = access {
        draft = draft.with_access_token(access);
    }
    let token = draft.sign(verifier, None, None);
    let response = reqwest::Client::new()
        .post(format!("{}/dcp/holder/presentations/query", holder.url))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn query_for(types: &[&str]) -> Value {
    let scopes: Vec<String> = types.iter().map(|t| scope::scope_for(t)).collect();
    json!({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": scopes})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_service_answers_only_what_the_access_token_grants() {
    let schemas = DcpSchemas::load();
    let authority = connector();
    let holder = web_connector(PresentationMode::Dcp);
    let (credential, _) = membership(&authority, holder.did(), "Hospital").await;
    hold(&holder, &credential).await;
    let auditor = issue_credential(
        &authority.identity,
        credential::build(
            &authority.identity.did,
            "AuditorCredential",
            &holder.identity.did,
            &json!({"scope": ["did:example:a"]}),
            None,
        )
        .unwrap(),
        Format::Jwt,
    )
    .await
    .unwrap()
    .to_text();
    hold(&holder, &auditor).await;
    let verifier = Identity::generate(KeyAlgorithm::Ed25519);
    let membership_only = BTreeSet::from([scope::MEMBERSHIP.to_owned()]);
    let granted = access::mint(&holder.identity, verifier.did.as_str(), &membership_only);

    // Asked for both, granted membership only: membership only, in one presentation.
    let asked = query_for(&[scope::MEMBERSHIP, "AuditorCredential"]);
    schemas.check(
        "presentation/presentation-query-message-schema.json",
        &asked,
    );
    let (status, answer) = query(&holder, &verifier, Some(granted.clone()), &asked).await;
    assert_eq!(status, 200, "{answer}");
    schemas.check(
        "presentation/presentation-response-message-schema.json",
        &answer,
    );
    let presentations = answer["presentation"].as_array().unwrap();
    assert_eq!(presentations.len(), 1);
    let vp =
        symbolon_identity::verify::peek_jwt_payload(presentations[0].as_str().unwrap()).unwrap();
    assert_eq!(vp["holder"], holder.did());
    assert_eq!(vp["aud"], verifier.did.as_str());
    assert_eq!(vp["verifiableCredential"].as_array().unwrap().len(), 1);
    assert!(vp["verifiableCredential"][0]["id"]
        .as_str()
        .unwrap()
        .contains(&credential));

    // Asked for what is not granted: an empty answer, not an error.
    let (status, answer) = query(
        &holder,
        &verifier,
        Some(granted.clone()),
        &query_for(&["AuditorCredential"]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["presentation"], json!([]));

    // The rejection list, each with its own cause.
    let other = Identity::generate(KeyAlgorithm::Ed25519);
    let for_other = access::mint(&holder.identity, other.did.as_str(), &membership_only);
    let membership_query = query_for(&[scope::MEMBERSHIP]);
    let cases: Vec<(&str, Option<String>, Value, u16, &str)> = vec![
        (
            "an access token minted for another verifier",
            Some(for_other),
            membership_query.clone(),
            403,
            "issued to",
        ),
        (
            "no access token",
            None,
            membership_query.clone(),
            403,
            "no access token",
        ),
        (
            "an access token the holder did not mint",
            Some(access::mint(
                &verifier,
                verifier.did.as_str(),
                &membership_only,
            )),
            membership_query.clone(),
            403,
            "not one this Credential Service issued",
        ),
        (
            "both scope and presentationDefinition",
            Some(granted.clone()),
            json!({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage",
                   "scope": ["x"], "presentationDefinition": {"id": "p", "input_descriptors": []}}),
            400,
            "not both",
        ),
        (
            "neither scope nor presentationDefinition",
            Some(granted.clone()),
            json!({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage"}),
            400,
            "needs `scope`",
        ),
        (
            "an empty scope",
            Some(granted.clone()),
            json!({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": []}),
            400,
            "at least one",
        ),
        (
            "a presentation definition without input descriptors",
            Some(granted.clone()),
            json!({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage",
                   "presentationDefinition": {"id": "p", "input_descriptors": []}}),
            400,
            "at least one input descriptor",
        ),
        (
            "a presentation definition with submission requirements",
            Some(granted.clone()),
            json!({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage",
                   "presentationDefinition": {"id": "p", "input_descriptors": [{"id": "d"}],
                   "submission_requirements": [{"rule": "all", "from": "A"}]}}),
            501,
            "`presentationDefinition/submission_requirements` (DIF Presentation Exchange) is not supported",
        ),
    ];
    for (what, access, body, expected, says) in cases {
        let (status, answer) = query(&holder, &verifier, access, &body).await;
        assert_eq!(status, expected, "{what}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{what}: {answer}"
        );
    }

    // Missing or malformed Authorization.
    let url = format!("{}/dcp/holder/presentations/query", holder.url);
    for header in [None, Some("Basic Zm9vOmJhcg=="), Some("Bearer not-a-jwt")] {
        let mut request = reqwest::Client::new().post(&url).json(&membership_query);
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{header:?}");
    }

    // Every answer and refusal is on record at the holder.
    let queried = kinds(&holder.events().await, "presentation.queried");
    assert_eq!(queried.len(), 10, "{queried:?}");
    assert!(queried
        .iter()
        .any(|e| e["details"]["code"] == "access_token_for_another_verifier"));
}

/// Sends `holder`'s contract request to `provider` with a DCP token (no presentation), and
/// waits for the provider's verdict: the reasons of the termination, or empty if it agreed.
pub async fn request_from(holder: &FakeHolder, provider: &Connector) -> Vec<String> {
    let token = TokenDraft::new(provider.did())
        .with_access_token("opaque-to-the-provider".into())
        .sign(&holder.identity, None, None);
    let consumer_pid = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    let response = reqwest::Client::new()
        .post(format!("{}/negotiations/request", provider.dsp()))
        .bearer_auth(token)
        .json(&request_message(&consumer_pid, &holder.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap();
    let pid = answer["providerPid"].as_str().unwrap().to_owned();
    eventually(std::time::Duration::from_secs(10), "a verdict", || async {
        let (_, negotiation) = provider
            .get(&format!("/api/v1/negotiations/{}", urlencoding(&pid)))
            .await;
        match negotiation["state"].as_str() {
            Some("TERMINATED") => Some(
                negotiation["reason"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned())
                    .collect(),
            ),
            Some("AGREED") | Some("FINALIZED") => Some(Vec::new()),
            _ => None,
        }
    })
    .await
}

fn urlencoding(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A membership for `subject` from `authority`, valid from `from` until `until`.
async fn membership_valid(
    authority: &Connector,
    subject: &Identity,
    from: chrono::DateTime<Utc>,
    until: chrono::DateTime<Utc>,
) -> String {
    let mut document = credential::build(
        &authority.identity.did,
        "DataSpaceMembershipCredential",
        &subject.did,
        &json!({"legalName": "H B.V.", "registrationNumber": "KvK-1", "role": "Hospital",
                "dataSpaceId": "hds"}),
        None,
    )
    .unwrap();
    document["validFrom"] = symbolon_identity::credential::format_time(from).into();
    document["validUntil"] = symbolon_identity::credential::format_time(until).into();
    issue_credential(&authority.identity, document, Format::Jwt)
        .await
        .unwrap()
        .to_text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_refuses_each_bad_answer_with_its_own_reason() {
    let (authority, provider) = (connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let now = Utc::now();

    // An honest holder presenting more than was asked for: accepted.
    let honest = FakeHolder::start(Answer::Nothing).await;
    let (honest_membership, _) = membership(&authority, honest.did(), "Hospital").await;
    let honest_extra =
        membership_valid(&authority, &honest.identity, now, now + Span::days(1)).await;
    honest.set_answer(Answer::Honest(vec![honest_membership, honest_extra]));
    assert_eq!(request_from(&honest, &provider).await, Vec::<String>::new());
    let queries = honest.queries();
    assert_eq!(
        queries[0]["scope"],
        json!([scope::scope_for(scope::MEMBERSHIP)])
    );
    DcpSchemas::load().check(
        "presentation/presentation-query-message-schema.json",
        &queries[0],
    );

    // Each refusal, with a fresh holder.
    let stranger = Arc::new(Identity::generate(KeyAlgorithm::Ed25519));
    let expired_holder = FakeHolder::start(Answer::Nothing).await;
    let expired = membership_valid(
        &authority,
        &expired_holder.identity,
        now - Span::days(10),
        now - Span::days(1),
    )
    .await;
    expired_holder.set_answer(Answer::Honest(vec![expired]));
    let early_holder = FakeHolder::start(Answer::Nothing).await;
    let early = membership_valid(
        &authority,
        &early_holder.identity,
        now + Span::days(1),
        now + Span::days(10),
    )
    .await;
    early_holder.set_answer(Answer::Honest(vec![early]));
    let forged_holder = FakeHolder::start(Answer::Nothing).await;
    let (forged_membership, _) = membership(&authority, forged_holder.did(), "Hospital").await;
    forged_holder.set_answer(Answer::SignedBy(stranger, vec![forged_membership]));
    let empty_holder = FakeHolder::start(Answer::Nothing).await;
    let revoked_holder = FakeHolder::start(Answer::Nothing).await;
    let (revoked, id) = membership(&authority, revoked_holder.did(), "Hospital").await;
    let (status, _) = authority
        .post(
            "/credentials/status",
            &json!({"credentialId": id, "credentialStatus": [{"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": true}]}),
        )
        .await;
    assert_eq!(status, 200);
    revoked_holder.set_answer(Answer::Honest(vec![revoked]));
    let wrong_document = FakeHolder::start(Answer::Nothing).await;
    wrong_document.serve_document(json!({"id": "did:web:elsewhere.example", "service": []}));

    for (what, holder, says) in [
        ("an expired credential", &expired_holder, "expired"),
        ("a credential not yet valid", &early_holder, "not yet valid"),
        (
            "a presentation whose holder is not the caller",
            &forged_holder,
            "holder",
        ),
        (
            "a missing requested credential",
            &empty_holder,
            "no DataSpaceMembershipCredential was presented",
        ),
        ("a revoked credential", &revoked_holder, "revoked"),
    ] {
        let reasons = request_from(holder, &provider).await.join("; ");
        assert!(
            reasons.to_lowercase().contains(&says.to_lowercase()),
            "{what}: {reasons}"
        );
    }

    // A caller whose DID document is another's (`sub` ≠ the document's `id`): its token is
    // refused before anything else.
    let token = TokenDraft::new(provider.did())
        .with_access_token("x".into())
        .sign(&wrong_document.identity, None, None);
    let response = reqwest::Client::new()
        .post(format!("{}/negotiations/request", provider.dsp()))
        .bearer_auth(token)
        .json(&request_message(
            "urn:uuid:wrong-document",
            &wrong_document.url,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let error: Value = response.json().await.unwrap();
    assert!(error.to_string().contains("`id` is not the DID"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuers_offer_credentials_and_verifiers_publish_what_they_expect() {
    let schemas = DcpSchemas::load();
    let (authority, holder) = (connector(), connector());
    let offer = |issuer: &str| {
        json!({"@context": [DCP_CONTEXT], "type": "CredentialOfferMessage", "issuer": issuer,
               "credentials": [{"id": "urn:uuid:1", "type": "CredentialObject",
                                "credentialType": "DataSpaceMembershipCredential",
                                "offerReason": "renewal", "bindingMethods": ["did:web"],
                                "profile": "vc20-bssl/jwt"}]})
    };
    let post = |body: Value, from: Identity| {
        let url = format!("{}/dcp/holder/offers", holder.url);
        let audience = holder.did().to_owned();
        async move {
            let token = TokenDraft::new(&audience).sign(&from, None, None);
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let good = offer(authority.did());
    schemas.check("credential-offer-message-schema.json", &good);
    let (status, answer) = post(good, authority.identity.clone()).await;
    assert_eq!(status, 200, "{answer}");
    let stranger = Identity::generate(KeyAlgorithm::Ed25519);
    let (status, answer) = post(offer(authority.did()), stranger).await;
    assert_eq!(status, 403, "someone else's offer: {answer}");
    let mut empty = offer(authority.did());
    empty["credentials"] = json!([]);
    let (status, answer) = post(empty, authority.identity.clone()).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("credentials"));
    let offered = kinds(&holder.events().await, "issuance.received");
    assert_eq!(offered.len(), 1, "{offered:?}");
    assert_eq!(offered[0]["outcome"], "offered");

    let (_, expected) = holder.get("/.well-known/dspace-trust").await;
    assert_eq!(expected["credentials"], json!([]), "no trust list yet");
    trust(&authority, &holder).await;
    let (status, expected) = holder.get("/.well-known/dspace-trust").await;
    assert_eq!(status, 200);
    let membership = expected["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["credentialType"] == scope::MEMBERSHIP)
        .unwrap();
    assert_eq!(membership["trustedIssuers"], json!([authority.did()]));
    assert_eq!(membership["scope"], scope::scope_for(scope::MEMBERSHIP));
}
