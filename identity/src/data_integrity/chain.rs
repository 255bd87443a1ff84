//! Proof sets and proof chains (Verifiable Credential Data Integrity 1.0 §2.1.1 "Proof Sets",
//! §2.1.2 "Proof Chains"; algorithms §4.3 "Add Proof Set/Chain" and §4.5 "Verify Proof Sets and
//! Chains").
//!
//! A document's `proof` is one proof or an unordered list of them; every one must verify. A
//! proof with `previousProof` (an `id` or a list of them) is a link of a chain: it signs the
//! document *with the proofs it names* in its `proof` member, so none of them can be removed or
//! changed without breaking it. A `previousProof` that names no proof of the document is an
//! error. RDF-canonicalised chained proofs are computed here (the `ssi` back end signs and
//! verifies one proof over a document without proofs, not over one that carries earlier ones).

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::backend;
use crate::error::{BackendError, VerifyError};
use crate::keys::{KeyAlgorithm, KeyPair, PublicKey};

/// The most proofs one document may carry; more are refused before any is verified.
pub const MAX_PROOFS: usize = 8;

/// The proofs of a secured document: its `proof` object, or every member of its `proof` list.
pub(super) fn all_proofs(document: &Value) -> Result<Vec<&Map<String, Value>>, VerifyError> {
    let proofs: Vec<&Value> = match document.get("proof") {
        Some(Value::Object(_)) => document.get("proof").into_iter().collect(),
        Some(Value::Array(list)) if !list.is_empty() => list.iter().collect(),
        Some(Value::Array(_)) => {
            return Err(VerifyError::Malformed(
                "the document's `proof` list is empty".into(),
            ))
        }
        Some(_) => {
            return Err(VerifyError::Malformed(
                "`proof` must be an object or a list of objects".into(),
            ))
        }
        None => return Err(VerifyError::Malformed("the document has no `proof`".into())),
    };
    if proofs.len() > MAX_PROOFS {
        return Err(VerifyError::Malformed(format!(
            "the document carries {} proofs; at most {MAX_PROOFS} are accepted",
            proofs.len()
        )));
    }
    proofs
        .into_iter()
        .map(|proof| {
            proof.as_object().ok_or_else(|| {
                VerifyError::Malformed("every member of a proof set must be an object".into())
            })
        })
        .collect()
}

/// The `previousProof` of a proof: absent, one id, or a list of ids.
pub(super) fn previous_ids(proof: &Map<String, Value>) -> Result<Vec<String>, VerifyError> {
    match proof.get("previousProof") {
        None => Ok(Vec::new()),
        Some(Value::String(id)) => Ok(vec![id.clone()]),
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|id| {
                id.as_str().map(str::to_owned).ok_or_else(|| {
                    VerifyError::Malformed("`previousProof` must list proof ids (strings)".into())
                })
            })
            .collect(),
        Some(_) => Err(VerifyError::Malformed(
            "`previousProof` must be a proof id or a list of them".into(),
        )),
    }
}

/// Refuses two proofs of one document with the same `id`: a chain could not say which it
/// names.
pub(super) fn check_unique_ids(proofs: &[&Map<String, Value>]) -> Result<(), VerifyError> {
    let mut seen = std::collections::HashSet::new();
    for id in proofs
        .iter()
        .filter_map(|p| p.get("id").and_then(Value::as_str))
    {
        if !seen.insert(id) {
            return Err(VerifyError::Malformed(format!(
                "two proofs have the id `{}`",
                crate::error::quote(id)
            )));
        }
    }
    Ok(())
}

/// The proofs `proof` chains to (its `previousProof`), in the order it names them. A name
/// that matches no proof of the document, or the proof itself, breaks the chain.
pub(super) fn matching_proofs(
    all: &[&Map<String, Value>],
    proof: &Map<String, Value>,
) -> Result<Vec<Value>, VerifyError> {
    let own_id = proof.get("id").and_then(Value::as_str);
    previous_ids(proof)?
        .iter()
        .map(|wanted| {
            if Some(wanted.as_str()) == own_id {
                return Err(VerifyError::BadSignature(format!(
                    "the proof `{}` names itself as its previousProof",
                    crate::error::quote(wanted)
                )));
            }
            all.iter()
                .find(|p| p.get("id").and_then(Value::as_str) == Some(wanted))
                .map(|p| Value::Object((*p).clone()))
                .ok_or_else(|| {
                    VerifyError::BadSignature(format!(
                        "broken proof chain: previousProof `{}` names no proof of the document",
                        crate::error::quote(wanted)
                    ))
                })
        })
        .collect()
}

/// The document a proof is computed over: `document` without its proofs, carrying `matching`
/// (the proofs it chains to) as its `proof` list when there are any.
pub(super) fn input_document(document: &Value, matching: Vec<Value>) -> Value {
    let mut input = document.clone();
    if let Some(object) = input.as_object_mut() {
        object.remove("proof");
        if !matching.is_empty() {
            object.insert("proof".into(), Value::Array(matching));
        }
    }
    input
}

/// SHA-256(RDFC(proof configuration)) ‖ SHA-256(RDFC(document)) as `eddsa-rdfc-2022` and
/// `ecdsa-rdfc-2019` (P-256) hash: the configuration takes the document's `@context`.
pub(super) async fn rdfc_hash_data(
    input: &Value,
    proof_config: &Map<String, Value>,
) -> Result<Vec<u8>, BackendError> {
    let mut config = proof_config.clone();
    config.remove("proofValue");
    if let Some(context) = input.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    let canonical_config = backend::canonical_nquads(&Value::Object(config)).await?;
    let canonical_document = backend::canonical_nquads(input).await?;
    let mut data = Sha256::digest(canonical_config.as_bytes()).to_vec();
    data.extend_from_slice(&Sha256::digest(canonical_document.as_bytes()));
    Ok(data)
}

/// The cryptosuite name an RDF-canonicalised proof by `key` carries.
pub(super) fn rdfc_suite_name(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::Ed25519 => "eddsa-rdfc-2022",
        KeyAlgorithm::P256 => "ecdsa-rdfc-2019",
    }
}

/// Verifies an RDF-canonicalised proof over `input` (the document with the proofs it chains
/// to) with `key`.
pub(super) async fn verify_rdfc(
    input: &Value,
    proof: &Map<String, Value>,
    key: &PublicKey,
) -> Result<(), VerifyError> {
    let signature = super::decode_proof_value(proof)?;
    let data = rdfc_hash_data(input, proof)
        .await
        .map_err(VerifyError::JsonLd)?;
    key.verify_jose(key.algorithm().jose_alg(), &data, &signature)
}

/// Signs an RDF-canonicalised proof over `input` and returns `config` with its `proofValue`.
pub(super) async fn sign_rdfc(
    input: &Value,
    mut config: Map<String, Value>,
    key: &KeyPair,
) -> Result<Map<String, Value>, BackendError> {
    let data = rdfc_hash_data(input, &config).await?;
    let signature = key.sign(&data);
    config.insert(
        "proofValue".into(),
        format!("z{}", bs58::encode(signature).into_string()).into(),
    );
    Ok(config)
}

#[cfg(test)]
mod tests {
    //! The W3C vc-di-eddsa proof set and chain vectors (Data Integrity 1.0 §2.1.1, §2.1.2),
    //! reproduced byte for byte: Ed25519 signatures are deterministic.
    use super::*;

    fn vector(name: &str) -> Value {
        let text = match name {
            "unsigned" => {
                include_str!("../../tests/data/vectors/vc-di-eddsa/proof-set-chain/unsigned.json")
            }
            "keys" => include_str!(
                "../../tests/data/vectors/vc-di-eddsa/proof-set-chain/multiKeyPairs.json"
            ),
            "set1" => include_str!(
                "../../tests/data/vectors/vc-di-eddsa/proof-set-chain/proofSetConfigSigned1.json"
            ),
            "chain1" => include_str!(
                "../../tests/data/vectors/vc-di-eddsa/proof-set-chain/proofChainConfigSigned1.json"
            ),
            "chain2" => include_str!(
                "../../tests/data/vectors/vc-di-eddsa/proof-set-chain/proofChainConfigSigned2.json"
            ),
            "signedChain2" => include_str!(
                "../../tests/data/vectors/vc-di-eddsa/proof-set-chain/signedProofChain2.json"
            ),
            _ => "null",
        };
        serde_json::from_str(text).unwrap()
    }

    fn key(n: u8) -> KeyPair {
        let keys = vector("keys");
        let multibase = keys[format!("keyPair{n}")]["privateKeyMultibase"]
            .as_str()
            .unwrap();
        let bytes = bs58::decode(&multibase[1..]).into_vec().unwrap();
        // Multicodec ed25519-priv (0x1300) as a varint: 0x80 0x26.
        assert_eq!(&bytes[..2], &[0x80, 0x26]);
        KeyPair::from_secret_bytes(KeyAlgorithm::Ed25519, &bytes[2..]).unwrap()
    }

    fn unsigned_config(signed: &Value) -> Map<String, Value> {
        let mut config = signed.as_object().unwrap().clone();
        config.remove("proofValue");
        config
    }

    #[tokio::test]
    async fn reproduces_the_proof_set_and_chain_vectors() {
        let unsigned = vector("unsigned");
        // A proof set member signs the document without proofs.
        let set1 = vector("set1");
        let signed = sign_rdfc(&unsigned, unsigned_config(&set1), &key(1))
            .await
            .unwrap();
        assert_eq!(signed["proofValue"], set1["proofValue"]);
        // The chained proofs sign the document with the proofs they name.
        let full = vector("signedChain2");
        let all = all_proofs(&full).unwrap();
        for (name, key_number, index) in [("chain1", 3, 2), ("chain2", 4, 3)] {
            let expected = vector(name);
            let matching = matching_proofs(&all, all[index]).unwrap();
            let input = input_document(&unsigned, matching);
            let signed = sign_rdfc(&input, unsigned_config(&expected), &key(key_number))
                .await
                .unwrap();
            assert_eq!(signed["proofValue"], expected["proofValue"], "{name}");
            verify_rdfc(&input, all[index], &key(key_number).public_key())
                .await
                .unwrap();
        }
    }

    #[test]
    fn dangling_and_self_references_break_the_chain() {
        let full = vector("signedChain2");
        let all = all_proofs(&full).unwrap();
        let mut dangling = all[3].clone();
        dangling.insert("previousProof".into(), "urn:uuid:nowhere".into());
        assert!(matches!(
            matching_proofs(&all, &dangling),
            Err(VerifyError::BadSignature(m)) if m.contains("urn:uuid:nowhere")
        ));
        let mut own = all[2].clone();
        own.insert("previousProof".into(), own["id"].clone());
        assert!(matching_proofs(&all, &own).is_err());
        let mut twice = all.clone();
        twice.push(all[0]);
        assert!(check_unique_ids(&twice).is_err());
    }
}
