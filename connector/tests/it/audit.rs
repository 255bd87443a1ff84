//! The audit trail end to end: two connectors negotiate, each witnesses the other's tree head,
//! their bundles verify alone and together, tampering is located, and only the admin or an
//! auditor may read the trail.

use serde_json::{json, Value};
use symbolon_audit::{verify_bundle, verify_pair, AuditBundle, FindingKind};
use symbolon_identity::{issue_credential, Format, Identity, KeyAlgorithm};

use crate::dsp::*;

async fn bundle(node: &Connector) -> AuditBundle {
    let (status, bundle) = node.get("/api/v1/audit/export").await;
    assert_eq!(status, 200, "{bundle}");
    serde_json::from_value(bundle).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partners_witness_each_other_and_their_logs_verify_alone_and_together() {
    let (authority, provider, hospital) = provider_and_member_hospital().await;
    let negotiation = negotiate(&hospital, &provider).await;
    assert_eq!(negotiation["state"], "FINALIZED", "{negotiation}");
    // The consumer witnesses the provider's head when FINALIZED arrives; wait for it.
    eventually(
        std::time::Duration::from_secs(5),
        "the hospital to record the provider's tree head",
        || async {
            let events = hospital.events().await;
            events
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["type"] == "witness.tree_head")
                .then_some(())
        },
    )
    .await;

    let (a, b) = (bundle(&provider).await, bundle(&hospital).await);
    for bundle in [&a, &b] {
        let report = verify_bundle(bundle);
        assert!(report.is_valid(), "{report}");
        assert!(bundle
            .entries
            .iter()
            .any(|e| e["event"]["type"] == "witness.tree_head"));
    }
    let pair = verify_pair(&a, &b);
    assert!(pair.is_valid(), "{pair}");
    // The authority's log holds the issuance, with the credential for offline checking.
    let issued = bundle(&authority).await;
    assert!(issued
        .entries
        .iter()
        .any(|e| e["event"]["type"] == "credential.issued"
            && e["event"]["details"]["credential"].is_string()));
    assert!(verify_bundle(&issued).is_valid());

    // One changed entry is found, by index.
    let mut tampered = a.clone();
    let index = tampered
        .entries
        .iter()
        .position(|e| e["event"]["type"] == "policy.decision")
        .unwrap();
    tampered.entries[index]["event"]["outcome"] = "deny".into();
    let report = verify_bundle(&tampered);
    assert!(!report.is_valid());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.index == Some(index as u64)),
        "{report}"
    );
    let _ = FindingKind::Unsigned;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_is_readable_by_the_admin_and_by_auditors_only() {
    let (authority, node) = (connector(), connector());
    trust(&authority, &node).await;
    publish(&node).await;
    let (status, head) = node.get("/api/v1/audit/head").await;
    assert_eq!(status, 200, "{head}");
    let size = head["head"]["tree_size"].as_u64().unwrap();
    assert!(size >= 1);
    let (status, entries) = node
        .get(&format!("/api/v1/audit/entries?from=0&to={size}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(entries["entries"].as_array().unwrap().len() as u64, size);
    let (status, proof) = node.get("/api/v1/audit/proof/inclusion?index=0").await;
    assert_eq!(status, 200, "{proof}");
    let proof: symbolon_audit::InclusionProof = serde_json::from_value(proof).unwrap();
    proof.verify().unwrap();
    let (status, _) = node
        .get(&format!("/api/v1/audit/proof/consistency?from=1&to={size}"))
        .await;
    assert_eq!(status, 200);
    let (status, _) = node.get("/api/v1/audit/proof/inclusion?index=999999").await;
    assert_eq!(status, 400);

    let head_url = format!("{}/api/v1/audit/head", node.url);
    assert_eq!(http().get(&head_url).send().await.unwrap().status(), 401);
    // An auditor with an AuditorCredential from the trusted authority may read.
    let auditor = Identity::generate(KeyAlgorithm::Ed25519);
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
        "type": ["VerifiableCredential", "AuditorCredential"],
        "issuer": authority.did(),
        "credentialSubject": {"id": auditor.did.as_str()}
    });
    let credential = issue_credential(&authority.identity, credential, Format::Jwt)
        .await
        .unwrap()
        .to_text();
    let response = http()
        .get(&head_url)
        .bearer_auth(token(&auditor, node.did(), &[&credential]).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["jws"].is_string());
    // A member without an AuditorCredential may not.
    let member = Identity::generate(KeyAlgorithm::Ed25519);
    let (membership, _) = membership(&authority, member.did.as_str(), "Hospital").await;
    let response = http()
        .get(&head_url)
        .bearer_auth(token(&member, node.did(), &[&membership]).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_signs_a_tree_head_soon_after_new_entries() {
    use std::time::Duration;
    use symbolon_connector::datadir::DataDir;
    use symbolon_connector::server::{start, ServeOptions};

    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::new(tmp.path());
    let identity = dir.init(KeyAlgorithm::Ed25519, None).unwrap();
    let options = ServeOptions {
        head_interval: Duration::from_millis(50),
        allow_private_callbacks: true,
        ..ServeOptions::new("127.0.0.1:0".parse().unwrap())
    };
    let running = start(dir, options).unwrap();
    let log = running.connector.audit().log().clone();
    tokio::spawn(running.server);
    for round in 0..2u64 {
        let event = symbolon_audit::AuditEvent::new(
            "policy.decision",
            identity.did.as_str(),
            &format!("offer-{round}"),
            "permit",
        );
        let appended = log.append(&event).unwrap() + 1;
        let what = format!("a tree head over {appended} entries");
        let head = eventually(Duration::from_secs(10), &what, || async {
            log.head().filter(|h| h.head.tree_size >= appended)
        })
        .await;
        assert_eq!(head.head.log_id, identity.did.as_str());
        assert_eq!(head.head.root_hash, log.root().unwrap());
    }
    assert!(log.heads().unwrap().len() >= 2);
}

// Before: a credential whose audit entry exceeded the log's entry cap was issued (201) and its
// entry was only logged as failed. An action whose event cannot be recorded is not taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuance_that_cannot_be_recorded_is_refused() {
    let authority = connector();
    let mut document = membership_document(
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "Hospital",
    );
    // About 900 kB of claims: the request fits the 1 MiB body limit, the signed credential
    // (base64) in the audit entry does not fit the 1 MiB entry cap.
    document["credentialSubject"]["notes"] = json!("n".repeat(900 * 1024));
    let (status, answer) = authority
        .post("/credentials/issue", &json!({ "credential": document }))
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("cannot be recorded in the audit trail"),
        "{answer}"
    );
    let events = authority.events().await;
    assert!(
        !events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "credential.issued"),
        "{events}"
    );
}

/// `symbolon audit fetch` with `args`, run off the runtime.
async fn cli(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::cli::symbolon(&args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_fetches_a_trail_from_the_cli_with_its_credential() {
    let (authority, organisation, auditor) = (connector(), connector(), connector());
    trust(&authority, &organisation).await;
    publish(&organisation).await;
    let fetch = |from: &Connector, did: &str, out: &std::path::Path| {
        vec![
            "audit".to_owned(),
            "fetch".to_owned(),
            "--data-dir".to_owned(),
            from._dir.root().display().to_string(),
            "--from".to_owned(),
            organisation.url.clone(),
            "--did".to_owned(),
            did.to_owned(),
            "--out".to_owned(),
            out.display().to_string(),
        ]
    };
    let out = auditor._tmp.path().join("trail.json");
    // Without an AuditorCredential in the wallet: told what to do.
    let output = cli(fetch(&auditor, organisation.did(), &out)).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no AuditorCredential"), "{stderr}");

    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/symbolon/v1"],
        "type": ["VerifiableCredential", "AuditorCredential"],
        "issuer": authority.did(),
        "credentialSubject": {"id": auditor.did()}
    });
    let credential = issue_credential(&authority.identity, credential, Format::Jwt)
        .await
        .unwrap()
        .to_text();
    hold(&auditor, &credential).await;
    // The wrong audience is refused, and says what to check.
    let output = cli(fetch(&auditor, authority.did(), &out)).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("refused the AuditorCredential"), "{stderr}");
    assert!(!out.exists());

    // With it: the bundle is written and verified.
    let output = cli(fetch(&auditor, organisation.did(), &out)).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("VALID"), "{stdout}");
    let bundle = AuditBundle::from_path(&out).unwrap();
    assert_eq!(bundle.log_id, organisation.did());
    assert!(verify_bundle(&bundle).is_valid());
    // The organisation recorded the auditor's access.
    let events = organisation.events().await;
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "audit.access" && e["outcome"] == "ok"),
        "{events}"
    );
}
