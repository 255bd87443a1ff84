//! SD-JWT VCs: IETF RFC 9901 (SD-JWT) and draft-ietf-oauth-sd-jwt-vc, issued and verified
//! beside VC-JOSE and Data Integrity, with selective disclosure and key binding.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use symbolon_identity::issue::issue_sd_jwt;
use symbolon_identity::sd_jwt::{self, Disclosable, Presentation};
use symbolon_identity::status_list::{self, StaticStatusSource, StatusList, StatusPurpose};
use symbolon_identity::{
    credential, jose, Identity, Input, Outcome, PresentationOptions, Secured, TrustList,
    VerifyError,
};

use crate::common::{identity, membership, verifier};

const NONCE: &str = "n-0S6_WzA2Mj";
const AUDIENCE: &str = "did:key:z6MkVerifier";

fn token(secured: &Secured) -> String {
    match secured {
        Secured::Jwt(token) => token.clone(),
        Secured::Json(_) => panic!("an SD-JWT VC is a string"),
    }
}

fn present(holder: &Identity, sd_jwt: &str, disclose: &[&str]) -> String {
    let disclose: Vec<String> = disclose.iter().map(|s| (*s).to_owned()).collect();
    sd_jwt::present(
        sd_jwt,
        &holder.key,
        &Presentation {
            disclose: &disclose,
            nonce: NONCE,
            audience: AUDIENCE,
        },
    )
    .unwrap()
}

fn options() -> PresentationOptions<'static> {
    PresentationOptions {
        challenge: NONCE,
        domain: Some(AUDIENCE),
        holder_binding: true,
    }
}

fn subject_of(report: &symbolon_identity::Report) -> Value {
    report.document.as_ref().unwrap()["credentialSubject"].clone()
}

/// A membership SD-JWT VC issued to `holder`, with the type's default disclosable claims.
fn issued(issuer: &Identity, holder: &Identity) -> String {
    token(&issue_sd_jwt(issuer, &membership(issuer, &holder.did), None, None).unwrap())
}

// RFC 9901 §4.2.3 (digests of disclosures) and §7.1 (processing): the example SD-JWT of the
// specification, its disclosures' digests, and the payload a verifier reconstructs from it
// (array element disclosures `...` included). Source: identity/tests/data/SOURCE.md.
#[test]
fn ietf_example_digests_and_processing() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sd-jwt/ietf-example-1.json");
    let example: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for pair in example["disclosureDigests"].as_array().unwrap() {
        assert_eq!(
            sd_jwt::digest(pair[0].as_str().unwrap()),
            pair[1].as_str().unwrap()
        );
    }
    let sd_jwt_text = example["sdJwt"].as_str().unwrap();
    let mut parts: Vec<&str> = sd_jwt_text.split('~').collect();
    parts.pop();
    let jws = jose::decode(parts.remove(0)).unwrap();
    let processed = sd_jwt::process(&jws.payload, &parts).unwrap();
    assert_eq!(processed, example["processedPayload"]);
    // Only some disclosures: the others stay hidden, and so does one nationality.
    let some: Vec<&str> = parts
        .iter()
        .copied()
        .filter(|d| {
            let text = String::from_utf8(B64.decode(d).unwrap()).unwrap();
            text.contains("given_name") || text.contains("\"US\"")
        })
        .collect();
    let processed = sd_jwt::process(&jws.payload, &some).unwrap();
    assert_eq!(processed["given_name"], "John");
    assert_eq!(processed["nationalities"], json!(["US"]));
    assert!(processed.get("family_name").is_none() && processed.get("_sd").is_none());
}

// SD-JWT VC §3.2: issued with `typ` dc+sd-jwt, `vct`, `iss`, `cnf.jwk`; the type's defaults are
// selectively disclosable (a membership shows the role and hides the registration number).
#[tokio::test]
async fn membership_sd_jwt_vc_issues_and_verifies_with_chosen_disclosures() {
    let issuer = identity();
    let holder = identity();
    let sd_jwt_text = issued(&issuer, &holder);
    let decoded = sd_jwt::decode(&sd_jwt_text).unwrap();
    assert_eq!(decoded.jws.header["typ"], "dc+sd-jwt");
    assert_eq!(
        decoded.claims["vct"],
        "https://w3id.org/symbolon/vct/DataSpaceMembershipCredential"
    );
    assert_eq!(decoded.claims["iss"], issuer.did.as_str());
    assert_eq!(decoded.holder_key().unwrap(), Some(holder.key.public_key()));
    // In the signed payload, the hidden claims are digests only; the role is plain.
    assert_eq!(decoded.jws.payload["role"], "Hospital");
    assert!(decoded.jws.payload.get("registrationNumber").is_none());
    assert_eq!(decoded.jws.payload["_sd_alg"], "sha-256");
    // Two disclosable claims (the subject has no `publicSector`), and decoys.
    let digests = decoded.jws.payload["_sd"].as_array().unwrap();
    assert_eq!(digests.len(), 2 + sd_jwt::DECOYS);
    // The issued SD-JWT (every disclosure) verifies as a credential.
    let report = verifier()
        .verify_credential(&Input::parse(&sd_jwt_text).unwrap())
        .await;
    assert!(report.verified, "{:?}", report.error);
    assert_eq!(report.format.as_deref(), Some("dc+sd-jwt"));
    assert_eq!(subject_of(&report)["registrationNumber"], "KvK-1");
    // The holder discloses the legal name only.
    let presented = present(&holder, &sd_jwt_text, &["legalName"]);
    let report = verifier()
        .verify_presentation_with(&Input::parse(&presented).unwrap(), &options())
        .await;
    assert!(report.verified, "{:?}", report.error);
    assert_eq!(report.signer.as_deref(), Some(holder.did.as_str()));
    let subject = subject_of(&report.credentials[0]);
    assert_eq!(subject["legalName"], "Org");
    assert_eq!(subject["role"], "Hospital");
    assert_eq!(subject["id"], holder.did.as_str());
    assert!(subject.get("registrationNumber").is_none());
    // The presentation is an SD-JWT VC, so it verifies as a credential too (key binding
    // included, nonce and audience left to a presentation verifier).
    assert!(
        verifier()
            .verify_credential(&Input::parse(&presented).unwrap())
            .await
            .verified
    );
}

// The issuer chooses: a consent shows the purposes and can hide the cohort; `purposes[]` makes
// each purpose an array element disclosure (RFC 9901 §4.2.2).
#[tokio::test]
async fn the_issuer_chooses_what_is_disclosable_and_array_elements_work() {
    let issuer = identity();
    let holder = identity();
    let consent = credential::build(
        &issuer.did,
        "ConsentCredential",
        &holder.did,
        &json!({"cohortId": "cohort-17", "purposes": ["scientific-research", "public-health"],
                "datasetId": "ds-1"}),
        None,
    )
    .unwrap();
    let secured = issue_sd_jwt(
        &issuer,
        &consent,
        Some(Disclosable(vec!["cohortId".into(), "purposes[]".into()])),
        None,
    )
    .unwrap();
    let presented = present(&holder, &token(&secured), &["purposes=scientific-research"]);
    let report = verifier()
        .verify_presentation_with(&Input::parse(&presented).unwrap(), &options())
        .await;
    assert!(report.verified, "{:?}", report.error);
    let subject = subject_of(&report.credentials[0]);
    assert_eq!(subject["purposes"], json!(["scientific-research"]));
    assert!(subject.get("cohortId").is_none());
    assert_eq!(subject["datasetId"], "ds-1");
    // Defaults for a consent: the cohort is hidden unless disclosed, the purposes are not.
    let secured = issue_sd_jwt(&issuer, &consent, None, None).unwrap();
    let presented = present(&holder, &token(&secured), &[]);
    let report = verifier()
        .verify_presentation_with(&Input::parse(&presented).unwrap(), &options())
        .await;
    assert!(report.verified, "{:?}", report.error);
    let subject = subject_of(&report.credentials[0]);
    assert!(subject.get("cohortId").is_none() && subject.get("datasetId").is_none());
    assert_eq!(subject["purposes"].as_array().unwrap().len(), 2);
    // Reserved or unknown claims cannot be made disclosable.
    for wanted in ["id", "iss", "noSuchClaim", "datasetId[]"] {
        assert!(
            issue_sd_jwt(
                &issuer,
                &consent,
                Some(Disclosable(vec![wanted.into()])),
                None
            )
            .is_err(),
            "{wanted}"
        );
    }
}

/// Replaces the disclosure at `index` (1-based part of the `~`-separated token).
fn with_part(token: &str, index: usize, part: &str) -> String {
    let mut parts: Vec<String> = token.split('~').map(str::to_owned).collect();
    parts[index] = part.to_owned();
    parts.join("~")
}

fn disclosure(array: Value) -> String {
    B64.encode(array.to_string())
}

// RFC 9901 §7.1: what a verifier must refuse in the disclosures.
#[tokio::test]
async fn tampered_foreign_duplicate_and_reserved_disclosures_are_refused() {
    let issuer = identity();
    let holder = identity();
    let sd_jwt_text = issued(&issuer, &holder);
    let first = sd_jwt_text.split('~').nth(1).unwrap().to_owned();
    let refused = |text: String| async move {
        let report = verifier()
            .verify_credential(&Input::parse(&text).unwrap())
            .await;
        assert!(!report.verified, "accepted: {text}");
        assert_eq!(report.outcome("format"), Some(Outcome::Failed));
        report.error.unwrap_or_default()
    };
    // A tampered disclosure: its digest is in no `_sd`.
    let mut decoded: Value = serde_json::from_slice(&B64.decode(&first).unwrap()).unwrap();
    decoded[2] = "changed".into();
    let error = refused(with_part(&sd_jwt_text, 1, &disclosure(decoded))).await;
    assert!(error.contains("not in the payload"), "{error}");
    // A disclosure from another credential.
    let other = issued(&issuer, &holder);
    let foreign = other.split('~').nth(1).unwrap();
    let error = refused(format!("{sd_jwt_text}{foreign}~")).await;
    assert!(error.contains("not in the payload"), "{error}");
    // The same disclosure twice.
    let error = refused(format!("{sd_jwt_text}{first}~")).await;
    assert!(error.contains("twice"), "{error}");
    // Reserved claim names, signed into the payload by the issuer itself.
    for name in ["_sd", "...", "iss", "cnf"] {
        let bad = disclosure(json!(["c2FsdHNhbHRzYWx0", name, "x"]));
        let payload = json!({"iss": issuer.did.as_str(), "vct": "urn:x", "_sd": [sd_jwt::digest(&bad)],
                             "_sd_alg": "sha-256"});
        let jwt = jose::sign(
            &issuer.key,
            &issuer.verification_method(),
            "dc+sd-jwt",
            &payload,
        );
        let error = refused(format!("{jwt}~{bad}~")).await;
        assert!(error.contains("reserved"), "{name}: {error}");
    }
    // A digest that appears twice in the payload.
    let d = disclosure(json!(["c2FsdA", "legalName", "Org"]));
    let digest = sd_jwt::digest(&d);
    let payload = json!({"iss": issuer.did.as_str(), "vct": "urn:x", "_sd": [digest.clone(), digest],
                         "_sd_alg": "sha-256"});
    let jwt = jose::sign(
        &issuer.key,
        &issuer.verification_method(),
        "dc+sd-jwt",
        &payload,
    );
    let error = refused(format!("{jwt}~{d}~")).await;
    assert!(error.contains("twice"), "{error}");
    // Another hash algorithm, another typ, and an oversized input.
    let payload = json!({"iss": issuer.did.as_str(), "vct": "urn:x", "_sd_alg": "sha-1"});
    let jwt = jose::sign(
        &issuer.key,
        &issuer.verification_method(),
        "dc+sd-jwt",
        &payload,
    );
    refused(format!("{jwt}~")).await;
    let jwt = jose::sign(
        &issuer.key,
        &issuer.verification_method(),
        "vc+jwt",
        &payload,
    );
    refused(format!("{jwt}~")).await;
    let huge = format!("{sd_jwt_text}{}~", "A".repeat(2 * 1024 * 1024));
    assert!(matches!(
        Input::parse(&huge),
        Err(VerifyError::TooLarge { .. })
    ));
    assert!(matches!(
        sd_jwt::decode(&huge),
        Err(VerifyError::TooLarge { .. })
    ));
    // The legacy typ vc+sd-jwt is still read.
    let payload = json!({"iss": issuer.did.as_str(), "vct": "urn:x"});
    let jwt = jose::sign(
        &issuer.key,
        &issuer.verification_method(),
        "vc+sd-jwt",
        &payload,
    );
    assert!(sd_jwt::decode(&format!("{jwt}~")).is_ok());
}

// RFC 9901 §7.3: the Key Binding JWT binds the presentation to the verifier's nonce and
// audience, to the holder key, and through sd_hash to exactly the disclosures presented.
#[tokio::test]
async fn key_binding_is_required_and_checked() {
    let issuer = identity();
    let holder = identity();
    let sd_jwt_text = issued(&issuer, &holder);
    let presented = present(&holder, &sd_jwt_text, &["legalName"]);
    let verify = |text: String, options: PresentationOptions<'static>| async move {
        verifier()
            .verify_presentation_with(&Input::parse(&text).unwrap(), &options)
            .await
    };
    // No Key Binding JWT.
    let report = verify(present_without_kb(&presented), options()).await;
    assert_eq!(report.outcome("signature"), Some(Outcome::Failed));
    assert!(report.error.unwrap().contains("Key Binding"));
    // Wrong nonce, wrong audience.
    let report = verify(
        presented.clone(),
        PresentationOptions {
            challenge: "another-nonce",
            ..options()
        },
    )
    .await;
    assert_eq!(report.outcome("challenge"), Some(Outcome::Failed));
    let report = verify(
        presented.clone(),
        PresentationOptions {
            domain: Some("did:key:z6MkSomeoneElse"),
            ..options()
        },
    )
    .await;
    assert_eq!(report.outcome("audience"), Some(Outcome::Failed));
    // A disclosure added after key binding: sd_hash no longer matches.
    let all = sd_jwt_text.split('~').collect::<Vec<_>>();
    let kb = presented.rsplit('~').next().unwrap();
    let without_kb = present_without_kb(&presented);
    let extra = all.iter().find(|d| !without_kb.contains(**d)).unwrap();
    let report = verify(format!("{without_kb}{extra}~{kb}"), options()).await;
    assert_eq!(report.outcome("signature"), Some(Outcome::Failed));
    assert!(report.error.unwrap().contains("sd_hash"));
    // A Key Binding JWT signed by another key than `cnf.jwk`.
    let thief = identity();
    let stolen = sd_jwt::present(
        &sd_jwt_text,
        &thief.key,
        &Presentation {
            disclose: &[],
            nonce: NONCE,
            audience: AUDIENCE,
        },
    );
    assert!(stolen.is_err(), "the holder's tool refuses another key");
    let header = json!({"alg": "EdDSA", "typ": "kb+jwt"});
    let body = json!({"iat": Utc::now().timestamp(), "aud": AUDIENCE, "nonce": NONCE,
                      "sd_hash": sd_jwt::key_binding_hash(&without_kb)});
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(body.to_string())
    );
    let forged = format!(
        "{without_kb}{input}.{}",
        B64.encode(thief.key.sign(input.as_bytes()))
    );
    let report = verify(forged, options()).await;
    assert_eq!(report.outcome("signature"), Some(Outcome::Failed));
    // An old Key Binding JWT: its proof holds, its age fails the validity check (which an
    // auditor reading an old trail leaves aside), for the presentation and the credential.
    let later = Utc::now() + Duration::hours(3);
    let report = verifier()
        .at(later)
        .verify_presentation_with(&Input::parse(&presented).unwrap(), &options())
        .await;
    proof_holds_but_stale(&report);
    assert!(
        report
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("Key Binding JWT issued at"),
        "{report:?}"
    );
    let report = verifier()
        .at(later)
        .verify_credential(&Input::parse(&presented).unwrap())
        .await;
    proof_holds_but_stale(&report);
    // And the right one passes.
    assert!(verify(presented, options()).await.verified);
}

/// The report of a key-bound SD-JWT verified long after it was presented: its proof holds,
/// its age fails the validity check.
fn proof_holds_but_stale(report: &symbolon_identity::Report) {
    assert!(!report.verified);
    assert_eq!(
        report.outcome("signature"),
        Some(Outcome::Passed),
        "{report:?}"
    );
    assert_eq!(
        report.outcome("validity"),
        Some(Outcome::Failed),
        "{report:?}"
    );
}

fn present_without_kb(presented: &str) -> String {
    let cut = presented.rfind('~').unwrap() + 1;
    presented[..cut].to_owned()
}

// Validity, status and trust apply to SD-JWT VCs as to the other formats.
#[tokio::test]
async fn expiry_status_and_trust_apply() {
    let issuer = identity();
    let holder = identity();
    // Expired (validUntil → exp).
    let expiring = credential::build(
        &issuer.did,
        "DataSpaceMembershipCredential",
        &holder.did,
        &crate::common::membership_claims("Hospital"),
        Some(Utc::now() + Duration::hours(1)),
    )
    .unwrap();
    let secured = issue_sd_jwt(&issuer, &expiring, None, None).unwrap();
    let report = verifier()
        .at(Utc::now() + Duration::days(1))
        .verify_credential(&Input::parse(&token(&secured)).unwrap())
        .await;
    assert_eq!(report.outcome("validity"), Some(Outcome::Failed));
    // Revoked through its Bitstring Status List entry.
    const LIST: &str = "https://authority.example/status/revocation";
    let source = Arc::new(StaticStatusSource::default());
    let mut list = StatusList::new();
    list.set(42, true).unwrap();
    let list_credential = list.credential(&issuer.did, LIST, StatusPurpose::Revocation);
    source.insert(
        LIST,
        jose::sign(
            &issuer.key,
            &issuer.verification_method(),
            "vc+jwt",
            &list_credential,
        ),
    );
    let mut with_status = membership(&issuer, &holder.did);
    with_status["credentialStatus"] = status_list::entry(LIST, StatusPurpose::Revocation, 42);
    let secured = issue_sd_jwt(&issuer, &with_status, None, None).unwrap();
    let report = verifier()
        .with_status_source(source)
        .verify_credential(&Input::parse(&token(&secured)).unwrap())
        .await;
    assert_eq!(report.outcome("status"), Some(Outcome::Failed));
    assert!(matches!(
        report.rejection(),
        Some(VerifyError::Revoked { index: 42, .. })
    ));
    // An issuer the trust list does not name.
    let authority = identity();
    let trusted = identity();
    let mut entries = BTreeMap::new();
    entries.insert(
        trusted.did.as_str().to_owned(),
        BTreeSet::from(["DataSpaceMembershipCredential".to_owned()]),
    );
    let trust_credential =
        TrustList::credential(&authority.did, crate::common::DATA_SPACE, &entries).unwrap();
    let trust = TrustList::from_verified_credential(&trust_credential).unwrap();
    let report = verifier()
        .with_trust_list(trust.clone())
        .verify_credential(&Input::parse(&issued(&issuer, &holder)).unwrap())
        .await;
    assert_eq!(report.outcome("trust"), Some(Outcome::Failed));
    let report = verifier()
        .with_trust_list(trust)
        .verify_credential(&Input::parse(&issued(&trusted, &holder)).unwrap())
        .await;
    assert!(report.verified, "{:?}", report.error);
}

// An SD-JWT VC travels in VC-API bodies as itself or as an enveloped credential whose `data:`
// URL has the media type application/dc+sd-jwt.
#[tokio::test]
async fn enveloped_sd_jwt_vcs_are_read() {
    let issuer = identity();
    let holder = identity();
    let secured = issue_sd_jwt(&issuer, &membership(&issuer, &holder.did), None, None).unwrap();
    let enveloped = secured.to_enveloped("vc+jwt");
    assert!(enveloped["id"]
        .as_str()
        .unwrap()
        .starts_with("data:application/dc+sd-jwt,"));
    let input = Input::credential(enveloped).unwrap();
    assert!(verifier().verify_credential(&input).await.verified);
    let presented = present(&holder, &token(&secured), &[]);
    let enveloped = Secured::Jwt(presented).to_enveloped("vp+jwt");
    let input = Input::presentation(enveloped).unwrap();
    let report = verifier()
        .verify_presentation_with(&input, &options())
        .await;
    assert!(report.verified, "{:?}", report.error);
}
