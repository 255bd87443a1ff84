//! The one module that speaks to `ssi`. Its API moves between releases; nothing else in the
//! crate names an `ssi` type.
//!
//! Used for: JSON-LD expansion against bundled contexts (with undefined terms as errors) and
//! RDF-canonicalised Data Integrity proofs (`eddsa-rdfc-2022`, and `ecdsa-rdfc-2019` for
//! P-256 keys).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest as _, Sha256};

use serde_json::Value;
use ssi::claims::data_integrity::{
    AnySuite, CryptographicSuite, DataIntegrity, DataIntegrityDocument, ProofOptions,
};
use ssi::claims::{ProofValidationError, VerificationParameters};
use ssi::dids::{AnyDidMethod, VerificationMethodDIDResolver};
use ssi::json_ld::{CompactJsonLd, ContextLoader, Expandable as _};
use ssi::verification_methods::{AnyMethod, ProofPurpose, SingleSecretSigner};

use crate::context;
use crate::error::{BackendError, IssueError, VerifyError};
use crate::keys::{KeyAlgorithm, KeyPair};

/// A JSON-LD loader with ssi's bundled standard contexts plus the Symbolon vocabulary.
fn loader() -> ContextLoader {
    static CONTEXTS: OnceLock<HashMap<String, String>> = OnceLock::new();
    let map = CONTEXTS
        .get_or_init(|| {
            context::embedded()
                .iter()
                .map(|(url, body)| ((*url).to_owned(), (*body).to_owned()))
                .collect()
        })
        .clone();
    let base = ContextLoader::empty().with_static_loader();
    match base.clone().with_context_map_from(map) {
        Ok(loader) => loader,
        // INVARIANT: the embedded contexts are valid JSON (a unit test checks it); fall back to
        // the standard contexts alone rather than panic.
        Err(_) => base,
    }
}

fn to_ssi<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(value.clone())
}

/// Expands a compact JSON-LD document; an undefined term or an unknown context is an error.
///
/// Whether every term is defined depends only on the document's keys, its contexts and its
/// `type` values (type-scoped contexts), not on the other values; so a document whose
/// *skeleton* (values replaced by placeholders) expanded cleanly before is not expanded again.
pub(crate) async fn expand_strict(document: &Value) -> Result<(), BackendError> {
    static EXPANDED: OnceLock<Mutex<HashSet<[u8; 32]>>> = OnceLock::new();
    const CAPACITY: usize = 4096;
    let skeleton = skeleton(document);
    let digest: [u8; 32] = Sha256::digest(skeleton.to_string().as_bytes()).into();
    let seen = EXPANDED.get_or_init(|| Mutex::new(HashSet::new()));
    if seen.lock().is_ok_and(|seen| seen.contains(&digest)) {
        return Ok(());
    }
    let json: CompactJsonLd = to_ssi(document).map_err(BackendError::new)?;
    json.expand(&loader()).await.map_err(BackendError::new)?;
    // The skeleton itself must expand cleanly too, so that what is cached was checked.
    let json: CompactJsonLd = to_ssi(&skeleton).map_err(BackendError::new)?;
    if json.expand(&loader()).await.is_err() {
        return Ok(());
    }
    if let Ok(mut seen) = seen.lock() {
        if seen.len() >= CAPACITY {
            seen.clear();
        }
        seen.insert(digest);
    }
    Ok(())
}

/// The document with every value replaced by a placeholder of its kind, except contexts and
/// types, which decide how terms expand.
fn skeleton(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let kept = matches!(key.as_str(), "@context" | "type" | "@type");
                    (
                        key.clone(),
                        if kept { value.clone() } else { skeleton(value) },
                    )
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(skeleton).collect()),
        Value::String(_) => Value::String("urn:symbolon:placeholder".into()),
        Value::Number(_) => Value::from(0),
        Value::Bool(_) => Value::Bool(false),
        Value::Null => Value::Null,
    }
}

/// The RDF Dataset Canonicalization (RDFC-1.0) of a compact JSON-LD document, as sorted
/// N-Quads lines joined; an undefined term or an unknown context is an error.
pub(crate) async fn canonical_nquads(document: &Value) -> Result<String, BackendError> {
    use ssi::rdf::AnyLdEnvironment as _;
    let json: CompactJsonLd = to_ssi(document).map_err(BackendError::new)?;
    let mut ld = ssi::rdf::LdEnvironment::default();
    let expanded = json
        .expand_with(&mut ld, &loader())
        .await
        .map_err(BackendError::new)?;
    let lines = ld.canonical_form_of(&expanded).map_err(BackendError::new)?;
    Ok(lines.concat())
}

/// Proof purpose of a Data Integrity proof.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Purpose {
    /// Credentials: `assertionMethod`.
    Assertion,
    /// Presentations: `authentication`.
    Authentication,
}

/// Signs `document` with an RDF-canonicalised Data Integrity proof.
pub(crate) async fn sign_rdfc(
    document: Value,
    key: &KeyPair,
    verification_method: &str,
    purpose: Purpose,
    challenge: Option<&str>,
    domain: Option<&str>,
) -> Result<Value, IssueError> {
    let suite = match key.algorithm() {
        KeyAlgorithm::Ed25519 => AnySuite::EdDsaRdfc2022,
        KeyAlgorithm::P256 => AnySuite::EcdsaRdfc2019,
    };
    let unsecured: DataIntegrityDocument =
        to_ssi(&document).map_err(|e| IssueError::Json(Arc::new(e)))?;
    let jwk: ssi::JWK = serde_json::from_str(key.private_jwk().as_str())
        .map_err(|_| IssueError::Signing("the key could not be prepared".into()))?;
    let method: ssi::verification_methods::ReferenceOrOwned<AnyMethod> =
        serde_json::from_value(Value::String(verification_method.to_owned())).map_err(|_| {
            IssueError::Signing(format!(
                "invalid verification method `{verification_method}`"
            ))
        })?;
    let mut options = ProofOptions::from_method(method);
    options.proof_purpose = match purpose {
        Purpose::Assertion => ProofPurpose::Assertion,
        Purpose::Authentication => ProofPurpose::Authentication,
    };
    options.challenge = challenge.map(str::to_owned);
    options.domains = domain.map(|d| vec![d.to_owned()]).unwrap_or_default();
    let resolver = VerificationMethodDIDResolver::<_, AnyMethod>::new(AnyDidMethod::default());
    let environment = ssi::claims::SignatureEnvironment {
        json_ld_loader: loader(),
        eip712_loader: (),
    };
    let signed = suite
        .sign_with(
            environment,
            unsecured,
            &resolver,
            SingleSecretSigner::new(jwk).into_local(),
            options,
            Default::default(),
        )
        .await
        .map_err(|e| IssueError::Backend(BackendError::new(e)))?;
    serde_json::to_value(&signed).map_err(|e| IssueError::Json(Arc::new(e)))
}

/// Verifies an RDF-canonicalised Data Integrity proof (`eddsa-rdfc-2022`, `ecdsa-rdfc-2019`).
///
/// Only did:key and did:jwk verification methods are resolved here, offline.
pub(crate) async fn verify_rdfc(document: &Value) -> Result<(), VerifyError> {
    let secured: DataIntegrity<DataIntegrityDocument, AnySuite> =
        to_ssi(document).map_err(|e| VerifyError::Json(Arc::new(e)))?;
    let resolver = VerificationMethodDIDResolver::<_, AnyMethod>::new(AnyDidMethod::default());
    let params = VerificationParameters::from_resolver(resolver).with_json_ld_loader(loader());
    // A failure can come at two levels: the call itself (cannot verify) and the outcome
    // (verified and found invalid). Both are rejections. A call that fails while preparing the
    // claims (JSON-LD expansion, canonicalisation) or reading them is a JSON-LD rejection; any
    // other failure is a bad signature. Classified by variant, never by message.
    match secured.verify(params).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(invalid)) => Err(VerifyError::BadSignature(invalid.to_string())),
        Err(
            error @ (ProofValidationError::Preparation(_)
            | ProofValidationError::InvalidInputData(_)),
        ) => Err(VerifyError::JsonLd(BackendError::new(error))),
        Err(error) => Err(VerifyError::BadSignature(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::Did;

    fn credential(did: &Did) -> Value {
        serde_json::json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", context::SYMBOLON_CONTEXT],
            "type": ["VerifiableCredential", "DataSpaceMembershipCredential"],
            "issuer": did.as_str(),
            "credentialSubject": {"id": did.as_str(), "role": "Hospital", "dataSpaceId": "hds"}
        })
    }

    #[tokio::test]
    async fn rdfc_sign_verify_and_tamper() {
        for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::P256] {
            let key = KeyPair::generate(alg);
            let did = Did::key(&key.public_key());
            let signed = sign_rdfc(
                credential(&did),
                &key,
                &did.default_method(),
                Purpose::Assertion,
                None,
                None,
            )
            .await
            .unwrap();
            verify_rdfc(&signed).await.unwrap();
            let mut tampered = signed.clone();
            tampered["credentialSubject"]["role"] = "Insurer".into();
            assert!(matches!(
                verify_rdfc(&tampered).await,
                Err(VerifyError::BadSignature(_))
            ));
        }
    }

    #[tokio::test]
    async fn undefined_terms_are_errors() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let did = Did::key(&key.public_key());
        let mut doc = credential(&did);
        doc["credentialSubject"]["favouriteColour"] = "blue".into();
        assert!(expand_strict(&doc).await.is_err());
        assert!(sign_rdfc(
            doc,
            &key,
            &did.default_method(),
            Purpose::Assertion,
            None,
            None
        )
        .await
        .is_err());
        assert!(expand_strict(&credential(&did)).await.is_ok());
    }
}
