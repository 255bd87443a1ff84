//! Re-delivery of issued credentials: a holder whose Storage API is down when the authority
//! issues gets the credential once it comes up (the authority tries again with backoff); one
//! that stays down past the last attempt fetches it itself. Every attempt is on record.

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_connector::dcp::redelivery::Redelivery;

use crate::dcp::{configure, join, wallet_types};
use crate::dsp::{connector_configured, eventually, trust, Connector};

/// A free port on 127.0.0.1 (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Forwards every connection to `port` on 127.0.0.1 to `target` (the holder's real address),
/// from now on: the holder's public address coming up.
async fn forward(port: u16, target: String) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
}

/// A holder whose public address (where the issuer delivers) is `127.0.0.1:<port>`, on which
/// nothing listens yet.
fn holder_behind(port: u16) -> Connector {
    connector_configured(|options| options.public_url = Some(format!("http://127.0.0.1:{port}")))
}

/// The authority's record of `holder`'s request.
async fn record_of(authority: &Connector, holder: &Connector) -> Value {
    let (_, requests) = authority.get("/api/v1/issuer/requests").await;
    requests
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["holder"] == holder.did())
        .cloned()
        .unwrap()
}

fn memberships(held: &[Value]) -> usize {
    held.iter()
        .filter(|c| c["types"] == json!(["DataSpaceMembershipCredential"]))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_down_at_issuance_gets_its_credential_redelivered_or_fetches_it() {
    let authority = connector_configured(|options| {
        options.redelivery = Redelivery {
            interval: Duration::from_millis(100),
            backoff: Duration::from_millis(300),
            max_attempts: 4,
        };
    });
    let (port_a, port_b) = (free_port(), free_port());
    let (late, absent) = (holder_behind(port_a), holder_behind(port_b));
    trust(&authority, &authority).await;
    configure(
        &authority,
        &[(late.did(), "Hospital"), (absent.did(), "Hospital")],
        "auto",
    )
    .await;

    // Issued at once; the deliveries fail (nothing listens at the holders' addresses).
    let late_request = join(&late, &authority, 0).await;
    let absent_request = join(&absent, &authority, 0).await;
    let failed = eventually(Duration::from_secs(10), "a failed delivery", || async {
        let record = record_of(&authority, &late).await;
        (record["delivery_attempts"].as_u64() >= Some(1)).then_some(record)
    })
    .await;
    assert_eq!(failed["status"], "ISSUED", "{failed}");
    assert!(
        failed["delivery"]
            .as_str()
            .unwrap()
            .starts_with("not delivered (attempt"),
        "{failed}"
    );
    assert!(failed["next_delivery"].is_string(), "{failed}");
    assert_eq!(memberships(&wallet_types(&late).await), 0);

    // The late holder's address comes up: the next attempt delivers.
    forward(port_a, late.url.trim_start_matches("http://").to_owned()).await;
    let delivered = eventually(Duration::from_secs(10), "the re-delivery", || async {
        let record = record_of(&authority, &late).await;
        (record["delivery"] == "delivered").then_some(record)
    })
    .await;
    assert!(delivered["next_delivery"].is_null(), "{delivered}");
    assert_eq!(memberships(&wallet_types(&late).await), 1);
    let pid = late_request["holder_pid"].as_str().unwrap();
    let (_, onboarding) = late.get(&format!("/api/v1/onboarding/{pid}")).await;
    assert_eq!(onboarding["status"], "ISSUED", "{onboarding}");

    // The absent holder: the attempts run out, and the record says so.
    let spent = eventually(Duration::from_secs(15), "the attempts spent", || async {
        let record = record_of(&authority, &absent).await;
        record["delivery"]
            .as_str()
            .is_some_and(|d| d.starts_with("not delivered after 4 attempts"))
            .then_some(record)
    })
    .await;
    assert!(spent["next_delivery"].is_null(), "{spent}");
    assert!(
        spent["delivery"]
            .as_str()
            .unwrap()
            .contains("the holder can fetch it"),
        "{spent}"
    );
    // It fetches what was issued; only the requester may.
    let pid = absent_request["holder_pid"].as_str().unwrap();
    let (status, fetched) = absent
        .post(&format!("/api/v1/onboarding/{pid}/fetch"), &json!({}))
        .await;
    assert_eq!(status, 200, "{fetched}");
    assert_eq!(fetched["status"], "ISSUED", "{fetched}");
    assert_eq!(memberships(&wallet_types(&absent).await), 1);
    let issuer_pid = spent["issuer_pid"].as_str().unwrap();
    let url = format!(
        "{}/dcp/issuer/requests/{}/credentials",
        authority.url,
        percent_encoding::utf8_percent_encode(issuer_pid, percent_encoding::NON_ALPHANUMERIC)
    );
    let stranger = symbolon_identity::Identity::generate(symbolon_identity::KeyAlgorithm::Ed25519);
    let token = symbolon_connector::negotiation::auth::bearer(&stranger, authority.did());
    let response = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // Every attempt is on the authority's record: four failures and the fetch for the
    // absent holder; failures and the delivery for the late one.
    let events = authority.events().await;
    let deliveries = |holder: &Connector| -> Vec<Value> {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "issuance.decided" && e["subject"] == holder.did())
            .filter(|e| e["details"]["delivery"].is_string())
            .map(|e| e["details"].clone())
            .collect()
    };
    let absent_trail = deliveries(&absent);
    assert_eq!(absent_trail.len(), 5, "{absent_trail:?}");
    assert_eq!(absent_trail[3]["attempt"], 4);
    assert_eq!(absent_trail[4]["delivery"], "fetched by the holder");
    let late_trail = deliveries(&late);
    assert_eq!(
        late_trail.last().unwrap()["delivery"],
        "delivered",
        "{late_trail:?}"
    );
    assert!(late_trail.len() >= 2, "{late_trail:?}");
}
