//! EHDS data permits (Art. 68): a health data access body (HDAB), trusted for
//! `DataPermitCredential` on the trust list, issues a permit by the DCP issuance flow; a health
//! offer that requires one admits its holder, and refuses a revoked or expired permit, a
//! dataset or a person outside the permit, another purpose, and a permit from an issuer not
//! trusted as an HDAB — each refusal naming the permit.

use serde_json::{json, Value};
use symbolon_identity::{issue_credential, Format};

use crate::dsp::{connector, hold, membership, Connector, POLICY};

/// Installs on `node` a trust list signed by `authority`: it for memberships, `hdab` for data
/// permits.
async fn trust_with_hdab(authority: &Connector, hdab: &Connector, node: &Connector) {
    let entries = [
        (
            authority.did().to_owned(),
            ["DataSpaceMembershipCredential".to_owned()].into(),
        ),
        (
            hdab.did().to_owned(),
            ["DataPermitCredential".to_owned()].into(),
        ),
    ]
    .into();
    let credential =
        symbolon_identity::TrustList::credential(&authority.identity.did, "hds", &entries).unwrap();
    let token = issue_credential(&authority.identity, credential, Format::Jwt)
        .await
        .unwrap();
    let (status, body) = node
        .put(
            "/api/v1/trust-list",
            &json!({"credential": token.to_text()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// Publishes the health offer `id` (requiring a permit) under the hospital-statistics policy.
async fn publish_permit_offer(provider: &Connector, id: &str) {
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": id, "title": "Ward statistics", "health": {"requires_permit": true},
                    "policy": POLICY.replace("ward-statistics", id)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// `consumer` asks for `offer` stating `purpose`; the outcome.
async fn ask(consumer: &Connector, provider: &Connector, offer: &str, purpose: &str) -> Value {
    let body = json!({"provider_url": provider.dsp(), "offer_id": offer, "wait_seconds": 20,
                      "purpose": purpose});
    let (status, negotiation) = consumer.post("/api/v1/negotiations", &body).await;
    assert_eq!(status, 200, "{negotiation}");
    negotiation
}

/// Asserts that `negotiation` was refused, every fragment of `why` in its reason.
fn assert_refused(negotiation: &Value, why: &[&str]) {
    assert_eq!(negotiation["state"], "TERMINATED", "{negotiation}");
    let reason = negotiation["reason"].to_string();
    for fragment in why {
        assert!(reason.contains(fragment), "`{fragment}` in {reason}");
    }
}

/// The subject of a permit `id` for `datasets`, `persons` (the first the principal
/// investigator).
fn permit_subject(holder: &str, id: &str, datasets: &[&str], persons: &[&str]) -> Value {
    let persons: Vec<Value> = persons
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"id": p, "principalInvestigator": i == 0}))
        .collect();
    json!({"id": holder, "permitId": id, "purpose": "scientific-research", "datasets": datasets,
           "authorisedPersons": persons, "outputMode": "anonymised-statistics",
           "minimumCellSize": 10})
}

/// `issuer` issues (over its VC-API, with a status entry) a permit with `subject`, valid from
/// `from` until `until`; the JWT.
async fn issue_permit(issuer: &Connector, subject: Value, from: &str, until: &str) -> String {
    let (status, issued) = issuer
        .post(
            "/credentials/issue",
            &json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
                "type": ["VerifiableCredential", "DataPermitCredential"],
                "validFrom": from, "validUntil": until,
                "credentialSubject": subject}, "options": {"credentialStatus": true}}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let id = issued["verifiableCredential"]["id"].as_str().unwrap();
    id.split_once(',').unwrap().1.to_owned()
}

/// An authority, an HDAB, a provider trusting both with the permit offer `ehds-ward`, and an
/// insurer holding its membership.
async fn space() -> (Connector, Connector, Connector, Connector) {
    let (authority, hdab, provider, insurer) = (connector(), connector(), connector(), connector());
    trust_with_hdab(&authority, &hdab, &provider).await;
    publish_permit_offer(&provider, "ehds-ward").await;
    let (credential, _) = membership(&authority, insurer.did(), "Insurer").await;
    hold(&insurer, &credential).await;
    (authority, hdab, provider, insurer)
}

const YEAR_AGO: &str = "2025-01-01T00:00:00Z";
const FAR: &str = "2999-01-01T00:00:00Z";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_permit_requested_from_the_hdab_admits_and_its_revocation_refuses() {
    let (_authority, hdab, provider, insurer) = space().await;
    publish_permit_offer(&provider, "ehds-other").await;

    // The HDAB's registry holds the permit it granted; the insurer asks for it by DCP.
    let (status, body) = hdab
        .put(
            "/api/v1/issuer/registry",
            &json!({"organisations": {insurer.did(): {
                "legalName": "Insurer B.V.", "registrationNumber": "KvK-3", "role": "Insurer",
                "dataSpaceId": "hds",
                "permits": [{"permitId": "HDAB-NL-2026-0042", "purpose": "scientific-research",
                             "datasets": ["ehds-ward"],
                             "authorisedPersons": [{"id": insurer.did(), "principalInvestigator": true}],
                             "outputMode": "anonymised-statistics", "minimumCellSize": 10,
                             "validFrom": YEAR_AGO, "validUntil": FAR}]}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = hdab
        .put(
            "/api/v1/issuer/config",
            &json!({"approval": "auto", "policy": r#"
policy "permits-for-data-users" {
  permit enroll on offer "DataPermitCredential" when holder.role == "Insurer"
}"#}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, onboarding) = insurer
        .post(
            "/api/v1/onboarding",
            &json!({"authority_url": hdab.url, "credential_type": "DataPermitCredential",
                    "wait_seconds": 20}),
        )
        .await;
    assert_eq!(status, 200, "{onboarding}");
    assert_eq!(onboarding["status"], "ISSUED", "{onboarding}");
    let (_, wallet) = insurer.get("/api/v1/credentials").await;
    let permit = wallet
        .as_array()
        .or_else(|| wallet["credentials"].as_array())
        .unwrap()
        .iter()
        .find(|c| c["types"] == json!(["DataPermitCredential"]))
        .unwrap_or_else(|| panic!("the permit is in the wallet: {wallet}"))
        .clone();
    let payload =
        symbolon_identity::verify::peek_jwt_payload(permit["credential"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        payload["credentialSubject"]["permitId"],
        "HDAB-NL-2026-0042"
    );
    assert_eq!(payload["validUntil"], FAR, "the permit's own period");
    assert!(payload["credentialStatus"].is_array() || payload["credentialStatus"].is_object());

    let admitted = ask(&insurer, &provider, "ehds-ward", "scientific-research").await;
    assert_eq!(admitted["state"], "FINALIZED", "{admitted}");

    let other = ask(&insurer, &provider, "ehds-other", "scientific-research").await;
    assert_refused(&other, &["ehds-art-68-data-permit", "permit.datasets"]);
    let education = ask(&insurer, &provider, "ehds-ward", "education").await;
    assert_refused(&education, &["ehds-art-68-data-permit", "permit.purpose"]);

    // The HDAB revokes the permit: the next request is refused, naming it.
    let (status, body) = hdab
        .post(
            "/credentials/status",
            &json!({"credentialId": payload["id"],
                    "credentialStatus": [{"type": "BitstringStatusListEntry", "statusPurpose": "revocation", "status": true}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let revoked = ask(&insurer, &provider, "ehds-ward", "scientific-research").await;
    assert_refused(
        &revoked,
        &[
            "ehds-art-68-data-permit-required",
            "data permit \\\"HDAB-NL-2026-0042\\\"",
            "revoked",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_permit_is_refused_naming_it() {
    let (_authority, hdab, provider, insurer) = space().await;
    // A permit that ends a moment after it is stored (a wallet refuses one that has ended),
    // asked after its end and the verifiers' leeway (60 s).
    let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
    let ended = issue_permit(
        &hdab,
        permit_subject(insurer.did(), "P-ENDED", &["ehds-ward"], &[insurer.did()]),
        YEAR_AGO,
        &symbolon_identity::credential::format_time(soon),
    )
    .await;
    hold(&insurer, &ended).await;
    tokio::time::sleep(std::time::Duration::from_secs(64)).await;
    let refused = ask(&insurer, &provider, "ehds-ward", "scientific-research").await;
    assert_refused(
        &refused,
        &[
            "ehds-art-68-data-permit-required",
            "data permit \\\"P-ENDED\\\"",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_person_outside_and_an_untrusted_issuer_are_refused() {
    let (authority, hdab, provider, _insurer) = space().await;

    // A current permit for the dataset, but the caller is not among its persons.
    let other = connector();
    let (credential, _) = membership(&authority, other.did(), "Insurer").await;
    hold(&other, &credential).await;
    let stranger = "did:web:researcher.example";
    let outside = issue_permit(
        &hdab,
        permit_subject(other.did(), "P-PERSONS", &["ehds-ward"], &[stranger]),
        YEAR_AGO,
        FAR,
    )
    .await;
    hold(&other, &outside).await;
    let refused = ask(&other, &provider, "ehds-ward", "scientific-research").await;
    assert_refused(
        &refused,
        &["ehds-art-68-data-permit", "permit.persons", stranger],
    );

    // A permit from a connector the trust list does not name as an HDAB: the verifier withholds
    // an untrusted document, so the refusal names the type and the issuer, not the permit id.
    let (rogue, third) = (connector(), connector());
    let (credential, _) = membership(&authority, third.did(), "Insurer").await;
    hold(&third, &credential).await;
    let forged = issue_permit(
        &rogue,
        permit_subject(third.did(), "P-ROGUE", &["ehds-ward"], &[third.did()]),
        YEAR_AGO,
        FAR,
    )
    .await;
    hold(&third, &forged).await;
    let refused = ask(&third, &provider, "ehds-ward", "scientific-research").await;
    assert_refused(
        &refused,
        &[
            "ehds-art-68-data-permit-required",
            "not trusted to issue `DataPermitCredential`",
        ],
    );

    // The membership authority is trusted, but not for permits.
    let fourth = connector();
    let (credential, _) = membership(&authority, fourth.did(), "Insurer").await;
    hold(&fourth, &credential).await;
    let wrong_type = issue_permit(
        &authority,
        permit_subject(fourth.did(), "P-AUTHORITY", &["ehds-ward"], &[fourth.did()]),
        YEAR_AGO,
        FAR,
    )
    .await;
    hold(&fourth, &wrong_type).await;
    let refused = ask(&fourth, &provider, "ehds-ward", "scientific-research").await;
    assert_refused(
        &refused,
        &[
            "ehds-art-68-data-permit-required",
            &format!(
                "`{}` is not trusted to issue `DataPermitCredential`",
                authority.did()
            ),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_permit_needs_a_status_entry_and_a_malformed_one_is_refused_with_its_place() {
    let hdab = connector();
    let subject = permit_subject(
        "did:web:insurer.example",
        "P-1",
        &["a"],
        &["did:web:pi.example"],
    );
    let (status, body) = hdab
        .post(
            "/credentials/issue",
            &json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
                "type": ["VerifiableCredential", "DataPermitCredential"],
                "validUntil": FAR, "credentialSubject": subject}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("credentialStatus"), "{body}");

    let mut bad = subject.clone();
    bad["outputMode"] = "raw-export".into();
    let (status, body) = hdab
        .post(
            "/credentials/issue",
            &json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
                "type": ["VerifiableCredential", "DataPermitCredential"],
                "validUntil": FAR, "credentialSubject": bad}, "options": {"credentialStatus": true}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("outputMode"), "{body}");

    // The registry refuses a permit that could not be issued, naming it and the claim.
    let (status, body) = hdab
        .put(
            "/api/v1/issuer/registry",
            &json!({"organisations": {"did:web:insurer.example": {
                "legalName": "Insurer B.V.", "registrationNumber": "KvK-3", "role": "Insurer",
                "permits": [{"permitId": "P-9", "purpose": "marketing", "datasets": ["a"],
                             "authorisedPersons": [{"id": "did:web:pi.example", "principalInvestigator": true}],
                             "outputMode": "secure-processing", "minimumCellSize": 10,
                             "validFrom": YEAR_AGO, "validUntil": FAR}]}}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body.to_string();
    assert!(
        message.contains("permits/0") && message.contains("P-9") && message.contains("purpose"),
        "{message}"
    );
}

/// The policy of the record-level dataset `ehds-rows`.
const ROWS_POLICY: &str = r#"
policy "ward-rows" {
  permit use on offer "ehds-rows"
  when holder.role in ["Insurer"] and holder.member_of == "hds"
  obligation delete_after { days = 30 }
}
"#;

/// The subject of a permit for `ehds-rows` held by `holder`, with output mode `mode`.
fn rows_permit(holder: &str, id: &str, mode: &str) -> Value {
    let mut subject = permit_subject(holder, id, &["ehds-rows"], &[holder]);
    subject["outputMode"] = mode.into();
    subject
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_anonymised_statistics_permit_admits_no_record_level_transfer() {
    let (authority, hdab, provider, insurer) = space().await;
    let data = provider._dir.path("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("rows.csv"), "ward,days\nA,3\nB,5\n").unwrap();
    let (status, body) = provider
        .post(
            "/api/v1/offers",
            &json!({"id": "ehds-rows", "title": "Ward stays", "source": {"file": "rows.csv"},
                    "health": {"requires_permit": true},
                    "policy": ROWS_POLICY}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // Under a permit for anonymised statistics (Art. 69) the agreement stands, but its rows do
    // not leave: the transfer request is refused, naming the permit and the article.
    let statistics = issue_permit(
        &hdab,
        rows_permit(insurer.did(), "P-STATS", "anonymised-statistics"),
        YEAR_AGO,
        FAR,
    )
    .await;
    hold(&insurer, &statistics).await;
    let agreed = ask(&insurer, &provider, "ehds-rows", "scientific-research").await;
    assert_eq!(agreed["state"], "FINALIZED", "{agreed}");
    let (status, refused) = insurer
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": agreed["agreement_id"], "format": "HttpData-PULL",
                    "wait_seconds": 10}),
        )
        .await;
    // The provider's refusal ends the consumer's process (or the request itself), with the
    // reason; no data address.
    let text = refused.to_string();
    assert!(
        status >= 400 || refused["state"] == "TERMINATED",
        "{status}: {refused}"
    );
    assert!(
        refused.get("data_address").is_none_or(Value::is_null),
        "{refused}"
    );
    for fragment in [
        "P-STATS",
        "anonymised-statistics",
        "Art. 69",
        "record-level",
    ] {
        assert!(text.contains(fragment), "`{fragment}` in {text}");
    }
    let events = provider.events().await;
    let recorded = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "transfer.refused")
        .unwrap_or_else(|| panic!("the refusal is audited: {events}"));
    let reason = recorded["details"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("Art. 69") && reason.contains("P-STATS"),
        "{recorded}"
    );

    // Under a permit for secure processing the same dataset's rows are transferred.
    let other = connector();
    let (credential, _) = membership(&authority, other.did(), "Insurer").await;
    hold(&other, &credential).await;
    let secure = issue_permit(
        &hdab,
        rows_permit(other.did(), "P-SECURE", "secure-processing"),
        YEAR_AGO,
        FAR,
    )
    .await;
    hold(&other, &secure).await;
    let agreed = ask(&other, &provider, "ehds-rows", "scientific-research").await;
    assert_eq!(agreed["state"], "FINALIZED", "{agreed}");
    let (status, transfer) = other
        .post(
            "/api/v1/transfers",
            &json!({"agreement_id": agreed["agreement_id"], "format": "HttpData-PULL",
                    "wait_seconds": 10}),
        )
        .await;
    assert_eq!(status, 201, "{transfer}");
    assert_eq!(transfer["state"], "STARTED", "{transfer}");
}
