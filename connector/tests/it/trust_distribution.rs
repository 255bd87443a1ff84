//! Trust lists distributed over the peer network (issue 21): a list installed on one member
//! reaches the others, who verify it (the installed list's anchor, its data space, a later
//! `validFrom`) before installing it; forgeries, older lists and lists of another data space
//! are refused and leave the installed list as it was; `--trust-list-approval` keeps a new list
//! for the operator; a member that joins late with an older list catches up. Real connectors
//! on 127.0.0.1, mDNS off.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};
use symbolon_connector::server::ServeOptions;
use symbolon_identity::{issue_credential, jose, Format, Identity, KeyAlgorithm, TrustList};
use symbolon_p2p::NodeHandle;

use crate::dsp::*;
use crate::peers::{join_on_loopback, serve_on_loopback};

/// The data space of `dsp::membership_document`.
const SPACE: &str = "hds";

/// How long a list may take to travel.
const TRAVEL: Duration = Duration::from_secs(10);

/// A member on the peer network.
struct Member {
    api: Connector,
    addresses: Vec<String>,
    node: NodeHandle,
}

/// The unsigned list of `data_space` by `anchor`, valid from `age` ago, trusting `anchor` for
/// memberships and each of `newcomers` for `ExampleCredential`.
fn unsigned_list(anchor: &Identity, data_space: &str, newcomers: &[&str], age: Duration) -> Value {
    let mut entries: BTreeMap<String, BTreeSet<String>> = BTreeMap::from([(
        anchor.did.to_string(),
        BTreeSet::from([
            "DataSpaceMembershipCredential".to_owned(),
            "AuditorCredential".to_owned(),
        ]),
    )]);
    for newcomer in newcomers {
        entries.insert(
            (*newcomer).to_owned(),
            BTreeSet::from(["ExampleCredential".to_owned()]),
        );
    }
    let mut credential = TrustList::credential(&anchor.did, data_space, &entries).unwrap();
    let valid_from = chrono::Utc::now() - chrono::Duration::from_std(age).unwrap();
    credential["validFrom"] = json!(symbolon_identity::credential::format_time(valid_from));
    credential
}

/// The list, signed by its anchor.
async fn signed_list(
    anchor: &Identity,
    data_space: &str,
    newcomers: &[&str],
    age: Duration,
) -> String {
    let credential = unsigned_list(anchor, data_space, newcomers, age);
    issue_credential(anchor, credential, Format::Jwt)
        .await
        .unwrap()
        .to_text()
}

/// A member holding a membership from `authority`, with `list` installed, on the peer network
/// (bootstrapping from `bootstrap`); `approval` as `serve --trust-list-approval`.
async fn member(
    authority: &Connector,
    list: &str,
    bootstrap: Vec<String>,
    approval: bool,
) -> Member {
    let (api, connector) = serve_on_loopback(ServeOptions {
        status_cache_ttl: Duration::ZERO,
        trust_list_approval: approval,
        ..ServeOptions::new("127.0.0.1:0".parse().unwrap())
    });
    install(&api, list).await;
    let (credential, _) = membership(authority, api.did(), "Hospital").await;
    hold(&api, &credential).await;
    let (addresses, node) = join_on_loopback(&connector, bootstrap, Duration::from_secs(200)).await;
    Member {
        api,
        addresses,
        node,
    }
}

async fn install(node: &Connector, list: &str) {
    let (status, body) = node
        .put("/api/v1/trust-list", &json!({ "credential": list }))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The credential of `node`'s installed list.
async fn installed(node: &Connector) -> String {
    let (status, body) = node.get("/api/v1/trust-list").await;
    assert_eq!(status, 200, "{body}");
    body["credential"].as_str().unwrap().to_owned()
}

/// Waits until `node`'s installed list is `list`.
async fn until_installed(node: &Connector, list: &str) {
    eventually(TRAVEL, "the new trust list to be installed", || async {
        let (status, body) = node.get("/api/v1/trust-list").await;
        (status == 200 && body["credential"] == list).then_some(())
    })
    .await;
}

/// Waits until `node` has authenticated the peer `did`.
async fn until_authenticated(node: &Connector, did: &str) {
    eventually(TRAVEL, "a peer to be authenticated", || async {
        let (status, peers) = node.get("/api/v1/peers").await;
        let found = status == 200
            && peers
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["did"] == did && p["authenticated"] == true);
        found.then_some(())
    })
    .await;
}

/// `node`'s `trust_list.update` events.
async fn updates(node: &Connector) -> Vec<Value> {
    let events = node.events().await;
    events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "trust_list.update")
        .cloned()
        .collect()
}

/// Sends `payload` to `to` over the peer network from `from`; returns the carried answer.
async fn tell(from: &Member, to: &Member, payload: Value) -> (u64, Value) {
    let answer = from.node.request(to.api.did(), payload).await.unwrap();
    (answer["status"].as_u64().unwrap(), answer["body"].clone())
}

/// Runs `symbolon ARGS --data-dir <member's dir>` (off the async runtime); returns its output.
async fn cli(member: &Member, args: &[&str]) -> String {
    let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    args.push("--data-dir".into());
    args.push(member.api._dir.root().to_str().unwrap().to_owned());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::cli::ok(&args)
    })
    .await
    .unwrap()
}

/// An `ExampleCredential` `issuer` issued to `subject`.
async fn example_credential(issuer: &Identity, subject: &str) -> String {
    let credential = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "issuer": issuer.did.as_str(),
        "credentialSubject": {"id": subject, "note": "issued by a newly trusted issuer"}
    });
    issue_credential(issuer, credential, Format::Jwt)
        .await
        .unwrap()
        .to_text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_installed_on_one_member_reaches_the_others_and_a_late_joiner() {
    let authority = connector();
    let first = signed_list(&authority.identity, SPACE, &[], Duration::from_secs(600)).await;
    let a = member(&authority, &first, Vec::new(), false).await;
    let b = member(&authority, &first, a.addresses.clone(), false).await;
    let c = member(&authority, &first, a.addresses.clone(), false).await;
    until_authenticated(&a.api, b.api.did()).await;
    until_authenticated(&a.api, c.api.did()).await;

    // An issuer the data space does not trust yet: C refuses its credential.
    let newcomer = Identity::generate(KeyAlgorithm::Ed25519);
    let credential = example_credential(&newcomer, c.api.did()).await;
    let verify = json!({ "verifiableCredential": credential });
    let (status, report) = c.api.post("/credentials/verify", &verify).await;
    assert_eq!(status, 422, "{report}");

    // The authority's new list, installed on A, reaches B and C.
    let second = signed_list(
        &authority.identity,
        SPACE,
        &[newcomer.did.as_str()],
        Duration::from_secs(60),
    )
    .await;
    install(&a.api, &second).await;
    until_installed(&b.api, &second).await;
    until_installed(&c.api, &second).await;
    let (status, report) = c.api.post("/credentials/verify", &verify).await;
    assert_eq!(
        status, 200,
        "the newly trusted issuer's credential verifies: {report}"
    );

    // Recorded where it was installed: by the operator on A, from a peer on B and C, once.
    let on_a = updates(&a.api).await;
    assert!(
        on_a.iter().any(|e| e["outcome"] == "installed"
            && e["details"]["source"] == "operator"
            && e["details"]["entries"][newcomer.did.as_str()] == json!(["ExampleCredential"])),
        "{on_a:#?}"
    );
    for peer in [&b, &c] {
        let installed: Vec<Value> = updates(&peer.api)
            .await
            .into_iter()
            .filter(|e| e["outcome"] == "installed" && e["details"]["source"] == "peer")
            .collect();
        assert_eq!(installed.len(), 1, "{installed:#?}");
    }

    // A member that was away joins with the first list, and is told the second.
    let late = member(&authority, &first, a.addresses.clone(), false).await;
    until_installed(&late.api, &second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_older_and_foreign_lists_are_refused_and_change_nothing() {
    let authority = connector();
    let older = signed_list(
        &authority.identity,
        SPACE,
        &["did:key:z6MkOlderEntry"],
        Duration::from_secs(900),
    )
    .await;
    let current = signed_list(&authority.identity, SPACE, &[], Duration::from_secs(600)).await;
    let a = member(&authority, &current, Vec::new(), false).await;
    let b = member(&authority, &current, a.addresses.clone(), false).await;
    until_authenticated(&b.api, a.api.did()).await;
    until_authenticated(&a.api, b.api.did()).await;

    let forger = Identity::generate(KeyAlgorithm::Ed25519);
    let claimed = unsigned_list(
        &authority.identity,
        SPACE,
        &[forger.did.as_str()],
        Duration::from_secs(1),
    );
    // Claims the authority as issuer, signed with the forger's key.
    let forged = jose::sign(
        &forger.key,
        &authority.identity.verification_method(),
        "vc+jwt",
        &claimed,
    );
    let own_anchor = signed_list(&forger, SPACE, &[], Duration::from_secs(1)).await;
    let elsewhere = signed_list(
        &authority.identity,
        "elsewhere",
        &[],
        Duration::from_secs(1),
    )
    .await;
    let message =
        |credential: &str| json!({ "kind": "trust-list-updated", "credential": credential });

    for (list, status, outcome) in [
        (&forged, 422, "invalid"),
        (&forged, 422, "invalid"),
        (&own_anchor, 422, "other-anchor"),
        (&elsewhere, 422, "other-data-space"),
        (&older, 409, "stale"),
        (&current, 200, "unchanged"),
    ] {
        let (got, body) = tell(&a, &b, message(list)).await;
        assert_eq!(
            (got, body["outcome"].as_str()),
            (status, Some(outcome)),
            "{body}"
        );
    }
    let (got, body) = tell(
        &a,
        &b,
        json!({ "kind": "trust-list-updated", "credential": 7 }),
    )
    .await;
    assert_eq!(got, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("`credential`"),
        "{body}"
    );
    let huge = format!("e30.{}.c2ln", "A".repeat(300 * 1024));
    let (got, body) = tell(&a, &b, message(&huge)).await;
    assert_eq!(got, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("262144"),
        "{body}"
    );

    assert_eq!(installed(&b.api).await, current);
    // Each refusal recorded once for this peer, the forgery sent twice included; `unchanged`
    // is not recorded.
    let refused: Vec<Value> = updates(&b.api)
        .await
        .into_iter()
        .filter(|e| e["outcome"] == "refused")
        .collect();
    let reasons: Vec<&str> = refused
        .iter()
        .map(|e| e["details"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["invalid", "other-anchor", "other-data-space", "stale"],
        "{refused:#?}"
    );
    assert!(refused.iter().all(|e| e["subject"] == a.api.did()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_approval_a_new_list_waits_for_the_operator() {
    let authority = connector();
    let first = signed_list(&authority.identity, SPACE, &[], Duration::from_secs(600)).await;
    let a = member(&authority, &first, Vec::new(), false).await;
    let b = member(&authority, &first, a.addresses.clone(), true).await;
    until_authenticated(&a.api, b.api.did()).await;
    let (status, body) = b.api.get("/api/v1/trust-list/pending").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["message"], "no trust list is waiting for approval");
    let stranger = http()
        .get(format!("{}/api/v1/trust-list/pending", b.api.url))
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 401, "the admin token is needed");
    let (_, document) = b.api.get("/api/v1/openapi.json").await;
    for (path, method) in [
        ("/api/v1/trust-list/pending", "get"),
        ("/api/v1/trust-list/pending/approve", "post"),
        ("/api/v1/trust-list/pending/reject", "post"),
    ] {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path}"
        );
    }

    // Approved: installed.
    let second = signed_list(
        &authority.identity,
        SPACE,
        &["did:key:z6MkSecond"],
        Duration::from_secs(300),
    )
    .await;
    install(&a.api, &second).await;
    let pending = eventually(TRAVEL, "the new list to wait for approval", || async {
        let (status, body) = b.api.get("/api/v1/trust-list/pending").await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(pending["credential"], second);
    assert_eq!(pending["from"], a.api.did());
    assert_eq!(pending["anchor"], authority.did());
    assert_eq!(
        installed(&b.api).await,
        first,
        "not installed before approval"
    );
    let (status, body) = b
        .api
        .post("/api/v1/trust-list/pending/approve", &json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(installed(&b.api).await, second);
    let (status, _) = b.api.get("/api/v1/trust-list/pending").await;
    assert_eq!(status, 404);

    // Rejected: dropped, the installed list stays.
    let third = signed_list(
        &authority.identity,
        SPACE,
        &["did:key:z6MkThird"],
        Duration::from_secs(60),
    )
    .await;
    install(&a.api, &third).await;
    eventually(TRAVEL, "the third list to wait for approval", || async {
        let (status, body) = b.api.get("/api/v1/trust-list/pending").await;
        (status == 200 && body["credential"] == third).then_some(())
    })
    .await;
    // This time through the command line.
    let shown = cli(&b, &["trust-list", "pending", "--json"]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&shown).unwrap()["credential"],
        third
    );
    let said = cli(&b, &["trust-list", "reject"]).await;
    assert!(said.contains("rejected the pending trust list"), "{said}");
    let (status, _) = b.api.get("/api/v1/trust-list/pending").await;
    assert_eq!(status, 404);
    let (status, body) = b
        .api
        .post("/api/v1/trust-list/pending/approve", &json!({}))
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(installed(&b.api).await, second);

    let outcomes: Vec<String> = updates(&b.api)
        .await
        .iter()
        .filter(|e| e["details"]["source"] == "peer")
        .map(|e| e["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes, ["pending", "approved", "pending", "rejected"]);
}
