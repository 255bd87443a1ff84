//! Onboarding by credential request, end to end: a did:web organisation onboards, uses the
//! credential in a negotiation by the Decentralized Claims Protocol, and renews it before it
//! expires without anyone asking; a trial sponsor onboards its sites the same way.

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

    // Two thirds into its life (4 s) the hospital asks again, and the authority issues anew;
    // once the successor is stored, the renewed one leaves the wallet.
    let first_id = first[0]["id"].clone();
    let renewed = eventually(Duration::from_secs(15), "a renewed membership", || async {
        let held = memberships(&wallet_types(&hospital).await);
        (held.len() == 1 && held[0]["id"] != first_id).then_some(held)
    })
    .await;
    assert_ne!(renewed[0]["id"], first_id);
    let old_pid = onboarding["holder_pid"].clone();
    let new_pid = eventually(
        Duration::from_secs(5),
        "the renewal marked ISSUED",
        || async {
            let (_, requests) = hospital.get("/api/v1/onboarding").await;
            let requests = requests.as_array()?.clone();
            let old = requests.iter().find(|r| r["holder_pid"] == old_pid)?;
            let new_pid = old["renewed_by"].as_str()?;
            let new = requests.iter().find(|r| r["holder_pid"] == new_pid)?;
            (new["status"] == "ISSUED").then(|| new_pid.to_owned())
        },
    )
    .await;
    // The removal is on record: which request, renewed by which, what left the wallet.
    let events = hospital.events().await;
    let superseded: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "issuance.received" && e["outcome"] == "superseded")
        .collect();
    assert_eq!(superseded.len(), 1, "{superseded:?}");
    assert_eq!(superseded[0]["details"]["holderPid"], old_pid);
    assert_eq!(superseded[0]["details"]["renewedBy"], new_pid.as_str());
    assert_eq!(
        superseded[0]["details"]["credentialTypes"],
        json!(["DataSpaceMembershipCredential"])
    );
    assert_eq!(
        superseded[0]["details"]["removed"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// A trial sponsor's connector issues `TrialSiteCredential`s to its sites on request; a
/// provider trusting the sponsor for them admits a site by its trial, and an organisation the
/// sponsor never registered is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trial_sponsor_onboards_its_sites_by_credential_request() {
    let (authority, sponsor, provider, site, stranger) = (
        connector(),
        connector(),
        connector(),
        connector(),
        connector(),
    );
    // The data space's trust list: the authority for memberships, the sponsor for its sites.
    let entries = [
        (
            authority.did().to_owned(),
            ["DataSpaceMembershipCredential".to_owned()].into(),
        ),
        (
            sponsor.did().to_owned(),
            ["TrialSiteCredential".to_owned()].into(),
        ),
    ]
    .into();
    let list =
        symbolon_identity::TrustList::credential(&authority.identity.did, "hds", &entries).unwrap();
    let list = symbolon_identity::issue_credential(
        &authority.identity,
        list,
        symbolon_identity::Format::Jwt,
    )
    .await
    .unwrap()
    .to_text();
    for node in [&sponsor, &provider] {
        let (status, body) = node
            .put("/api/v1/trust-list", &json!({"credential": list}))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = sponsor
        .put(
            "/api/v1/issuer/registry",
            &json!({"organisations": {site.did(): {"legalName": "Site 1 B.V.",
                "registrationNumber": "KvK-11", "role": "Hospital", "trialId": "CARDIO-7",
                "siteId": "site-1"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let policy = r#"policy "sites" { permit enroll on offer "TrialSiteCredential" when holder.role == "Hospital" }"#;
    let (status, body) = sponsor
        .put(
            "/api/v1/issuer/config",
            &json!({"approval": "auto", "policy": policy}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let body = json!({"authority_url": sponsor.url, "credential_type": "TrialSiteCredential",
                      "wait_seconds": 20});
    let (status, onboarding) = site.post("/api/v1/onboarding", &body).await;
    assert_eq!(status, 200, "{onboarding}");
    assert_eq!(onboarding["status"], "ISSUED", "{onboarding}");
    let (status, refused) = stranger.post("/api/v1/onboarding", &body).await;
    assert_eq!(status, 502, "the sponsor refused: {refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("is not in the issuer's registry"),
        "{refused}"
    );

    let (membership, _) = crate::dsp::membership(&authority, site.did(), "Hospital").await;
    crate::dsp::hold(&site, &membership).await;
    let trial_policy = r#"policy "trial" { permit use on offer "cardio-data" when holder.trial_id == "CARDIO-7" }"#;
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "cardio-data", "title": "CARDIO-7 data", "policy": trial_policy}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, negotiation) = site
        .post(
            "/api/v1/negotiations",
            &json!({"provider_url": provider.dsp(), "offer_id": "cardio-data", "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{negotiation}");
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
}

/// `join` takes the authority's DID: its DID document names its issuer service. A DID whose
/// document names none is refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_authority_can_be_named_by_its_did() {
    let authority = web_connector_configured(|_| {});
    let hospital = connector();
    trust(&authority, &authority).await;
    configure(&authority, &[(hospital.did(), "Hospital")], "auto").await;
    let (status, onboarding) = hospital
        .post(
            "/api/v1/onboarding",
            &json!({"authority_url": authority.did(), "credential_type": "DataSpaceMembershipCredential",
                    "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{onboarding}");
    assert_eq!(onboarding["status"], "ISSUED", "{onboarding}");
    let (status, refused) = hospital
        .post(
            "/api/v1/onboarding",
            &json!({"authority_url": hospital.did(), "credential_type": "DataSpaceMembershipCredential"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("IssuerService"),
        "{refused}"
    );
}
