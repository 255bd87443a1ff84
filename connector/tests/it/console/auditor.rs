//! The auditor in a real browser: asks the console for a challenge, pastes a wrong token and
//! reads the refusal, then signs in with the presentation `symbolon audit present` makes for
//! the new challenge; browses the trail, checks an entry's inclusion proof and a consistency
//! proof between two heads in the browser, sees a forked and an altered earlier head refused
//! with the failing step named, and signs out, which ends the session at the connector.

use std::time::Duration;

use serde_json::{json, Value};

use super::{earlier_head_is_refused, shots};
use crate::console_auditor::{auditor_credential, present_with_cli};
use crate::dsp::*;
use crate::webdriver::Browser;

/// Waits until the text of `css` is other than `before`; returns it.
async fn changed(browser: &Browser, css: &str, before: &str) -> String {
    eventually(
        Duration::from_secs(30),
        &format!("`{css}` to change"),
        || async {
            let now = browser.text(css).await;
            (now != before && !now.is_empty()).then_some(now)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_auditor_signs_in_with_a_credential_and_checks_proofs_in_a_real_browser() {
    // Start the browser first: without Chromium the test fails at once, saying what to install.
    let browser = Browser::start(1280, 900).await;
    let (authority, node, auditor) = (connector(), connector(), connector());
    trust(&authority, &node).await;
    publish(&node).await;
    let credential = auditor_credential(&authority.identity, auditor.did()).await;
    hold(&auditor, &credential).await;
    let console = format!("{}/console", node.url);
    let shots = shots();

    // The trail needs a sign-in: the page shows a challenge and the command to answer it.
    browser.go(&format!("{console}#/trail")).await;
    let first = browser.text("#auditor-challenge").await;
    assert_eq!(browser.text("#auditor-audience").await, node.did());
    browser
        .wait_text(
            "#auditor-command",
            &["symbolon audit present", &first, node.did()],
        )
        .await;
    // A wrong paste is refused in words, and a new challenge replaces the used one.
    browser.type_into("#auditor-token", "not-a-token").await;
    browser.click("#auditor-submit").await;
    browser
        .wait_text(
            "#auditor-status",
            &[
                "Sign-in refused",
                "malformed token",
                "new challenge is shown",
            ],
        )
        .await;
    let challenge = changed(&browser, "#auditor-challenge", &first).await;
    browser.screenshot(&shots.join("auditor-signin.png")).await;

    // The presentation the command line makes for it opens a session.
    let token = present_with_cli(&auditor, node.did(), &challenge).await;
    browser.type_into("#auditor-token", &token).await;
    browser.click("#auditor-submit").await;
    browser
        .wait_text(
            "#reader",
            &["Signed in as auditor", auditor.did(), "read-only"],
        )
        .await;
    browser
        .wait_text("#account", &["Auditor (read-only)"])
        .await;
    let url = browser.script("return location.href").await;
    assert!(!url.as_str().unwrap().contains("auditor_"), "{url}");
    let stored = browser
        .script("return sessionStorage.getItem('symbolon.auditorSession')")
        .await;
    let stored: Value = serde_json::from_str(stored.as_str().unwrap()).unwrap();
    let session = stored["session"].as_str().unwrap().to_owned();
    assert!(session.starts_with("auditor_"), "{stored}");
    let local = browser.script("return localStorage.length").await;
    assert_eq!(local, json!(0), "nothing in local storage");

    // The latest head, verified in the browser, and the first page of entries.
    browser
        .wait_text("#head-signature", &["signature verified here"])
        .await;
    let size: u64 = browser.text("#head-size").await.parse().unwrap();
    assert!(size >= 3, "{size}");
    browser
        .wait_text("#entries-range", &[&format!("of {size}")])
        .await;
    browser
        .wait_text("#trail-entries", &["audit.access", "offer"])
        .await;

    // Entry 2's inclusion proof, checked against the head in the browser: every step passes.
    browser.click("#trail-entries button[data-index='2']").await;
    browser
        .wait_text(
            "#inclusion-verdict",
            &["Entry 2 is in the log", &size.to_string()],
        )
        .await;
    let passed = browser
        .script("return document.querySelectorAll('#inclusion-steps li.passed').length")
        .await;
    assert_eq!(passed, json!(5));
    browser.screenshot(&shots.join("trail-inclusion.png")).await;

    // The operator publishes another offer; the latest head grows and extends the first one.
    let (status, body) = node
        .post(
            "/api/v1/offers",
            &json!({"id": "bed-capacity", "title": "Free beds", "policy": POLICY.replace("ward-statistics", "bed-capacity")}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let first_head = browser
        .script("return document.getElementById('earlier-head').value")
        .await;
    let first_head = first_head.as_str().unwrap().to_owned();
    browser.click("#refresh-head").await;
    let grown = eventually(Duration::from_secs(30), "a larger head", || async {
        let now: u64 = browser.text("#head-size").await.parse().unwrap_or(0);
        (now > size).then_some(now)
    })
    .await;
    browser.click("#check-consistency").await;
    browser
        .wait_text("#consistency-verdict", &["Consistent"])
        .await;
    let steps = browser.text("#consistency-steps").await;
    assert!(
        steps.contains(&format!("{size} → {grown}")),
        "the sizes checked: {steps}"
    );
    browser
        .screenshot(&shots.join("trail-consistent.png"))
        .await;

    // A forked earlier head: signed with the connector's own key, over another root. The
    // proof from the log does not lead to it, and the page says so.
    let forked = symbolon_audit::TreeHead::new(node.did(), size, [7u8; 32])
        .sign(&node.identity.key, &node.identity.verification_method())
        .unwrap()
        .jws;
    browser.type_into("#earlier-head", &forked).await;
    browser.click("#check-consistency").await;
    browser
        .wait_text(
            "#consistency-verdict",
            &[
                "Not consistent",
                "earlier head's root",
                "rewritten or forked",
            ],
        )
        .await;
    browser.screenshot(&shots.join("trail-forked.png")).await;

    // An altered earlier head (its size changed, its signature kept): the first step fails.
    let parts: Vec<&str> = first_head.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value =
        serde_json::from_slice(&base64::Engine::decode(&b64, parts[1]).unwrap()).unwrap();
    payload["tree_size"] = json!(size - 1);
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(&b64, serde_json::to_vec(&payload).unwrap()),
        parts[2]
    );
    earlier_head_is_refused(&browser, &altered).await;

    // Signing out ends the session here and at the connector.
    browser.click("#auditor-signout").await;
    browser.find("#auditor-challenge").await;
    let after = http()
        .get(format!("{}/api/v1/audit/head", node.url))
        .bearer_auth(&session)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    let stored = browser
        .script("return sessionStorage.getItem('symbolon.auditorSession')")
        .await;
    assert_eq!(stored, Value::Null);
}
