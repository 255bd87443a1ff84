//! Signing keys: Ed25519 (the default) and P-256.
//!
//! A [`KeyPair`] never prints, serialises or reports its secret: `Debug` shows only the
//! algorithm and the public key, and the secret bytes leave only through
//! [`KeyPair::secret_bytes`], zeroized on drop.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, Verifier as _};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{KeyError, PublicKeyError, VerifyError};

/// A key algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlgorithm {
    /// Ed25519 (EdDSA); the default, and the one libp2p identities use.
    Ed25519,
    /// NIST P-256 (ES256).
    P256,
}

impl KeyAlgorithm {
    /// The lowercase name used on the command line and in the keystore.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::P256 => "p256",
        }
    }

    /// The JOSE `alg` value for this key type.
    pub fn jose_alg(self) -> &'static str {
        match self {
            KeyAlgorithm::Ed25519 => "EdDSA",
            KeyAlgorithm::P256 => "ES256",
        }
    }
}

impl std::str::FromStr for KeyAlgorithm {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" => Ok(KeyAlgorithm::Ed25519),
            "p256" | "p-256" | "secp256r1" => Ok(KeyAlgorithm::P256),
            other => Err(KeyError::UnsupportedAlgorithm(crate::error::quote(other))),
        }
    }
}

impl std::fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A private signing key.
#[derive(Clone)]
pub struct KeyPair {
    secret: Secret,
}

#[derive(Clone)]
enum Secret {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("algorithm", &self.algorithm())
            .field("public", &self.public_key())
            .finish_non_exhaustive() // the secret is never printed
    }
}

impl KeyPair {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate(algorithm: KeyAlgorithm) -> Self {
        let mut rng = rand::rngs::OsRng;
        let secret = match algorithm {
            KeyAlgorithm::Ed25519 => Secret::Ed25519(ed25519_dalek::SigningKey::generate(&mut rng)),
            KeyAlgorithm::P256 => Secret::P256(p256::ecdsa::SigningKey::random(&mut rng)),
        };
        KeyPair { secret }
    }

    /// Rebuilds a key from its secret bytes (32 bytes for both algorithms).
    pub fn from_secret_bytes(algorithm: KeyAlgorithm, bytes: &[u8]) -> Result<Self, KeyError> {
        let secret = match algorithm {
            KeyAlgorithm::Ed25519 => {
                let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::MalformedKey {
                    algorithm: "ed25519",
                })?;
                Secret::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
            KeyAlgorithm::P256 => Secret::P256(
                p256::ecdsa::SigningKey::from_slice(bytes)
                    .map_err(|_| KeyError::MalformedKey { algorithm: "p256" })?,
            ),
        };
        Ok(KeyPair { secret })
    }

    /// The secret bytes, zeroized when dropped. Handle with care: only the keystore needs them.
    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        match &self.secret {
            Secret::Ed25519(k) => Zeroizing::new(k.to_bytes().to_vec()),
            Secret::P256(k) => Zeroizing::new(k.to_bytes().to_vec()),
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.secret {
            Secret::Ed25519(_) => KeyAlgorithm::Ed25519,
            Secret::P256(_) => KeyAlgorithm::P256,
        }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        match &self.secret {
            Secret::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            Secret::P256(k) => PublicKey::P256(*k.verifying_key()),
        }
    }

    /// Signs `message` with the key's JOSE algorithm (EdDSA, or ES256 with a 64-byte r‖s signature).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.secret {
            Secret::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
            Secret::P256(k) => {
                let signature: p256::ecdsa::Signature = k.sign(message);
                signature.to_bytes().to_vec()
            }
        }
    }

    /// The private JWK, for handing to the signing back end. Never log or return it.
    pub(crate) fn private_jwk(&self) -> Zeroizing<String> {
        let mut jwk = self.public_key().jwk();
        let d = B64.encode(self.secret_bytes().as_slice());
        if let Some(object) = jwk.as_object_mut() {
            object.insert("d".into(), serde_json::Value::String(d));
        }
        Zeroizing::new(jwk.to_string())
    }

    /// The libp2p keypair with the same Ed25519 secret, so that the libp2p PeerId and the
    /// did:key identify the same key.
    pub fn libp2p_keypair(&self) -> Result<libp2p_identity::Keypair, KeyError> {
        match &self.secret {
            Secret::Ed25519(k) => {
                let mut bytes = k.to_bytes();
                libp2p_identity::Keypair::ed25519_from_bytes(&mut bytes).map_err(|_| {
                    KeyError::MalformedKey {
                        algorithm: "ed25519",
                    }
                })
            }
            Secret::P256(_) => Err(KeyError::NeedsEd25519("a libp2p identity")),
        }
    }
}

/// A public verification key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKey {
    /// An Ed25519 key.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// A P-256 key.
    P256(p256::ecdsa::VerifyingKey),
}

/// Multicodec prefix of an Ed25519 public key (varint of 0xed).
const ED25519_CODEC: [u8; 2] = [0xed, 0x01];
/// Multicodec prefix of a P-256 public key (varint of 0x1200).
const P256_CODEC: [u8; 2] = [0x80, 0x24];

/// An Ed25519 public key from its 32 bytes.
fn ed25519_from_bytes(bytes: &[u8]) -> Result<PublicKey, PublicKeyError> {
    let key: [u8; 32] = bytes.try_into().map_err(|_| PublicKeyError::WrongLength {
        algorithm: "Ed25519",
        expected: 32,
        found: bytes.len(),
    })?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map(PublicKey::Ed25519)
        .map_err(|_| PublicKeyError::InvalidPoint("Ed25519"))
}

impl PublicKey {
    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            PublicKey::Ed25519(_) => KeyAlgorithm::Ed25519,
            PublicKey::P256(_) => KeyAlgorithm::P256,
        }
    }

    /// Multibase (base58btc) multicodec encoding, as in did:key and `publicKeyMultibase`.
    pub fn to_multibase(&self) -> String {
        let mut bytes = Vec::with_capacity(35);
        match self {
            PublicKey::Ed25519(k) => {
                bytes.extend_from_slice(&ED25519_CODEC);
                bytes.extend_from_slice(k.as_bytes());
            }
            PublicKey::P256(k) => {
                bytes.extend_from_slice(&P256_CODEC);
                bytes.extend_from_slice(k.to_encoded_point(true).as_bytes());
            }
        }
        format!("z{}", bs58::encode(bytes).into_string())
    }

    /// Parses a multibase multicodec key (`z6Mk…` or `zDn…`).
    pub fn from_multibase(text: &str) -> Result<Self, PublicKeyError> {
        const MAX_LEN: usize = 128;
        let encoded = text.strip_prefix('z').ok_or(PublicKeyError::NotBase58btc)?;
        if encoded.len() > MAX_LEN {
            return Err(PublicKeyError::TooLong(MAX_LEN));
        }
        let bytes = bs58::decode(encoded)
            .into_vec()
            .map_err(PublicKeyError::Base58)?;
        match bytes.split_at_checked(2) {
            Some((codec, key)) if codec == ED25519_CODEC => ed25519_from_bytes(key),
            Some((codec, key)) if codec == P256_CODEC => {
                if key.len() != 33 && key.len() != 65 {
                    return Err(PublicKeyError::WrongLength {
                        algorithm: "P-256",
                        expected: 33,
                        found: key.len(),
                    });
                }
                p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                    .map(PublicKey::P256)
                    .map_err(|_| PublicKeyError::InvalidPoint("P-256"))
            }
            _ => Err(PublicKeyError::UnsupportedMulticodec),
        }
    }

    /// The public JWK.
    pub fn jwk(&self) -> serde_json::Value {
        match self {
            PublicKey::Ed25519(k) => serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "x": B64.encode(k.as_bytes()),
            }),
            PublicKey::P256(k) => {
                let point = k.to_encoded_point(false);
                let x = point.x().map(|x| B64.encode(x)).unwrap_or_default();
                let y = point.y().map(|y| B64.encode(y)).unwrap_or_default();
                serde_json::json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y })
            }
        }
    }

    /// Parses a public JWK (OKP/Ed25519 or EC/P-256). A JWK carrying a private part is refused.
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<Self, PublicKeyError> {
        let field = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
        if jwk.get("d").is_some() {
            return Err(PublicKeyError::PrivateJwk);
        }
        let decode = |member: &'static str| -> Result<Vec<u8>, PublicKeyError> {
            let text = field(member).ok_or(PublicKeyError::MissingMember(member))?;
            B64.decode(text)
                .map_err(|source| PublicKeyError::NotBase64url { member, source })
        };
        match (field("kty"), field("crv")) {
            (Some("OKP"), Some("Ed25519")) => ed25519_from_bytes(&decode("x")?),
            (Some("EC"), Some("P-256")) => {
                let (x, y) = (decode("x")?, decode("y")?);
                if let Some(found) = [x.len(), y.len()].into_iter().find(|len| *len != 32) {
                    return Err(PublicKeyError::WrongLength {
                        algorithm: "P-256 coordinate",
                        expected: 32,
                        found,
                    });
                }
                let point = p256::EncodedPoint::from_affine_coordinates(
                    p256::FieldBytes::from_slice(&x),
                    p256::FieldBytes::from_slice(&y),
                    false,
                );
                p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map(PublicKey::P256)
                    .map_err(|_| PublicKeyError::InvalidPoint("P-256"))
            }
            (kty, crv) => Err(PublicKeyError::UnsupportedJwk {
                kty: crate::error::quote(kty.unwrap_or("?")),
                crv: crate::error::quote(crv.unwrap_or("?")),
            }),
        }
    }

    /// Verifies a JOSE signature: `alg` must be the one this key type takes.
    pub fn verify_jose(
        &self,
        alg: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), VerifyError> {
        match (self, alg) {
            (PublicKey::Ed25519(k), "EdDSA" | "Ed25519") => {
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| VerifyError::BadSignature("malformed Ed25519 signature".into()))?;
                k.verify_strict(message, &signature)
                    .map_err(|_| VerifyError::BadSignature("Ed25519 signature mismatch".into()))
            }
            (PublicKey::P256(k), "ES256") => {
                let signature = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| VerifyError::BadSignature("malformed ES256 signature".into()))?;
                k.verify(message, &signature)
                    .map_err(|_| VerifyError::BadSignature("ES256 signature mismatch".into()))
            }
            (key, alg) => Err(VerifyError::AlgorithmKeyMismatch {
                alg: crate::error::quote(alg),
                key: key.algorithm().to_string(),
                method: String::new(),
            }),
        }
    }

    /// Verifies a raw Ed25519 signature (Data Integrity `eddsa-*` suites).
    pub fn verify_ed25519(&self, message: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        self.verify_jose("EdDSA", message, signature)
    }

    /// The libp2p PeerId of an Ed25519 key.
    pub fn peer_id(&self) -> Result<libp2p_identity::PeerId, KeyError> {
        match self {
            PublicKey::Ed25519(k) => {
                let public = libp2p_identity::ed25519::PublicKey::try_from_bytes(k.as_bytes())
                    .map_err(|_| KeyError::MalformedKey {
                        algorithm: "ed25519",
                    })?;
                Ok(libp2p_identity::PublicKey::from(public).to_peer_id())
            }
            PublicKey::P256(_) => Err(KeyError::NeedsEd25519("a libp2p PeerId")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_both_algorithms() {
        for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::P256] {
            let key = KeyPair::generate(alg);
            let sig = key.sign(b"hello");
            key.public_key()
                .verify_jose(alg.jose_alg(), b"hello", &sig)
                .unwrap();
            assert!(key
                .public_key()
                .verify_jose(alg.jose_alg(), b"hellO", &sig)
                .is_err());
        }
    }

    #[test]
    fn wrong_algorithm_for_key_is_rejected() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let sig = key.sign(b"m");
        let err = key
            .public_key()
            .verify_jose("ES256", b"m", &sig)
            .unwrap_err();
        assert!(matches!(err, VerifyError::AlgorithmKeyMismatch { .. }));
    }

    #[test]
    fn multibase_and_jwk_round_trip() {
        for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::P256] {
            let public = KeyPair::generate(alg).public_key();
            assert_eq!(
                PublicKey::from_multibase(&public.to_multibase()).unwrap(),
                public
            );
            assert_eq!(PublicKey::from_jwk(&public.jwk()).unwrap(), public);
        }
    }

    #[test]
    fn secret_bytes_round_trip_and_debug_hides_secret() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let again = KeyPair::from_secret_bytes(KeyAlgorithm::Ed25519, &key.secret_bytes()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let debug = format!("{key:?}");
        let secret_b64 = B64.encode(key.secret_bytes().as_slice());
        assert!(!debug.contains(&secret_b64));
        assert!(!debug.contains("secret"));
    }

    #[test]
    fn libp2p_peer_id_matches_public_key() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let peer = key.libp2p_keypair().unwrap().public().to_peer_id();
        assert_eq!(peer, key.public_key().peer_id().unwrap());
        assert!(KeyPair::generate(KeyAlgorithm::P256)
            .libp2p_keypair()
            .is_err());
    }

    #[test]
    fn malformed_public_keys_are_errors() {
        use serde_json::json;
        use PublicKeyError as E;
        assert!(matches!(
            PublicKey::from_multibase(""),
            Err(E::NotBase58btc)
        ));
        assert!(PublicKey::from_multibase("z").is_err());
        assert!(matches!(
            PublicKey::from_multibase("zzzzzz0OIl"),
            Err(E::Base58(_))
        ));
        assert!(matches!(
            PublicKey::from_multibase(&format!("z{}", "1".repeat(200))),
            Err(E::TooLong(_))
        ));
        assert!(matches!(
            PublicKey::from_jwk(&json!({"kty":"RSA"})),
            Err(E::UnsupportedJwk { .. })
        ));
        assert!(matches!(
            PublicKey::from_jwk(&json!({"kty":"OKP","crv":"Ed25519","x":"AA"})),
            Err(E::WrongLength { found: 1, .. })
        ));
        assert!(matches!(
            PublicKey::from_jwk(&json!({"kty":"OKP","crv":"Ed25519","x":"!"})),
            Err(E::NotBase64url { member: "x", .. })
        ));
        assert!(matches!(
            PublicKey::from_jwk(&json!({"kty":"OKP","crv":"Ed25519"})),
            Err(E::MissingMember("x"))
        ));
        let private = KeyPair::generate(KeyAlgorithm::Ed25519);
        let jwk: serde_json::Value = serde_json::from_str(private.private_jwk().as_str()).unwrap();
        assert!(matches!(PublicKey::from_jwk(&jwk), Err(E::PrivateJwk)));
        // The key error type composes: a public key error is a key error.
        let err: KeyError = PublicKey::from_multibase("").unwrap_err().into();
        assert!(matches!(err, KeyError::InvalidPublicKey(E::NotBase58btc)));
    }
}
