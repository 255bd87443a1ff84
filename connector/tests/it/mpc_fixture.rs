//! Connectors on the peer network for MPC sessions: an authority, an analyst (a statistics
//! bureau) and data holders, each holder with its data bound to a computation offer and an
//! agreement with the analyst.

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_p2p::NodeHandle as Node;

use crate::dsp::*;
use crate::peers::peer;

/// A holder to set up: its CSV, the binding of its offer, the offer's policy and decision.
pub struct Holder<'a> {
    pub role: &'a str,
    pub csv: String,
    pub binding: Value,
    pub policy: &'a str,
    pub decision: &'a str,
}

pub struct Study {
    pub authority: Connector,
    pub analyst: Connector,
    pub analyst_membership: String,
    pub holders: Vec<Connector>,
    pub holder_nodes: Vec<Node>,
    pub agreements: Vec<String>,
    pub bootstrap: Vec<String>,
}

/// A policy letting a statistics bureau run `programs` with groups of at least `k` on offer
/// `offer`.
pub fn policy(offer: &str, programs: &str, k: u64) -> String {
    format!(
        r#"
policy "statistics" {{
  permit join_computation on offer "{offer}"
  when holder.role == "StatisticsBureau" and holder.member_of == "hds"
   and session.program in [{programs}] and session.min_group_size >= {k}
}}
"#
    )
}

/// Sets up the analyst and `holders` (offer id `study`), all authenticated to each other, and
/// the analyst's agreement with each.
pub async fn study(holders: Vec<Holder<'_>>) -> Study {
    study_with(holders, None).await
}

/// The data permit of a study run under the EHDS profile: the holders' offers are health
/// offers requiring a permit, the authority is also the health data access body (trusted for
/// `DataPermitCredential`), and the analyst holds its permit for `purpose`, with output mode
/// `anonymised-statistics` and minimum cell size 10, and states that purpose when it agrees.
pub struct StudyPermit<'a> {
    /// The permit's id.
    pub id: &'a str,
    /// Its Art. 53(1) purpose.
    pub purpose: &'a str,
}

/// As [`study`], under `permit` when given.
pub async fn study_with(holders: Vec<Holder<'_>>, permit: Option<StudyPermit<'_>>) -> Study {
    let authority = connector();
    let (analyst, bootstrap, analyst_node) = peer(&authority, "StatisticsBureau", vec![]).await;
    let analyst_membership = {
        let (status, held) = analyst.get("/api/v1/credentials").await;
        assert_eq!(status, 200, "{held}");
        held[0]["id"].as_str().unwrap_or_default().to_owned()
    };
    let mut nodes = Vec::new();
    let mut connectors = Vec::new();
    for holder in &holders {
        let (node, _, handle) = peer(&authority, holder.role, bootstrap.clone()).await;
        let data = node._dir.path("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("input.csv"), &holder.csv).unwrap();
        let mut offer = json!({"id": "study", "title": "Study data", "kind": "computation",
                               "policy": holder.policy, "binding": holder.binding,
                               "decision": holder.decision});
        if permit.is_some() {
            offer["health"] = json!({"requires_permit": true});
            trust_as_hdab(&authority, &node).await;
        }
        let (status, body) = node.post("/api/v1/offers", &offer).await;
        assert_eq!(status, 201, "{body}");
        connectors.push(node);
        nodes.push(handle);
    }
    let everyone = nodes.len() + 1;
    for node in nodes.iter().chain(std::iter::once(&analyst_node)) {
        assert!(
            node.wait_until(Duration::from_secs(10), |n| {
                n.peers().iter().filter(|p| p.authenticated).count() >= everyone - 1
            })
            .await,
            "{:#?}",
            node.peers()
        );
    }
    if permit.is_some() {
        // Every `peer` above installed (and announced) a trust list of its own, dated when it was
        // made; a holder whose HDAB list is older takes a later one from the network, and one of
        // the same millisecond is refused as not newer. Installed now, after them all, the HDAB list
        // is the newest every holder has seen, whatever the order announcements arrive in.
        for node in &connectors {
            trust_as_hdab(&authority, node).await;
        }
    }
    let purpose = match &permit {
        Some(permit) => {
            let granted = issue_study_permit(&authority, analyst.did(), permit).await;
            // The analyst's wallet keeps only credentials its trust list admits.
            trust_as_hdab(&authority, &analyst).await;
            hold(&analyst, &granted).await;
            Some(permit.purpose)
        }
        None => None,
    };
    let mut agreements = Vec::new();
    for (holder, spec) in connectors.iter().zip(&holders) {
        agreements.push(agree_for(&analyst, holder, spec.decision, purpose).await);
    }
    Study {
        authority,
        analyst,
        analyst_membership,
        holders: connectors,
        holder_nodes: nodes,
        agreements,
        bootstrap,
    }
}

/// Installs on `node` a trust list from `authority` trusting it for memberships and, as a
/// health data access body, for data permits.
async fn trust_as_hdab(authority: &Connector, node: &Connector) {
    let entries = [(
        authority.did().to_owned(),
        [
            "DataSpaceMembershipCredential".to_owned(),
            "DataPermitCredential".to_owned(),
        ]
        .into(),
    )]
    .into();
    let credential =
        symbolon_identity::TrustList::credential(&authority.identity.did, "hds", &entries).unwrap();
    let token = symbolon_identity::issue_credential(
        &authority.identity,
        credential,
        symbolon_identity::Format::Jwt,
    )
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

/// `hdab` issues (over its VC-API, with a status entry) the study's data permit to `analyst`
/// for the holders' offer `study`; the JWT.
async fn issue_study_permit(hdab: &Connector, analyst: &str, permit: &StudyPermit<'_>) -> String {
    let (status, issued) = hdab
        .post(
            "/credentials/issue",
            &json!({"credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
                "type": ["VerifiableCredential", "DataPermitCredential"],
                "validFrom": "2025-01-01T00:00:00Z", "validUntil": "2999-01-01T00:00:00Z",
                "credentialSubject": {
                    "id": analyst, "permitId": permit.id, "purpose": permit.purpose,
                    "datasets": ["study"],
                    "authorisedPersons": [{"id": analyst, "principalInvestigator": true}],
                    "outputMode": "anonymised-statistics", "minimumCellSize": 10}},
                    "options": {"credentialStatus": true}}),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let id = issued["verifiableCredential"]["id"].as_str().unwrap();
    id.split_once(',').unwrap().1.to_owned()
}

/// The analyst's agreement with `holder` on offer `study`, stating `purpose` when given.
pub async fn agree_for(
    analyst: &Connector,
    holder: &Connector,
    decision: &str,
    purpose: Option<&str>,
) -> String {
    let wait = if decision == "manual" { 0 } else { 20 };
    let mut request =
        json!({"provider_url": holder.dsp(), "offer_id": "study", "wait_seconds": wait});
    if let Some(purpose) = purpose {
        request["purpose"] = purpose.into();
    }
    let (status, negotiation) = analyst.post("/api/v1/negotiations", &request).await;
    assert_eq!(status, 200, "{negotiation}");
    if decision == "manual" {
        // The operator agrees to the recommendation, then the analyst verifies.
        let consumer = negotiation["consumer_pid"].as_str().unwrap().to_owned();
        let requested = state_of(analyst, &consumer, "REQUESTED").await;
        let pid = requested["provider_pid"].as_str().unwrap().to_owned();
        state_of(holder, &pid, "REQUESTED").await;
        // The operator agrees once the policy's recommendation is there.
        eventually(
            Duration::from_secs(10),
            "the holder's recommendation",
            || async {
                let (status, agreed) = holder
                    .post(&format!("/api/v1/negotiations/{pid}/agree"), &json!({}))
                    .await;
                (status == 200).then_some(agreed)
            },
        )
        .await;
        let done = state_of(analyst, &consumer, "FINALIZED").await;
        return done["agreement_id"].as_str().unwrap().to_owned();
    }
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    negotiation["agreement_id"].as_str().unwrap().to_owned()
}

/// Starts a session as the analyst; returns the answer (201 expected).
pub async fn start_session(study: &Study, body: Value) -> Value {
    let (status, session) = study.analyst.post("/api/v1/sessions", &body).await;
    assert_eq!(status, 201, "{session}");
    session
}

/// Waits until `node`'s session `id` satisfies `check`.
pub async fn session_until(
    node: &Connector,
    id: &str,
    secs: u64,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (status, view) = node.get(&format!("/api/v1/sessions/{id}")).await;
        if status == 200 && check(&view) {
            return view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "session {id} did not reach the expected state in {secs}s: {status} {view:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A one-column CSV.
pub fn column_csv(name: &str, values: &[i64]) -> String {
    let mut csv = format!("{name}\n");
    for v in values {
        csv.push_str(&format!("{v}\n"));
    }
    csv
}
