//! The console's accessibility, checked by axe-core (the published engine, vendored as test
//! data in `tests/data/axe-core/`, never embedded in the product) injected over WebDriver into
//! each view, operator's and auditor's: no violation of impact "serious" or "critical" (WCAG
//! 2.x A and AA rules and axe's best practices: names and labels, contrast, landmarks, lists,
//! tables, ARIA). The views of an MPC session and of two bundles compared are checked in the
//! main console test ([`super`]) with [`assert_accessible`].

use serde_json::{json, Value};

use crate::console_auditor::{auditor_credential, present_with_cli};
use crate::dsp::*;
use crate::healthdcat::description;
use crate::webdriver::Browser;

/// axe-core 4.14.1 (`tests/data/axe-core/SOURCE.md`).
const AXE: &str = include_str!("../../data/axe-core/axe.min.js");

/// Runs axe-core on the page as it is now, and fails naming every serious or critical
/// violation (its rule, what it means, and the elements at fault); `view` names the page.
pub async fn assert_accessible(browser: &Browser, view: &str) {
    let loaded = browser
        .script(&format!(
            "{AXE}\n;return typeof axe === 'object' && axe.version;"
        ))
        .await;
    assert_eq!(loaded, json!("4.14.1"), "axe-core loaded in {view}");
    let answer = browser
        .script_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
               .then((r) => done({violations: r.violations.map((v) => ({id: v.id, impact: v.impact,
                 help: v.help, nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary)}))}))
               .catch((e) => done({error: String(e)}));",
        )
        .await;
    assert!(
        answer["error"].is_null(),
        "axe-core failed in {view}: {answer}"
    );
    let serious: Vec<&Value> = answer["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
        .collect();
    assert!(
        serious.is_empty(),
        "{} serious or critical accessibility violations in {view}:\n{:#}",
        serious.len(),
        json!(serious)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_console_view_passes_an_axe_core_audit_in_a_real_browser() {
    // Start the browser first: without Chromium the test fails at once, saying what to install.
    let browser = Browser::start(1280, 900).await;
    let (authority, node, auditor) = (connector(), connector(), connector());
    trust(&authority, &node).await;
    let (membership, _) = membership(&authority, node.did(), "Hospital").await;
    hold(&node, &membership).await;
    publish(&node).await;
    let (status, body) = node
        .post(
            "/api/v1/offers",
            &json!({"id": "ward-stays", "title": "Ward stays", "kind": "dataset",
                    "description": "Lengths of stay per ward, for research",
                    "health": {"requires_permit": false, "dcat": description("did:web:hdab.example", node.did())},
                    "policy": "policy \"ward-stays\" { permit use on offer \"ward-stays\" when holder.member_of == \"hds\" }"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let credential = auditor_credential(&authority.identity, auditor.did()).await;
    hold(&auditor, &credential).await;
    let console = format!("{}/console", node.url);

    // Signed out: the operator's sign-in, the bundle verifier, the auditor's sign-in.
    browser.go(&format!("{console}#/identity")).await;
    browser.find("#token").await;
    assert_accessible(&browser, "the operator's sign-in").await;
    browser.type_into("#token", "wrong").await;
    browser.click("#signin button[type=submit]").await;
    browser
        .wait_text("#signin-status", &["Sign-in failed"])
        .await;
    assert_accessible(&browser, "the operator's sign-in, refused").await;
    browser.go(&format!("{console}#/trail")).await;
    browser.find("#auditor-challenge").await;
    assert_accessible(&browser, "the auditor's sign-in").await;

    // The operator's views.
    browser.go(&format!("{console}#/identity")).await;
    browser.type_into("#token", &node.token).await;
    browser.keys_to("#token", "\u{E007}").await;
    browser
        .wait_text("#credentials", &["DataSpaceMembershipCredential"])
        .await;
    assert_accessible(&browser, "identity").await;
    browser.go(&format!("{console}#/peers")).await;
    browser.find("#peers-off").await;
    assert_accessible(&browser, "peers").await;
    browser.go(&format!("{console}#/offers")).await;
    browser
        .wait_text("#offers", &["ward-stays", "In plain words"])
        .await;
    browser.click("#offers details.health summary").await;
    browser.type_into("#offer-id", "x").await;
    browser.type_into("#offer-title", "X").await;
    browser
        .type_into(
            "#offer-policy",
            "policy \"x\" { permit use on offer \"x\" when holder.rol == \"Hospital\" }",
        )
        .await;
    browser.click("#offer-form button[type=submit]").await;
    browser.wait_text("#offer-error", &["does not check"]).await;
    assert_accessible(
        &browser,
        "offers, with a health offer and a policy's diagnostics",
    )
    .await;
    browser.go(&format!("{console}#/negotiations")).await;
    browser.find("#view h1").await;
    browser.wait_text("#view", &["Contract negotiations"]).await;
    assert_accessible(&browser, "negotiations").await;
    browser.go(&format!("{console}#/sessions")).await;
    browser.wait_text("#view h1", &["ession"]).await;
    assert_accessible(&browser, "sessions").await;
    browser.go(&format!("{console}#/issuer")).await;
    browser.wait_text("#view", &["credential requests"]).await;
    assert_accessible(&browser, "issuer").await;
    browser.go(&format!("{console}#/trail")).await;
    browser
        .wait_text("#head-signature", &["signature verified here"])
        .await;
    browser.click("#trail-entries button[data-index='0']").await;
    browser.wait_text("#inclusion-verdict", &["Entry 0"]).await;
    browser.click("#check-consistency").await;
    browser.find("#consistency-verdict").await;
    assert_accessible(&browser, "the trail, read by the operator").await;

    // The bundle verifier with a tampered bundle's findings.
    let (status, mut bundle) = node.get("/api/v1/audit/export").await;
    assert_eq!(status, 200, "{bundle}");
    bundle["entries"][1]["event"]["outcome"] = json!("refused");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("tampered.json");
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    browser.go(&format!("{console}#/audit")).await;
    browser.choose_file("#bundle-file", &path).await;
    browser.wait_text("#verdict", &["Not valid"]).await;
    assert_accessible(&browser, "the bundle verifier, with findings").await;

    // Narrow: the tables as cards.
    browser.resize(420, 900).await;
    browser.go(&format!("{console}#/offers")).await;
    browser.wait_text("#offers", &["ward-stays"]).await;
    assert_accessible(&browser, "offers at 420 px").await;
    browser.resize(1280, 900).await;

    // The auditor, signed in with a credential, reading the trail.
    browser.click("#signout").await;
    browser.go(&format!("{console}#/trail")).await;
    let challenge = browser.text("#auditor-challenge").await;
    let token = present_with_cli(&auditor, node.did(), &challenge).await;
    browser.type_into("#auditor-token", &token).await;
    browser.click("#auditor-submit").await;
    browser
        .wait_text("#reader", &["Signed in as auditor"])
        .await;
    browser
        .wait_text("#head-signature", &["signature verified here"])
        .await;
    browser.wait_text("#trail-entries", &["offer"]).await;
    assert_accessible(&browser, "the trail, read by an auditor").await;
}
