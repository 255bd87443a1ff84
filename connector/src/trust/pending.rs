//! The trust list waiting for the operator's approval (`serve --trust-list-approval`): one at
//! most, saved durably in the data directory (`trust-list.pending.json`) so that it survives a
//! restart; a newer one replaces it.

use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{InstalledTrustList, TrustError};
use crate::datadir::{DataDir, DataDirError, PENDING_TRUST_LIST_FILE};

/// A verified trust list received from a peer, not installed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTrustList {
    /// The list (verified when it was received; verified again when approved).
    pub list: InstalledTrustList,
    /// The peer it came from (its DID).
    pub from: String,
    /// When it came.
    pub received_at: DateTime<Utc>,
}

impl PendingTrustList {
    /// What the management API shows: the list's summary, the credential, who sent it, when.
    pub fn view(&self) -> Value {
        let mut view = self.list.summary();
        if let Some(object) = view.as_object_mut() {
            object.insert("credential".into(), self.list.credential.clone().into());
            object.insert("from".into(), self.from.clone().into());
            object.insert(
                "received_at".into(),
                symbolon_identity::credential::format_time(self.received_at).into(),
            );
        }
        view
    }
}

/// The file's content.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    credential: String,
    from: String,
    received_at: DateTime<Utc>,
}

/// The pending list, in memory and in the data directory.
#[derive(Debug)]
pub struct Pending {
    dir: DataDir,
    current: RwLock<Option<Arc<PendingTrustList>>>,
}

impl Pending {
    /// The pending list saved in `dir`, if any (a file that holds no trust list is ignored).
    pub fn load(dir: &DataDir) -> Result<Pending, DataDirError> {
        let saved: Option<Saved> = dir.read_json(PENDING_TRUST_LIST_FILE)?;
        let current = saved.and_then(|saved| {
            let list = InstalledTrustList::read_verified(&saved.credential)?;
            Some(Arc::new(PendingTrustList {
                list,
                from: saved.from,
                received_at: saved.received_at,
            }))
        });
        Ok(Pending {
            dir: dir.clone(),
            current: RwLock::new(current),
        })
    }

    /// The pending list, if any.
    pub fn current(&self) -> Option<Arc<PendingTrustList>> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Saves `pending` durably (off the async runtime) in place of any earlier one.
    pub async fn keep(&self, pending: PendingTrustList) -> Result<(), TrustError> {
        let saved = Saved {
            credential: pending.list.credential.clone(),
            from: pending.from.clone(),
            received_at: pending.received_at,
        };
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || dir.write_json(PENDING_TRUST_LIST_FILE, &saved))
            .await??;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(pending));
        Ok(())
    }

    /// Drops the pending list durably; returns it (`None` when there was none).
    pub async fn clear(&self) -> Result<Option<Arc<PendingTrustList>>, TrustError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || dir.remove(PENDING_TRUST_LIST_FILE)).await??;
        Ok(self
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::collections::BTreeMap;

    use symbolon_identity::{issue_credential, Format, Identity, KeyAlgorithm, TrustList};

    use super::*;

    #[tokio::test]
    async fn a_pending_list_survives_a_restart_until_it_is_cleared() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let authority = Identity::generate(KeyAlgorithm::Ed25519);
        let entries = BTreeMap::from([(
            authority.did.to_string(),
            std::collections::BTreeSet::from(["DataSpaceMembershipCredential".to_owned()]),
        )]);
        let credential = TrustList::credential(&authority.did, "hds", &entries).unwrap();
        let token = issue_credential(&authority, credential, Format::Jwt)
            .await
            .unwrap()
            .to_text();
        let pending = PendingTrustList {
            list: InstalledTrustList::read_verified(&token).unwrap(),
            from: "did:key:z6MkSender".into(),
            received_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        };
        let store = Pending::load(&dir).unwrap();
        assert!(store.current().is_none());
        store.keep(pending.clone()).await.unwrap();

        let reopened = Pending::load(&dir).unwrap();
        assert_eq!(reopened.current().as_deref(), Some(&pending));
        assert_eq!(
            reopened.current().unwrap().view()["from"],
            "did:key:z6MkSender"
        );
        assert_eq!(reopened.clear().await.unwrap().as_deref(), Some(&pending));
        assert!(Pending::load(&dir).unwrap().current().is_none());
        assert!(reopened.clear().await.unwrap().is_none());
    }
}
