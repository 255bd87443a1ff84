//! A provider withdraws an agreement: the transfer under it ends with `agreement-withdrawn` on
//! both sides, its token opens nothing any more, a new transfer is refused with the reason,
//! and the withdrawal is in the provider's audit trail. Only the provider can withdraw, once,
//! with a reason.

use serde_json::json;

use crate::dsp::*;
use crate::pull::{agreed_on_data, content, error_code, get, start_pull};
use crate::transfer::transfer_state;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_agreement_ends_its_transfers_and_admits_no_new_one() {
    let pull = agreed_on_data(connector(), "", content(10_000)).await;
    let started = start_pull(&pull).await;
    let (status, _) = get(&started.endpoint(), &started.token()).await;
    assert_eq!(status, 200, "the pull works before the withdrawal");

    // Bad withdrawals change nothing.
    let path = format!("/api/v1/agreements/{}/withdraw", pull.agreement);
    let (status, body) = pull.provider.post(&path, &json!({"reason": "  "})).await;
    assert_eq!(
        (status, body["path"].as_str()),
        (400, Some("/reason")),
        "{body}"
    );
    let (status, body) = pull
        .provider
        .post(&path, &json!({"reason": "x".repeat(501)}))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = pull
        .provider
        .post(&path, &json!({"reason": "r", "extra": 1}))
        .await;
    assert_eq!(status, 400, "unknown fields are refused: {body}");
    let (status, body) = pull
        .provider
        .post(
            "/api/v1/agreements/urn:uuid:nothing/withdraw",
            &json!({"reason": "r"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = pull
        .hospital
        .post(&path, &json!({"reason": "the consumer cannot"}))
        .await;
    assert_eq!(status, 403, "only the provider withdraws: {body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("only the provider"));
    let (status, body) = pull.provider.post(&path, &json!(null)).await;
    assert_eq!(status, 400, "a body is required: {body}");

    // The withdrawal.
    let (status, withdrawn) = pull
        .provider
        .post(&path, &json!({"reason": "the ethics approval was revoked"}))
        .await;
    assert_eq!(status, 200, "{withdrawn}");
    assert_eq!(withdrawn["id"], pull.agreement.as_str());
    assert_eq!(
        withdrawn["withdrawn"]["reason"],
        "the ethics approval was revoked"
    );
    let (status, again) = pull.provider.post(&path, &json!({"reason": "twice"})).await;
    assert_eq!(status, 409, "{again}");

    // Its transfer ended on both sides, with the code and the reason.
    let provider_side = transfer_state(&pull.provider, &started.provider_pid, "TERMINATED").await;
    assert_eq!(
        provider_side["code"], "agreement-withdrawn",
        "{provider_side}"
    );
    let consumer_side = transfer_state(&pull.hospital, &started.consumer_pid, "TERMINATED").await;
    assert!(
        consumer_side
            .to_string()
            .contains("the ethics approval was revoked"),
        "the consumer is told why: {consumer_side}"
    );
    // Its access was closed with it: the token opens nothing.
    let (status, body) = get(&started.endpoint(), &started.token()).await;
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
    assert_eq!(error_code(&body), "invalid_token");

    // A new transfer under it is refused with the reason.
    let (status, refused) = pull
        .hospital
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": pull.agreement, "format": "HttpData-PULL", "wait_seconds": 10}),
        )
        .await;
    assert_eq!(
        (status, refused["state"].as_str()),
        (201, Some("TERMINATED")),
        "recorded, and ended by the provider's refusal: {refused}"
    );
    assert!(
        refused.to_string().contains("withdrawn by its provider"),
        "{refused}"
    );

    // Both sides still show the agreement; the provider's says it is withdrawn, and the
    // withdrawal is in its audit trail with the transfer it ended.
    let (_, kept) = pull
        .provider
        .get(&format!("/api/v1/agreements/{}", pull.agreement))
        .await;
    assert!(kept["withdrawn"]["at"].is_string(), "{kept}");
    let events = pull.provider.events().await;
    let event = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "agreement.withdrawn")
        .unwrap_or_else(|| panic!("no agreement.withdrawn event in {events}"))
        .clone();
    assert_eq!(event["details"]["consumer"], pull.hospital.did(), "{event}");
    assert_eq!(
        event["details"]["transfers_terminated"],
        json!([started.provider_pid]),
        "{event}"
    );
}
