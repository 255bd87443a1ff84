//! DID resolution with options and DID URL dereferencing (W3C DID Resolution, and the did:key
//! method's resolution options `publicKeyFormat` and `enableEncryptionKeyDerivation`).
//!
//! [`DidResolver::resolve`] answers the plain document every verifier reads; this module adds
//! what a resolver endpoint owes a caller: the document expressed in the key format it asked
//! for, the derived X25519 key agreement method of an Ed25519 did:key, and the dereferencing of
//! a DID URL's fragment to the verification method (or service) it names.

use serde_json::{json, Value};

use serde_json::Map;

use super::{offline_public_key, split_did_url, Did, DidResolver};
use crate::error::{quote, DidError};
use crate::keys::PublicKey;

/// The media type of a DID resolution result (DID Resolution, HTTP(S) binding).
pub const RESOLUTION_RESULT_MEDIA_TYPE: &str =
    "application/ld+json;profile=\"https://w3id.org/did-resolution\"";
/// The media type of a DID URL dereferencing result.
pub const DEREFERENCING_RESULT_MEDIA_TYPE: &str =
    "application/ld+json;profile=\"https://w3id.org/did-url-dereferencing\"";
/// The media type of a DID document in JSON-LD.
pub const DID_DOCUMENT_MEDIA_TYPE: &str = "application/did+ld+json";

/// Multicodec prefix of an X25519 public key (varint of 0xec).
const X25519_CODEC: [u8; 2] = [0xec, 0x01];

/// How a did:key document expresses its keys (did:key, "Signature Method Creation
/// Algorithm").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublicKeyFormat {
    /// `Multikey` with `publicKeyMultibase` (the default).
    #[default]
    Multikey,
    /// `JsonWebKey2020` with `publicKeyJwk`.
    JsonWebKey2020,
    /// `Ed25519VerificationKey2020` with `publicKeyMultibase` (Ed25519 keys only).
    Ed25519VerificationKey2020,
    /// `X25519KeyAgreementKey2020`: a key agreement format, never a signature method's.
    X25519KeyAgreementKey2020,
}

impl PublicKeyFormat {
    /// Parses the `publicKeyFormat` option; an unknown format is `unsupportedPublicKeyType`.
    pub fn parse(text: &str) -> Result<Self, DidError> {
        match text {
            "Multikey" => Ok(PublicKeyFormat::Multikey),
            "JsonWebKey2020" => Ok(PublicKeyFormat::JsonWebKey2020),
            "Ed25519VerificationKey2020" => Ok(PublicKeyFormat::Ed25519VerificationKey2020),
            "X25519KeyAgreementKey2020" => Ok(PublicKeyFormat::X25519KeyAgreementKey2020),
            other => Err(DidError::UnsupportedPublicKeyType(quote(other))),
        }
    }

    /// The verification method type this format writes.
    pub fn name(self) -> &'static str {
        match self {
            PublicKeyFormat::Multikey => "Multikey",
            PublicKeyFormat::JsonWebKey2020 => "JsonWebKey2020",
            PublicKeyFormat::Ed25519VerificationKey2020 => "Ed25519VerificationKey2020",
            PublicKeyFormat::X25519KeyAgreementKey2020 => "X25519KeyAgreementKey2020",
        }
    }

    fn context(self) -> &'static str {
        match self {
            PublicKeyFormat::Multikey => "https://w3id.org/security/multikey/v1",
            PublicKeyFormat::JsonWebKey2020 => "https://w3id.org/security/suites/jws-2020/v1",
            PublicKeyFormat::Ed25519VerificationKey2020 => {
                "https://w3id.org/security/suites/ed25519-2020/v1"
            }
            PublicKeyFormat::X25519KeyAgreementKey2020 => {
                "https://w3id.org/security/suites/x25519-2020/v1"
            }
        }
    }
}

/// Resolution options (DID Resolution "DID Resolution Options"; did:key's own options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResolutionOptions {
    /// did:key's `publicKeyFormat`; `None` keeps the resolver's default document.
    pub public_key_format: Option<PublicKeyFormat>,
    /// did:key's `enableEncryptionKeyDerivation`: add the X25519 key agreement method derived
    /// from an Ed25519 key (off by default).
    pub enable_encryption_key_derivation: bool,
}

/// What a DID URL dereferences to.
#[derive(Debug, Clone, PartialEq)]
pub struct Dereferenced {
    /// The resource: the DID document (no fragment), or the verification method or service
    /// the fragment names.
    pub content: Value,
    /// The resource's media type.
    pub content_type: &'static str,
}

impl DidResolver {
    /// Resolves `did` with `options` (which only did:key reads; other methods ignore them).
    pub async fn resolve_with(
        &self,
        did: &Did,
        options: &ResolutionOptions,
    ) -> Result<Value, DidError> {
        match did.method() {
            "key" if *options != ResolutionOptions::default() => did_key_document(did, options),
            _ => self.resolve(did).await,
        }
    }

    /// Dereferences a DID URL: a bare DID gives its document; `did#fragment` gives the
    /// verification method or service whose id it is (relative ids are resolved against the
    /// DID), or `notFound`.
    pub async fn dereference(
        &self,
        did_url: &str,
        options: &ResolutionOptions,
    ) -> Result<Dereferenced, DidError> {
        let (did, fragment) = split_did_url(did_url)?;
        let document = self.resolve_with(&did, options).await?;
        let Some(fragment) = fragment else {
            return Ok(Dereferenced {
                content: document,
                content_type: DID_DOCUMENT_MEDIA_TYPE,
            });
        };
        let wanted = format!("{did}#{fragment}");
        let found = ["verificationMethod", "service"]
            .into_iter()
            .flat_map(|member| crate::json::one_or_many(document.get(member)))
            .find(|entry| {
                entry.get("id").and_then(Value::as_str).is_some_and(|id| {
                    id == wanted || id.strip_prefix('#').is_some_and(|f| f == fragment)
                })
            });
        match found {
            Some(resource) => {
                let mut content = resource.clone();
                if let (Some(object), Some(context)) =
                    (content.as_object_mut(), document.get("@context"))
                {
                    object.insert("@context".into(), context.clone());
                }
                Ok(Dereferenced {
                    content,
                    content_type: DID_DOCUMENT_MEDIA_TYPE,
                })
            }
            None => Err(DidError::UrlNotFound(quote(did_url))),
        }
    }
}

/// The did:key document of `did` as `options` ask (did:key, "Document Creation Algorithm").
pub fn did_key_document(did: &Did, options: &ResolutionOptions) -> Result<Value, DidError> {
    let key = offline_public_key(did)?;
    let format = options.public_key_format.unwrap_or_default();
    let signature = verification_method(did, &key, format)?;
    let method_id = signature.get("id").cloned().unwrap_or_default();
    let mut contexts = vec![
        json!("https://www.w3.org/ns/did/v1"),
        json!(format.context()),
    ];
    let mut methods = vec![signature];
    let mut key_agreement = None;
    if options.enable_encryption_key_derivation {
        if let PublicKey::Ed25519(ed25519) = key {
            let x25519 = ed25519.to_montgomery().to_bytes();
            let encryption = encryption_method(did, &x25519, format);
            let encryption_context = match format {
                PublicKeyFormat::Ed25519VerificationKey2020 => {
                    PublicKeyFormat::X25519KeyAgreementKey2020.context()
                }
                other => other.context(),
            };
            if !contexts.iter().any(|c| c == encryption_context) {
                contexts.push(json!(encryption_context));
            }
            key_agreement = encryption.get("id").cloned();
            methods.push(encryption);
        }
    }
    let mut document = Map::new();
    document.insert("@context".into(), Value::Array(contexts));
    document.insert("id".into(), did.as_str().into());
    document.insert("verificationMethod".into(), Value::Array(methods));
    for relation in [
        "authentication",
        "assertionMethod",
        "capabilityInvocation",
        "capabilityDelegation",
    ] {
        document.insert(relation.into(), json!([method_id]));
    }
    if let Some(id) = key_agreement {
        document.insert("keyAgreement".into(), json!([id]));
    }
    Ok(Value::Object(document))
}

/// The signature verification method of `key` in `format`.
fn verification_method(
    did: &Did,
    key: &PublicKey,
    format: PublicKeyFormat,
) -> Result<Value, DidError> {
    let id = did.default_method();
    let algorithm = key.algorithm().name();
    let wrong_type = || DidError::InvalidPublicKeyType {
        did: quote(did.as_str()),
        key: algorithm,
        format: format.name(),
    };
    match format {
        PublicKeyFormat::Multikey => Ok(json!({
            "id": id, "type": "Multikey", "controller": did.as_str(),
            "publicKeyMultibase": key.to_multibase(),
        })),
        PublicKeyFormat::JsonWebKey2020 => Ok(json!({
            "id": id, "type": "JsonWebKey2020", "controller": did.as_str(),
            "publicKeyJwk": key.jwk(),
        })),
        PublicKeyFormat::Ed25519VerificationKey2020 => match key {
            PublicKey::Ed25519(_) => Ok(json!({
                "id": id, "type": "Ed25519VerificationKey2020", "controller": did.as_str(),
                "publicKeyMultibase": key.to_multibase(),
            })),
            PublicKey::P256(_) => Err(wrong_type()),
        },
        PublicKeyFormat::X25519KeyAgreementKey2020 => Err(wrong_type()),
    }
}

/// The key agreement method of an X25519 key derived from the DID's Ed25519 key
/// (did:key, "Encryption Method Creation Algorithm").
fn encryption_method(did: &Did, x25519: &[u8; 32], format: PublicKeyFormat) -> Value {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(&X25519_CODEC);
    bytes.extend_from_slice(x25519);
    let multibase = format!("z{}", bs58::encode(bytes).into_string());
    let id = format!("{did}#{multibase}");
    match format {
        PublicKeyFormat::JsonWebKey2020 => {
            use base64::Engine as _;
            let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(x25519);
            json!({
                "id": id, "type": "JsonWebKey2020", "controller": did.as_str(),
                "publicKeyJwk": {"kty": "OKP", "crv": "X25519", "x": x},
            })
        }
        PublicKeyFormat::Ed25519VerificationKey2020
        | PublicKeyFormat::X25519KeyAgreementKey2020 => json!({
            "id": id, "type": "X25519KeyAgreementKey2020", "controller": did.as_str(),
            "publicKeyMultibase": multibase,
        }),
        PublicKeyFormat::Multikey => json!({
            "id": id, "type": "Multikey", "controller": did.as_str(),
            "publicKeyMultibase": multibase,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyAlgorithm, KeyPair};

    fn did(algorithm: KeyAlgorithm) -> Did {
        Did::key(&KeyPair::generate(algorithm).public_key())
    }

    #[test]
    fn the_default_options_give_the_resolver_s_document() {
        for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::P256] {
            let did = did(algorithm);
            let mut ours = did_key_document(&did, &ResolutionOptions::default()).unwrap();
            let mut plain = crate::did::offline_document(&did).unwrap();
            ours.as_object_mut().unwrap().remove("@context");
            plain.as_object_mut().unwrap().remove("@context");
            assert_eq!(ours, plain);
        }
    }

    // did:key, "Signature Method Creation Algorithm": an unknown format is
    // `unsupportedPublicKeyType`; a format that does not fit the key `invalidPublicKeyType`.
    #[test]
    fn did_key_public_key_format_errors_carry_the_specification_s_names() {
        assert_eq!(
            PublicKeyFormat::parse("RsaVerificationKey2018")
                .unwrap_err()
                .resolution_code(),
            "unsupportedPublicKeyType"
        );
        let p256 = did(KeyAlgorithm::P256);
        for format in [
            PublicKeyFormat::Ed25519VerificationKey2020,
            PublicKeyFormat::X25519KeyAgreementKey2020,
        ] {
            let options = ResolutionOptions {
                public_key_format: Some(format),
                enable_encryption_key_derivation: false,
            };
            let error = did_key_document(&p256, &options).unwrap_err();
            assert_eq!(
                error.resolution_code(),
                "invalidPublicKeyType",
                "{format:?}"
            );
        }
        let ed = did(KeyAlgorithm::Ed25519);
        let options = ResolutionOptions {
            public_key_format: Some(PublicKeyFormat::X25519KeyAgreementKey2020),
            enable_encryption_key_derivation: true,
        };
        assert_eq!(
            did_key_document(&ed, &options)
                .unwrap_err()
                .resolution_code(),
            "invalidPublicKeyType"
        );
    }

    #[test]
    fn each_format_writes_its_type_and_context() {
        let ed = did(KeyAlgorithm::Ed25519);
        for format in [
            PublicKeyFormat::Multikey,
            PublicKeyFormat::JsonWebKey2020,
            PublicKeyFormat::Ed25519VerificationKey2020,
        ] {
            let options = ResolutionOptions {
                public_key_format: Some(format),
                enable_encryption_key_derivation: true,
            };
            let document = did_key_document(&ed, &options).unwrap();
            assert_eq!(document["verificationMethod"][0]["type"], format.name());
            assert!(document["@context"]
                .as_array()
                .unwrap()
                .contains(&json!(format.context())));
            let agreement = &document["verificationMethod"][1];
            assert_eq!(document["keyAgreement"][0], agreement["id"]);
            assert!(agreement["id"].as_str().unwrap().contains("#z6LS"));
        }
    }

    // DID Resolution, "DID URL Dereferencing": a fragment selects a resource in the document.
    #[tokio::test]
    async fn a_fragment_dereferences_to_its_verification_method() {
        let resolver = DidResolver::offline();
        let did = did(KeyAlgorithm::Ed25519);
        let method = did.default_method();
        let found = resolver
            .dereference(&method, &ResolutionOptions::default())
            .await
            .unwrap();
        assert_eq!(found.content["id"], method.as_str());
        assert_eq!(found.content["type"], "Multikey");
        let whole = resolver
            .dereference(did.as_str(), &ResolutionOptions::default())
            .await
            .unwrap();
        assert_eq!(whole.content["id"], did.as_str());
        let missing = resolver
            .dereference(&format!("{did}#nothing"), &ResolutionOptions::default())
            .await
            .unwrap_err();
        assert_eq!(missing.resolution_code(), "notFound");
    }

    #[tokio::test]
    async fn malformed_and_oversized_did_urls_are_invalid_did() {
        let resolver = DidResolver::offline();
        let long = format!("did:key:z{}#x", "6".repeat(5000));
        for url in [
            "did:key:",
            "did:key:z6Mk bad#x",
            "#only-a-fragment",
            long.as_str(),
        ] {
            let error = resolver
                .dereference(url, &ResolutionOptions::default())
                .await
                .unwrap_err();
            assert_eq!(error.resolution_code(), "invalidDid", "{url}");
        }
        // A tampered key (one base58 character changed) is not the same key, or no key.
        let did = did(KeyAlgorithm::Ed25519);
        let mut tampered = did.as_str().to_owned();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'a' { 'b' } else { 'a' });
        let outcome = resolver
            .dereference(
                &format!("{tampered}#{}", did.method_specific_id()),
                &ResolutionOptions::default(),
            )
            .await;
        assert!(outcome.is_err(), "{outcome:?}");
    }
}
