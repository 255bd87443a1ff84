//! Compact JWS for VC-JOSE (`application/vc+jwt`) and presentations (`application/vp+jwt`).
//!
//! Only `EdDSA` and `ES256` are accepted, and only with a key of the matching type; `none`,
//! HMAC and any other algorithm are rejected before a key is looked at. A `crit` header is
//! refused because no extension is understood.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::did::{split_did_url, DidResolver};
use crate::error::{quote, VerifyError};
use crate::keys::KeyPair;

/// Algorithms this crate accepts.
pub const ACCEPTED_ALGORITHMS: &[&str] = &["EdDSA", "ES256"];

/// Signs `payload` as a compact JWS with header `typ` and `kid`.
pub fn sign(key: &KeyPair, kid: &str, typ: &str, payload: &Value) -> String {
    let header = json!({ "alg": key.algorithm().jose_alg(), "typ": typ, "kid": kid });
    let signing_input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(payload.to_string())
    );
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(signature))
}

/// A decoded, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct DecodedJws {
    /// The protected header.
    pub header: Value,
    /// The payload, parsed as JSON.
    pub payload: Value,
    /// The algorithm (already checked against [`ACCEPTED_ALGORITHMS`]).
    pub alg: String,
    /// The key id.
    pub kid: Option<String>,
    signing_input_len: usize,
    signature: Vec<u8>,
}

/// Decodes a compact JWS, checking its shape and algorithm but not its signature.
pub fn decode(token: &str) -> Result<DecodedJws, VerifyError> {
    let malformed = |why: &str| VerifyError::Malformed(format!("compact JWS: {why}"));
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected three dot-separated parts"));
    };
    let header_bytes = B64
        .decode(header_b64)
        .map_err(|_| malformed("the header is not base64url"))?;
    let header: Value =
        serde_json::from_slice(&header_bytes).map_err(|_| malformed("the header is not JSON"))?;
    if !header.is_object() {
        return Err(malformed("the header is not a JSON object"));
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("the header has no `alg`"))?;
    if !ACCEPTED_ALGORITHMS.contains(&alg) {
        return Err(VerifyError::DisallowedAlgorithm(quote(alg)));
    }
    if header.get("crit").is_some() {
        return Err(malformed(
            "the `crit` header names extensions this verifier does not understand",
        ));
    }
    let payload_bytes = B64
        .decode(payload_b64)
        .map_err(|_| malformed("the payload is not base64url"))?;
    crate::limits::check_depth(&payload_bytes)?;
    let payload: Value =
        serde_json::from_slice(&payload_bytes).map_err(|_| malformed("the payload is not JSON"))?;
    let signature = B64
        .decode(signature_b64)
        .map_err(|_| malformed("the signature is not base64url"))?;
    Ok(DecodedJws {
        alg: alg.to_owned(),
        kid: header.get("kid").and_then(Value::as_str).map(str::to_owned),
        header,
        payload,
        signing_input_len: header_b64.len() + 1 + payload_b64.len(),
        signature,
    })
}

impl DecodedJws {
    /// Verifies the signature with `key` itself (a token this party signed and gets back).
    pub fn verify_with_key(&self, token: &str, key: &crate::PublicKey) -> Result<(), VerifyError> {
        let signing_input = token
            .trim()
            .get(..self.signing_input_len)
            .ok_or_else(|| VerifyError::Malformed("compact JWS: truncated".into()))?;
        key.verify_jose(&self.alg, signing_input.as_bytes(), &self.signature)
    }

    /// Verifies the signature with the key `kid` names, which must belong to `signer` (a DID).
    /// Returns the verification method used.
    pub async fn verify(
        &self,
        token: &str,
        signer: &str,
        resolver: &DidResolver,
    ) -> Result<String, VerifyError> {
        let token = token.trim();
        let kid = self.kid.as_deref().unwrap_or(signer);
        let (kid_did, _) = split_did_url(kid)?;
        if kid_did.as_str() != signer {
            return Err(VerifyError::BadSignature(format!(
                "the key `{}` does not belong to `{}`",
                quote(kid),
                quote(signer)
            )));
        }
        let (method, key) = resolver.public_key(kid).await?;
        let signing_input = token
            .get(..self.signing_input_len)
            .ok_or_else(|| VerifyError::Malformed("compact JWS: truncated".into()))?;
        key.verify_jose(&self.alg, signing_input.as_bytes(), &self.signature)
            .map_err(|e| match e {
                VerifyError::AlgorithmKeyMismatch { alg, key, .. } => {
                    VerifyError::AlgorithmKeyMismatch {
                        alg,
                        key,
                        method: method.clone(),
                    }
                }
                other => other,
            })?;
        Ok(method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::Did;
    use crate::keys::KeyAlgorithm;

    fn forge(header: Value, payload: Value, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            B64.encode(header.to_string()),
            B64.encode(payload.to_string()),
            B64.encode(signature)
        )
    }

    #[tokio::test]
    async fn sign_decode_verify() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let did = Did::key(&key.public_key());
        let token = sign(&key, &did.default_method(), "vc+jwt", &json!({"a": 1}));
        let decoded = decode(&token).unwrap();
        decoded
            .verify(&token, did.as_str(), &DidResolver::offline())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn alg_none_and_hmac_are_disallowed() {
        for alg in ["none", "HS256", "RS256"] {
            let token = forge(json!({"alg": alg}), json!({}), b"");
            assert!(
                matches!(decode(&token), Err(VerifyError::DisallowedAlgorithm(_))),
                "{alg}"
            );
        }
    }

    #[tokio::test]
    async fn algorithm_that_does_not_fit_the_key_is_refused() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let did = Did::key(&key.public_key());
        let header = json!({"alg": "ES256", "kid": did.default_method()});
        let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode("{}"));
        let token = format!("{input}.{}", B64.encode(key.sign(input.as_bytes())));
        let err = decode(&token)
            .unwrap()
            .verify(&token, did.as_str(), &DidResolver::offline())
            .await
            .unwrap_err();
        assert!(
            matches!(err, VerifyError::AlgorithmKeyMismatch { .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn tampered_payload_fails() {
        let key = KeyPair::generate(KeyAlgorithm::P256);
        let did = Did::key(&key.public_key());
        let token = sign(&key, &did.default_method(), "vc+jwt", &json!({"a": 1}));
        let mut parts: Vec<&str> = token.split('.').collect();
        let evil = B64.encode(json!({"a": 2}).to_string());
        parts[1] = &evil;
        let tampered = parts.join(".");
        let err = decode(&tampered)
            .unwrap()
            .verify(&tampered, did.as_str(), &DidResolver::offline())
            .await
            .unwrap_err();
        assert!(matches!(err, VerifyError::BadSignature(_)));
    }

    #[test]
    fn malformed_tokens_are_errors() {
        for bad in ["", "a", "a.b", "a.b.c.d", "!!.b.c", "e30.!!.c"] {
            assert!(
                matches!(decode(bad), Err(VerifyError::Malformed(_))),
                "{bad}"
            );
        }
        let token = forge(json!({"alg": "EdDSA", "crit": ["x"]}), json!({}), b"");
        assert!(decode(&token).is_err());
    }
}
