//! Data Integrity proof sets and proof chains (Verifiable Credential Data Integrity 1.0 §2.1.1
//! "Proof Sets", §2.1.2 "Proof Chains", §4.3 "Add Proof Set/Chain", §4.5 "Verify Proof Sets
//! and Chains"), with the W3C vc-di-eddsa vectors, and VC Data Model 1.1 credentials secured
//! with `eddsa-rdfc-2022`.

use std::path::Path;

use chrono::{Duration, Utc};
use serde_json::Value;
use symbolon_identity::credential::{self, to_v1_1};
use symbolon_identity::data_integrity::{add_proof, verify_proofs, Cryptosuite, ProofParams};
use symbolon_identity::{
    issue_credential, DidResolver, Format, IssueError, Outcome, Secured, VerifyError,
};

use crate::common::{identity, input, membership, verifier};

fn vector(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vectors/vc-di-eddsa/proof-set-chain")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("vector `{}` cannot be read: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

// §2.1.1 / §4.5: every proof of a set verifies over the document without proofs.
// Source: vc-di-eddsa TestVectors/proof-set-chain/signedProofSet{1,2}.json.
#[tokio::test]
async fn proof_set_vectors_verify_and_every_proof_counts() {
    let resolver = DidResolver::offline();
    for name in ["signedProofSet1.json", "signedProofSet2.json"] {
        let signed = vector(name);
        let infos = verify_proofs(&signed, &resolver).await.unwrap();
        assert_eq!(
            infos.len(),
            signed["proof"].as_array().map_or(1, Vec::len),
            "{name}"
        );
    }
    // One bad proof in the set fails the whole set.
    let mut one_bad = vector("signedProofSet2.json");
    one_bad["proof"][1]["proofValue"] = one_bad["proof"][0]["proofValue"].clone();
    assert!(matches!(
        verify_proofs(&one_bad, &resolver).await,
        Err(VerifyError::BadSignature(_))
    ));
    let mut tampered = vector("signedProofSet2.json");
    tampered["credentialSubject"]["alumniOf"] = "Another School".into();
    assert!(verify_proofs(&tampered, &resolver).await.is_err());
}

// §2.1.2 / §4.5: a chained proof verifies over the document with the proofs it names.
// Source: vc-di-eddsa TestVectors/proof-set-chain/signedProofChain{1,2}.json.
#[tokio::test]
async fn proof_chain_vectors_verify_and_a_broken_chain_fails() {
    let resolver = DidResolver::offline();
    for (name, proofs) in [("signedProofChain1.json", 3), ("signedProofChain2.json", 4)] {
        let infos = verify_proofs(&vector(name), &resolver).await.unwrap();
        assert_eq!(infos.len(), proofs, "{name}");
    }
    let chain = vector("signedProofChain2.json");
    let infos = verify_proofs(&chain, &resolver).await.unwrap();
    assert_eq!(
        infos[3].previous_proof,
        vec!["urn:uuid:d94f792a-c546-4d06-b38a-da070ab56c23".to_owned()]
    );
    assert_eq!(infos[2].previous_proof.len(), 2);
    // A dangling previousProof is an error (§4.5 step 3.2).
    let mut dangling = chain.clone();
    dangling["proof"][3]["previousProof"] = "urn:uuid:no-such-proof".into();
    assert!(matches!(
        verify_proofs(&dangling, &resolver).await,
        Err(VerifyError::BadSignature(m)) if m.contains("urn:uuid:no-such-proof")
    ));
    // Removing a proof another one chains to breaks the chain.
    let mut removed = chain.clone();
    removed["proof"].as_array_mut().unwrap().remove(0);
    assert!(verify_proofs(&removed, &resolver).await.is_err());
    // Dropping `previousProof` from a chained proof changes what it signed.
    let mut unchained = chain.clone();
    unchained["proof"][3]
        .as_object_mut()
        .unwrap()
        .remove("previousProof");
    assert!(verify_proofs(&unchained, &resolver).await.is_err());
    // Two proofs with one id are refused.
    let mut twins = chain;
    twins["proof"][1]["id"] = twins["proof"][0]["id"].clone();
    assert!(matches!(
        verify_proofs(&twins, &resolver).await,
        Err(VerifyError::Malformed(_))
    ));
}

// §4.3: adding proofs to a secured credential, as a set and as a chain, in both cryptosuites.
#[tokio::test]
async fn add_proof_builds_sets_and_chains_the_verifier_accepts() {
    let issuer = identity();
    let notary = identity();
    let resolver = DidResolver::offline();
    for (format, suite) in [
        (Format::DataIntegrity, Cryptosuite::Rdfc),
        (Format::DataIntegrityJcs, Cryptosuite::Jcs),
    ] {
        let Secured::Json(signed) =
            issue_credential(&issuer, membership(&issuer, &identity().did), format)
                .await
                .unwrap()
        else {
            panic!("a Data Integrity credential is JSON");
        };
        // A second proof of the set, by the notary.
        let method = notary.verification_method();
        let set = add_proof(
            signed,
            &notary.key,
            &method,
            suite,
            &ProofParams::default(),
            &[],
        )
        .await
        .unwrap();
        let infos = verify_proofs(&set, &resolver).await.unwrap();
        assert_eq!(infos.len(), 2);
        let notary_proof = infos[1].id.clone().unwrap();
        // A third, chained to the notary's.
        let chained = add_proof(
            set,
            &issuer.key,
            &issuer.verification_method(),
            suite,
            &ProofParams::default(),
            &[notary_proof.as_str()],
        )
        .await
        .unwrap();
        let infos = verify_proofs(&chained, &resolver).await.unwrap();
        assert_eq!(infos[2].previous_proof, vec![notary_proof.clone()]);
        let report = verifier()
            .verify_credential(&input(&Secured::Json(chained.clone())))
            .await;
        assert!(report.verified, "{format:?}: {:?}", report.error);
        // Changing the notary's proof breaks the chained proof as well as its own.
        let mut altered = chained.clone();
        altered["proof"][1]["created"] = "2020-01-01T00:00:00Z".into();
        assert!(verify_proofs(&altered, &resolver).await.is_err());
        // Chaining to a proof the document does not carry is refused when signing.
        assert!(matches!(
            add_proof(
                chained,
                &issuer.key,
                &issuer.verification_method(),
                suite,
                &ProofParams::default(),
                &["urn:uuid:absent"],
            )
            .await,
            Err(IssueError::Invalid { .. })
        ));
    }
}

// A credential is the issuer's when one proof of its set is the issuer's, for assertionMethod;
// proofs by others alone do not make it so.
#[tokio::test]
async fn a_proof_set_needs_a_proof_by_the_issuer() {
    let issuer = identity();
    let stranger = identity();
    let unsigned = membership(&issuer, &identity().did);
    let by_stranger = add_proof(
        unsigned,
        &stranger.key,
        &stranger.verification_method(),
        Cryptosuite::Rdfc,
        &ProofParams::default(),
        &[],
    )
    .await
    .unwrap();
    let report = verifier()
        .verify_credential(&input(&Secured::Json(by_stranger.clone())))
        .await;
    assert!(!report.verified);
    assert_eq!(report.outcome("signature"), Some(Outcome::Failed));
    let with_issuer = add_proof(
        by_stranger,
        &issuer.key,
        &issuer.verification_method(),
        Cryptosuite::Rdfc,
        &ProofParams::default(),
        &[],
    )
    .await
    .unwrap();
    let report = verifier()
        .verify_credential(&input(&Secured::Json(with_issuer)))
        .await;
    assert!(report.verified, "{:?}", report.error);
}

// VC Data Model 1.1 §4.6 (issuanceDate), §4.7 (expirationDate), secured with eddsa-rdfc-2022
// (vc-di-eddsa §3.3) over the bundled `credentials/v1` and Data Integrity contexts.
#[tokio::test]
async fn vc_1_1_credentials_issue_and_verify_with_eddsa_rdfc_2022() {
    let issuer = identity();
    let v1 = to_v1_1(&membership(&issuer, &identity().did));
    assert!(credential::is_v1(&v1));
    assert!(v1.get("validFrom").is_none() && v1.get("issuanceDate").is_some());
    let Secured::Json(signed) = issue_credential(&issuer, v1.clone(), Format::DataIntegrity)
        .await
        .unwrap()
    else {
        panic!("a Data Integrity credential is JSON");
    };
    assert_eq!(
        signed["@context"][0],
        "https://www.w3.org/2018/credentials/v1"
    );
    assert_eq!(signed["proof"]["cryptosuite"], "eddsa-rdfc-2022");
    let report = verifier()
        .verify_credential(&input(&Secured::Json(signed.clone())))
        .await;
    assert!(report.verified, "{:?}", report.error);
    let mut tampered = signed.clone();
    tampered["credentialSubject"]["role"] = "Insurer".into();
    let report = verifier()
        .verify_credential(&input(&Secured::Json(tampered)))
        .await;
    assert_eq!(report.outcome("signature"), Some(Outcome::Failed));
    // expirationDate is the end of the validity window.
    let mut expiring = v1.clone();
    expiring["expirationDate"] = credential::format_time(Utc::now() + Duration::days(1)).into();
    let signed = issue_credential(&issuer, expiring, Format::DataIntegrity)
        .await
        .unwrap();
    let report = verifier()
        .at(Utc::now() + Duration::days(2))
        .verify_credential(&input(&signed))
        .await;
    assert_eq!(report.outcome("validity"), Some(Outcome::Failed));
    // issuanceDate is required in 1.1.
    let mut undated = v1.clone();
    undated.as_object_mut().unwrap().remove("issuanceDate");
    assert!(matches!(
        issue_credential(&issuer, undated, Format::DataIntegrity).await,
        Err(IssueError::Invalid { path, .. }) if path == "/issuanceDate"
    ));
    // vc+jwt and SD-JWT secure VC 2.0 only.
    for format in [Format::Jwt, Format::SdJwt] {
        assert!(matches!(
            issue_credential(&issuer, v1.clone(), format).await,
            Err(IssueError::Unsupported(_))
        ));
    }
}
