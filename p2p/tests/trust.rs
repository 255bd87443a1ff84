//! A running node's trust list replaced (issue 21): peers connecting afterwards are checked
//! against the new list, and a list for another data space is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::json;
use symbolon_identity::{
    credential, issue_credential, DidResolver, Format, Identity, KeyAlgorithm, TrustList, Verifier,
};
use symbolon_p2p::{Node, P2pError};

use crate::common::*;

/// A list of `data_space` signed by `anchor`, trusting each of `issuers` for memberships.
fn list(anchor: &Authority, issuers: &[&Authority], data_space: &str) -> TrustList {
    TrustList {
        data_space: data_space.to_owned(),
        anchor: anchor.identity.did.to_string(),
        entries: issuers
            .iter()
            .map(|issuer| {
                (
                    issuer.identity.did.to_string(),
                    BTreeSet::from([MEMBERSHIP.to_owned()]),
                )
            })
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A member whose membership `issuer` issued without a status entry.
async fn member_of(issuer: &Authority) -> Member {
    let identity = Identity::generate(KeyAlgorithm::Ed25519);
    let claims = json!({
        "legalName": "Newcomer B.V.",
        "registrationNumber": "KvK-2",
        "role": "Insurer",
        "dataSpaceId": DATA_SPACE,
    });
    let unsigned = credential::build(
        &issuer.identity.did,
        MEMBERSHIP,
        &identity.did,
        &claims,
        None,
    )
    .unwrap();
    let membership = issue_credential(&issuer.identity, unsigned, Format::Jwt)
        .await
        .unwrap();
    Member {
        identity,
        membership,
        status_index: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_trust_list_admits_the_members_of_a_newly_trusted_issuer() {
    let authority = Authority::new();
    let second_issuer = Authority::new();
    let host_member = Member::new(&authority, "Hospital").await;
    let host = Node::start(host_member.config(&authority, &[]))
        .await
        .unwrap();

    // The newcomer trusts both issuers; the host, so far, its authority only.
    let newcomer = member_of(&second_issuer).await;
    let mut config = newcomer.config(&authority, &[&host]);
    config.verifier = Verifier::new(Arc::new(DidResolver::offline()))
        .with_trust_list(list(&authority, &[&authority, &second_issuer], DATA_SPACE))
        .with_status_source(authority.status.clone());
    let first = Node::start(config.clone()).await.unwrap();
    let refused = host
        .wait_until(WAIT, |h| {
            entry(h, &first).is_some_and(|p| {
                !p.authenticated
                    && p.reason
                        .as_deref()
                        .is_some_and(|r| r.contains("not trusted"))
            })
        })
        .await;
    assert!(refused, "{:#?}", host.peers());
    first.shutdown().await;

    // A list for another data space is refused, and the node keeps its own.
    let elsewhere = list(&authority, &[&authority, &second_issuer], "another-space");
    match host.replace_trust_list(elsewhere).await {
        Err(P2pError::Config { reason, .. }) => {
            assert!(
                reason.contains("another-space") && reason.contains(DATA_SPACE),
                "{reason}"
            )
        }
        other => panic!("a list for another data space was not refused: {other:?}"),
    }

    // The new list of this data space: the newcomer, connecting again, is let in.
    host.replace_trust_list(list(&authority, &[&authority, &second_issuer], DATA_SPACE))
        .await
        .unwrap();
    let again = Node::start(config).await.unwrap();
    assert!(
        wait_mesh(&[&host, &again], WAIT).await,
        "{:#?}",
        host.peers()
    );
    assert_eq!(
        entry(&host, &again).unwrap().roles,
        vec!["Insurer".to_owned()]
    );
}
