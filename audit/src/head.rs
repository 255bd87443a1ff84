//! Signed tree heads: the log's size, root hash, time and DID, signed as a compact JWS
//! (`typ` = [`STH_TYP`]) with the connector's DID key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use symbolon_identity::did::{key_in_document, offline_public_key, split_did_url};
use symbolon_identity::{jose, DidError, KeyPair, VerifyError};

use crate::merkle::Hash;

/// The JWS `typ` of a signed tree head.
pub const STH_TYP: &str = "symbolon-sth+jwt";

/// A tree head: what the log commits to at one size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeHead {
    /// The DID of the connector whose log this is.
    pub log_id: String,
    /// The number of entries.
    pub tree_size: u64,
    /// The Merkle root at that size (hex in JSON).
    #[serde(with = "hex::serde")]
    pub root_hash: Hash,
    /// When it was signed, RFC 3339.
    pub timestamp: String,
}

/// A tree head with its compact JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTreeHead {
    /// The head.
    pub head: TreeHead,
    /// The compact JWS whose payload is the head.
    pub jws: String,
}

/// Why a signed tree head is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeadError {
    /// Not a compact JWS of a tree head.
    #[error("malformed signed tree head: {0}")]
    Malformed(#[source] MalformedHead),
    /// The head could not be written as JSON to be signed.
    #[error("the tree head cannot be written as JSON: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The head names another log than the one expected.
    #[error("the head is for the log `{found}`, not `{expected}`")]
    WrongLogId {
        /// The log expected.
        expected: String,
        /// The log the head names.
        found: String,
    },
    /// The DID document given is not the one of the log.
    #[error("the signing key of the head cannot be found: the DID document given is not the one of `{0}`")]
    WrongDocument(String),
    /// The signing key could not be found.
    #[error("the signing key of the head cannot be found: {0}")]
    UnknownKey(#[source] DidError),
    /// The signature does not verify: the head is forged or altered.
    #[error("the head's signature does not verify: {0}")]
    BadSignature(String),
    /// The signature cannot be checked with the key (algorithm or key type refused).
    #[error("the head's signature does not verify: {0}")]
    Signature(#[source] VerifyError),
}

/// What is malformed in a signed tree head.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedHead {
    /// Not a compact JWS.
    #[error("{0}")]
    Jws(#[source] VerifyError),
    /// The JWS `typ` is not [`STH_TYP`].
    #[error("the JWS `typ` is not `{STH_TYP}`")]
    Typ,
    /// The payload is not a tree head.
    #[error("the payload is not a tree head: {0}")]
    Payload(#[source] serde_json::Error),
    /// The `kid` (or the log id) is not a DID URL.
    #[error("the key id is not a DID URL: {0}")]
    Kid(#[source] DidError),
    /// The signature part is not base64url.
    #[error("the signature is not base64url: {0}")]
    Signature(#[source] base64::DecodeError),
}

impl TreeHead {
    /// A head for `log_id` at `tree_size` with `root_hash`, timestamped now.
    pub fn new(log_id: &str, tree_size: u64, root_hash: Hash) -> Self {
        TreeHead {
            log_id: log_id.to_owned(),
            tree_size,
            root_hash,
            timestamp: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }

    /// Signs the head with `key`, naming `kid` (the DID URL of the verification method, e.g.
    /// `Did::default_method()` of a did:key).
    pub fn sign(self, key: &KeyPair, kid: &str) -> Result<SignedTreeHead, HeadError> {
        let payload = serde_json::to_value(&self).map_err(HeadError::Serialize)?;
        let jws = jose::sign(key, kid, STH_TYP, &payload);
        Ok(SignedTreeHead { head: self, jws })
    }
}

impl SignedTreeHead {
    /// Reads a signed tree head without checking its signature.
    pub fn decode(jws: &str) -> Result<SignedTreeHead, HeadError> {
        let decoded = jose::decode(jws).map_err(|e| HeadError::Malformed(MalformedHead::Jws(e)))?;
        if decoded.header.get("typ").and_then(Value::as_str) != Some(STH_TYP) {
            return Err(HeadError::Malformed(MalformedHead::Typ));
        }
        let head: TreeHead = serde_json::from_value(decoded.payload)
            .map_err(|e| HeadError::Malformed(MalformedHead::Payload(e)))?;
        Ok(SignedTreeHead {
            head,
            jws: jws.trim().to_owned(),
        })
    }

    /// Decodes and verifies a signed tree head offline.
    ///
    /// The key is taken from `document` (the log's DID document) when given; otherwise the
    /// log id must be a did:key or did:jwk. With `expected_log_id` the head must name that log.
    pub fn verify(
        jws: &str,
        expected_log_id: Option<&str>,
        document: Option<&Value>,
    ) -> Result<SignedTreeHead, HeadError> {
        let signed = SignedTreeHead::decode(jws)?;
        let log_id = signed.head.log_id.as_str();
        if let Some(expected) = expected_log_id {
            if expected != log_id {
                return Err(HeadError::WrongLogId {
                    expected: expected.to_owned(),
                    found: log_id.to_owned(),
                });
            }
        }
        let decoded =
            jose::decode(&signed.jws).map_err(|e| HeadError::Malformed(MalformedHead::Jws(e)))?;
        let kid = decoded.kid.as_deref().unwrap_or(log_id);
        let (did, _) =
            split_did_url(kid).map_err(|e| HeadError::Malformed(MalformedHead::Kid(e)))?;
        if did.as_str() != log_id {
            return Err(HeadError::BadSignature(format!(
                "the key `{kid}` does not belong to the log `{log_id}`"
            )));
        }
        let key = match document {
            Some(document) => {
                if document.get("id").and_then(Value::as_str) != Some(log_id) {
                    return Err(HeadError::WrongDocument(log_id.to_owned()));
                }
                key_in_document(&did, document, Some(kid))
                    .map_err(HeadError::UnknownKey)?
                    .1
            }
            None => offline_public_key(&did).map_err(HeadError::UnknownKey)?,
        };
        let (signing_input, signature) = signed.jws.rsplit_once('.').ok_or_else(|| {
            HeadError::Malformed(MalformedHead::Jws(VerifyError::Malformed(
                "not a compact JWS".into(),
            )))
        })?;
        let signature = B64
            .decode(signature)
            .map_err(|e| HeadError::Malformed(MalformedHead::Signature(e)))?;
        key.verify_jose(&decoded.alg, signing_input.as_bytes(), &signature)
            .map_err(|e| match e {
                VerifyError::BadSignature(why) => HeadError::BadSignature(why),
                other => HeadError::Signature(other),
            })?;
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use symbolon_identity::did::offline_document;
    use symbolon_identity::{Did, KeyAlgorithm};

    #[test]
    fn sign_and_verify_with_and_without_document() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let did = Did::key(&key.public_key());
        let signed = TreeHead::new(did.as_str(), 7, [9u8; 32])
            .sign(&key, &did.default_method())
            .unwrap();
        let back = SignedTreeHead::verify(&signed.jws, Some(did.as_str()), None).unwrap();
        assert_eq!(back.head, signed.head);
        let document = offline_document(&did).unwrap();
        SignedTreeHead::verify(&signed.jws, None, Some(&document)).unwrap();

        let other = Did::key(&KeyPair::generate(KeyAlgorithm::Ed25519).public_key());
        assert!(matches!(
            SignedTreeHead::verify(&signed.jws, Some(other.as_str()), None),
            Err(HeadError::WrongLogId { .. })
        ));
    }

    #[test]
    fn forged_head_is_a_bad_signature() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let did = Did::key(&key.public_key());
        let mallory = KeyPair::generate(KeyAlgorithm::Ed25519);
        let forged = TreeHead::new(did.as_str(), 7, [9u8; 32])
            .sign(&mallory, &did.default_method())
            .unwrap();
        assert!(matches!(
            SignedTreeHead::verify(&forged.jws, None, None),
            Err(HeadError::BadSignature(_))
        ));
        assert!(matches!(
            SignedTreeHead::verify("a.b.c", None, None),
            Err(HeadError::Malformed(MalformedHead::Jws(_)))
        ));
        let other_typ = jose::sign(&key, &did.default_method(), "JWT", &serde_json::json!({}));
        assert!(matches!(
            SignedTreeHead::verify(&other_typ, None, None),
            Err(HeadError::Malformed(MalformedHead::Typ))
        ));
        let not_a_head = jose::sign(&key, &did.default_method(), STH_TYP, &serde_json::json!({}));
        let err = SignedTreeHead::verify(&not_a_head, None, None).unwrap_err();
        assert!(matches!(
            err,
            HeadError::Malformed(MalformedHead::Payload(_))
        ));
        assert!(
            std::error::Error::source(&err).is_some(),
            "the cause is kept"
        );
    }
}
