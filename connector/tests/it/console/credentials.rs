//! The proofs of the credentials an audit bundle embeds, checked in a real browser: a did:web
//! connector's bundle holds its membership credential (issued by a did:key authority) and the
//! test adds a credential the connector issued itself (a did:web issuer, whose document the
//! bundle carries), an SD-JWT VC, an SD-JWT VC presented with a Key Binding JWT and two Data
//! Integrity credentials (eddsa-jcs-2022, checked in the browser; eddsa-rdfc-2022, not). The
//! clean bundle verifies in the browser, the RDF one named as left to the command line; in a
//! tampered copy (a claim of the JWT changed, a did:web signature broken, an SD-JWT disclosure
//! swapped, a claim of the JCS credential changed, a disclosure dropped after key binding) the
//! page names each failing credential and why, where the Rust verifier also finds them.

use base64::Engine as _;
use serde_json::{json, Value};
use symbolon_identity::sd_jwt::{self, Presentation};
use symbolon_identity::{issue_credential, Format, Identity, KeyAlgorithm, Secured};

use super::shots;
use crate::dcp_holder::web_connector_configured;
use crate::dsp::*;
use crate::webdriver::Browser;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `token` (a compact JWS, maybe with SD-JWT disclosures) with its payload's `member` of the
/// credential subject set to `value`, the signature kept.
fn changed_claim(token: &str, member: &str, value: &str) -> String {
    let parts: Vec<&str> = token.splitn(3, '.').collect();
    let mut payload: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    payload["credentialSubject"][member] = json!(value);
    format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(serde_json::to_vec(&payload).unwrap()),
        parts[2]
    )
}

/// `token` with the last byte of its signature flipped.
fn broken_signature(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = B64.decode(signature).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    format!("{signed}.{}", B64.encode(bytes))
}

/// The SD-JWT `token` with its first disclosure's value changed.
fn swapped_disclosure(token: &str) -> String {
    let mut parts: Vec<String> = token.split('~').map(str::to_owned).collect();
    let mut disclosure: Value = serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
    disclosure[2] = json!("Insurer B.V.");
    parts[1] = B64.encode(serde_json::to_vec(&disclosure).unwrap());
    parts.join("~")
}

/// The messages of the Rust verifier's error findings about credentials.
fn rust_credential_errors(bundle: &Value) -> Vec<String> {
    let parsed =
        symbolon_audit::AuditBundle::from_slice(&serde_json::to_vec(bundle).unwrap()).unwrap();
    symbolon_audit::verify_bundle(&parsed)
        .findings
        .into_iter()
        .filter(|f| f.severity == symbolon_audit::Severity::Error)
        .map(|f| f.message)
        .filter(|m| m.contains("credential"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bundles_credentials_are_checked_in_a_real_browser_and_the_failing_one_named() {
    // Start the browser first: without Chromium the test fails at once, saying what to install.
    let browser = Browser::start(1280, 900).await;
    let (authority, node) = (connector(), web_connector_configured(|_| {}));
    trust(&authority, &node).await;
    let (membership, _) = membership(&authority, node.did(), "Hospital").await;
    hold(&node, &membership).await;
    publish(&node).await;

    // The bundle, with three more credentials: one by the did:web connector itself, an SD-JWT
    // VC and a Data Integrity credential by the authority.
    let (status, mut bundle) = node.get("/api/v1/audit/export").await;
    assert_eq!(status, 200, "{bundle}");
    assert!(bundle["did_documents"][node.did()].is_object(), "{bundle}");
    let mut own = membership_document(node.did(), "Hospital");
    own["issuer"] = json!(node.did());
    let own = issue_credential(&node.identity, own, Format::Jwt)
        .await
        .unwrap()
        .to_text();
    let mut document = membership_document(node.did(), "Hospital");
    document["issuer"] = json!(authority.did());
    let sd = issue_credential(&authority.identity, document.clone(), Format::SdJwt)
        .await
        .unwrap()
        .to_text();
    assert!(sd.contains('~'), "{sd}");
    let Secured::Json(jcs) = issue_credential(
        &authority.identity,
        document.clone(),
        Format::DataIntegrityJcs,
    )
    .await
    .unwrap() else {
        panic!("a Data Integrity credential is JSON");
    };
    let Secured::Json(rdfc) =
        issue_credential(&authority.identity, document, Format::DataIntegrity)
            .await
            .unwrap()
    else {
        panic!("a Data Integrity credential is JSON");
    };
    // An SD-JWT VC of a did:key holder, presented with its Key Binding JWT.
    let holder = Identity::generate(KeyAlgorithm::Ed25519);
    let mut bound = membership_document(holder.did.as_str(), "Hospital");
    bound["issuer"] = json!(authority.did());
    let bound = issue_credential(&authority.identity, bound, Format::SdJwt)
        .await
        .unwrap()
        .to_text();
    let presented = sd_jwt::present(
        &bound,
        &holder.key,
        &Presentation {
            disclose: &["legalName".to_owned()],
            nonce: "audit-nonce",
            audience: node.did(),
        },
    )
    .unwrap();
    let credentials = bundle["credentials"].as_array_mut().unwrap();
    let held = credentials.len();
    assert!(held >= 1, "the wallet's membership is in the bundle");
    credentials.extend([json!(own), json!(sd), jcs, rdfc, json!(presented)]);
    assert!(
        rust_credential_errors(&bundle).is_empty(),
        "clean: {bundle}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean-credentials.json");
    std::fs::write(&clean, serde_json::to_vec(&bundle).unwrap()).unwrap();

    // Tampered: the held membership's role, the did:web credential's signature, a disclosure
    // of the SD-JWT, the eddsa-jcs-2022 credential's role and the disclosure presented under
    // the Key Binding JWT (dropped: `sd_hash` no longer matches). The Rust verifier finds all
    // five.
    let mut tampered = bundle.clone();
    let position = bundle["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c.as_str() == Some(membership.as_str()))
        .unwrap_or_else(|| panic!("the wallet's membership as held: {bundle}"));
    tampered["credentials"][position] = json!(changed_claim(&membership, "role", "Insurer"));
    tampered["credentials"][held] = json!(broken_signature(&own));
    tampered["credentials"][held + 1] = json!(swapped_disclosure(&sd));
    tampered["credentials"][held + 2]["credentialSubject"]["role"] = json!("Insurer");
    let (issuer_jwt, _) = presented.split_once('~').unwrap();
    let key_binding = presented.rsplit('~').next().unwrap();
    tampered["credentials"][held + 4] = json!(format!("{issuer_jwt}~{key_binding}"));
    let found = rust_credential_errors(&tampered);
    assert_eq!(found.len(), 5, "{found:#?}");
    assert!(found.iter().any(|m| m.contains("sd_hash")), "{found:#?}");
    let bad = tmp.path().join("tampered-credentials.json");
    std::fs::write(&bad, serde_json::to_vec(&tampered).unwrap()).unwrap();

    let console = format!("{}/console", node.url);
    browser.go(&format!("{console}#/audit")).await;
    browser.choose_file("#bundle-file", &clean).await;
    browser.wait_text("#verdict", &["Verified"]).await;
    // Everything embedded: the entries' credentials and presentations, and the bundle's.
    let in_entries = bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            ["credential", "presentation"]
                .iter()
                .filter(|m| !e["event"]["details"][**m].is_null())
                .count()
        })
        .sum::<usize>();
    let total = in_entries + bundle["credentials"].as_array().unwrap().len();
    let checked = browser
        .wait_text(
            "#credentials-checked",
            &[
                &format!("{total}: {} proofs verified here", total - 1),
                "1 left to",
            ],
        )
        .await;
    assert!(!checked.contains("failing"), "{checked}");
    browser
        .wait_text(
            "#findings",
            &[
                &format!("credential {} of the bundle's credentials", held + 4),
                "eddsa-rdfc-2022",
                "not checked in the browser",
            ],
        )
        .await;

    browser.choose_file("#bundle-file", &bad).await;
    browser
        .wait_text("#verdict", &["Not valid", "5 problems"])
        .await;
    browser
        .wait_text(
            "#findings",
            &[
                &format!(
                    "credential {} of the bundle's credentials (DataSpaceMembershipCredential by {}) fails its proof check: the signature of `{}` does not verify",
                    position + 1,
                    authority.did(),
                    authority.did()
                ),
                &format!(
                    "credential {} of the bundle's credentials (DataSpaceMembershipCredential by {}) fails its proof check: the signature of `{}` does not verify",
                    held + 1,
                    node.did(),
                    node.did()
                ),
                &format!(
                    "credential {} of the bundle's credentials",
                    held + 2
                ),
                "disclosure 1 is not one the issuer signed a digest of",
                &format!(
                    "credential {} of the bundle's credentials (DataSpaceMembershipCredential by {}) fails its proof check: the eddsa-jcs-2022 proof of `{}` does not verify",
                    held + 3,
                    authority.did(),
                    authority.did()
                ),
                &format!("credential {} of the bundle's credentials", held + 5),
                "fails its proof check: its Key Binding JWT's `sd_hash` does not match the SD-JWT presented",
            ],
        )
        .await;
    browser
        .screenshot(&shots().join("audit-credentials.png"))
        .await;
}
