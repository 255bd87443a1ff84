//! Errors of the identity crate.
//!
//! Messages are lowercase, name what was rejected, where and why, and never carry key material.

use thiserror::Error;

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
    /// The keystore is encrypted and no passphrase was given.
    #[error("keystore `{0}` is encrypted; set SYMBOLON_PASSPHRASE to unlock it")]
    PassphraseRequired(String),
    /// The passphrase did not decrypt the keystore.
    #[error("keystore `{0}` could not be decrypted: wrong passphrase or altered file")]
    WrongPassphrase(String),
    /// Key derivation failed.
    #[error("passphrase key derivation failed")]
    Kdf,
}

/// An error about a DID: parsing it or resolving it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
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
}

impl DidError {
    /// The DID Resolution error code (`invalidDid`, `methodNotSupported`, `notFound`, `internalError`).
    pub fn resolution_code(&self) -> &'static str {
        match self {
            DidError::InvalidDid { .. } => "invalidDid",
            DidError::MethodNotSupported(_) => "methodNotSupported",
            DidError::NotFound(_) => "notFound",
            DidError::Resolution { .. } => "internalError",
            DidError::NoVerificationMethod { .. } => "notFound",
        }
    }
}

/// A credential or presentation was refused before signing.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
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
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The key cannot sign in the requested format.
    #[error("{0}")]
    Unsupported(String),
}

/// Why a credential or presentation was rejected.
///
/// One variant per rejection: callers and tests can match on the reason.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is not a well-formed credential, presentation or token.
    #[error("malformed input: {0}")]
    Malformed(String),
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
    JsonLd(String),
}

impl VerifyError {
    /// A short machine-readable code for the rejection.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed",
            VerifyError::TooLarge { .. } => "too_large",
            VerifyError::TooDeep(_) => "too_deep",
            VerifyError::DisallowedAlgorithm(_) => "disallowed_algorithm",
            VerifyError::AlgorithmKeyMismatch { .. } => "algorithm_key_mismatch",
            VerifyError::BadSignature(_) => "bad_signature",
            VerifyError::Expired(_) => "expired",
            VerifyError::NotYetValid(_) => "not_yet_valid",
            VerifyError::Revoked { .. } => "revoked",
            VerifyError::Suspended { .. } => "suspended",
            VerifyError::StatusUnavailable(_) => "status_unavailable",
            VerifyError::UntrustedIssuer { .. } => "untrusted_issuer",
            VerifyError::WrongDataSpace { .. } => "wrong_data_space",
            VerifyError::WrongChallenge { .. } => "wrong_challenge",
            VerifyError::WrongAudience { .. } => "wrong_audience",
            VerifyError::Replay(_) => "replay",
            VerifyError::HolderMismatch { .. } => "holder_mismatch",
            VerifyError::Did(DidError::InvalidDid { .. }) => "invalid_did",
            VerifyError::Did(DidError::MethodNotSupported(_)) => "method_not_supported",
            VerifyError::Did(_) => "did_resolution",
            VerifyError::JsonLd(_) => "json_ld",
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
