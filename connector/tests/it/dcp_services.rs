//! The Issuer Service's and the Storage API's own checks (Decentralized Claims Protocol 1.0):
//! the Issuer Service authenticates the requester, validates each message against the
//! specification's schemas and answers only the requester; the Storage API refuses strangers and
//! credentials issued to someone else.

use serde_json::{json, Value};
use std::time::Duration;
use symbolon_connector::dcp::messages;

use symbolon_identity::{Identity, KeyAlgorithm};

use crate::dcp::{configure, issuer_url, join, send, wallet_types, DcpSchemas};
use crate::dsp::{connector, eventually, membership, token, trust, Recorder};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_issuer_service_authenticates_validates_and_answers_only_the_requester() {
    let schemas = DcpSchemas::load();
    let authority = connector();
    trust(&authority, &authority).await;
    let holder = Identity::generate(KeyAlgorithm::Ed25519);
    let other = Identity::generate(KeyAlgorithm::Ed25519);
    configure(&authority, &[(holder.did.as_str(), "Hospital")], "manual").await;
    let service = Recorder::start().await;
    let base = issuer_url(&authority);

    let (status, _, metadata) = send(&format!("{base}/metadata"), None, None).await;
    assert_eq!(status, 200, "{metadata}");
    schemas.check("issuer-metadata-schema.json", &metadata);
    assert_eq!(metadata["issuer"], authority.did());

    let request = messages::request_message(
        "holder-1",
        "DataSpaceMembershipCredential",
        &format!("{}/dcp/holder", service.url),
    );
    schemas.check("credential-request-message-schema.json", &request);
    let url = format!("{base}/credentials");

    // Tokens: missing, for someone else, replayed.
    let (status, _, error) = send(&url, None, Some(&request)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (401, Some("unauthorized"))
    );
    assert!(error["message"].as_str().unwrap().contains("missing_token"));
    let wrong = token(&holder, "did:web:elsewhere.example", &[]).await;
    let (status, _, error) = send(&url, Some(&wrong), Some(&request)).await;
    assert_eq!(status, 401);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("wrong_audience"));
    let genuine = token(&holder, authority.did(), &[]).await;
    let theirs = token(&other, authority.did(), &[]).await;
    let forged = format!(
        "{}.{}",
        genuine.rsplit_once('.').unwrap().0,
        theirs.rsplit_once('.').unwrap().1
    );
    let (status, _, error) = send(&url, Some(&forged), Some(&request)).await;
    assert_eq!(status, 401);
    assert!(
        error["message"].as_str().unwrap().contains("bad_signature"),
        "{error}"
    );
    let bearer = token(&holder, authority.did(), &[]).await;
    let (status, location, received) = send(&url, Some(&bearer), Some(&request)).await;
    assert_eq!(status, 201, "{received}");
    schemas.check("credential-status-schema.json", &received);
    assert_eq!(received["status"], "RECEIVED");
    let (status, _, error) = send(&url, Some(&bearer), Some(&request)).await;
    assert_eq!(status, 401);
    assert!(error["message"].as_str().unwrap().contains("replayed"));

    // The same holderPid again: the same request.
    let fresh = token(&holder, authority.did(), &[]).await;
    let (status, again, _) = send(&url, Some(&fresh), Some(&request)).await;
    assert_eq!((status, again.as_str()), (201, location.as_str()));
    let (_, requests) = authority.get("/api/v1/issuer/requests").await;
    assert_eq!(requests.as_array().unwrap().len(), 1);

    // Malformed messages name the member.
    let cases = [
        ("/type", json!("CredentialOfferMessage"), "type"),
        ("/holderPid", json!("x".repeat(1000)), "holderPid"),
        ("/credentials", json!("all"), "credentials"),
        ("/credentials/0/id", json!("Passport"), "credentials/0/id"),
    ];
    for (pointer, value, field) in cases {
        let mut bad = request.clone();
        *bad.pointer_mut(pointer).unwrap() = value;
        let bearer = token(&holder, authority.did(), &[]).await;
        let (status, _, error) = send(&url, Some(&bearer), Some(&bad)).await;
        assert_eq!(status, 400, "{pointer}: {error}");
        assert_eq!(error["error"], "bad_request");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{field}`")),
            "{error}"
        );
    }
    let mut huge = request.clone();
    huge["credentials"][0]["id"] = "x".repeat(300 * 1024).into();
    let bearer = token(&holder, authority.did(), &[]).await;
    let (status, _, error) = send(&url, Some(&bearer), Some(&huge)).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (413, Some("payload_too_large"))
    );
    let mut private = request.clone();
    private["holderPid"] = "holder-2".into();
    private[messages::CREDENTIAL_SERVICE_MEMBER] = "ftp://10.0.0.1/x".into();
    let bearer = token(&holder, authority.did(), &[]).await;
    let (status, _, error) = send(&url, Some(&bearer), Some(&private)).await;
    assert_eq!(status, 400, "{error}");

    // The status: the requester reads it, anyone else finds nothing.
    let mine = token(&holder, authority.did(), &[]).await;
    let (status, _, current) = send(&location, Some(&mine), None).await;
    assert_eq!(status, 200, "{current}");
    schemas.check("credential-status-schema.json", &current);
    let theirs = token(&other, authority.did(), &[]).await;
    let (status, _, error) = send(&location, Some(&theirs), None).await;
    assert_eq!((status, error["error"].as_str()), (404, Some("not_found")));

    // The operator rejects it: the CredentialMessage reaches the holder's service.
    let (_, requests) = authority.get("/api/v1/issuer/requests").await;
    let id = requests[0]["issuer_pid"].as_str().unwrap();
    let (status, _) = authority
        .post(
            &format!("/api/v1/issuer/requests/{id}/reject"),
            &json!({"reason": "unknown site"}),
        )
        .await;
    assert_eq!(status, 200);
    let delivered = service.wait_for("/dcp/holder/credentials").await;
    schemas.check("credential-message-schema.json", &delivered);
    assert_eq!(delivered["status"], "REJECTED");
    assert_eq!(delivered["rejectionReason"], "unknown site");
    let mine = token(&holder, authority.did(), &[]).await;
    let (_, _, current) = send(&location, Some(&mine), None).await;
    schemas.check("credential-status-schema.json", &current);
    assert_eq!(current["status"], "REJECTED");
    let (status, again) = authority
        .post(&format!("/api/v1/issuer/requests/{id}/deliver"), &json!({}))
        .await;
    assert_eq!(
        (status, again["delivery"].as_str()),
        (200, Some("delivered"))
    );
    assert_eq!(service.seen.lock().unwrap().len(), 2);

    // Another, approved: the ISSUED message carries the credential for the holder.
    let mut another = request.clone();
    another["holderPid"] = "holder-3".into();
    let bearer = token(&holder, authority.did(), &[]).await;
    let (status, location, _) = send(&url, Some(&bearer), Some(&another)).await;
    assert_eq!(status, 201);
    let id = location.rsplit('/').next().unwrap().replace("%3A", ":");
    let (status, approved) = authority
        .post(&format!("/api/v1/issuer/requests/{id}/approve"), &json!({}))
        .await;
    assert_eq!(status, 200, "{approved}");
    let issued = eventually(Duration::from_secs(5), "the ISSUED message", || async {
        service
            .seen
            .lock()
            .unwrap()
            .iter()
            .find(|(_, body)| body["status"] == "ISSUED")
            .map(|(_, body)| body.clone())
    })
    .await;
    schemas.check("credential-message-schema.json", &issued);
    let payload = issued["credentials"][0]["payload"].as_str().unwrap();
    let claims = symbolon_identity::verify::peek_jwt_payload(payload).unwrap();
    assert_eq!(claims["credentialSubject"]["id"], holder.did.as_str());
    assert_eq!(issued["credentials"][0]["format"], "jwt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_storage_api_refuses_strangers_and_credentials_for_others() {
    let schemas = DcpSchemas::load();
    let (authority, hospital) = (connector(), connector());
    trust(&authority, &authority).await;
    configure(&authority, &[(hospital.did(), "Hospital")], "manual").await;
    let open = join(&hospital, &authority, 0).await;
    let holder_pid = open["holder_pid"].as_str().unwrap();
    let issuer_pid = open["issuer_pid"].as_str().unwrap();
    let url = format!("{}/dcp/holder/credentials", hospital.url);

    // A credential of the authority, but about someone else.
    let someone = Identity::generate(KeyAlgorithm::Ed25519);
    let (foreign, _) = membership(&authority, someone.did.as_str(), "Hospital").await;
    let message = json!({
        "@context": [messages::DCP_CONTEXT], "type": "CredentialMessage",
        "issuerPid": issuer_pid, "holderPid": holder_pid, "status": "ISSUED",
        "credentials": [{"credentialType": "DataSpaceMembershipCredential", "payload": foreign, "format": "jwt"}],
    });
    schemas.check("credential-message-schema.json", &message);
    let bearer = token(&authority.identity, hospital.did(), &[]).await;
    let (status, _, error) = send(&url, Some(&bearer), Some(&message)).await;
    assert_eq!(status, 422, "{error}");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("not this connector"));

    // The same message from an issuer the hospital never asked.
    let stranger = Identity::generate(KeyAlgorithm::Ed25519);
    let bearer = token(&stranger, hospital.did(), &[]).await;
    let (status, _, error) = send(&url, Some(&bearer), Some(&message)).await;
    assert_eq!(status, 404, "{error}");

    // No token; a malformed message.
    let (status, _, _) = send(&url, None, Some(&message)).await;
    assert_eq!(status, 401);
    let mut bad = message.clone();
    bad["status"] = "MAYBE".into();
    let bearer = token(&authority.identity, hospital.did(), &[]).await;
    let (status, _, error) = send(&url, Some(&bearer), Some(&bad)).await;
    assert_eq!(status, 400, "{error}");
    assert!(error["message"].as_str().unwrap().contains("`status`"));

    assert!(wallet_types(&hospital).await.is_empty());
    let events = hospital.events().await;
    // The authority's refused message is recorded; the stranger's is not.
    let received: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "issuance.received")
        .collect();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["outcome"], "refused");
    assert_eq!(received[0]["actor"], hospital.did());
}
