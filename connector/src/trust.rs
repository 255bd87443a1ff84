//! The data space's trust list: verified when installed, kept in memory and swapped atomically
//! on install, and saved in the data directory so that the next start finds it.

use std::sync::{Arc, RwLock};

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
    let input = Input::parse(token).map_err(|e| TrustError::Invalid(e.to_string()))?;
    if !matches!(input, Input::Jwt(_)) {
        return Err(TrustError::NotJwt);
    }
    let report = Verifier::new(resolver).verify_credential(&input).await;
    let document = match (report.verified, report.document) {
        (true, Some(document)) => document,
        _ => return Err(TrustError::Invalid(report.error.unwrap_or_default())),
    };
    TrustList::from_verified_credential(&document).map_err(TrustError::NotTrustList)
}

/// An installed trust list: the signed credential and what it says.
#[derive(Debug, Clone)]
pub struct InstalledTrustList {
    /// The TrustListCredential, a compact JWT.
    pub credential: String,
    /// Its content.
    pub list: TrustList,
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
        let installed = dir.read_text(TRUST_LIST_FILE)?.and_then(|token| {
            let token = token.trim().to_owned();
            let list = peek_jwt_payload(&token)
                .and_then(|payload| TrustList::from_verified_credential(&payload).ok())?;
            Some(Arc::new(InstalledTrustList {
                credential: token,
                list,
            }))
        });
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
        let list = verify_trust_list(token, resolver).await?;
        let credential = token.trim().to_owned();
        let (dir, bytes) = (self.dir.clone(), credential.clone());
        tokio::task::spawn_blocking(move || dir.write_bytes(TRUST_LIST_FILE, bytes.as_bytes()))
            .await??;
        if let Ok(mut installed) = self.installed.write() {
            *installed = Some(Arc::new(InstalledTrustList {
                credential,
                list: list.clone(),
            }));
        }
        Ok(list)
    }
}
