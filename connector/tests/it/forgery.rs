//! No request forgery: a stranger's process id never steers a request the connector sends,
//! callbacks and fetches obey the address policy, the trust check precedes any fetch a
//! credential triggers, errors do not echo what an upstream host answered, and extreme token
//! times are refused, not overflowed.

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_identity::status_list::{self, StatusPurpose};
use symbolon_identity::{credential, issue_credential, jose, Format, Identity, KeyAlgorithm};

use crate::dsp::*;
use crate::protocol::request_message;

fn stranger() -> Identity {
    Identity::generate(KeyAlgorithm::Ed25519)
}

/// The paths the recorder has seen so far.
fn paths(recorder: &Recorder) -> Vec<String> {
    recorder
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(path, _)| path.clone())
        .collect()
}

/// Sends `body` to the provider's `/negotiations/request` as `caller`.
async fn request(provider: &Connector, caller: &Identity, body: &Value) -> (u16, Value) {
    let url = format!("{}/negotiations/request", provider.dsp());
    dsp_post(&url, &token(caller, provider.did(), &[]).await, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_process_id_never_steers_the_providers_requests() {
    let provider = connector();
    publish(&provider).await;
    let recorder = Recorder::start().await;
    let callback = format!("{}/dsp", recorder.url);
    let stranger = stranger();
    for forged in [
        "../../admin/delete-everything?confirm=yes#",
        "..",
        "a/b",
        "x?y=1",
        "%2e%2e",
    ] {
        let (status, error) =
            request(&provider, &stranger, &request_message(forged, &callback)).await;
        assert_eq!(status, 400, "{forged}: {error}");
        assert_eq!(error["@type"], "ContractNegotiationError");
        let reason = error["reason"][0].as_str().unwrap();
        assert!(
            reason.contains("field `consumerPid`") && reason.contains("process id"),
            "{forged}: {reason}"
        );
    }
    // The same stranger with a proper id: refused later (no presentation), and the
    // termination reaches the callback under that id — the only request the recorder sees.
    let (status, created) = request(
        &provider,
        &stranger,
        &request_message("urn:uuid:c-1", &callback),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    recorder
        .wait_for("/dsp/negotiations/urn:uuid:c-1/termination")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        paths(&recorder),
        ["/dsp/negotiations/urn:uuid:c-1/termination"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counterpartys_answer_cannot_plant_a_process_id() {
    let provider = connector();
    publish(&provider).await;
    let planted = json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiation",
        "providerPid": "urn:uuid:p", "consumerPid": "../../admin/delete-everything?confirm=yes#",
        "state": "OFFERED",
    });
    let recorder = Recorder::start_with(vec![("/negotiations/offers", 201, planted)]).await;
    let (status, offered) = provider
        .post(
            "/api/v1/negotiations/offers",
            &json!({"consumer_url": format!("{}/dsp", recorder.url),
                    "consumer_did": stranger().did.as_str(), "offer_id": "ward-statistics"}),
        )
        .await;
    assert_eq!(status, 200, "{offered}");
    assert_eq!(offered["state"], "TERMINATED", "{offered}");
    let reason = offered["reason"][0].as_str().unwrap();
    assert!(reason.contains("field `consumerPid`"), "{reason}");
    assert_eq!(offered["consumer_pid"], Value::Null, "{offered}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(paths(&recorder), ["/dsp/negotiations/offers"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_to_private_addresses_are_refused_unless_allowed() {
    let recorder = Recorder::start().await;
    let port = recorder.url.rsplit(':').next().unwrap().to_owned();
    let strict = connector_with(false);
    publish(&strict).await;
    let caller = stranger();
    for callback in [
        format!("{}/dsp", recorder.url),
        format!("http://localhost:{port}/dsp"),
        format!("https://[::ffff:127.0.0.1]:{port}/dsp"),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://10.0.0.1/dsp".to_owned(),
        "https://100.64.0.1/dsp".to_owned(),
    ] {
        let (status, error) =
            request(&strict, &caller, &request_message("urn:uuid:c", &callback)).await;
        assert_eq!(status, 400, "{callback}: {error}");
        let reason = error["reason"][0].as_str().unwrap();
        assert!(
            reason.contains("field `callbackAddress`")
                && reason.contains("--allow-private-callbacks"),
            "{callback}: {reason}"
        );
    }
    // Allowed private addresses do not let a URL through that only looks like one.
    let lenient = connector();
    publish(&lenient).await;
    for (callback, why) in [
        (
            format!("http://127.0.0.1@127.0.0.2:{port}/dsp"),
            "user information",
        ),
        (format!("http://127.0.0.1.nip.io:{port}/dsp"), "plain http"),
        (format!("{}/dsp?next=", recorder.url), "query or a fragment"),
        ("file:///etc/passwd".to_owned(), "https URL"),
    ] {
        let (status, error) =
            request(&lenient, &caller, &request_message("urn:uuid:c", &callback)).await;
        assert_eq!(status, 400, "{callback}: {error}");
        let reason = error["reason"][0].as_str().unwrap();
        assert!(
            reason.contains("field `callbackAddress`") && reason.contains(why),
            "{callback}: {reason}"
        );
    }
    // The operator's own calls obey the policy too.
    let (status, error) = strict
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": format!("{}/dsp", recorder.url),
                    "provider_did": caller.did.as_str(), "offer_id": "ward-statistics"}),
        )
        .await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("provider_url"),
        "{error}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(paths(&recorder).is_empty(), "{:?}", paths(&recorder));
}

/// A membership from `issuer` about a fresh subject, with a revocation entry at `status`.
async fn membership_with_status(issuer: &Identity, status: &str) -> String {
    let claims = json!({"legalName": "H", "registrationNumber": "1", "role": "Hospital",
                        "dataSpaceId": "hds"});
    let mut unsigned = credential::build(
        &issuer.did,
        "DataSpaceMembershipCredential",
        &stranger().did,
        &claims,
        None,
    )
    .unwrap();
    unsigned["credentialStatus"] = status_list::entry(status, StatusPurpose::Revocation, 5);
    issue_credential(issuer, unsigned, Format::Jwt)
        .await
        .unwrap()
        .to_text()
}

async fn verify(node: &Connector, credential: &str) -> (u16, Value) {
    let response = http()
        .post(format!("{}/credentials/verify", node.url))
        .json(&json!({ "verifiableCredential": credential }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_verify_fetches_no_status_list_before_the_issuer_is_trusted() {
    let (authority, node, bare) = (connector(), connector(), connector());
    trust(&authority, &node).await;
    let recorder = Recorder::start_with(vec![(
        "/teapot",
        418,
        json!({"banner": "internal-banner-4711"}),
    )])
    .await;
    let probe = membership_with_status(&stranger(), &format!("{}/probe", recorder.url)).await;

    let (status, report) = verify(&node, &probe).await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(check(&report, "trust")["outcome"], "failed", "{report}");
    assert_eq!(check(&report, "trust")["code"], "untrusted_issuer");
    assert_eq!(check(&report, "status")["outcome"], "skipped", "{report}");

    // Without a trust list no issuer but the connector itself is trusted for a fetch.
    let (status, report) = verify(&bare, &probe).await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(check(&report, "status")["outcome"], "failed", "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("not fetched"),
        "{report}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        paths(&recorder).is_empty(),
        "fetched: {:?}",
        paths(&recorder)
    );

    // A trusted issuer's list is fetched; what its host answered is not echoed.
    let trusted =
        membership_with_status(&authority.identity, &format!("{}/teapot", recorder.url)).await;
    let (status, report) = verify(&node, &trusted).await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(paths(&recorder), ["/teapot"]);
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("could not be fetched"), "{error}");
    for leak in ["418", "teapot", "Teapot", "internal-banner"] {
        assert!(
            !report.to_string().replace("/teapot", "").contains(leak),
            "{report}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn did_web_hosts_obey_the_address_policy() {
    let node = connector_with(false);
    for did in ["did:web:127.0.0.1", "did:web:localhost", "did:web:10.0.0.1"] {
        let response = http()
            .get(format!("{}/identifiers/{did}", node.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let result: Value = response.json().await.unwrap();
        assert_eq!(status, 400, "{did}: {result}");
        let message = result["didResolutionMetadata"]["message"].as_str().unwrap();
        assert!(
            message.contains("refused by the address policy"),
            "{did}: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_with_extreme_times_are_refused_with_401_not_a_panic() {
    let provider = connector();
    let caller = stranger();
    let url = format!("{}/catalog/request", provider.dsp());
    let body = json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                      "@type": "CatalogRequestMessage", "filter": []});
    let now = chrono::Utc::now().timestamp();
    for (i, (iat, exp, named)) in [
        (i64::MIN, now + 60, "claim `iat`"),
        (now, i64::MAX, "claim `exp`"),
        (i64::MIN + 1, i64::MAX - 1, "claim `iat`"),
        (now - 30, now + 10 * 365 * 86_400, "at most 600 s"),
        (now + 10, now - 10, "precedes"),
    ]
    .into_iter()
    .enumerate()
    {
        let token = jose::sign(
            &caller.key,
            &caller.verification_method(),
            "JWT",
            &json!({"iss": caller.did.as_str(), "sub": caller.did.as_str(), "aud": provider.did(),
                    "jti": format!("urn:uuid:extreme-{i}"), "iat": iat, "exp": exp}),
        );
        let (status, error) = dsp_post(&url, &token, &body).await;
        assert_eq!(status, 401, "iat {iat}, exp {exp}: {error}");
        let reason = error["reason"][0].as_str().unwrap();
        assert!(reason.contains(named), "iat {iat}, exp {exp}: {reason}");
    }
    // The provider still answers.
    let good = token(&caller, provider.did(), &[]).await;
    assert_eq!(dsp_post(&url, &good, &body).await.0, 200);
}
