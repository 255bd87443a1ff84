//! The provider's transfer endpoints message by message, with the test playing the consumer:
//! a request needs an agreement the caller holds, a repeated request is idempotent, every
//! illegal transition is a 400 with a `TransferError`, strangers learn nothing, and every
//! message the provider emits follows the specification's schemas.

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_identity::{Identity, KeyAlgorithm};

use crate::dsp::*;
use crate::protocol::request_message;
use crate::transfer::{operator, transfer_state};

const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";

/// A provider and a consumer played by the test, with a FINALIZED agreement between them.
struct Agreed {
    _authority: Connector,
    provider: Connector,
    consumer: Identity,
    agreement: String,
}

impl Agreed {
    /// A fresh self-issued token of the consumer for the provider.
    async fn token(&self) -> String {
        token(&self.consumer, self.provider.did(), &[]).await
    }

    /// POSTs `body` to the provider's `path` (under the protocol's base) as the consumer.
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("{}{path}", self.provider.dsp());
        dsp_post(&url, &self.token().await, body).await
    }

    /// GETs the provider's `path` (under the protocol's base) with `token`.
    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = http()
            .get(format!("{}{path}", self.provider.dsp()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

/// Negotiates over the protocol as the consumer, to FINALIZED.
async fn agreed() -> Agreed {
    let (authority, provider) = (connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let consumer = Identity::generate(KeyAlgorithm::Ed25519);
    let (credential, _) = membership(&authority, consumer.did.as_str(), "Hospital").await;
    let recorder = Recorder::start().await;
    let (status, created) = dsp_post(
        &format!("{}/negotiations/request", provider.dsp()),
        &token(&consumer, provider.did(), &[&credential]).await,
        &request_message("urn:uuid:negotiation-1", &recorder.url),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let pid = created["providerPid"].as_str().unwrap().to_owned();
    let agreement = recorder.wait_for("/agreement").await;
    let verification = json!({"@context": [DSP_CONTEXT], "@type": "ContractAgreementVerificationMessage",
        "providerPid": pid, "consumerPid": "urn:uuid:negotiation-1"});
    let (status, answer) = dsp_post(
        &format!(
            "{}/negotiations/{pid}/agreement/verification",
            provider.dsp()
        ),
        &token(&consumer, provider.did(), &[]).await,
        &verification,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    state_of(&provider, &pid, "FINALIZED").await;
    Agreed {
        _authority: authority,
        provider,
        consumer,
        agreement: agreement["agreement"]["@id"].as_str().unwrap().to_owned(),
    }
}

fn request(consumer_pid: &str, agreement: &str, format: &str, callback: &str) -> Value {
    json!({"@context": [DSP_CONTEXT], "@type": "TransferRequestMessage",
           "consumerPid": consumer_pid, "agreementId": agreement, "format": format,
           "callbackAddress": callback})
}

/// A message of `kind` about the process (`provider_pid`, `consumer_pid`).
fn message(kind: &str, provider_pid: &str, consumer_pid: &str) -> Value {
    let mut m = json!({"@context": [DSP_CONTEXT], "@type": kind,
                       "providerPid": provider_pid, "consumerPid": consumer_pid});
    if kind == "TransferSuspensionMessage" || kind == "TransferTerminationMessage" {
        m["code"] = "1".into();
        m["reason"] = json!(["a reason"]);
    }
    m
}

/// The four messages a consumer may send on a process, with their endpoints.
const MOVES: [(&str, &str); 4] = [
    ("/start", "TransferStartMessage"),
    ("/suspension", "TransferSuspensionMessage"),
    ("/completion", "TransferCompletionMessage"),
    ("/termination", "TransferTerminationMessage"),
];

/// How many requests `recorder` saw whose path ends with `suffix`.
fn seen(recorder: &Recorder, suffix: &str) -> Vec<Value> {
    recorder
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.ends_with(suffix))
        .map(|(_, body)| body.clone())
        .collect()
}

/// Asserts a 400 `TransferError` naming the process and the state, valid against the schema.
fn assert_illegal(status: u16, error: &Value, pids: (&str, &str), state: &str, what: &str) {
    assert_eq!(status, 400, "{what} in {state}: {error}");
    assert_eq!(error["@type"], "TransferError", "{what}");
    assert_eq!(error["providerPid"], pids.0, "{what}");
    assert_eq!(error["consumerPid"], pids.1, "{what}");
    assert_eq!(error["code"], "400");
    let reason = error["reason"][0].as_str().unwrap();
    assert!(
        reason.contains(&format!("not allowed in state {state}")),
        "{what}: {reason}"
    );
    Schemas::load().check("transfer/transfer-error-schema.json", error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_needs_an_agreement_the_caller_holds_and_a_repeat_is_idempotent() {
    let agreed = agreed().await;
    let callback = Recorder::start().await;
    let schemas = Schemas::load();
    let pid = "urn:uuid:transfer-1";

    // An unknown agreement, and the right agreement from a stranger: the same 400.
    let (status, unknown) = agreed
        .post(
            "/transfers/request",
            &request(pid, "urn:uuid:unknown", "symbolon:dataset", &callback.url),
        )
        .await;
    assert_eq!(status, 400, "{unknown}");
    assert_eq!(unknown["@type"], "TransferError");
    assert_eq!(unknown["consumerPid"], pid);
    schemas.check("transfer/transfer-error-schema.json", &unknown);
    let stranger = Identity::generate(KeyAlgorithm::Ed25519);
    let (status, foreign) = dsp_post(
        &format!("{}/transfers/request", agreed.provider.dsp()),
        &token(&stranger, agreed.provider.did(), &[]).await,
        &request(pid, &agreed.agreement, "symbolon:dataset", &callback.url),
    )
    .await;
    assert_eq!(status, 400, "{foreign}");
    let reason = |error: &Value, id: &str| {
        error["reason"][0]
            .as_str()
            .unwrap()
            .replace(id, "<agreement>")
    };
    assert_eq!(
        reason(&unknown, "urn:uuid:unknown"),
        reason(&foreign, &agreed.agreement)
    );
    assert!(
        reason(&foreign, &agreed.agreement)
            .contains("`<agreement>` names no agreement this provider made with the caller"),
        "{foreign}"
    );
    // A format the dataset is not distributed in, and an unsafe process id.
    let (status, error) = agreed
        .post(
            "/transfers/request",
            &request(pid, &agreed.agreement, "HttpData-PUSH", &callback.url),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        error["reason"][0]
            .as_str()
            .unwrap()
            .contains("field `format`"),
        "{error}"
    );
    let (status, error) = agreed
        .post(
            "/transfers/request",
            &request(
                "urn:uuid:a/../b",
                &agreed.agreement,
                "symbolon:dataset",
                &callback.url,
            ),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        error["reason"][0].as_str().unwrap().contains("consumerPid"),
        "{error}"
    );
    let (status, _) = agreed
        .post(
            "/transfers/request",
            &request(
                pid,
                &agreed.agreement,
                "symbolon:dataset",
                "ftp://elsewhere",
            ),
        )
        .await;
    assert_eq!(status, 400);
    let (_, list) = agreed.provider.get("/api/v1/transfers").await;
    assert_eq!(list, json!([]), "a refused request opens nothing");

    // The request: 201 REQUESTED, then the provider starts on its own.
    let body = request(pid, &agreed.agreement, "symbolon:dataset", &callback.url);
    let (status, created) = agreed.post("/transfers/request", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["@type"], "TransferProcess");
    assert_eq!(created["state"], "REQUESTED");
    assert_eq!(created["consumerPid"], pid);
    schemas.check("transfer/transfer-process-schema.json", &created);
    let provider_pid = created["providerPid"].as_str().unwrap().to_owned();
    let start = callback.wait_for(&format!("/transfers/{pid}/start")).await;
    assert_eq!(start["@type"], "TransferStartMessage");
    assert_eq!(start["providerPid"], provider_pid.as_str());
    assert_eq!(start["consumerPid"], pid);
    assert!(start.get("dataAddress").is_none(), "no data plane yet");
    schemas.check("transfer/transfer-start-message-schema.json", &start);
    transfer_state(&agreed.provider, &provider_pid, "STARTED").await;

    // The same request again: the same process, and the start is sent again.
    let (status, again) = agreed.post("/transfers/request", &body).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["providerPid"], provider_pid.as_str());
    assert_eq!(again["state"], "STARTED");
    let suffix = format!("/transfers/{pid}/start");
    eventually(Duration::from_secs(5), "the start sent again", || async {
        (seen(&callback, &suffix).len() == 2).then_some(())
    })
    .await;
    // The same consumerPid for another format is no repeat (and not a format of the
    // dataset).
    let mut other = body.clone();
    other["format"] = "MpcSession-PUSH".into();
    let (status, _) = agreed.post("/transfers/request", &other).await;
    assert_eq!(status, 400);
    let (_, list) = agreed.provider.get("/api/v1/transfers").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    // Each refusal is on record, with who was refused.
    let events = agreed.provider.events().await;
    let refused: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "transfer.refused")
        .collect();
    assert_eq!(refused.len(), 6, "{refused:?}");
    assert!(refused
        .iter()
        .any(|e| e["actor"] == stranger.did.as_str() && e["details"]["status"] == 400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_illegal_transition_on_the_provider_is_a_400_transfer_error() {
    let agreed = agreed().await;
    // A consumer that refuses the start keeps the process REQUESTED.
    let refusing = Recorder::start_with(vec![("/start", 400, json!({}))]).await;
    let pid = "urn:uuid:requested";
    let (status, created) = agreed
        .post(
            "/transfers/request",
            &request(pid, &agreed.agreement, "symbolon:dataset", &refusing.url),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let provider_pid = created["providerPid"].as_str().unwrap().to_owned();
    refusing.wait_for("/start").await;
    let failed = eventually(
        Duration::from_secs(5),
        "the failed start on record",
        || async {
            let events = agreed.provider.events().await;
            events
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["type"] == "transfer.send_failed")
                .cloned()
        },
    )
    .await;
    assert_eq!(failed["subject"], provider_pid.as_str());
    let (_, stored) = agreed
        .provider
        .get(&format!("/api/v1/transfers/{provider_pid}"))
        .await;
    assert_eq!(
        stored["state"], "REQUESTED",
        "an unacknowledged start is not made"
    );
    let base = format!("/transfers/{provider_pid}");
    for (path, kind) in &MOVES[..3] {
        let (status, error) = agreed
            .post(&format!("{base}{path}"), &message(kind, &provider_pid, pid))
            .await;
        assert_illegal(status, &error, (&provider_pid, pid), "REQUESTED", kind);
    }
    let (status, process) = agreed.get(&base, &agreed.token().await).await;
    assert_eq!(status, 200);
    assert_eq!(process["state"], "REQUESTED");
    Schemas::load().check("transfer/transfer-process-schema.json", &process);
    let (status, ended) = agreed
        .post(
            &format!("{base}/termination"),
            &message("TransferTerminationMessage", &provider_pid, pid),
        )
        .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"], "TERMINATED");
    for (path, kind) in MOVES {
        let (status, error) = agreed
            .post(&format!("{base}{path}"), &message(kind, &provider_pid, pid))
            .await;
        assert_illegal(status, &error, (&provider_pid, pid), "TERMINATED", kind);
    }

    // Another REQUESTED one, terminated by the provider's operator.
    let pid = "urn:uuid:requested-2";
    let (status, created) = agreed
        .post(
            "/transfers/request",
            &request(pid, &agreed.agreement, "symbolon:dataset", &refusing.url),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let provider_pid = created["providerPid"].as_str().unwrap().to_owned();
    refusing.wait_for(&format!("/transfers/{pid}/start")).await;
    let (status, ended) = operator(
        &agreed.provider,
        &provider_pid,
        "terminate",
        json!({"reason": "not now"}),
    )
    .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"], "TERMINATED");
    let termination = refusing
        .wait_for(&format!("/transfers/{pid}/termination"))
        .await;
    assert_eq!(termination["providerPid"], provider_pid.as_str());

    // A started one, through suspension and restart to completion.
    let callback = Recorder::start().await;
    let pid = "urn:uuid:started";
    let (status, created) = agreed
        .post(
            "/transfers/request",
            &request(pid, &agreed.agreement, "symbolon:dataset", &callback.url),
        )
        .await;
    assert_eq!(status, 201);
    let provider_pid = created["providerPid"].as_str().unwrap().to_owned();
    transfer_state(&agreed.provider, &provider_pid, "STARTED").await;
    let base = format!("/transfers/{provider_pid}");
    let send = |path: &'static str, kind: &'static str| {
        let (base, provider_pid) = (base.clone(), provider_pid.clone());
        let agreed = &agreed;
        async move {
            agreed
                .post(&format!("{base}{path}"), &message(kind, &provider_pid, pid))
                .await
        }
    };
    let pids = (provider_pid.as_str(), pid);
    let (status, error) = send("/start", "TransferStartMessage").await;
    assert_illegal(status, &error, pids, "STARTED", "a start");
    let (status, answer) = send("/suspension", "TransferSuspensionMessage").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "SUSPENDED");
    Schemas::load().check("transfer/transfer-process-schema.json", &answer);
    let (status, error) = send("/suspension", "TransferSuspensionMessage").await;
    assert_illegal(status, &error, pids, "SUSPENDED", "a suspension");
    let (status, error) = send("/completion", "TransferCompletionMessage").await;
    assert_illegal(status, &error, pids, "SUSPENDED", "a completion");
    let (status, answer) = send("/start", "TransferStartMessage").await;
    assert_eq!(status, 200, "the consumer restarts: {answer}");
    assert_eq!(answer["state"], "STARTED");
    let (status, answer) = send("/completion", "TransferCompletionMessage").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "COMPLETED");
    for (path, kind) in MOVES {
        let (status, error) = send(path, kind).await;
        assert_illegal(status, &error, pids, "COMPLETED", kind);
    }
    // A message naming another consumer process is refused, not applied.
    let (status, error) = agreed
        .post(
            &format!("{base}/termination"),
            &message(
                "TransferTerminationMessage",
                &provider_pid,
                "urn:uuid:other",
            ),
        )
        .await;
    assert_eq!(status, 400, "{error}");

    // A stranger learns nothing: a known process answers exactly as an unknown one.
    let stranger = Identity::generate(KeyAlgorithm::Ed25519);
    let stranger_token = || token(&stranger, agreed.provider.did(), &[]);
    let (status, known) = agreed.get(&base, &stranger_token().await).await;
    assert_eq!(status, 404);
    let (status, unknown) = agreed
        .get("/transfers/urn:uuid:nobody", &stranger_token().await)
        .await;
    assert_eq!(status, 404);
    assert_eq!(known["@type"], "TransferError");
    assert_eq!(
        serde_json::to_string(&known)
            .unwrap()
            .replace(&provider_pid, "<pid>"),
        serde_json::to_string(&unknown)
            .unwrap()
            .replace("urn:uuid:nobody", "<pid>")
    );
    let (status, known) = dsp_post(
        &format!("{}{base}/termination", agreed.provider.dsp()),
        &stranger_token().await,
        &message("TransferTerminationMessage", "", ""),
    )
    .await;
    assert_eq!(status, 404, "{known}");
    // Unauthenticated: 401, and nothing about the process either.
    let response = http()
        .get(format!("{}{base}", agreed.provider.dsp()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["providerPid"], "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_providers_operator_moves_are_sent_first_and_a_refused_termination_can_be_forced() {
    let agreed = agreed().await;
    let callback = Recorder::start_with(vec![("/termination", 500, json!({}))]).await;
    let pid = "urn:uuid:operated";
    let (_, created) = agreed
        .post(
            "/transfers/request",
            &request(pid, &agreed.agreement, "symbolon:dataset", &callback.url),
        )
        .await;
    let provider_pid = created["providerPid"].as_str().unwrap().to_owned();
    transfer_state(&agreed.provider, &provider_pid, "STARTED").await;
    let provider = &agreed.provider;
    let schemas = Schemas::load();

    let (status, _) = operator(
        provider,
        &provider_pid,
        "suspend",
        json!({"reason": "quota"}),
    )
    .await;
    assert_eq!(status, 200);
    let suspension = callback.wait_for("/suspension").await;
    assert_eq!(suspension["reason"], json!(["quota"]));
    schemas.check(
        "transfer/transfer-suspension-message-schema.json",
        &suspension,
    );
    let (status, _) = operator(provider, &provider_pid, "start", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(seen(&callback, &format!("/transfers/{pid}/start")).len(), 2);

    // The consumer refuses the termination: unchanged, and a 502 says why.
    let (status, error) = operator(
        provider,
        &provider_pid,
        "terminate",
        json!({"reason": "over"}),
    )
    .await;
    assert_eq!(status, 502, "{error}");
    let termination = callback.wait_for("/termination").await;
    assert_eq!(termination["code"], "operator");
    assert_eq!(termination["reason"], json!(["over"]));
    schemas.check(
        "transfer/transfer-termination-message-schema.json",
        &termination,
    );
    let (_, stored) = provider
        .get(&format!("/api/v1/transfers/{provider_pid}"))
        .await;
    assert_eq!(stored["state"], "STARTED");
    // Forced: terminated here all the same, and the failed send is on record.
    let (status, ended) = operator(
        provider,
        &provider_pid,
        "terminate",
        json!({"reason": "over", "force": true}),
    )
    .await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["state"], "TERMINATED");
    let events = provider.events().await;
    let failed = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "transfer.send_failed" && e["subject"] == provider_pid.as_str())
        .count();
    assert_eq!(failed, 2, "{events}");

    // A completion is sent as the schema says.
    let callback = Recorder::start().await;
    let pid = "urn:uuid:completed";
    let (_, created) = agreed
        .post(
            "/transfers/request",
            &request(pid, &agreed.agreement, "symbolon:dataset", &callback.url),
        )
        .await;
    let provider_pid = created["providerPid"].as_str().unwrap().to_owned();
    transfer_state(provider, &provider_pid, "STARTED").await;
    let (status, _) = operator(provider, &provider_pid, "complete", json!({})).await;
    assert_eq!(status, 200);
    let completion = callback.wait_for("/completion").await;
    schemas.check(
        "transfer/transfer-completion-message-schema.json",
        &completion,
    );
}
