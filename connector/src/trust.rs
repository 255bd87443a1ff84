//! Installing the data space's trust list and reading it back.

use std::sync::Arc;

use symbolon_identity::verify::peek_jwt_payload;
use symbolon_identity::{DidResolver, Input, TrustList, Verifier};

use crate::datadir::{DataDir, TRUST_LIST_FILE};

/// An error while installing a trust list.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The trust list credential does not verify.
    #[error("the trust list does not verify: {0}")]
    Invalid(String),
    /// It must be a compact JWT.
    #[error("a trust list must be a compact JWT (as `symbolon trust-list issue` prints it)")]
    NotJwt,
    /// Storing it failed.
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
}

/// Verifies a trust list credential (its signer becomes the trust anchor).
pub async fn verify_trust_list(
    token: &str,
    resolver: Arc<DidResolver>,
) -> Result<TrustList, TrustError> {
    let input = Input::parse(token).map_err(|e| TrustError::Invalid(e.to_string()))?;
    if !matches!(input, Input::Jwt(_)) {
        return Err(TrustError::NotJwt);
    }
    let report = Verifier::new(resolver).verify_credential(&input).await;
    let document = match (report.verified, report.document) {
        (true, Some(document)) => document,
        _ => return Err(TrustError::Invalid(report.error.unwrap_or_default())),
    };
    TrustList::from_verified_credential(&document).map_err(|e| TrustError::Invalid(e.to_string()))
}

/// Verifies and installs a trust list in `dir`.
pub async fn install(
    dir: &DataDir,
    token: &str,
    resolver: Arc<DidResolver>,
) -> Result<TrustList, TrustError> {
    let trust = verify_trust_list(token, resolver).await?;
    dir.write_bytes(TRUST_LIST_FILE, token.trim().as_bytes())?;
    Ok(trust)
}

/// Reads the installed trust list (verified when it was installed).
pub fn trust_list_from_installed(token: &str) -> Option<TrustList> {
    let payload = peek_jwt_payload(token.trim())?;
    TrustList::from_verified_credential(&payload).ok()
}

/// The trust list installed in `dir`, if any.
pub fn installed(dir: &DataDir) -> Option<TrustList> {
    dir.read_text(TRUST_LIST_FILE)
        .ok()
        .flatten()
        .and_then(|t| trust_list_from_installed(&t))
}
