//! Data Integrity proofs: `eddsa-rdfc-2022` (through the `ssi` back end; `ecdsa-rdfc-2019` for
//! P-256 keys) and `eddsa-jcs-2022` (implemented here over RFC 8785 canonical JSON).

use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::backend::{self, Purpose};
use crate::did::DidResolver;
use crate::error::{IssueError, VerifyError};
use crate::keys::{KeyAlgorithm, KeyPair, PublicKey};

pub mod chain;

/// A Data Integrity cryptosuite this crate signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cryptosuite {
    /// RDF Dataset Canonicalization + Ed25519 (`ecdsa-rdfc-2019` when the key is P-256).
    Rdfc,
    /// JSON Canonicalization Scheme + Ed25519.
    Jcs,
}

/// Cryptosuites a verifier accepts.
pub const ACCEPTED_CRYPTOSUITES: &[&str] =
    &["eddsa-rdfc-2022", "eddsa-jcs-2022", "ecdsa-rdfc-2019"];

/// What a proof is for, with the presentation's challenge and domain.
#[derive(Debug, Clone, Default)]
pub struct ProofParams<'a> {
    /// `authentication` (presentations) instead of `assertionMethod`.
    pub authentication: bool,
    /// The challenge (nonce).
    pub challenge: Option<&'a str>,
    /// The domain (audience).
    pub domain: Option<&'a str>,
}

/// Adds a Data Integrity proof to `document`.
pub async fn sign(
    document: Value,
    key: &KeyPair,
    verification_method: &str,
    suite: Cryptosuite,
    params: &ProofParams<'_>,
) -> Result<Value, IssueError> {
    // Undefined JSON-LD terms are errors for Data Integrity, whichever canonicalisation signs.
    backend::expand_strict(&document)
        .await
        .map_err(IssueError::JsonLd)?;
    match suite {
        Cryptosuite::Rdfc => {
            let purpose = if params.authentication {
                Purpose::Authentication
            } else {
                Purpose::Assertion
            };
            backend::sign_rdfc(
                document,
                key,
                verification_method,
                purpose,
                params.challenge,
                params.domain,
            )
            .await
        }
        Cryptosuite::Jcs => sign_jcs(document, key, verification_method, params),
    }
}

fn sign_jcs(
    mut document: Value,
    key: &KeyPair,
    verification_method: &str,
    params: &ProofParams<'_>,
) -> Result<Value, IssueError> {
    let object = document
        .as_object_mut()
        .ok_or_else(|| IssueError::Invalid {
            what: "document",
            path: "/".into(),
            reason: "not a JSON object".into(),
        })?;
    object.remove("proof");
    let mut proof = proof_config(key, verification_method, Cryptosuite::Jcs, params)?;
    if let Some(context) = object.get("@context") {
        proof.insert("@context".into(), context.clone());
    }
    let hash = jcs_hash_data(&Value::Object(proof.clone()), &document)
        .map_err(|e| IssueError::Json(Arc::new(e)))?;
    let signature = key.sign(&hash);
    proof.insert(
        "proofValue".into(),
        format!("z{}", bs58::encode(signature).into_string()).into(),
    );
    if let Some(object) = document.as_object_mut() {
        object.insert("proof".into(), Value::Object(proof));
    }
    Ok(document)
}

fn now_seconds() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document)), as eddsa-jcs-2022 signs.
fn jcs_hash_data(proof_config: &Value, document: &Value) -> Result<Vec<u8>, serde_json::Error> {
    let canonical_proof = serde_json_canonicalizer::to_string(proof_config)?;
    let canonical_doc = serde_json_canonicalizer::to_string(document)?;
    let mut data = Sha256::digest(canonical_proof.as_bytes()).to_vec();
    data.extend_from_slice(&Sha256::digest(canonical_doc.as_bytes()));
    Ok(data)
}

/// The proof object of a secured document, with the fields every check needs.
#[derive(Debug, Clone)]
pub struct ProofInfo {
    /// The cryptosuite.
    pub cryptosuite: String,
    /// The verification method (a DID URL).
    pub verification_method: String,
    /// `assertionMethod` or `authentication`.
    pub proof_purpose: String,
    /// The challenge, if any.
    pub challenge: Option<String>,
    /// The domain, if any (first one when several).
    pub domain: Option<String>,
    /// The proof's `id`, if it has one (proof chains name proofs by it).
    pub id: Option<String>,
    /// The proofs this one chains to (`previousProof`), by `id`.
    pub previous_proof: Vec<String>,
}

/// Reads the proof of a secured document (the first one of a proof set), checking the fields
/// of every proof of the set.
pub fn proof_info(document: &Value) -> Result<ProofInfo, VerifyError> {
    proof_infos(document)?
        .into_iter()
        .next()
        .ok_or_else(|| VerifyError::Malformed("the document has no `proof`".into()))
}

/// Reads every proof of a secured document: its one `proof`, or each of a proof set
/// (Data Integrity 1.0 §2.1.1), at most [`chain::MAX_PROOFS`].
pub fn proof_infos(document: &Value) -> Result<Vec<ProofInfo>, VerifyError> {
    let proofs = chain::all_proofs(document)?;
    chain::check_unique_ids(&proofs)?;
    proofs.into_iter().map(read_proof).collect()
}

fn read_proof(proof: &Map<String, Value>) -> Result<ProofInfo, VerifyError> {
    let text = |name: &str| proof.get(name).and_then(Value::as_str).map(str::to_owned);
    if text("type").as_deref() != Some("DataIntegrityProof") {
        return Err(VerifyError::DisallowedAlgorithm(
            text("type").unwrap_or_else(|| "(no proof type)".into()),
        ));
    }
    let cryptosuite = text("cryptosuite")
        .ok_or_else(|| VerifyError::Malformed("the proof has no `cryptosuite`".into()))?;
    if !ACCEPTED_CRYPTOSUITES.contains(&cryptosuite.as_str()) {
        return Err(VerifyError::DisallowedAlgorithm(crate::error::quote(
            &cryptosuite,
        )));
    }
    let domain = crate::json::first_str(proof.get("domain")).map(str::to_owned);
    Ok(ProofInfo {
        verification_method: text("verificationMethod").ok_or_else(|| {
            VerifyError::Malformed("the proof has no `verificationMethod`".into())
        })?,
        proof_purpose: text("proofPurpose")
            .ok_or_else(|| VerifyError::Malformed("the proof has no `proofPurpose`".into()))?,
        challenge: text("challenge"),
        domain,
        id: text("id"),
        previous_proof: chain::previous_ids(proof)?,
        cryptosuite,
    })
}

/// Verifies the Data Integrity proof of `document` (signature only: no dates, status or trust);
/// for a proof set or chain, every proof, and returns the first's fields.
pub async fn verify_proof(
    document: &Value,
    resolver: &DidResolver,
) -> Result<ProofInfo, VerifyError> {
    verify_proofs(document, resolver)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| VerifyError::Malformed("the document has no `proof`".into()))
}

/// Verifies every proof of `document` (Data Integrity 1.0 §4.5 "Verify Proof Sets and
/// Chains"): each proof of a set over the document without proofs, each chained proof over the
/// document carrying the proofs its `previousProof` names (a name that matches none is an
/// error). All must verify; returns their fields in document order.
pub async fn verify_proofs(
    document: &Value,
    resolver: &DidResolver,
) -> Result<Vec<ProofInfo>, VerifyError> {
    let infos = proof_infos(document)?;
    let proofs = chain::all_proofs(document)?;
    backend::expand_strict(document)
        .await
        .map_err(VerifyError::JsonLd)?;
    for (proof, info) in proofs.iter().zip(&infos) {
        let matching = chain::matching_proofs(&proofs, proof)?;
        let (_, key) = resolver.public_key(&info.verification_method).await?;
        let expected = match info.cryptosuite.as_str() {
            "ecdsa-rdfc-2019" => KeyAlgorithm::P256,
            _ => KeyAlgorithm::Ed25519,
        };
        if key.algorithm() != expected {
            return Err(VerifyError::AlgorithmKeyMismatch {
                alg: info.cryptosuite.clone(),
                key: key.algorithm().to_string(),
                method: info.verification_method.clone(),
            });
        }
        let chained = !matching.is_empty();
        let input = chain::input_document(document, matching);
        match info.cryptosuite.as_str() {
            "eddsa-jcs-2022" => verify_jcs(&input, proof, &key)?,
            _ if chained => chain::verify_rdfc(&input, proof, &key).await?,
            _ => {
                let mut single = input;
                if let Some(object) = single.as_object_mut() {
                    object.insert("proof".into(), Value::Object((*proof).clone()));
                }
                backend::verify_rdfc(&single).await?;
            }
        }
    }
    Ok(infos)
}

/// Adds a proof to `document` (Data Integrity 1.0 §4.3 "Add Proof Set/Chain"): to a document
/// without proofs, its one proof; to a secured one, another proof of its set. With `previous`
/// (ids of proofs the document carries) the new proof chains to them: it signs the document
/// with those proofs, and names them in `previousProof`. Every proof added here gets an `id`
/// (`urn:uuid:…`), so that later proofs can chain to it.
pub async fn add_proof(
    document: Value,
    key: &KeyPair,
    verification_method: &str,
    suite: Cryptosuite,
    params: &ProofParams<'_>,
    previous: &[&str],
) -> Result<Value, IssueError> {
    backend::expand_strict(&document)
        .await
        .map_err(IssueError::JsonLd)?;
    let invalid = |reason: String| IssueError::Invalid {
        what: "document",
        path: "/proof".into(),
        reason,
    };
    let existing: Vec<Map<String, Value>> = match document.get("proof") {
        None => Vec::new(),
        Some(_) => chain::all_proofs(&document)
            .map_err(|e| invalid(e.to_string()))?
            .into_iter()
            .cloned()
            .collect(),
    };
    let matching = previous
        .iter()
        .map(|wanted| {
            existing
                .iter()
                .find(|p| p.get("id").and_then(Value::as_str) == Some(wanted))
                .map(|p| Value::Object(p.clone()))
                .ok_or_else(|| {
                    invalid(format!(
                        "previousProof `{}` names no proof of the document",
                        crate::error::quote(wanted)
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let input = chain::input_document(&document, matching);
    let mut config = proof_config(key, verification_method, suite, params)?;
    config.insert(
        "id".into(),
        format!("urn:uuid:{}", uuid::Uuid::new_v4()).into(),
    );
    match previous {
        [] => {}
        [one] => {
            config.insert("previousProof".into(), (*one).into());
        }
        many => {
            config.insert("previousProof".into(), many.to_vec().into());
        }
    }
    let proof = match suite {
        Cryptosuite::Rdfc => chain::sign_rdfc(&input, config, key)
            .await
            .map_err(IssueError::JsonLd)?,
        Cryptosuite::Jcs => {
            if let Some(context) = document.get("@context") {
                config.insert("@context".into(), context.clone());
            }
            let hash = jcs_hash_data(&Value::Object(config.clone()), &input)
                .map_err(|e| IssueError::Json(Arc::new(e)))?;
            config.insert(
                "proofValue".into(),
                format!("z{}", bs58::encode(key.sign(&hash)).into_string()).into(),
            );
            config
        }
    };
    let mut secured = chain::input_document(&document, Vec::new());
    let proofs: Vec<Value> = existing
        .into_iter()
        .map(Value::Object)
        .chain([Value::Object(proof)])
        .collect();
    if let Some(object) = secured.as_object_mut() {
        object.insert(
            "proof".into(),
            match <[Value; 1]>::try_from(proofs) {
                Ok([one]) => one,
                Err(many) => Value::Array(many),
            },
        );
    }
    Ok(secured)
}

/// The configuration of a new proof (everything but `proofValue`).
fn proof_config(
    key: &KeyPair,
    verification_method: &str,
    suite: Cryptosuite,
    params: &ProofParams<'_>,
) -> Result<Map<String, Value>, IssueError> {
    let cryptosuite = match suite {
        Cryptosuite::Rdfc => chain::rdfc_suite_name(key.algorithm()),
        Cryptosuite::Jcs if key.algorithm() == KeyAlgorithm::Ed25519 => "eddsa-jcs-2022",
        Cryptosuite::Jcs => {
            return Err(IssueError::Unsupported(
                "eddsa-jcs-2022 needs an Ed25519 key".into(),
            ))
        }
    };
    let mut proof = Map::new();
    proof.insert("type".into(), "DataIntegrityProof".into());
    proof.insert("cryptosuite".into(), cryptosuite.into());
    proof.insert("created".into(), now_seconds().into());
    proof.insert("verificationMethod".into(), verification_method.into());
    let purpose = if params.authentication {
        "authentication"
    } else {
        "assertionMethod"
    };
    proof.insert("proofPurpose".into(), purpose.into());
    if let Some(challenge) = params.challenge {
        proof.insert("challenge".into(), challenge.into());
    }
    if let Some(domain) = params.domain {
        proof.insert("domain".into(), domain.into());
    }
    Ok(proof)
}

/// The signature bytes of a proof's `proofValue` (base58btc multibase).
fn decode_proof_value(proof: &Map<String, Value>) -> Result<Vec<u8>, VerifyError> {
    proof
        .get("proofValue")
        .and_then(Value::as_str)
        .ok_or_else(|| VerifyError::Malformed("the proof has no `proofValue`".into()))?
        .strip_prefix('z')
        .and_then(|b58| bs58::decode(b58).into_vec().ok())
        .ok_or_else(|| VerifyError::Malformed("`proofValue` is not base58btc multibase".into()))
}

/// Verifies an `eddsa-jcs-2022` proof over `input` (the document without proofs, or with the
/// proofs this one chains to).
fn verify_jcs(
    input: &Value,
    proof: &Map<String, Value>,
    key: &PublicKey,
) -> Result<(), VerifyError> {
    if key.algorithm() != KeyAlgorithm::Ed25519 {
        return Err(VerifyError::AlgorithmKeyMismatch {
            alg: "eddsa-jcs-2022".into(),
            key: key.algorithm().to_string(),
            method: String::new(),
        });
    }
    let signature = decode_proof_value(proof)?;
    let mut config = proof.clone();
    config.remove("proofValue");
    if let Some(proof_context) = config.get("@context") {
        if input.get("@context") != Some(proof_context) {
            return Err(VerifyError::BadSignature(
                "the proof's @context differs from the document's".into(),
            ));
        }
    }
    let hash =
        jcs_hash_data(&Value::Object(config), input).map_err(|e| VerifyError::Json(Arc::new(e)))?;
    key.verify_ed25519(&hash, &signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::Did;

    fn doc(did: &Did) -> Value {
        serde_json::json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", crate::context::SYMBOLON_CONTEXT],
            "type": ["VerifiableCredential", "AuditorCredential"],
            "issuer": did.as_str(),
            "credentialSubject": {"id": did.as_str(), "auditScope": "all"}
        })
    }

    #[tokio::test]
    async fn jcs_sign_verify_tamper() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let did = Did::key(&key.public_key());
        let resolver = DidResolver::offline();
        let params = ProofParams {
            authentication: true,
            challenge: Some("n-1"),
            domain: Some("did:example:v"),
        };
        let signed = sign(
            doc(&did),
            &key,
            &did.default_method(),
            Cryptosuite::Jcs,
            &params,
        )
        .await
        .unwrap();
        let info = verify_proof(&signed, &resolver).await.unwrap();
        assert_eq!(info.challenge.as_deref(), Some("n-1"));
        let mut tampered = signed.clone();
        tampered["credentialSubject"]["auditScope"] = "none".into();
        assert!(matches!(
            verify_proof(&tampered, &resolver).await,
            Err(VerifyError::BadSignature(_))
        ));
        let mut bad_value = signed.clone();
        bad_value["proof"]["proofValue"] =
            "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq".into();
        assert!(verify_proof(&bad_value, &resolver).await.is_err());
        let mut other_suite = signed;
        other_suite["proof"]["cryptosuite"] = "bbs-2023".into();
        assert!(matches!(
            verify_proof(&other_suite, &resolver).await,
            Err(VerifyError::DisallowedAlgorithm(_))
        ));
    }

    #[tokio::test]
    async fn rdfc_with_challenge_and_domain() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let did = Did::key(&key.public_key());
        let params = ProofParams {
            authentication: true,
            challenge: Some("c"),
            domain: Some("d"),
        };
        let signed = sign(
            doc(&did),
            &key,
            &did.default_method(),
            Cryptosuite::Rdfc,
            &params,
        )
        .await
        .unwrap();
        let info = verify_proof(&signed, &DidResolver::offline())
            .await
            .unwrap();
        assert_eq!(
            (info.challenge.as_deref(), info.domain.as_deref()),
            (Some("c"), Some("d"))
        );
        assert_eq!(info.proof_purpose, "authentication");
    }
}
