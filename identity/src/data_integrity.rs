//! Data Integrity proofs: `eddsa-rdfc-2022` (through the `ssi` back end; `ecdsa-rdfc-2019` for
//! P-256 keys) and `eddsa-jcs-2022` (implemented here over RFC 8785 canonical JSON).

use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::backend::{self, Purpose};
use crate::did::DidResolver;
use crate::error::{IssueError, VerifyError};
use crate::keys::{KeyAlgorithm, KeyPair, PublicKey};

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
    if key.algorithm() != KeyAlgorithm::Ed25519 {
        return Err(IssueError::Unsupported(
            "eddsa-jcs-2022 needs an Ed25519 key".into(),
        ));
    }
    let object = document
        .as_object_mut()
        .ok_or_else(|| IssueError::Invalid {
            what: "document",
            path: "/".into(),
            reason: "not a JSON object".into(),
        })?;
    object.remove("proof");
    let mut proof = Map::new();
    proof.insert("type".into(), "DataIntegrityProof".into());
    proof.insert("cryptosuite".into(), "eddsa-jcs-2022".into());
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
}

/// Reads the single proof of a secured document.
pub fn proof_info(document: &Value) -> Result<ProofInfo, VerifyError> {
    let proof = match document.get("proof") {
        Some(Value::Object(proof)) => proof,
        Some(Value::Array(_)) => {
            return Err(VerifyError::Malformed(
                "proof sets are not accepted; one proof expected".into(),
            ))
        }
        _ => return Err(VerifyError::Malformed("the document has no `proof`".into())),
    };
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
        cryptosuite,
    })
}

/// Verifies the Data Integrity proof of `document` (signature only: no dates, status or trust).
pub async fn verify_proof(
    document: &Value,
    resolver: &DidResolver,
) -> Result<ProofInfo, VerifyError> {
    let info = proof_info(document)?;
    backend::expand_strict(document)
        .await
        .map_err(VerifyError::JsonLd)?;
    match info.cryptosuite.as_str() {
        "eddsa-jcs-2022" => {
            let (_, key) = resolver.public_key(&info.verification_method).await?;
            verify_jcs(document, &key)?;
        }
        _ => {
            let (_, key) = resolver.public_key(&info.verification_method).await?;
            let expected = if info.cryptosuite == "eddsa-rdfc-2022" {
                KeyAlgorithm::Ed25519
            } else {
                KeyAlgorithm::P256
            };
            if key.algorithm() != expected {
                return Err(VerifyError::AlgorithmKeyMismatch {
                    alg: info.cryptosuite.clone(),
                    key: key.algorithm().to_string(),
                    method: info.verification_method.clone(),
                });
            }
            backend::verify_rdfc(document).await?;
        }
    }
    Ok(info)
}

fn verify_jcs(document: &Value, key: &PublicKey) -> Result<(), VerifyError> {
    if key.algorithm() != KeyAlgorithm::Ed25519 {
        return Err(VerifyError::AlgorithmKeyMismatch {
            alg: "eddsa-jcs-2022".into(),
            key: key.algorithm().to_string(),
            method: String::new(),
        });
    }
    let mut unsecured = document.clone();
    let object = unsecured
        .as_object_mut()
        .ok_or_else(|| VerifyError::Malformed("not a JSON object".into()))?;
    let Some(Value::Object(mut proof)) = object.remove("proof") else {
        return Err(VerifyError::Malformed("the document has no `proof`".into()));
    };
    let proof_value = proof
        .remove("proofValue")
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| VerifyError::Malformed("the proof has no `proofValue`".into()))?;
    if let Some(proof_context) = proof.get("@context") {
        if object.get("@context") != Some(proof_context) {
            return Err(VerifyError::BadSignature(
                "the proof's @context differs from the document's".into(),
            ));
        }
    }
    let signature = proof_value
        .strip_prefix('z')
        .and_then(|b58| bs58::decode(b58).into_vec().ok())
        .ok_or_else(|| VerifyError::Malformed("`proofValue` is not base58btc multibase".into()))?;
    let hash = jcs_hash_data(&Value::Object(proof), &unsecured)
        .map_err(|e| VerifyError::Json(Arc::new(e)))?;
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
