//! W3C test vectors (Data Integrity EdDSA cryptosuites, did:key).
//!
//! The vectors are vendored under `identity/tests/data/vectors/` (origin, version and licence of
//! each file in `identity/tests/data/SOURCE.md`). A missing or unreadable file fails the test.

use std::path::{Path, PathBuf};

use serde_json::Value;
use symbolon_identity::data_integrity::verify_proof;
use symbolon_identity::did::offline_public_key;
use symbolon_identity::{Did, DidResolver, KeyAlgorithm, KeyPair, PublicKey};

/// The vendored vectors folder.
fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vectors")
}

/// Reads a vendored vector, panicking (failing the test) when it is missing or not JSON.
fn read(relative: &str) -> Value {
    let path = vectors().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test vector `{}` cannot be read ({e}); see identity/tests/data/SOURCE.md",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("test vector `{}` is not JSON: {e}", path.display()))
}

// Source: vc-di-eddsa TestVectors/eddsa-jcs-2022/signedJCS.json.
#[tokio::test]
async fn eddsa_jcs_2022_signed_vector_verifies() {
    let signed = read("vc-di-eddsa/eddsa-jcs-2022/signedJCS.json");
    verify_proof(&signed, &DidResolver::offline())
        .await
        .unwrap();
    let mut tampered = signed.clone();
    tampered["credentialSubject"]["alumniOf"] = "Another School".into();
    assert!(verify_proof(&tampered, &DidResolver::offline())
        .await
        .is_err());
}

// Source: vc-di-eddsa TestVectors/eddsa-rdfc-2022/signedDataInt.json.
#[tokio::test]
async fn eddsa_rdfc_2022_signed_vector_verifies() {
    let signed = read("vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json");
    verify_proof(&signed, &DidResolver::offline())
        .await
        .unwrap();
    let mut tampered = signed.clone();
    tampered["credentialSubject"]["alumniOf"] = "Another School".into();
    assert!(verify_proof(&tampered, &DidResolver::offline())
        .await
        .is_err());
}

// Source: vc-di-eddsa TestVectors/keyPair.json: the key pair behind both signed vectors.
#[test]
fn vector_key_pair_gives_the_vector_did() {
    let pair = read("vc-di-eddsa/keyPair.json");
    let private = pair["privateKeyMultibase"].as_str().unwrap();
    let bytes = bs58::decode(&private[1..]).into_vec().unwrap();
    assert_eq!(&bytes[..2], &[0x80, 0x26], "ed25519-priv multicodec");
    let key = KeyPair::from_secret_bytes(KeyAlgorithm::Ed25519, &bytes[2..]).unwrap();
    assert_eq!(
        key.public_key().to_multibase(),
        pair["publicKeyMultibase"].as_str().unwrap()
    );
}

// Source: did-key test-vectors/ed25519-x25519.json: seeds and their did:key.
#[test]
fn did_key_ed25519_vectors() {
    let vectors = read("did-key/ed25519-x25519.json");
    let mut checked = 0;
    for (did, vector) in vectors.as_object().unwrap() {
        let Some(seed) = vector.get("seed").and_then(Value::as_str) else {
            continue;
        };
        let seed = hex::decode(seed).unwrap();
        let key = KeyPair::from_secret_bytes(KeyAlgorithm::Ed25519, &seed).unwrap();
        assert_eq!(&Did::key(&key.public_key()).to_string(), did);
        checked += 1;
    }
    assert!(checked > 0);
}

// Source: did-key test-vectors/nist-curves.json: P-256 JWKs and their did:key.
#[test]
fn did_key_p256_vectors() {
    let vectors = read("did-key/nist-curves.json");
    let mut checked = 0;
    for (did, vector) in vectors.as_object().unwrap() {
        if !did.starts_with("did:key:zDn") {
            continue;
        }
        let parsed = Did::parse(did).unwrap();
        let key = offline_public_key(&parsed).unwrap();
        assert!(matches!(key, PublicKey::P256(_)));
        let jwk = vector
            .pointer("/verificationMethod/0/publicKeyJwk")
            .or_else(|| find_jwk(vector));
        if let Some(jwk) = jwk {
            let mut public = jwk.clone();
            public.as_object_mut().unwrap().remove("d");
            assert_eq!(PublicKey::from_jwk(&public).unwrap(), key, "{did}");
        }
        checked += 1;
    }
    assert!(checked > 0);
}

fn find_jwk(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(map) => map
            .get("publicKeyJwk")
            .or_else(|| map.values().find_map(find_jwk)),
        Value::Array(items) => items.iter().find_map(find_jwk),
        _ => None,
    }
}

// Source: did-key test-vectors/ed25519-x25519.json. did:key, "Encryption Method Creation
// Algorithm" (resolution option `enableEncryptionKeyDerivation`): the X25519 key agreement
// key derived from each Ed25519 did:key is the vector's `keyAgreementKeyPair`, and the
// fragment of its id dereferences to it.
#[tokio::test]
async fn did_key_enable_encryption_key_derivation_matches_the_x25519_vectors() {
    use symbolon_identity::did::resolution::{PublicKeyFormat, ResolutionOptions};
    let vectors = read("did-key/ed25519-x25519.json");
    let resolver = DidResolver::offline();
    let mut checked = 0;
    for (did, vector) in vectors.as_object().unwrap() {
        let Some(expected) = vector
            .pointer("/keyAgreementKeyPair/id")
            .and_then(Value::as_str)
        else {
            continue;
        };
        // The key as base58, or (one vector) as a JWK's base64url `x`.
        let expected_key = match vector
            .pointer("/keyAgreementKeyPair/publicKeyBase58")
            .and_then(Value::as_str)
        {
            Some(base58) => bs58::decode(base58).into_vec().unwrap(),
            None => {
                use base64::Engine as _;
                let x = vector
                    .pointer("/keyAgreementKeyPair/publicKeyJwk/x")
                    .and_then(Value::as_str)
                    .unwrap();
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(x)
                    .unwrap()
            }
        };
        let options = ResolutionOptions {
            public_key_format: Some(PublicKeyFormat::Ed25519VerificationKey2020),
            enable_encryption_key_derivation: true,
        };
        let parsed = Did::parse(did).unwrap();
        let document = resolver.resolve_with(&parsed, &options).await.unwrap();
        let agreement = document["keyAgreement"][0].as_str().unwrap();
        let expected = if expected.starts_with('#') {
            format!("{did}{expected}")
        } else {
            expected.to_owned()
        };
        assert_eq!(agreement, expected, "{did}");
        let method = resolver.dereference(agreement, &options).await.unwrap();
        assert_eq!(method.content["type"], "X25519KeyAgreementKey2020");
        let multibase = method.content["publicKeyMultibase"].as_str().unwrap();
        let bytes = bs58::decode(&multibase[1..]).into_vec().unwrap();
        assert_eq!(bytes[2..], expected_key[..], "{did}");
        checked += 1;
    }
    assert!(checked > 0);
}
