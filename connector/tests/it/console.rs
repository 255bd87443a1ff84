//! The web console in a real browser (headless Chromium over WebDriver): the operator signs
//! in with the admin token, sees the identity, the peers with their verified roles, creates an
//! offer whose policy does not check and reads the diagnostics, sees the negotiations and
//! watches an MPC session end with its chart (a suppressed cell marked); the auditor verifies
//! a clean bundle in the browser, then a tampered one and sees the changed entry named — the
//! same entry the Rust verifier names — and compares two organisations' bundles, counting the
//! heads each witnessed of the other as the Rust verifier counts them. Screenshots of each view are written (to `docs/console/`
//! with `SYMBOLON_CONSOLE_SCREENSHOTS=docs/console`). The auditor's sign-in and the trail's
//! proofs are in [`auditor`], a did:web connector's trail in [`did_web`], the proofs of a
//! bundle's credentials in [`credentials`], health metadata of own and peers' offers in
//! [`catalog`], the issuer's queue in [`issuer`], the console over HTTPS in [`https`], and
//! the axe-core audit of every view in [`a11y`] (also run here on the views only this test
//! reaches).

mod a11y;
mod auditor;
mod catalog;
mod credentials;
mod did_web;
mod https;
mod issuer;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::dsp::*;
use crate::mpc_fixture::*;
use crate::webdriver::Browser;
use a11y::assert_accessible;

/// Pastes `head` as the earlier head to check the trail against, and waits for the page to
/// name it not consistent because its signature does not verify.
pub async fn earlier_head_is_refused(browser: &Browser, head: &str) {
    browser.type_into("#earlier-head", head).await;
    browser.click("#check-consistency").await;
    browser
        .wait_text(
            "#consistency-verdict",
            &[
                "Not consistent",
                "The earlier head verifies",
                "signature does not verify",
            ],
        )
        .await;
}

/// Where the screenshots go: `SYMBOLON_CONSOLE_SCREENSHOTS` (the README's pictures come from
/// `SYMBOLON_CONSOLE_SCREENSHOTS=docs/console`, relative to the repository), else the build's
/// target directory, so that a test run leaves the checkout as it was.
fn shots() -> PathBuf {
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    match std::env::var_os("SYMBOLON_CONSOLE_SCREENSHOTS") {
        Some(dir) => repository.join(dir),
        None => std::env::temp_dir().join("symbolon-console-screenshots"),
    }
}

/// Two hospitals with a ward and a length of stay per patient; ward 3 has fewer than 5 patients
/// in total, so its cell is suppressed.
fn hospitals(policy: &str) -> Vec<Holder<'_>> {
    (0..2)
        .map(|h| {
            let mut csv = String::from("ward,stay\n");
            for row in 0..24 {
                let ward = if row < 2 { 3 } else { 1 + row % 2 };
                csv.push_str(&format!("{ward},{}\n", (row * 3 + h) % 20));
            }
            Holder {
                role: "Hospital",
                csv,
                binding: json!({"file": "input.csv", "columns": {"ward": "ward", "stay": "stay"}}),
                policy,
                decision: "auto",
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_carry_a_strict_content_security_policy() {
    let node = connector();
    for path in [
        "/console",
        "/console/app.js",
        "/console/verify.js",
        "/console/style.css",
    ] {
        let answer = http()
            .get(format!("{}{path}", node.url))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        let csp = answer.headers()["content-security-policy"]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
    }
    let js = http()
        .get(format!("{}/console/app.js", node.url))
        .send()
        .await
        .unwrap();
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let missing = http()
        .get(format!("{}/console/nope.js", node.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("nope.js"),
        "{body}"
    );
    // The live session stream needs the admin token, like every management call.
    let anonymous = http()
        .get(format!("{}/api/v1/sessions/x/events", node.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

/// Exports `node`'s bundle and a copy with entry 2 changed; returns both files, the changed
/// entry and how many errors the Rust verifier finds in the tampered copy.
async fn export(node: &Connector, dir: &Path) -> (PathBuf, PathBuf, u64, usize) {
    let (status, bundle) = node.get("/api/v1/audit/export").await;
    assert_eq!(status, 200, "{bundle}");
    let clean = dir.join("clean-bundle.json");
    std::fs::write(&clean, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
    // An insider rewrites the outcome of entry 2 and leaves the rest as it was.
    let mut tampered = bundle.clone();
    let changed = 2;
    tampered["entries"][changed]["event"]["outcome"] = json!("refused");
    let path = dir.join("tampered-bundle.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&tampered).unwrap()).unwrap();
    // The Rust verifier agrees on both.
    let parsed =
        symbolon_audit::AuditBundle::from_slice(&serde_json::to_vec(&bundle).unwrap()).unwrap();
    assert!(symbolon_audit::verify_bundle(&parsed).is_valid(), "clean");
    let parsed =
        symbolon_audit::AuditBundle::from_slice(&serde_json::to_vec(&tampered).unwrap()).unwrap();
    let report = symbolon_audit::verify_bundle(&parsed);
    assert!(!report.is_valid());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.message.contains(&format!("entry {changed} was changed"))),
        "{report:#?}"
    );
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == symbolon_audit::Severity::Error)
        .count();
    (clean, path, changed as u64, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_and_an_auditor_use_the_console_in_a_real_browser() {
    // Start the browser first: without Chromium the test fails at once, saying what to install.
    let browser = Browser::start(1280, 900).await;
    let policy = policy("study", r#""group-stats""#, 5);
    let study = study(hospitals(&policy)).await;
    let analyst = &study.analyst;
    let console = format!("{}/console", analyst.url);
    let shots = shots();

    // Sign-in: a wrong token is refused in words, the right one opens the identity view.
    browser.go(&console).await;
    browser.type_into("#token", "not-the-token").await;
    browser.click("#signin button[type=submit]").await;
    browser
        .wait_text("#signin-status", &["Sign-in failed", "admin token"])
        .await;
    // By keyboard this time: the token, then Enter.
    browser.type_into("#token", &analyst.token).await;
    browser.keys_to("#token", "\u{E007}").await;
    browser.wait_text("#did", &[analyst.did()]).await;
    let url = browser.script("return location.href").await;
    assert!(!url.as_str().unwrap().contains(&analyst.token), "{url}");
    browser
        .wait_text(
            "#credentials",
            &["DataSpaceMembershipCredential", "verified"],
        )
        .await;
    browser.screenshot(&shots.join("identity.png")).await;

    // Peers, with their verified roles.
    browser.go(&format!("{console}#/peers")).await;
    let peers = browser.wait_text("#peers", &["Hospital", "verified"]).await;
    for holder in &study.holders {
        assert!(peers.contains(holder.did()), "{peers}");
    }
    browser.screenshot(&shots.join("peers.png")).await;
    assert_accessible(
        &browser,
        "peers, with their roles and the federated catalog",
    )
    .await;

    // An offer whose policy does not check: the diagnostics, with line and column.
    browser.go(&format!("{console}#/offers")).await;
    browser
        .wait_text("#offers-list", &["publishes no offers yet"])
        .await;
    browser.type_into("#offer-id", "ward-stays").await;
    browser.type_into("#offer-title", "Ward stays").await;
    browser
        .type_into(
            "#offer-policy",
            "policy \"stays\" {\n  permit use on offer \"ward-stays\"\n  when holder.rol == \"Hospital\"\n}\n",
        )
        .await;
    browser.click("#offer-form button[type=submit]").await;
    let error = browser
        .wait_text("#offer-error", &["does not check", "line 3"])
        .await;
    assert!(
        error.contains("holder.rol") || error.contains("rol"),
        "{error}"
    );
    browser
        .screenshot(&shots.join("offer-diagnostics.png"))
        .await;
    // Fixed, it is published and listed.
    browser
        .type_into(
            "#offer-policy",
            "policy \"stays\" {\n  permit use on offer \"ward-stays\"\n  when holder.role == \"Hospital\"\n}\n",
        )
        .await;
    browser.click("#offer-form button[type=submit]").await;
    browser.wait_text("#offer-status", &["was created"]).await;
    browser
        .wait_text(
            "#offers",
            &[
                "ward-stays",
                "Ward stays",
                "permits use of offer \"ward-stays\" when holder.role is \"Hospital\"",
            ],
        )
        .await;
    browser.screenshot(&shots.join("offers.png")).await;

    // The negotiations that made the study's agreements.
    browser.go(&format!("{console}#/negotiations")).await;
    browser
        .wait_text("#negotiations", &["study", "FINALIZED"])
        .await;
    browser.screenshot(&shots.join("negotiations.png")).await;

    // A session started now, watched live until it completes, then its chart.
    let session = start_session(
        &study,
        json!({"program": {"id": "group-stats", "params": {
                  "group": {"column": "ward", "values": [1, 2, 3]},
                  "values": [{"column": "stay", "max": 100}]}},
               "agreements": study.agreements, "min_group_size": 5,
               "purpose": "official-statistics", "join_seconds": 30, "round_timeout_ms": 10000}),
    )
    .await;
    let id = session["id"].as_str().unwrap();
    browser.go(&format!("{console}#/sessions")).await;
    browser.wait_text("#sessions", &[id, "group-stats"]).await;
    browser.click(&format!("#sessions a[data-id='{id}']")).await;
    // Whether it is still running or has ended by now, the page got it from the event stream.
    browser
        .wait_text("#live", &["live update", "received"])
        .await;
    browser.wait_text("#view", &["completed"]).await;
    browser
        .wait_text("#suppressed-note", &["1 cell was suppressed"])
        .await;
    let chart = browser
        .script("return document.querySelectorAll('#result svg .suppressed-cell').length")
        .await;
    assert_eq!(chart, json!(1));
    let parties = browser.wait_text("#parties", &["input", "output"]).await;
    for holder in &study.holders {
        assert!(parties.contains(holder.did()), "{parties}");
    }
    browser.screenshot(&shots.join("session.png")).await;
    assert_accessible(&browser, "a finished MPC session with its chart").await;

    // The auditor: a clean bundle verifies in the browser; a tampered one names the entry.
    let tmp = tempfile::tempdir().unwrap();
    let (clean, tampered, changed, errors) = export(analyst, tmp.path()).await;
    browser.go(&format!("{console}#/audit")).await;
    browser.choose_file("#bundle-file", &clean).await;
    browser.wait_text("#verdict", &["Verified"]).await;
    browser.screenshot(&shots.join("audit-verified.png")).await;
    browser.choose_file("#bundle-file", &tampered).await;
    // The browser's verifier finds what the Rust one finds.
    browser
        .wait_text("#verdict", &["Not valid", &format!("{errors} problem")])
        .await;
    browser
        .wait_text(
            "#findings",
            &[&format!(
                "entry {changed} was changed: entry {} records a different hash",
                changed + 1
            )],
        )
        .await;
    browser.screenshot(&shots.join("audit-tampered.png")).await;

    // Two organisations' bundles compared in the browser, as the Rust verifier compares them:
    // the analyst and a hospital recorded each other's heads when they negotiated.
    let (status, ours) = analyst.get("/api/v1/audit/export").await;
    assert_eq!(status, 200, "{ours}");
    let (status, theirs) = study.holders[0].get("/api/v1/audit/export").await;
    assert_eq!(status, 200, "{theirs}");
    let (ours_path, theirs_path) = (tmp.path().join("ours.json"), tmp.path().join("theirs.json"));
    std::fs::write(&ours_path, serde_json::to_vec(&ours).unwrap()).unwrap();
    std::fs::write(&theirs_path, serde_json::to_vec(&theirs).unwrap()).unwrap();
    let pair = symbolon_audit::verify_pair(
        &serde_json::from_value(ours).unwrap(),
        &serde_json::from_value(theirs).unwrap(),
    );
    assert!(pair.is_valid(), "{pair}");
    assert!(pair.b_heads_witnessed_by_a > 0, "{pair}");
    browser.choose_file("#bundle-file", &ours_path).await;
    browser.wait_text("#verdict", &["Verified"]).await;
    browser.choose_file("#bundle-file-2", &theirs_path).await;
    let agreed = browser
        .wait_text("#pair-verdict", &["Both logs verify and agree"])
        .await;
    assert!(
        agreed.contains(&format!("records {} head", pair.b_heads_witnessed_by_a))
            && agreed.contains(&format!("records {}.", pair.a_heads_witnessed_by_b)),
        "the browser counts what the Rust verifier counts ({pair}): {agreed}"
    );
    browser.screenshot(&shots.join("audit-pair.png")).await;
    assert_accessible(&browser, "two bundles compared").await;

    // Readable at a narrow width, and the navigation is reachable by keyboard.
    browser.resize(420, 900).await;
    browser.go(&format!("{console}#/identity")).await;
    browser.wait_text("#did", &[analyst.did()]).await;
    let links = browser
        .script("return [...document.querySelectorAll('#nav a')].every(a => a.tabIndex === 0)")
        .await;
    assert_eq!(links, json!(true));
    let overflow = browser
        .script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        .await;
    assert_eq!(overflow, json!(true), "no horizontal scrolling at 420 px");
    browser.screenshot(&shots.join("identity-narrow.png")).await;
}
