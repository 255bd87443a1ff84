//! Interoperation with EDC-style parties: presentations that carry no `nonce` but are bound by
//! their audience, issuer, time window and single-use `jti`; and queries by a DIF Presentation
//! Exchange definition instead of scopes.

use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::{json, Value};
use symbolon_connector::dcp::{access, scope};
use symbolon_connector::negotiation::PresentationMode;
use symbolon_identity::{credential, issue_credential, Format, Identity, KeyAlgorithm};

use crate::dcp::DcpSchemas;
use crate::dcp_holder::{web_connector, Answer, FakeHolder};
use crate::dcp_presentation::{query, request_from};
use crate::dsp::{connector, hold, membership, publish, trust, Connector};

const DCP_CONTEXT: &str = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld";

fn verified_events(events: &Value) -> Vec<Value> {
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "presentation.verified")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presentation_without_nonce_is_accepted_only_when_otherwise_bound() {
    let (authority, provider) = (connector(), connector());
    trust(&authority, &provider).await;
    publish(&provider).await;
    let holder = FakeHolder::start(Answer::Nothing).await;
    let (credential, _) = membership(&authority, holder.did(), "Hospital").await;

    // As an EDC-style Credential Service answers: no nonce; accepted.
    holder.set_answer(Answer::Unnonced(vec![credential.clone()], json!({})));
    assert_eq!(request_from(&holder, &provider).await, Vec::<String>::new());
    let answered = holder.answered();
    assert_eq!(answered.len(), 1);
    let payload = symbolon_identity::verify::peek_jwt_payload(&answered[0]).unwrap();
    assert!(payload.get("nonce").is_none(), "{payload}");
    let events = verified_events(&provider.events().await);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["outcome"], "ok", "{events:?}");
    assert_eq!(events[0]["details"]["mode"], "dcp");

    // The same presentation again: its `jti` was used up.
    holder.set_answer(Answer::Fixed(answered[0].clone()));
    let reasons = request_from(&holder, &provider).await.join("; ");
    assert!(
        reasons.contains("already accepted once (replay)"),
        "{reasons}"
    );

    // Each way of not being bound, refused with its reason; a nonce must still be the query's.
    let now = Utc::now().timestamp();
    for (what, members, says) in [
        (
            "another verifier's presentation",
            json!({"aud": "did:web:elsewhere.example"}),
            "for audience",
        ),
        (
            "a stale presentation",
            json!({"iat": now - 1800, "exp": now + 60}),
            "window of a fresh answer",
        ),
        (
            "an expired presentation",
            json!({"iat": now - 200, "exp": now - 100}),
            "expired",
        ),
        (
            "a presentation issued by another",
            json!({"iss": "did:web:someone.else"}),
            "not the caller",
        ),
        (
            "a presentation without `jti`",
            json!({"jti": null}),
            "`jti`",
        ),
        (
            "a presentation without `iat`",
            json!({"iat": null}),
            "`iat`",
        ),
        (
            "a nonce that is not the query's",
            json!({"nonce": "urn:uuid:not-this-query"}),
            "wrong challenge",
        ),
    ] {
        holder.set_answer(Answer::Unnonced(vec![credential.clone()], members));
        let reasons = request_from(&holder, &provider).await.join("; ");
        assert!(reasons.contains(says), "{what}: {reasons}");
    }
    // The honest answer is still accepted: nothing above used anything up.
    holder.set_answer(Answer::Unnonced(vec![credential], json!({})));
    assert_eq!(request_from(&holder, &provider).await, Vec::<String>::new());
}

/// Queries `holder`'s Credential Service by `definition`, as `verifier` with `access`; the
/// query is checked against the protocol's schema first.
async fn ask(
    holder: &Connector,
    verifier: &Identity,
    access: &str,
    definition: Value,
) -> (u16, Value) {
    let message = json!({"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage",
                         "presentationDefinition": definition});
    DcpSchemas::load().check(
        "presentation/presentation-query-message-schema.json",
        &message,
    );
    query(holder, verifier, Some(access.to_owned()), &message).await
}

/// The credentials (compact JWS) in the one presentation of `answer`.
fn presented(answer: &Value) -> Vec<String> {
    answer["presentation"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            let vp = symbolon_identity::verify::peek_jwt_payload(p.as_str().unwrap()).unwrap();
            vp["verifiableCredential"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    c["id"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("data:application/vc+jwt,")
                        .to_owned()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_service_answers_a_presentation_definition_with_what_matches_and_is_granted()
{
    let schemas = DcpSchemas::load();
    let authority = connector();
    let holder = web_connector(PresentationMode::Dcp);
    let (member, _) = membership(&authority, holder.did(), "Hospital").await;
    hold(&holder, &member).await;
    let auditor = issue_credential(
        &authority.identity,
        credential::build(
            &authority.identity.did,
            "AuditorCredential",
            &holder.identity.did,
            &json!({"scope": ["did:example:a"]}),
            None,
        )
        .unwrap(),
        Format::Jwt,
    )
    .await
    .unwrap()
    .to_text();
    hold(&holder, &auditor).await;
    let verifier = Identity::generate(KeyAlgorithm::Ed25519);
    let granted = access::mint(
        &holder.identity,
        verifier.did.as_str(),
        &BTreeSet::from([scope::MEMBERSHIP.to_owned()]),
    );
    // The protocol's own example asks for `ldp_vc` only: nothing this holder keeps matches.
    let example: Value = serde_json::from_str(
        &std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/data/dcp-1.0/presentation/example/\
                 presentation-query-message-w-presentation-definition.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let (status, answer) = ask(
        &holder,
        &verifier,
        &granted,
        example["presentationDefinition"].clone(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    schemas.check(
        "presentation/presentation-response-message-schema.json",
        &answer,
    );
    assert_eq!(answer["presentation"], json!([]));
    assert_eq!(
        answer["presentationSubmission"]["definition_id"],
        "presentation1"
    );
    assert_eq!(
        answer["presentationSubmission"]["descriptor_map"],
        json!([])
    );

    // The same in the JOSE format, by the forms of path EDC writes: the membership, with a
    // submission mapping each descriptor to it.
    let definition = json!({
        "id": "membership-and-role",
        "input_descriptors": [
            {"id": "membership", "format": {"jwt_vc": {"alg": ["EdDSA"]}},
             "constraints": {"fields": [{"path": ["$.vc.type", "$.type"],
                "filter": {"type": "string", "pattern": "DataSpaceMembershipCredential"}}]}},
            {"id": "hospital",
             "constraints": {"fields": [{"path": ["$['credentialSubject']['role']"],
                "filter": {"enum": ["Hospital", "Insurer"]}}]}},
        ]
    });
    let (status, answer) = ask(&holder, &verifier, &granted, definition).await;
    assert_eq!(status, 200, "{answer}");
    schemas.check(
        "presentation/presentation-response-message-schema.json",
        &answer,
    );
    assert_eq!(presented(&answer), [member.as_str()]);
    let submission = &answer["presentationSubmission"];
    assert_eq!(submission["definition_id"], "membership-and-role");
    assert!(submission["id"].as_str().unwrap().starts_with("urn:uuid:"));
    let map = submission["descriptor_map"].as_array().unwrap();
    let ids: Vec<&str> = map.iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["membership", "hospital"]);
    for entry in map {
        assert_eq!(entry["format"], "jwt_vp");
        assert_eq!(entry["path"], "$.presentation[0]");
        assert_eq!(entry["path_nested"]["path"], "$.verifiableCredential[0]");
    }

    // The auditor credential matches a descriptor but the access token does not grant it: left
    // out, no error.
    let (status, answer) = ask(
        &holder,
        &verifier,
        &granted,
        json!({"id": "auditor", "input_descriptors": [
        {"id": "auditor", "constraints": {"fields": [{"path": ["$.type"],
            "filter": {"type": "array", "contains": {"const": "AuditorCredential"}}}]}}]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["presentation"], json!([]));
    // Matches nothing held.
    let (_, answer) = ask(
        &holder,
        &verifier,
        &granted,
        json!({"id": "insurer", "input_descriptors": [
        {"id": "insurer", "constraints": {"fields": [{"path": ["$.credentialSubject.role"],
            "filter": {"const": "Insurer"}}]}}]}),
    )
    .await;
    assert_eq!(answer["presentation"], json!([]));

    // Malformed → 400 naming the member; unsupported → 501 naming it.
    let (status, answer) = ask(
        &holder,
        &verifier,
        &granted,
        json!({"id": "bad", "input_descriptors": [
        {"id": "d", "constraints": {"fields": [{"path": ["$..type"]}]}}]}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("presentationDefinition/input_descriptors/0/constraints/fields/0/path/0"));
    let (status, answer) = ask(
        &holder,
        &verifier,
        &granted,
        json!({"id": "sr", "input_descriptors": [{"id": "d"}],
        "submission_requirements": [{"rule": "pick", "count": 1, "from": "A"}]}),
    )
    .await;
    assert_eq!(status, 501, "{answer}");
    assert!(answer["message"]
        .as_str()
        .unwrap()
        .contains("`presentationDefinition/submission_requirements`"));

    // Each on record at the holder, with the definition and what was presented.
    let events = holder.events().await;
    let queried: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "presentation.queried")
        .collect();
    assert_eq!(queried.len(), 6, "{queried:?}");
    let answered = queried
        .iter()
        .find(|e| e["details"]["presentationDefinition"] == "membership-and-role")
        .unwrap();
    assert_eq!(
        answered["details"]["presented"],
        json!(["DataSpaceMembershipCredential"])
    );
}
