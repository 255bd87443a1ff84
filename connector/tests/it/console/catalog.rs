//! Health dataset metadata in the console, in a real browser: an insurer on the peer network
//! publishes a health offer described by HealthDCAT-AP; its own offers view and a hospital's
//! federated catalog (the offers peers announce) show the description as readable fields —
//! the access body, the categories and legal bases in words, the counts, ages, retention
//! period and variables — rather than raw JSON.

use std::time::Duration;

use serde_json::json;

use super::shots;
use crate::dsp::*;
use crate::healthdcat::description;
use crate::peers::peer;
use crate::webdriver::Browser;

/// What both views must say of the insurer's health offer.
const TERMS: &[&str] = &[
    "Health dataset (HealthDCAT-AP)",
    "Data permit",
    "not needed",
    "Health Data Access Body did:web:hdab.example",
    "Electronic health data from EHRs (EHRS)",
    "Healthcare-related administrative data (HRAD)",
    "disease",
    "ICD-10",
    "STATISTICAL",
    "1,200",
    "900",
    "18 to 95 years",
    "2020-01-01 to 2035-12-31",
    "public interest or official authority (Art. 6(1)(e))",
    "research or statistics (Art. 9(2)(j))",
    "yes: health data (GDPR Art. 9)",
    "Length of stay",
    "Days in hospital",
];

/// Signs in to `console` with `token` at the view `route`.
async fn sign_in(browser: &Browser, console: &str, token: &str, route: &str) {
    browser.go(&format!("{console}#/{route}")).await;
    browser.type_into("#token", token).await;
    browser.keys_to("#token", "\u{E007}").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_metadata_of_own_and_peers_offers_is_shown_in_words_in_a_real_browser() {
    // Start the browser first: without Chromium the test fails at once, saying what to install.
    let browser = Browser::start(1280, 900).await;
    let authority = connector();
    let (insurer, addresses, _) = peer(&authority, "Insurer", Vec::new()).await;
    let (hospital, _, _) = peer(&authority, "Hospital", addresses).await;
    let (status, body) = insurer
        .post(
            "/api/v1/offers",
            &json!({"id": "claims", "title": "Claims per ward", "kind": "dataset",
                    "description": "Lengths of stay per ward, for research",
                    "health": {"dcat": description("did:web:hdab.example", insurer.did())},
                    "policy": "policy \"claims\" { permit use on offer \"claims\" when holder.member_of == \"hds\" }"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // The insurer's own offer: the terms in words, not JSON.
    sign_in(
        &browser,
        &format!("{}/console", insurer.url),
        &insurer.token,
        "offers",
    )
    .await;
    browser
        .wait_text("#offers", &["claims", "Claims per ward"])
        .await;
    browser.click("#offers details.health summary").await;
    let own = browser.wait_text("#offers", TERMS).await;
    assert!(!own.contains("\"health_categories\""), "{own}");

    // The hospital's federated catalog, once the announcement arrived.
    eventually(
        Duration::from_secs(30),
        "the health offer announced",
        || async {
            let (status, catalog) = hospital.get("/api/v1/catalog/federated").await;
            (status == 200
                && catalog
                    .as_array()
                    .is_some_and(|c| c.iter().any(|a| a["offer"]["id"] == "claims")))
            .then_some(())
        },
    )
    .await;
    sign_in(
        &browser,
        &format!("{}/console", hospital.url),
        &hospital.token,
        "peers",
    )
    .await;
    browser
        .wait_text("#federated", &["claims", "Claims per ward", insurer.did()])
        .await;
    browser.click("#federated details.health summary").await;
    let theirs = browser.wait_text("#federated", TERMS).await;
    assert!(!theirs.contains("\"health_categories\""), "{theirs}");
    browser.screenshot(&shots().join("peers-health.png")).await;
}
