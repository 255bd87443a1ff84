//! The data space's trust list: verified when installed, kept in memory and swapped atomically
//! on install, and saved in the data directory so that the next start finds it. Its new
//! versions travel over the peer network ([`distribution`]), decided by [`decision`], held for
//! the operator's approval when `serve --trust-list-approval` asks so ([`pending`]).

pub mod decision;
pub mod distribution;
pub mod pending;
pub mod refusals;
pub mod updates;

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde_json::Value;
use symbolon_identity::verify::peek_jwt_payload;
use symbolon_identity::{DidResolver, Input, TrustList, Verifier};

use crate::datadir::{DataDir, DataDirError, TRUST_LIST_FILE};

/// An error while installing a trust list.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The trust list credential does not verify.
    #[error("the trust list does not verify: {0}")]
    Invalid(String),
    /// The credential verifies but is no trust list.
    #[error("the credential is no trust list: {0}")]
    NotTrustList(#[source] symbolon_identity::VerifyError),
    /// It must be a compact JWT.
    #[error("a trust list must be a compact JWT (as `symbolon trust-list issue` prints it)")]
    NotJwt,
    /// Storing it failed.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// Storing it did not finish (the runtime is shutting down).
    #[error("installing the trust list was interrupted: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
}

/// Verifies a trust list credential (its signer becomes the trust anchor).
pub async fn verify_trust_list(
    token: &str,
    resolver: Arc<DidResolver>,
) -> Result<TrustList, TrustError> {
    Ok(verify_trust_list_credential(token, resolver).await?.list)
}

/// Verifies a trust list credential; returns it with what it says and when it became valid.
pub async fn verify_trust_list_credential(
    token: &str,
    resolver: Arc<DidResolver>,
) -> Result<InstalledTrustList, TrustError> {
    let input = Input::parse(token).map_err(|e| TrustError::Invalid(e.to_string()))?;
    if !matches!(input, Input::Jwt(_)) {
        return Err(TrustError::NotJwt);
    }
    let report = Verifier::new(resolver).verify_credential(&input).await;
    let document = match (report.verified, report.document) {
        (true, Some(document)) => document,
        _ => return Err(TrustError::Invalid(report.error.unwrap_or_default())),
    };
    let list = TrustList::from_verified_credential(&document).map_err(TrustError::NotTrustList)?;
    Ok(InstalledTrustList {
        credential: token.trim().to_owned(),
        valid_from: valid_from(&document),
        id: document
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        list,
    })
}

/// A trust list credential's `validFrom` (VC 2.0), or its JWT's `iat`, if it has either.
pub fn valid_from(document: &Value) -> Option<DateTime<Utc>> {
    document
        .get("validFrom")
        .and_then(Value::as_str)
        .and_then(symbolon_identity::credential::parse_time)
        .or_else(|| {
            document
                .get("iat")
                .and_then(Value::as_i64)
                .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        })
}

/// A trust list: the signed credential and what it says (verified when it was installed or
/// received).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledTrustList {
    /// The TrustListCredential, a compact JWT.
    pub credential: String,
    /// Its content.
    pub list: TrustList,
    /// When it became valid (`validFrom`, else the JWT's `iat`): of two lists of one anchor,
    /// the later is the newer. `None` when it says neither.
    pub valid_from: Option<DateTime<Utc>>,
    /// The credential's `id`, if it has one.
    pub id: Option<String>,
}

impl InstalledTrustList {
    /// Reads a credential verified before (saved in the data directory) without verifying it
    /// again; `None` when it is no trust list.
    pub fn read_verified(token: &str) -> Option<InstalledTrustList> {
        let token = token.trim();
        let payload = peek_jwt_payload(token)?;
        let list = TrustList::from_verified_credential(&payload).ok()?;
        Some(InstalledTrustList {
            credential: token.to_owned(),
            valid_from: valid_from(&payload),
            id: payload.get("id").and_then(Value::as_str).map(str::to_owned),
            list,
        })
    }

    /// What the audit trail and the management API say of it (never more than the list: the
    /// credential is known by its id and digest).
    pub fn summary(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "data_space": self.list.data_space,
            "anchor": self.list.anchor,
            "valid_from": self.valid_from.map(symbolon_identity::credential::format_time),
            "entries": self.list.entries,
            "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(self.credential.as_bytes())),
        })
    }
}

/// The connector's trust list, in memory.
#[derive(Debug)]
pub struct TrustAnchor {
    dir: DataDir,
    installed: RwLock<Option<Arc<InstalledTrustList>>>,
}

impl TrustAnchor {
    /// The trust list saved in `dir` (verified when it was installed), if any.
    pub fn load(dir: &DataDir) -> Result<TrustAnchor, DataDirError> {
        let installed = dir
            .read_text(TRUST_LIST_FILE)?
            .and_then(|token| InstalledTrustList::read_verified(&token))
            .map(Arc::new);
        Ok(TrustAnchor {
            dir: dir.clone(),
            installed: RwLock::new(installed),
        })
    }

    /// The installed trust list, if any.
    pub fn installed(&self) -> Option<Arc<InstalledTrustList>> {
        self.installed.read().ok().and_then(|list| list.clone())
    }

    /// The installed list's content, if any.
    pub fn list(&self) -> Option<TrustList> {
        self.installed().map(|installed| installed.list.clone())
    }

    /// Verifies `token`, saves it (durably, off the async runtime) and swaps it in.
    pub async fn install(
        &self,
        token: &str,
        resolver: Arc<DidResolver>,
    ) -> Result<TrustList, TrustError> {
        let verified = verify_trust_list_credential(token, resolver).await?;
        let list = verified.list.clone();
        self.install_verified(verified).await?;
        Ok(list)
    }

    /// Saves a list verified by [`verify_trust_list_credential`] (durably, off the async
    /// runtime) and swaps it in.
    pub async fn install_verified(&self, verified: InstalledTrustList) -> Result<(), TrustError> {
        let (dir, bytes) = (self.dir.clone(), verified.credential.clone());
        tokio::task::spawn_blocking(move || dir.write_bytes(TRUST_LIST_FILE, bytes.as_bytes()))
            .await??;
        if let Ok(mut installed) = self.installed.write() {
            *installed = Some(Arc::new(verified));
        }
        Ok(())
    }
}
