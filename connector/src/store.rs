//! The connector's embedded store: repository traits, one per aggregate, and their `sled`
//! implementation in the data directory.
//!
//! Every write a repository acknowledges is flushed to disk before it returns. Repository
//! methods block: async code calls them through [`Store::blocking`], which runs them on the
//! blocking thread pool. The database records the schema version it was written with; a data
//! directory written by a newer Symbolon is refused rather than misread. One process at a time
//! opens a data directory's store (a lock file says who): while `symbolon serve` runs, the
//! command line reaches the store through the management API.

mod nonces;
mod records;
mod repositories;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use symbolon_audit::DurableLog;

use crate::domain::{Agreement, HeldCredential, Negotiation, Offer};
use crate::negotiation::state::IllegalTransition;

pub use nonces::PresentationNonces;

/// The store's directory inside the data directory.
pub const STORE_DIR: &str = "store";

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 2;

const LOCK_FILE: &str = "store.lock";
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
    /// The recorded schema version is unreadable.
    #[error("the store's schema version is unreadable: it is not a 4-byte number")]
    BadSchemaVersion,
    /// A stored record cannot be decoded.
    #[error("the store's `{tree}` record `{key}` is unreadable: {source}")]
    Corrupt {
        /// The repository.
        tree: &'static str,
        /// The record's key.
        key: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A record cannot be encoded.
    #[error("a `{tree}` record cannot be encoded: {source}")]
    Encode {
        /// The repository.
        tree: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The lock file cannot be opened.
    #[error("cannot open the store's lock `{path}`: {source}")]
    Lock {
        /// The lock file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The audit log failed.
    #[error("the audit log failed: {0}")]
    Audit(#[from] symbolon_audit::StoreError),
    /// An event read back from the audit log has a type this build does not know.
    #[error("the audit log holds an event this build cannot read: {0}")]
    UnknownEvent(#[from] symbolon_audit::UnknownEventKind),
    /// sled failed.
    #[error("the store failed: {0}")]
    Sled(#[from] sled::Error),
    /// A blocking store task did not finish (the runtime is shutting down).
    #[error("a store task was interrupted: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
}

/// Why a negotiation could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The change is not allowed in the negotiation's state.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// There is no such negotiation.
    #[error("no negotiation `{0}`")]
    Missing(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A change to a negotiation: the new record, or why the move is not allowed. It may run more
/// than once when another update of the same negotiation wins a race; it must not have effects.
pub type Change<'a> = &'a (dyn Fn(Negotiation) -> Result<Negotiation, IllegalTransition> + Sync);

/// Offers published in the catalog.
pub trait OfferRepository: Send + Sync {
    /// Stores a new offer; `false` when the id is taken.
    fn create(&self, offer: &Offer) -> Result<bool, StoreError>;
    /// The offer with `id`.
    fn get(&self, id: &str) -> Result<Option<Offer>, StoreError>;
    /// Every offer, by id.
    fn list(&self) -> Result<Vec<Offer>, StoreError>;
    /// Deletes an offer; `false` when there was none.
    fn delete(&self, id: &str) -> Result<bool, StoreError>;
}

/// Contract negotiations, as provider and as consumer, keyed by this connector's process id.
/// Updates of one negotiation are atomic (compare-and-swap); updates of different
/// negotiations never wait for each other.
pub trait NegotiationRepository: Send + Sync {
    /// Stores a new negotiation under `pid`; `false` when the id is taken.
    fn create(&self, pid: &str, negotiation: &Negotiation) -> Result<bool, StoreError>;
    /// The negotiation this connector knows as `pid`.
    fn get(&self, pid: &str) -> Result<Option<Negotiation>, StoreError>;
    /// Every negotiation.
    fn list(&self) -> Result<Vec<Negotiation>, StoreError>;
    /// Reads, changes and writes back the negotiation `pid` as one atomic step.
    fn update(&self, pid: &str, change: Change<'_>) -> Result<Negotiation, UpdateError>;
    /// Like [`update`](Self::update), and stores `agreement` in the same transaction: both
    /// are written, or neither.
    fn update_with_agreement(
        &self,
        pid: &str,
        agreement: &Agreement,
        change: Change<'_>,
    ) -> Result<Negotiation, UpdateError>;
}

/// Contract agreements.
pub trait AgreementRepository: Send + Sync {
    /// Stores an agreement.
    fn put(&self, agreement: &Agreement) -> Result<(), StoreError>;
    /// The agreement with `id`.
    fn get(&self, id: &str) -> Result<Option<Agreement>, StoreError>;
    /// Every agreement.
    fn list(&self) -> Result<Vec<Agreement>, StoreError>;
}

/// Credentials this connector holds (its wallet).
pub trait CredentialRepository: Send + Sync {
    /// Stores a credential; storing the same one twice keeps one copy.
    fn put(&self, credential: &HeldCredential) -> Result<(), StoreError>;
    /// Every held credential, oldest first.
    fn list(&self) -> Result<Vec<HeldCredential>, StoreError>;
}

/// Nonces and token ids already accepted, so that none is accepted twice, across restarts.
pub trait NonceRepository: Send + Sync {
    /// Records `nonce` (in namespace `kind`) as seen until `expires`, durably; `false` when it
    /// was seen before (a replay).
    fn check_and_record(
        &self,
        kind: &str,
        nonce: &str,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Records `nonce` like [`check_and_record`](Self::check_and_record), durable with the
    /// next flushed write.
    fn record_unflushed(
        &self,
        kind: &str,
        nonce: &str,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Forgets nonces that expired before `now`; returns how many.
    fn prune(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;
}

/// The opened store: one repository per aggregate, and the audit log.
#[derive(Clone)]
pub struct Store {
    /// Offers published in the catalog.
    pub offers: Arc<dyn OfferRepository>,
    /// Contract negotiations.
    pub negotiations: Arc<dyn NegotiationRepository>,
    /// Contract agreements.
    pub agreements: Arc<dyn AgreementRepository>,
    /// Credentials this connector holds.
    pub credentials: Arc<dyn CredentialRepository>,
    /// Nonces and token ids already accepted.
    pub nonces: Arc<dyn NonceRepository>,
    /// The tamper-evident audit log (written through [`AuditTrail`](crate::audit::AuditTrail)).
    pub log: Arc<DurableLog>,
    _lock: Arc<File>,
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
        std::fs::create_dir_all(&path).map_err(|source| StoreError::Lock {
            path: path.display().to_string(),
            source,
        })?;
        let lock = lock(&path)?;
        let db = sled::Config::new()
            .path(&path)
            .flush_every_ms(Some(1000))
            .open()?;
        check_schema(&db, &path)?;
        let log = DurableLog::open(db.open_tree("audit")?)?;
        let repositories = repositories::Sled::open(&db)?;
        Ok(Store {
            offers: Arc::new(repositories.offers),
            negotiations: Arc::new(repositories.negotiations),
            agreements: Arc::new(repositories.agreements),
            credentials: Arc::new(repositories.credentials),
            nonces: Arc::new(nonces::SledNonces::new(db.open_tree("nonces")?, db.clone())),
            log: Arc::new(log),
            _lock: Arc::new(lock),
        })
    }

    /// Runs `work` on the blocking thread pool (store writes flush to disk) and returns its
    /// result.
    pub async fn blocking<T, E>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store))
            .await
            .map_err(|e| E::from(StoreError::from(e)))?
    }

    /// The identity crate's view of the seen nonces, for presentation challenges.
    pub fn presentation_nonces(&self) -> PresentationNonces {
        PresentationNonces::new(self.nonces.clone())
    }
}

/// Takes the store's lock file, or says who holds it.
fn lock(path: &Path) -> Result<File, StoreError> {
    let lock_path = path.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StoreError::Lock {
            path: lock_path.display().to_string(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse {
            path: path.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Lock {
            path: lock_path.display().to_string(),
            source,
        }),
    }
}

fn check_schema(db: &sled::Db, path: &Path) -> Result<(), StoreError> {
    let meta = db.open_tree(META_TREE)?;
    match meta.get(SCHEMA_KEY)? {
        Some(bytes) => {
            let found = <[u8; 4]>::try_from(bytes.as_ref())
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::BadSchemaVersion)?;
            if found > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema {
                    path: path.display().to_string(),
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            if found < SCHEMA_VERSION {
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                db.flush()?;
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
mod tests;
