//! Seen nonces and token ids on sled, each kept until it expires (after which the token
//! carrying it is refused as expired anyway).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use symbolon_identity::nonce::NonceStore;

use super::{NonceRepository, StoreError};

/// The nonces tree.
pub(super) struct SledNonces {
    tree: sled::Tree,
    db: sled::Db,
}

impl SledNonces {
    pub(super) fn new(tree: sled::Tree, db: sled::Db) -> Self {
        SledNonces { tree, db }
    }
}

impl NonceRepository for SledNonces {
    fn check_and_record(
        &self,
        kind: &str,
        nonce: &str,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let fresh = self.record_unflushed(kind, nonce, expires)?;
        if fresh {
            self.db.flush()?;
        }
        Ok(fresh)
    }

    fn record_unflushed(
        &self,
        kind: &str,
        nonce: &str,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = format!("{kind}:{nonce}");
        let value = expires.timestamp().to_be_bytes();
        Ok(self
            .tree
            .compare_and_swap(key.as_bytes(), None as Option<&[u8]>, Some(&value[..]))?
            .is_ok())
    }

    fn prune(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
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
}

/// The seen nonces as an identity [`NonceStore`] (presentation challenges), keeping each for an
/// hour; the record is durable with the next flushed write.
#[derive(Clone)]
pub struct PresentationNonces(Arc<dyn NonceRepository>);

impl PresentationNonces {
    pub(super) fn new(nonces: Arc<dyn NonceRepository>) -> Self {
        PresentationNonces(nonces)
    }
}

impl NonceStore for PresentationNonces {
    fn check_and_record(&self, nonce: &str) -> bool {
        let expires = Utc::now() + chrono::Duration::hours(1);
        // A store failure counts as "seen": refusing is the safe answer.
        self.0
            .record_unflushed("vp", nonce, expires)
            .unwrap_or(false)
    }
}
