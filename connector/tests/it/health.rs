//! The European Health Data Space profile of an offer: the purposes of Art. 53(1), (a)–(c)
//! for public-sector bodies only, and the standing prohibitions of Art. 54, each refusal naming
//! its article.

use serde_json::{json, Value};

use crate::dsp::*;

/// Publishes `id` under the hospital-statistics policy with the health profile `health`.
async fn publish_health(provider: &Connector, id: &str, health: Value) -> Value {
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": id, "title": "Ward statistics", "health": health,
                    "policy": POLICY.replace("ward-statistics", id)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// `consumer` asks for `offer` stating `purpose`; the outcome.
async fn ask(
    consumer: &Connector,
    provider: &Connector,
    offer: &str,
    purpose: Option<&str>,
) -> Value {
    let mut body = json!({"provider_url": provider.dsp(), "offer_id": offer, "wait_seconds": 20});
    if let Some(purpose) = purpose {
        body["purpose"] = purpose.into();
    }
    let (status, negotiation) = consumer.post("/api/v1/negotiations", &body).await;
    assert_eq!(status, 200, "{negotiation}");
    negotiation
}

fn refused_by(negotiation: &Value, policy: &str) -> bool {
    negotiation["state"] == "TERMINATED" && negotiation["reason"].to_string().contains(policy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn art_53_purposes_are_admitted_and_art_54_uses_refused_with_their_article() {
    let (authority, provider, hospital) = provider_and_member_hospital().await;
    publish_health(&provider, "ehds-stats", json!({})).await;

    let admitted = ask(
        &hospital,
        &provider,
        "ehds-stats",
        Some("scientific-research"),
    )
    .await;
    assert_eq!(admitted["state"], "FINALIZED", "{admitted}");

    for (purpose, policy) in [
        ("profiling", "ehds-art-54-a-detrimental-decisions"),
        ("insurance", "ehds-art-54-b-employment-insurance-credit"),
        ("employment", "ehds-art-54-b-employment-insurance-credit"),
        ("marketing", "ehds-art-54-c-advertising-marketing"),
        ("harmful-products", "ehds-art-54-d-harmful-products"),
        ("curiosity", "ehds-art-53-1-purposes"),
    ] {
        let refused = ask(&hospital, &provider, "ehds-stats", Some(purpose)).await;
        assert!(refused_by(&refused, policy), "{purpose}: {refused}");
    }
    let silent = ask(&hospital, &provider, "ehds-stats", None).await;
    assert!(
        refused_by(&silent, "ehds-art-53-1-purposes"),
        "a health offer needs a stated purpose: {silent}"
    );

    // Official statistics: refused to a private body, admitted to a public one.
    let private = ask(
        &hospital,
        &provider,
        "ehds-stats",
        Some("official-statistics"),
    )
    .await;
    assert!(
        refused_by(&private, "ehds-art-53-1-a-c-public-sector"),
        "{private}"
    );
    let bureau = connector();
    let (status, issued) = authority
        .post(
            "/credentials/issue",
            &json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
                "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
                "credentialSubject": {"id": bureau.did(), "legalName": "CBS", "registrationNumber": "KvK-2",
                                      "role": "Insurer", "dataSpaceId": "hds", "publicSector": true}}}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let credential = issued["verifiableCredential"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let id = issued["verifiableCredential"]["id"].as_str().unwrap();
            id.split_once(',').unwrap().1.to_owned()
        });
    hold(&bureau, &credential).await;
    let public = ask(
        &bureau,
        &provider,
        "ehds-stats",
        Some("official-statistics"),
    )
    .await;
    assert_eq!(public["state"], "FINALIZED", "{public}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_drops_a_prohibition_only_explicitly_and_with_a_warning() {
    let (_authority, provider, hospital) = provider_and_member_hospital().await;
    let created = publish_health(
        &provider,
        "ehds-ads",
        json!({"without": ["advertising-marketing"]}),
    )
    .await;
    assert!(
        created["warnings"][0]
            .as_str()
            .unwrap()
            .contains("Art. 54(c)"),
        "{created}"
    );
    let marketing = ask(&hospital, &provider, "ehds-ads", Some("marketing")).await;
    assert_eq!(marketing["state"], "FINALIZED", "{marketing}");
    let employment = ask(&hospital, &provider, "ehds-ads", Some("employment")).await;
    assert!(refused_by(&employment, "ehds-art-54-b"), "{employment}");

    let (status, refused) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "ehds-typo", "title": "x", "policy": POLICY.replace("ward-statistics", "ehds-typo"),
                    "health": {"without": ["advertizing"]}}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("health.without"),
        "{refused}"
    );
}
