//! The consumer's transfer callbacks message by message, with the test playing the provider
//! against a real consumer connector: the consumer follows the provider's start, suspension,
//! restart and completion, refuses every illegal transition with a 400 `TransferError`, and
//! every message it emits follows the specification's schemas.

use serde_json::{json, Value};
use symbolon_identity::{jose, Identity, KeyAlgorithm};

use crate::dsp::*;
use crate::transfer::{operator, transitions};

const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";
const PROVIDER_PID: &str = "urn:uuid:tp-1";

/// A hospital connector holding a FINALIZED agreement `urn:uuid:a-9` with a provider played
/// by the test (`provider`), whose protocol endpoints a recorder answers.
async fn agreed() -> (Connector, Identity, Recorder) {
    let hospital = connector();
    let provider = Identity::generate(KeyAlgorithm::Ed25519);
    let process = json!({"@context": [DSP_CONTEXT], "@type": "TransferProcess",
        "providerPid": PROVIDER_PID, "consumerPid": "set-by-consumer", "state": "REQUESTED"});
    let (pid, recorder) = requested_from_played_provider(
        &hospital,
        &provider,
        "urn:uuid:p-9",
        vec![("/transfers/request", 201, process)],
    )
    .await;
    let mut agreement = json!({"@id": "urn:uuid:a-9", "@type": "Agreement", "target": "ds-1",
        "assigner": provider.did.as_str(), "assignee": hospital.did(),
        "timestamp": "2026-11-23T12:00:00Z", "permission": [{"action": "use"}]});
    agreement["signature"] = jose::sign(
        &provider.key,
        &provider.verification_method(),
        "symbolon-agreement+jwt",
        &agreement,
    )
    .into();
    let message = json!({"@context": [DSP_CONTEXT], "@type": "ContractAgreementMessage",
        "providerPid": "urn:uuid:p-9", "consumerPid": pid, "agreement": agreement});
    let (status, answer) = dsp_post(
        &format!("{}/negotiations/{pid}/agreement", hospital.dsp()),
        &token(&provider, hospital.did(), &[]).await,
        &message,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    state_of(&hospital, &pid, "VERIFIED").await;
    let finalized = json!({"@context": [DSP_CONTEXT], "@type": "ContractNegotiationEventMessage",
        "providerPid": "urn:uuid:p-9", "consumerPid": pid, "eventType": "FINALIZED"});
    let (status, answer) = dsp_post(
        &format!("{}/negotiations/{pid}/events", hospital.dsp()),
        &token(&provider, hospital.did(), &[]).await,
        &finalized,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    (hospital, provider, recorder)
}

/// The hospital requests the agreement's dataset; answers its process id.
async fn request(hospital: &Connector) -> String {
    let (status, transfer) = hospital
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": "urn:uuid:a-9", "format": "symbolon:dataset", "wait_seconds": 0}),
        )
        .await;
    assert_eq!(status, 201, "{transfer}");
    assert_eq!(transfer["state"], "REQUESTED");
    assert_eq!(transfer["provider_pid"], PROVIDER_PID);
    transfer["consumer_pid"].as_str().unwrap().to_owned()
}

/// The four messages a provider may send on a process, with their endpoints.
const MOVES: [(&str, &str); 4] = [
    ("start", "TransferStartMessage"),
    ("suspension", "TransferSuspensionMessage"),
    ("completion", "TransferCompletionMessage"),
    ("termination", "TransferTerminationMessage"),
];

/// The provider's message of `kind` about the hospital's process `pid`.
fn message(kind: &str, pid: &str) -> Value {
    json!({"@context": [DSP_CONTEXT], "@type": kind, "providerPid": PROVIDER_PID, "consumerPid": pid})
}

/// POSTs the provider's `body` to the hospital's `/transfers/:pid/<endpoint>`.
async fn tell(
    hospital: &Connector,
    provider: &Identity,
    pid: &str,
    endpoint: &str,
    body: &Value,
) -> (u16, Value) {
    dsp_post(
        &format!("{}/transfers/{pid}/{endpoint}", hospital.dsp()),
        &token(provider, hospital.did(), &[]).await,
        body,
    )
    .await
}

fn assert_illegal(status: u16, error: &Value, pid: &str, state: &str, what: &str) {
    assert_eq!(status, 400, "{what} in {state}: {error}");
    assert_eq!(error["@type"], "TransferError");
    assert_eq!(error["providerPid"], PROVIDER_PID);
    assert_eq!(error["consumerPid"], pid);
    assert!(
        error["reason"][0].as_str().unwrap().contains(&format!(
            "from the provider is not allowed in state {state}"
        )),
        "{what}: {error}"
    );
    Schemas::load().check("transfer/transfer-error-schema.json", error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_follows_the_provider_refuses_illegal_moves_and_sends_valid_messages() {
    let (hospital, provider, recorder) = agreed().await;
    let schemas = Schemas::load();
    let pid = request(&hospital).await;
    let sent = recorder.wait_for("/transfers/request").await;
    assert_eq!(sent["consumerPid"], pid.as_str());
    assert_eq!(sent["agreementId"], "urn:uuid:a-9");
    assert_eq!(sent["format"], "symbolon:dataset");
    assert_eq!(sent["callbackAddress"], hospital.dsp());
    schemas.check("transfer/transfer-request-message-schema.json", &sent);

    // REQUESTED: only a start (or a termination) may come.
    for (endpoint, kind) in [
        ("completion", "TransferCompletionMessage"),
        ("suspension", "TransferSuspensionMessage"),
    ] {
        let (status, error) =
            tell(&hospital, &provider, &pid, endpoint, &message(kind, &pid)).await;
        assert_illegal(status, &error, &pid, "REQUESTED", kind);
    }
    // The start, with a data address the hospital keeps while STARTED.
    let mut start = message("TransferStartMessage", &pid);
    start["dataAddress"] = json!({"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
        "endpoint": "https://provider.example/data",
        "endpointProperties": [{"@type": "EndpointProperty", "name": "authType", "value": "bearer"}]});
    let (status, answer) = tell(&hospital, &provider, &pid, "start", &start).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "STARTED");
    schemas.check("transfer/transfer-process-schema.json", &answer);
    let (_, kept) = hospital.get(&format!("/api/v1/transfers/{pid}")).await;
    assert_eq!(
        kept["data_address"]["endpoint"],
        "https://provider.example/data"
    );
    let (status, error) = tell(&hospital, &provider, &pid, "start", &start).await;
    assert_illegal(status, &error, &pid, "STARTED", "a second start");
    let (status, answer) = tell(
        &hospital,
        &provider,
        &pid,
        "suspension",
        &message("TransferSuspensionMessage", &pid),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (_, kept) = hospital.get(&format!("/api/v1/transfers/{pid}")).await;
    assert_eq!(kept["state"], "SUSPENDED");
    // The address is kept while suspended (a restart renews its token with the refresh
    // token); a completion or termination drops it.
    assert_eq!(
        kept["data_address"]["endpoint"], "https://provider.example/data",
        "{kept}"
    );
    let (status, error) = tell(
        &hospital,
        &provider,
        &pid,
        "completion",
        &message("TransferCompletionMessage", &pid),
    )
    .await;
    assert_illegal(status, &error, &pid, "SUSPENDED", "a completion");
    let (status, error) = tell(
        &hospital,
        &provider,
        &pid,
        "suspension",
        &message("TransferSuspensionMessage", &pid),
    )
    .await;
    assert_illegal(status, &error, &pid, "SUSPENDED", "a second suspension");
    let (status, _) = tell(
        &hospital,
        &provider,
        &pid,
        "start",
        &message("TransferStartMessage", &pid),
    )
    .await;
    assert_eq!(status, 200, "the provider restarts");

    // The hospital's operator suspends, restarts and completes; each message is valid.
    let (status, moved) = operator(&hospital, &pid, "suspend", json!({"reason": "pause"})).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["state"], "SUSPENDED");
    let suspension = recorder
        .wait_for(&format!("/transfers/{PROVIDER_PID}/suspension"))
        .await;
    assert_eq!(suspension["reason"], json!(["pause"]));
    assert_eq!(suspension["consumerPid"], pid.as_str());
    schemas.check(
        "transfer/transfer-suspension-message-schema.json",
        &suspension,
    );
    let (status, moved) = operator(&hospital, &pid, "start", json!({})).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["state"], "STARTED");
    let restart = recorder
        .wait_for(&format!("/transfers/{PROVIDER_PID}/start"))
        .await;
    schemas.check("transfer/transfer-start-message-schema.json", &restart);
    let response = http()
        .get(format!("{}/transfers/{pid}", hospital.dsp()))
        .bearer_auth(token(&provider, hospital.did(), &[]).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let process: Value = response.json().await.unwrap();
    assert_eq!(process["state"], "STARTED");
    schemas.check("transfer/transfer-process-schema.json", &process);
    let (status, moved) = operator(&hospital, &pid, "complete", json!({})).await;
    assert_eq!(status, 200, "{moved}");
    assert!(moved.get("data_address").is_none(), "{moved}");
    let completion = recorder
        .wait_for(&format!("/transfers/{PROVIDER_PID}/completion"))
        .await;
    schemas.check(
        "transfer/transfer-completion-message-schema.json",
        &completion,
    );
    for (endpoint, kind) in MOVES {
        let (status, error) =
            tell(&hospital, &provider, &pid, endpoint, &message(kind, &pid)).await;
        assert_illegal(status, &error, &pid, "COMPLETED", kind);
    }

    let (provider_did, hospital_did) = (provider.did.as_str(), hospital.did());
    let recorded: Vec<(String, String)> = transitions(&hospital, &pid).await;
    let expected = [
        ("REQUESTED", hospital_did),
        ("STARTED", provider_did),
        ("SUSPENDED", provider_did),
        ("STARTED", provider_did),
        ("SUSPENDED", hospital_did),
        ("STARTED", hospital_did),
        ("COMPLETED", hospital_did),
    ];
    assert_eq!(
        recorded,
        expected.map(|(s, a)| (s.to_owned(), a.to_owned()))
    );

    // A second transfer: a message naming another provider process is refused; the
    // hospital's operator terminates.
    let second = request(&hospital).await;
    let mut other = message("TransferStartMessage", &second);
    other["providerPid"] = "urn:uuid:someone-else".into();
    let (status, error) = tell(&hospital, &provider, &second, "start", &other).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["reason"][0].as_str().unwrap().contains("paired with"),
        "{error}"
    );
    let (status, moved) = operator(
        &hospital,
        &second,
        "terminate",
        json!({"reason": "changed plans"}),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["state"], "TERMINATED");
    let termination = recorder
        .wait_for(&format!("/transfers/{PROVIDER_PID}/termination"))
        .await;
    assert_eq!(termination["consumerPid"], second.as_str());
    assert_eq!(termination["reason"], json!(["changed plans"]));
    schemas.check(
        "transfer/transfer-termination-message-schema.json",
        &termination,
    );
    for (endpoint, kind) in MOVES {
        let (status, error) = tell(
            &hospital,
            &provider,
            &second,
            endpoint,
            &message(kind, &second),
        )
        .await;
        assert_illegal(status, &error, &second, "TERMINATED", kind);
    }

    // A third: the provider terminates it while it is REQUESTED.
    let third = request(&hospital).await;
    let (status, answer) = tell(
        &hospital,
        &provider,
        &third,
        "termination",
        &message("TransferTerminationMessage", &third),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "TERMINATED");

    // A stranger learns nothing about the hospital's processes.
    let stranger = Identity::generate(KeyAlgorithm::Ed25519);
    let mut answers = Vec::new();
    for asked in [pid.as_str(), "urn:uuid:nobody"] {
        let response = http()
            .get(format!("{}/transfers/{asked}", hospital.dsp()))
            .bearer_auth(token(&stranger, hospital.did(), &[]).await)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        answers.push(body.to_string().replace(asked, "<pid>"));
    }
    assert_eq!(answers[0], answers[1]);
}
