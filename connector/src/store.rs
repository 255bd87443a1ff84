//! The connector's embedded store: one `sled` database in the data directory, with one small
//! repository type per aggregate.
//!
//! Every write the API acknowledges is flushed to disk before the acknowledgement (sled only
//! fsyncs on a timer otherwise). The database records the schema version it was written with; a
//! data directory written by a newer Symbolon is refused rather than misread.
//!
//! sled locks its database exclusively, so one process at a time opens a data directory's store:
//! while `symbolon serve` runs, the command line reaches the store through the management API.

pub mod agreements;
mod codec;
pub mod credentials;
pub mod events;
pub mod negotiations;
pub mod nonces;
pub mod offers;

use std::path::Path;

pub use agreements::Agreements;
pub use credentials::HeldCredentials;
pub use events::{Event, Events};
pub use negotiations::Negotiations;
pub use nonces::SeenNonces;
pub use offers::Offers;

/// The store's directory inside the data directory.
pub const STORE_DIR: &str = "store";

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 1;

const META_TREE: &str = "meta";
const SCHEMA_KEY: &str = "schema_version";

/// An error of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (usually a running `symbolon serve`) holds the store.
    #[error(
        "the store `{path}` is in use by another process (is `symbolon serve` running on this \
         data directory? Use its management API, or stop it first)"
    )]
    InUse {
        /// The store's path.
        path: String,
    },
    /// The store was written by a newer version of Symbolon.
    #[error(
        "the store `{path}` has schema version {found}, newer than the {supported} this \
         Symbolon understands; upgrade Symbolon to open it"
    )]
    NewerSchema {
        /// The store's path.
        path: String,
        /// The version found.
        found: u32,
        /// The newest version this build understands.
        supported: u32,
    },
    /// A stored record cannot be decoded.
    #[error("the store's `{tree}` record `{key}` is unreadable: {reason}")]
    Corrupt {
        /// The repository.
        tree: &'static str,
        /// The record's key.
        key: String,
        /// Why.
        reason: String,
    },
    /// The audit log failed.
    #[error("the audit log failed: {0}")]
    Audit(String),
    /// sled failed.
    #[error("the store failed: {0}")]
    Sled(#[from] sled::Error),
}

/// The opened store.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    /// Offers published in the catalog.
    pub offers: Offers,
    /// Contract negotiations, as provider and as consumer.
    pub negotiations: Negotiations,
    /// Contract agreements.
    pub agreements: Agreements,
    /// Credentials this connector holds.
    pub credentials: HeldCredentials,
    /// Nonces and token ids already accepted.
    pub nonces: SeenNonces,
    /// The event record.
    pub events: Events,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the store of the data directory at `root`.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let path = root.join(STORE_DIR);
        let db = sled::Config::new()
            .path(&path)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|e| classify_open_error(&path, e))?;
        check_schema(&db, &path)?;
        Ok(Store {
            offers: Offers::new(db.open_tree("offers")?, db.clone()),
            negotiations: Negotiations::new(db.open_tree("negotiations")?, db.clone()),
            agreements: Agreements::new(db.open_tree("agreements")?, db.clone()),
            credentials: HeldCredentials::new(db.open_tree("credentials")?, db.clone()),
            nonces: SeenNonces::new(db.open_tree("nonces")?, db.clone()),
            events: Events::open(db.open_tree("audit")?)?,
            db,
        })
    }

    /// The underlying database, for components that keep their own trees (the audit log).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Flushes every pending write to disk.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}

fn classify_open_error(path: &Path, error: sled::Error) -> StoreError {
    let text = error.to_string();
    if text.contains("lock") || text.contains("temporarily unavailable") {
        StoreError::InUse {
            path: path.display().to_string(),
        }
    } else {
        StoreError::Sled(error)
    }
}

fn check_schema(db: &sled::Db, path: &Path) -> Result<(), StoreError> {
    let meta = db.open_tree(META_TREE)?;
    match meta.get(SCHEMA_KEY)? {
        Some(bytes) => {
            let found = <[u8; 4]>::try_from(bytes.as_ref())
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    tree: META_TREE,
                    key: SCHEMA_KEY.into(),
                    reason: "not a 4-byte version".into(),
                })?;
            if found > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema {
                    path: path.display().to_string(),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
        }
        None => {
            meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            db.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .db()
                .open_tree(META_TREE)
                .unwrap()
                .insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
                .unwrap();
            store.db().flush().unwrap();
        }
        let error = Store::open(dir.path()).unwrap_err();
        assert!(matches!(error, StoreError::NewerSchema { found: 2, .. }));
        assert!(error.to_string().contains("upgrade Symbolon"), "{error}");
    }

    #[test]
    fn a_second_opener_is_told_the_store_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path()).unwrap();
        let error = Store::open(dir.path()).unwrap_err();
        assert!(matches!(error, StoreError::InUse { .. }), "{error}");
        assert!(error.to_string().contains("symbolon serve"), "{error}");
    }
}
