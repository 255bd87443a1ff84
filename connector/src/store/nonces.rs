//! Nonces and token ids already accepted, so that none is accepted twice — across restarts.

use chrono::{DateTime, Utc};
use symbolon_identity::nonce::NonceStore;

use super::StoreError;

/// Seen nonces, each kept until it expires (after which the token carrying it is refused as
/// expired anyway).
#[derive(Clone)]
pub struct SeenNonces {
    tree: sled::Tree,
    db: sled::Db,
}

impl SeenNonces {
    pub(crate) fn new(tree: sled::Tree, db: sled::Db) -> Self {
        SeenNonces { tree, db }
    }

    /// Records `nonce` (in namespace `kind`) as seen until `expires`, durably; returns `false`
    /// when it was seen before (a replay).
    pub async fn check_and_record(
        &self,
        kind: &str,
        nonce: &str,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let fresh = self.record(kind, nonce, expires)?;
        if fresh {
            self.db.flush_async().await?;
        }
        Ok(fresh)
    }

    fn record(&self, kind: &str, nonce: &str, expires: DateTime<Utc>) -> Result<bool, StoreError> {
        let key = format!("{kind}:{nonce}");
        let value = expires.timestamp().to_be_bytes();
        Ok(self
            .tree
            .compare_and_swap(key.as_bytes(), None as Option<&[u8]>, Some(&value[..]))?
            .is_ok())
    }

    /// Forgets nonces that expired before `now`; returns how many.
    pub fn prune(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for entry in self.tree.iter() {
            let (key, value) = entry?;
            let expired = <[u8; 8]>::try_from(value.as_ref())
                .map(|b| i64::from_be_bytes(b) < now.timestamp())
                .unwrap_or(true);
            if expired {
                self.tree.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The same store seen through the identity crate's [`NonceStore`] (presentation
    /// challenges), keeping each for an hour. The write is flushed with the next durable write.
    pub fn for_presentations(&self) -> PresentationNonces {
        PresentationNonces(self.clone())
    }
}

/// [`SeenNonces`] as an identity [`NonceStore`].
#[derive(Clone)]
pub struct PresentationNonces(SeenNonces);

impl NonceStore for PresentationNonces {
    fn check_and_record(&self, nonce: &str) -> bool {
        let expires = Utc::now() + chrono::Duration::hours(1);
        // A store failure counts as "seen": refusing is the safe answer.
        self.0.record("vp", nonce, expires).unwrap_or(false)
    }
}
