//! The issuer's queue in a real browser: two registered organisations ask the authority for a
//! membership; its operator approves one and rejects the other with a reason in the console,
//! and each holder learns the decision.

use std::time::Duration;

use serde_json::json;

use super::shots;
use crate::dcp::{configure, join, onboarding_reaches};
use crate::dsp::*;
use crate::webdriver::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_approves_one_request_and_rejects_another_in_a_real_browser() {
    let browser = Browser::start(1280, 900).await;
    let (authority, clinic, hospital) = (connector(), connector(), connector());
    trust(&authority, &authority).await;
    configure(
        &authority,
        &[(clinic.did(), "Hospital"), (hospital.did(), "Hospital")],
        "manual",
    )
    .await;
    let asked = [
        join(&clinic, &authority, 0).await,
        join(&hospital, &authority, 0).await,
    ];
    for onboarding in &asked {
        assert_eq!(onboarding["status"], "RECEIVED", "{onboarding}");
    }
    let (status, requests) = authority.get("/api/v1/issuer/requests").await;
    assert_eq!(status, 200, "{requests}");
    let pid_of = |holder: &str| {
        requests
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["holder"] == holder)
            .unwrap_or_else(|| panic!("no request of {holder}: {requests}"))["issuer_pid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (approve, reject) = (pid_of(clinic.did()), pid_of(hospital.did()));

    // The operator signs in and sees both requests waiting.
    let console = format!("{}/console", authority.url);
    browser.go(&format!("{console}#/issuer")).await;
    browser.type_into("#token", &authority.token).await;
    browser.keys_to("#token", "\u{E007}").await;
    browser
        .wait_text("#requests", &[clinic.did(), hospital.did(), "RECEIVED"])
        .await;
    browser.screenshot(&shots().join("issuer.png")).await;

    // Approve the clinic's.
    browser
        .click(&format!("button[data-approve=\"{approve}\"]"))
        .await;
    browser
        .wait_text("#issuer-status", &["was approved", clinic.did()])
        .await;
    browser.wait_text("#requests", &["ISSUED"]).await;
    // Reject the hospital's, with a reason.
    browser
        .type_into(
            &format!("input[data-reason=\"{reject}\"]"),
            "registration not confirmed yet",
        )
        .await;
    browser
        .click(&format!("button[data-reject=\"{reject}\"]"))
        .await;
    browser
        .wait_text("#issuer-status", &["was rejected", hospital.did()])
        .await;
    browser
        .wait_text(
            "#requests",
            &["ISSUED", "REJECTED", "registration not confirmed yet"],
        )
        .await;
    let waiting = browser
        .script("return document.querySelectorAll('#requests button[data-approve]').length")
        .await;
    assert_eq!(waiting, json!(0), "nothing waits any more");
    browser
        .screenshot(&shots().join("issuer-decided.png"))
        .await;

    // The holders learn the decisions: the clinic holds its membership, the hospital the reason.
    let pid = asked[0]["holder_pid"].as_str().unwrap().to_owned();
    onboarding_reaches(&clinic, &pid, "ISSUED", Duration::from_secs(10)).await;
    let pid = asked[1]["holder_pid"].as_str().unwrap().to_owned();
    let onboarding = onboarding_reaches(&hospital, &pid, "REJECTED", Duration::from_secs(10)).await;
    assert_eq!(
        onboarding["reasons"],
        json!(["registration not confirmed yet"])
    );
    let (_, held) = hospital.get("/api/v1/credentials").await;
    assert_eq!(held, json!([]), "the rejected hospital holds nothing");
}
