//! Errors of the identity crate.
//!
//! Messages are lowercase, name what was rejected, where and why, and never carry key material.

use std::sync::Arc;

use thiserror::Error;

use crate::net::HttpError;
use crate::status_list::{StatusFetchError, StatusListError};

/// An error about keys or the keystore.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key algorithm is not one Symbolon supports.
    #[error("unsupported key algorithm `{0}`; expected `ed25519` or `p256`")]
    UnsupportedAlgorithm(String),
    /// Stored key bytes do not form a valid key.
    #[error("the stored {algorithm} key is malformed")]
    MalformedKey {
        /// The algorithm the key claimed to be.
        algorithm: &'static str,
    },
    /// The operation needs an Ed25519 key.
    #[error("{0} needs an Ed25519 key")]
    NeedsEd25519(&'static str),
    /// A keystore already exists and would be overwritten.
    #[error("a keystore already exists at `{0}`; refusing to overwrite an existing identity")]
    AlreadyExists(String),
    /// No keystore was found.
    #[error("no keystore at `{0}`; run `symbolon init` first")]
    NotFound(String),
    /// The keystore file could not be read or written.
    #[error("keystore `{path}`: {source}")]
    Io {
        /// The keystore path.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The keystore file is not valid.
    #[error("keystore `{path}` is malformed: {reason}")]
    Malformed {
        /// The keystore path.
        path: String,
        /// Why it is malformed.
        reason: String,
    },
    /// The keystore could not be written as JSON.
    #[error("keystore `{path}` cannot be written as JSON: {source}")]
    Serialize {
        /// The keystore path.
        path: String,
        /// The serialisation error.
        #[source]
        source: serde_json::Error,
    },
    /// The keystore is encrypted and no passphrase was given.
    #[error("keystore `{0}` is encrypted; set SYMBOLON_PASSPHRASE to unlock it")]
    PassphraseRequired(String),
    /// A passphrase was given for a keystore that is not sealed with one: it would protect
    /// nothing, and the operator believes otherwise.
    #[error("keystore `{0}` is not sealed with a passphrase, but SYMBOLON_PASSPHRASE is set: unset it, or create a sealed keystore with `symbolon init` while it is set")]
    PassphraseNotNeeded(String),
    /// The passphrase did not decrypt the keystore.
    #[error("keystore `{0}` could not be decrypted: wrong passphrase or altered file")]
    WrongPassphrase(String),
    /// Key derivation failed.
    #[error("passphrase key derivation failed")]
    Kdf,
    /// A public key (multibase or JWK) is not valid.
    #[error(transparent)]
    InvalidPublicKey(#[from] PublicKeyError),
}

/// Why a public key in multibase or JWK form was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The multibase text is not base58btc (`z…`).
    #[error("only base58btc multibase (`z…`) keys are supported")]
    NotBase58btc,
    /// The multibase text is longer than any supported key.
    #[error("the multibase key is longer than {0} characters")]
    TooLong(usize),
    /// The multibase text is not base58.
    #[error("the multibase key is not base58: {0}")]
    Base58(#[source] bs58::decode::Error),
    /// The multicodec prefix names no supported key type.
    #[error("unsupported multicodec key type")]
    UnsupportedMulticodec,
    /// The key or coordinate has the wrong length.
    #[error("the {algorithm} key must be {expected} bytes, not {found}")]
    WrongLength {
        /// The key type.
        algorithm: &'static str,
        /// The length expected.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// The bytes are not a point on the curve.
    #[error("not a valid {0} point")]
    InvalidPoint(&'static str),
    /// A JWK carries the private member `d`.
    #[error("a public JWK must not contain the private member `d`")]
    PrivateJwk,
    /// A JWK lacks a member.
    #[error("the JWK lacks `{0}`")]
    MissingMember(&'static str),
    /// A JWK member is not base64url.
    #[error("the JWK member `{member}` is not base64url: {source}")]
    NotBase64url {
        /// The member.
        member: &'static str,
        /// The decoding error.
        #[source]
        source: base64::DecodeError,
    },
    /// The JWK key type or curve is not supported.
    #[error("unsupported JWK key type `{kty}`/`{crv}`")]
    UnsupportedJwk {
        /// `kty` (`?` when absent).
        kty: String,
        /// `crv` (`?` when absent).
        crv: String,
    },
}

/// An error about a DID: parsing it or resolving it.
#[derive(Debug, Error, Clone)]
#[non_exhaustive]
pub enum DidError {
    /// The text is not a syntactically valid DID.
    #[error("`{did}` is not a valid DID: {reason}")]
    InvalidDid {
        /// The offending text (truncated).
        did: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The DID method is not supported.
    #[error("DID method `{0}` is not supported; supported methods are key, jwk and web")]
    MethodNotSupported(String),
    /// The DID document could not be found.
    #[error("DID `{0}` was not found")]
    NotFound(String),
    /// Fetching the DID document failed.
    #[error("resolving `{did}` failed: {reason}")]
    Resolution {
        /// The DID.
        did: String,
        /// Why it failed.
        reason: String,
    },
    /// The DID document names no usable key for the reference.
    #[error("DID `{did}` has no verification method `{reference}` with a supported key")]
    NoVerificationMethod {
        /// The DID.
        did: String,
        /// The verification method reference that was looked up.
        reference: String,
    },
    /// Fetching the did:web document failed. The message says so without the upstream
    /// status or error (see [`HttpError::public_reason`]); the source keeps them.
    #[error("resolving `{did}` failed: its DID document could not be fetched: {}", .source.public_reason())]
    Http {
        /// The DID.
        did: String,
        /// The HTTP failure.
        #[source]
        source: Arc<HttpError>,
    },
    /// The did:web host is refused by the resolver's address policy.
    #[error("resolving `{did}` failed: {source}")]
    Refused {
        /// The DID.
        did: String,
        /// Why the host is refused.
        #[source]
        source: crate::net::AddressError,
    },
    /// The did:web document is not JSON.
    #[error("resolving `{did}` failed: the DID document is not JSON")]
    DocumentNotJson {
        /// The DID.
        did: String,
        /// The parse error.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// A did:key or did:jwk DID does not encode a valid public key.
    #[error("`{did}` is not a valid DID: {source}")]
    InvalidDidKey {
        /// The DID (truncated).
        did: String,
        /// Why its key is invalid.
        #[source]
        source: PublicKeyError,
    },
    /// A verification method in the DID document holds an invalid public key.
    #[error("DID `{did}` has a verification method with an invalid key: {source}")]
    InvalidDocumentKey {
        /// The DID.
        did: String,
        /// Why the key is invalid.
        #[source]
        source: PublicKeyError,
    },
    /// The resolution option `publicKeyFormat` names a format this resolver does not know.
    #[error(
        "public key format `{0}` is not supported; expected Multikey, JsonWebKey2020, \
         Ed25519VerificationKey2020 or X25519KeyAgreementKey2020"
    )]
    UnsupportedPublicKeyType(String),
    /// The requested public key format does not fit the DID's key.
    #[error("`{did}`: a {key} key cannot be expressed as a `{format}` verification method")]
    InvalidPublicKeyType {
        /// The DID (truncated).
        did: String,
        /// The key's algorithm.
        key: &'static str,
        /// The format asked for.
        format: &'static str,
    },
    /// A DID URL names nothing in its DID document.
    #[error("`{0}` names nothing in its DID document")]
    UrlNotFound(String),
}

impl DidError {
    /// The error code of DID Resolution (§ "DID Resolution Metadata": `invalidDid`,
    /// `notFound`, `methodNotSupported`, `internalError`) and of the did:key method
    /// (`invalidPublicKeyLength`, `invalidPublicKey`, `invalidPublicKeyType`,
    /// `unsupportedPublicKeyType`).
    pub fn resolution_code(&self) -> &'static str {
        match self {
            DidError::InvalidDidKey { source, .. } => match source {
                PublicKeyError::WrongLength { .. } => "invalidPublicKeyLength",
                PublicKeyError::InvalidPoint(_) => "invalidPublicKey",
                PublicKeyError::UnsupportedMulticodec | PublicKeyError::UnsupportedJwk { .. } => {
                    "invalidPublicKeyType"
                }
                _ => "invalidDid",
            },
            DidError::UnsupportedPublicKeyType(_) => "unsupportedPublicKeyType",
            DidError::InvalidPublicKeyType { .. } => "invalidPublicKeyType",
            DidError::UrlNotFound(_) => "notFound",
            DidError::InvalidDid { .. } => "invalidDid",
            DidError::InvalidDocumentKey { .. } => "internalError",
            DidError::MethodNotSupported(_) => "methodNotSupported",
            DidError::NotFound(_) => "notFound",
            DidError::Resolution { .. }
            | DidError::Http { .. }
            | DidError::Refused { .. }
            | DidError::DocumentNotJson { .. } => "internalError",
            DidError::NoVerificationMethod { .. } => "notFound",
        }
    }
}

/// A credential or presentation was refused before signing.
#[derive(Debug, Error, Clone)]
#[non_exhaustive]
pub enum IssueError {
    /// The document breaks a rule of the VC Data Model 2.0.
    #[error("invalid {what} at `{path}`: {reason}")]
    Invalid {
        /// "credential" or "presentation".
        what: &'static str,
        /// A JSON pointer-like path to the offending member.
        path: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The document does not expand as JSON-LD (an undefined term or an unknown context).
    #[error("invalid document: JSON-LD: {0}; every property must be defined by a context")]
    JsonLd(#[source] BackendError),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The document could not be processed as JSON for signing.
    #[error("signing failed: JSON: {0}")]
    Json(#[source] Arc<serde_json::Error>),
    /// The Data Integrity library failed to sign.
    #[error("signing failed: {0}")]
    Backend(#[source] BackendError),
    /// The key cannot sign in the requested format.
    #[error("{0}")]
    Unsupported(String),
}

/// An error of the JSON-LD and Data Integrity library, kept opaque so that its types are not
/// part of this crate's API. Its message is the library's; its source chain is kept.
#[derive(Debug, Clone)]
pub struct BackendError(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl BackendError {
    /// Wraps a library error.
    pub(crate) fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        BackendError(Arc::new(error))
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Why a credential or presentation was rejected.
///
/// One variant per rejection: callers and tests can match on the reason.
#[derive(Debug, Error, Clone)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is not a well-formed credential, presentation or token.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// The input is not JSON.
    #[error("malformed input: JSON: {0}")]
    Json(#[source] Arc<serde_json::Error>),
    /// The credential or presentation breaks a rule of the VC Data Model 2.0.
    #[error("malformed input: {0}")]
    Invalid(#[source] IssueError),
    /// The input is larger than the verifier accepts.
    #[error("input of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The JSON nests deeper than the verifier accepts.
    #[error("JSON nests deeper than {0} levels")]
    TooDeep(usize),
    /// The signature algorithm is not one this verifier accepts.
    #[error("algorithm `{0}` is not accepted")]
    DisallowedAlgorithm(String),
    /// The algorithm named in the header does not fit the signer's key.
    #[error("algorithm `{alg}` does not match the {key} key of `{method}`")]
    AlgorithmKeyMismatch {
        /// The declared algorithm.
        alg: String,
        /// The key type found.
        key: String,
        /// The verification method.
        method: String,
    },
    /// The signature or proof does not verify.
    #[error("the signature does not verify: {0}")]
    BadSignature(String),
    /// The credential has expired.
    #[error("expired: valid until {0}")]
    Expired(String),
    /// The credential is not valid yet.
    #[error("not yet valid: valid from {0}")]
    NotYetValid(String),
    /// The issuer revoked the credential.
    #[error("revoked by its issuer (status list `{list}`, index {index})")]
    Revoked {
        /// The status list credential URL.
        list: String,
        /// The index in it.
        index: u64,
    },
    /// The issuer suspended the credential.
    #[error("suspended by its issuer (status list `{list}`, index {index})")]
    Suspended {
        /// The status list credential URL.
        list: String,
        /// The index in it.
        index: u64,
    },
    /// The status of the credential could not be checked.
    #[error("status could not be checked: {0}")]
    StatusUnavailable(String),
    /// The status list credential could not be fetched. The message says why without the
    /// upstream status or error (see [`StatusFetchError::public_reason`]); the source keeps
    /// them.
    #[error("status could not be checked: {}", .0.public_reason())]
    StatusFetch(#[source] Arc<StatusFetchError>),
    /// The status list is malformed or the index is outside it.
    #[error("status could not be checked: {0}")]
    StatusList(#[from] StatusListError),
    /// The issuer is not trusted to issue this credential type.
    #[error("issuer `{issuer}` is not trusted to issue `{credential_type}` in data space `{data_space}`")]
    UntrustedIssuer {
        /// The issuer DID.
        issuer: String,
        /// The credential type.
        credential_type: String,
        /// The data space whose trust list was consulted.
        data_space: String,
    },
    /// The credential belongs to another data space.
    #[error("credential is for data space `{found}`, expected `{expected}`")]
    WrongDataSpace {
        /// The data space expected.
        expected: String,
        /// The data space found.
        found: String,
    },
    /// The challenge (nonce) does not match.
    #[error("wrong challenge: expected `{expected}`, found `{found}`")]
    WrongChallenge {
        /// Expected value.
        expected: String,
        /// Value found.
        found: String,
    },
    /// The audience (domain) does not match.
    #[error("wrong audience: expected `{expected}`, found `{found}`")]
    WrongAudience {
        /// Expected value.
        expected: String,
        /// Value found.
        found: String,
    },
    /// The presentation was seen before.
    #[error("replayed: nonce `{0}` was already accepted")]
    Replay(String),
    /// The credential subject is not the presenter.
    #[error("holder binding failed: subject `{subject}` is not the presenter `{holder}`")]
    HolderMismatch {
        /// The credential's subject.
        subject: String,
        /// The presenter.
        holder: String,
    },
    /// The signer's DID could not be resolved.
    #[error(transparent)]
    Did(#[from] DidError),
    /// A JSON-LD term is not defined by any context.
    #[error("JSON-LD: {0}")]
    JsonLd(#[source] BackendError),
    /// The verification's deadline passed before the check could finish.
    #[error("{what} did not finish within the verification deadline of {} ms", .deadline.as_millis())]
    Deadline {
        /// What was being checked (`the signature check`, `fetching the status list`).
        what: &'static str,
        /// The deadline of the whole verification.
        deadline: std::time::Duration,
    },
    /// A presentation carries more credentials, or a credential more status entries, than a
    /// verifier checks.
    #[error("{what}: {count} where at most {limit} are accepted")]
    TooMany {
        /// What is counted (`credentials in the presentation`, …).
        what: &'static str,
        /// How many there are.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A lifetime is longer than a verifier accepts.
    #[error("{what} lives {seconds} s; at most {limit} s are accepted")]
    TooLong {
        /// What (`the presentation`).
        what: &'static str,
        /// Its lifetime in seconds.
        seconds: i64,
        /// The limit in seconds.
        limit: i64,
    },
}

impl VerifyError {
    /// A short machine-readable code for the rejection.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) | VerifyError::Json(_) | VerifyError::Invalid(_) => {
                "malformed"
            }
            VerifyError::TooLarge { .. } => "too_large",
            VerifyError::TooDeep(_) => "too_deep",
            VerifyError::DisallowedAlgorithm(_) => "disallowed_algorithm",
            VerifyError::AlgorithmKeyMismatch { .. } => "algorithm_key_mismatch",
            VerifyError::BadSignature(_) => "bad_signature",
            VerifyError::Expired(_) => "expired",
            VerifyError::NotYetValid(_) => "not_yet_valid",
            VerifyError::Revoked { .. } => "revoked",
            VerifyError::Suspended { .. } => "suspended",
            VerifyError::StatusUnavailable(_)
            | VerifyError::StatusFetch(_)
            | VerifyError::StatusList(_) => "status_unavailable",
            VerifyError::UntrustedIssuer { .. } => "untrusted_issuer",
            VerifyError::WrongDataSpace { .. } => "wrong_data_space",
            VerifyError::WrongChallenge { .. } => "wrong_challenge",
            VerifyError::WrongAudience { .. } => "wrong_audience",
            VerifyError::Replay(_) => "replay",
            VerifyError::HolderMismatch { .. } => "holder_mismatch",
            VerifyError::Did(DidError::InvalidDid { .. } | DidError::InvalidDidKey { .. }) => {
                "invalid_did"
            }
            VerifyError::Did(DidError::MethodNotSupported(_)) => "method_not_supported",
            VerifyError::Did(_) => "did_resolution",
            VerifyError::JsonLd(_) => "json_ld",
            VerifyError::Deadline { .. } => "deadline",
            VerifyError::TooMany { .. } => "too_many",
            VerifyError::TooLong { .. } => "lifetime_too_long",
        }
    }
}

/// Shortens user input quoted in an error so that a huge input cannot flood a log.
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 120;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
