//! The trail of a did:web connector in a real browser: the page resolves the connector's DID
//! from the console's own origin (`/.well-known/did.json`), verifies the signed head with the
//! key of that document, checks an entry's inclusion, and names the step that fails for a head
//! signed by another key and for an altered one. Opened from another host name (`localhost`
//! rather than the `127.0.0.1` the DID names), the page does not fetch elsewhere: it says the
//! DID cannot be resolved from the browser and what to do instead.

use serde_json::{json, Value};
use symbolon_identity::{KeyAlgorithm, KeyPair};

use super::{earlier_head_is_refused, shots};
use crate::dcp_holder::web_connector_configured;
use crate::dsp::*;
use crate::webdriver::Browser;

/// Signs in to the console at `console` with `node`'s admin token and opens the trail.
async fn open_trail(browser: &Browser, console: &str, node: &Connector) {
    browser.go(&format!("{console}#/identity")).await;
    browser.type_into("#token", &node.token).await;
    browser.keys_to("#token", "\u{E007}").await;
    browser.wait_text("#did", &[node.did()]).await;
    browser.go(&format!("{console}#/trail")).await;
}

/// `jws` with its payload's `tree_size` changed and its signature kept.
fn altered(jws: &str, size: u64) -> String {
    let parts: Vec<&str> = jws.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value =
        serde_json::from_slice(&base64::Engine::decode(&b64, parts[1]).unwrap()).unwrap();
    payload["tree_size"] = json!(size);
    format!(
        "{}.{}.{}",
        parts[0],
        base64::Engine::encode(&b64, serde_json::to_vec(&payload).unwrap()),
        parts[2]
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_trail_of_a_did_web_connector_is_verified_with_its_document_in_a_real_browser() {
    // Start the browser first: without Chromium the test fails at once, saying what to install.
    let browser = Browser::start(1280, 900).await;
    let node = web_connector_configured(|_| {});
    assert!(
        node.did().starts_with("did:web:127.0.0.1%3A"),
        "{}",
        node.did()
    );
    publish(&node).await;
    let console = format!("{}/console", node.url);

    // The head verifies with the key of the document this origin serves for the DID.
    open_trail(&browser, &console, &node).await;
    browser
        .wait_text(
            "#head-key",
            &["/.well-known/did.json", "fetched from this origin"],
        )
        .await;
    browser
        .wait_text("#head-signature", &["signature verified here"])
        .await;
    let size: u64 = browser.text("#head-size").await.parse().unwrap();
    assert!(size >= 1, "{size}");

    // An entry's inclusion is checked against that head: every step passes.
    browser.click("#trail-entries button[data-index='0']").await;
    browser
        .wait_text("#inclusion-verdict", &["Entry 0 is in the log"])
        .await;
    let passed = browser
        .script("return document.querySelectorAll('#inclusion-steps li.passed').length")
        .await;
    assert_eq!(passed, json!(5));
    browser.screenshot(&shots().join("trail-did-web.png")).await;

    // A head over the real root, signed by another key under the connector's key id: the
    // signature check of the document's key refuses it, and the page names the step.
    let latest = browser
        .script("return document.getElementById('earlier-head').value")
        .await;
    let latest = latest.as_str().unwrap().to_owned();
    let root: [u8; 32] = hex::decode(browser.text("#head-root").await)
        .unwrap()
        .try_into()
        .unwrap();
    let stranger = KeyPair::generate(KeyAlgorithm::Ed25519);
    let forged = symbolon_audit::TreeHead::new(node.did(), size, root)
        .sign(&stranger, &node.identity.verification_method())
        .unwrap()
        .jws;
    earlier_head_is_refused(&browser, &forged).await;
    // The connector's own head with its size changed and its signature kept: named the same.
    earlier_head_is_refused(&browser, &altered(&latest, size + 1)).await;
    // From another host name the DID is not this origin's: nothing is fetched elsewhere, and
    // the page says why and what to do instead.
    let elsewhere = console.replace("127.0.0.1", "localhost");
    open_trail(&browser, &elsewhere, &node).await;
    browser
        .wait_text(
            "#head-key",
            &[
                "not resolved",
                "cannot resolve it from the browser",
                "symbolon audit verify",
            ],
        )
        .await;
    browser
        .wait_text("#head-signature", &["cannot be verified here"])
        .await;
    browser.click("#trail-entries button[data-index='0']").await;
    browser
        .wait_text(
            "#inclusion-verdict",
            &[
                "Entry 0 is not proven",
                "The signed head verifies",
                "cannot be had here",
            ],
        )
        .await;
}
