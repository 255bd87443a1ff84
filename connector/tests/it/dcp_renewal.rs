//! A did:web organisation onboards by credential request, uses the credential in a negotiation
//! by the Decentralized Claims Protocol, and renews it before it expires without anyone asking.

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_connector::negotiation::PresentationMode;

use crate::dcp::{configure, join, wallet_types, ISSUANCE_POLICY};
use crate::dcp_holder::web_connector_configured;
use crate::dsp::{connector, eventually, negotiate, publish, trust};

fn memberships(held: &[Value]) -> Vec<Value> {
    held.iter()
        .filter(|c| c["types"] == json!(["DataSpaceMembershipCredential"]))
        .map(|c| {
            symbolon_identity::verify::peek_jwt_payload(c["credential"].as_str().unwrap()).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_did_web_member_onboards_negotiates_by_dcp_and_renews_before_expiry() {
    let (authority, provider) = (connector(), connector());
    let hospital = web_connector_configured(|options| {
        options.presentations = PresentationMode::Dcp;
        options.renewal_interval = Duration::from_millis(300);
    });
    trust(&authority, &authority).await;
    trust(&authority, &provider).await;
    configure(&authority, &[(hospital.did(), "Hospital")], "auto").await;
    let (status, body) = authority
        .put(
            "/api/v1/issuer/config",
            &json!({"approval": "auto", "policy": ISSUANCE_POLICY, "validity_seconds": 6}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let onboarding = join(&hospital, &authority, 20).await;
    assert_eq!(onboarding["status"], "ISSUED", "{onboarding}");
    let first = memberships(&wallet_types(&hospital).await);
    assert_eq!(first.len(), 1);
    let times = |c: &Value, name: &str| {
        chrono::DateTime::parse_from_rfc3339(c[name].as_str().unwrap()).unwrap()
    };
    assert_eq!(
        (times(&first[0], "validUntil") - times(&first[0], "validFrom")).num_seconds(),
        6
    );

    publish(&provider).await;
    let negotiation = negotiate(&hospital, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");

    // Two thirds into its life (4 s) the hospital asks again, and the authority issues anew.
    let renewed = eventually(Duration::from_secs(15), "a renewed membership", || async {
        let held = memberships(&wallet_types(&hospital).await);
        (held.len() == 2).then_some(held)
    })
    .await;
    assert_ne!(renewed[0]["id"], renewed[1]["id"]);
    let (_, requests) = hospital.get("/api/v1/onboarding").await;
    let requests = requests.as_array().unwrap();
    let old = requests
        .iter()
        .find(|r| r["holder_pid"] == onboarding["holder_pid"])
        .unwrap();
    let new_pid = old["renewed_by"].as_str().expect("the renewal is recorded");
    let new = requests
        .iter()
        .find(|r| r["holder_pid"] == new_pid)
        .unwrap();
    assert_eq!(new["status"], "ISSUED", "{new}");
}
