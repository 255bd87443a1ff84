//! The connector's embedded store: repository traits, one per aggregate (offers, negotiations,
//! agreements, transfer processes, held credentials, nonces, counts released to recipients),
//! and their SQLite
//! implementation in the data directory.
//!
//! One SQLite database (`store/symbolon.sqlite`) holds the repositories' tables and the audit
//! log, written by the audit crate's group commit: every write a repository acknowledges is
//! committed and fsynced before it returns, and a state change and the audit event that
//! records it are one transaction. Repository methods block: async code calls them through
//! [`Store::blocking`], which runs them on the blocking thread pool. The database records the
//! schema version it was written with; a data directory written by a newer Symbolon is refused
//! rather than misread. One process at a time opens a data directory's store (a lock file says
//! who): while `symbolon serve` runs, the command line reaches the store through the
//! management API.

mod did_documents;
mod issuance;
pub mod migrate;
mod nonces;
mod records;
mod releases;
mod repositories;
mod transfers;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension as _;
use serde_json::Value;
use symbolon_audit::{AuditEvent, DurableLog};

use crate::domain::{Agreement, HeldCredential, Negotiation, Offer, Session, Transfer};
use crate::negotiation::state::IllegalTransition;
use crate::transfer::state::IllegalTransition as IllegalTransferTransition;

pub use issuance::{IssuanceRepository, OnboardingChange, OnboardingRepository};
pub use nonces::PresentationNonces;

/// The store's directory inside the data directory.
pub const STORE_DIR: &str = "store";

/// The database file inside the store's directory.
pub const DATABASE_FILE: &str = "symbolon.sqlite";

/// The schema version this build writes (4: `did_documents`; 5: `transfers`; 6: `sessions`;
/// 7: issuance; 8: `released_cells`).
pub const SCHEMA_VERSION: u32 = 8;

const LOCK_FILE: &str = "store.lock";
/// A file every sled store has: a data directory from before the SQLite store.
const SLED_MARKER: &str = "conf";

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS offers (key TEXT PRIMARY KEY, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS negotiations (key TEXT PRIMARY KEY, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS agreements (key TEXT PRIMARY KEY, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS credentials (key TEXT PRIMARY KEY, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS transfers (
        key TEXT PRIMARY KEY, body BLOB NOT NULL,
        role TEXT NOT NULL, counterparty TEXT NOT NULL, consumer_pid TEXT NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS transfers_by_request
        ON transfers (role, counterparty, consumer_pid);
    CREATE TABLE IF NOT EXISTS nonces (
        kind TEXT NOT NULL, nonce TEXT NOT NULL, expires INTEGER NOT NULL,
        PRIMARY KEY (kind, nonce)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS did_documents (
        did TEXT PRIMARY KEY, body BLOB NOT NULL, captured TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS issuance_requests (key TEXT PRIMARY KEY, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS issuer_settings (key TEXT PRIMARY KEY, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS onboarding (key TEXT PRIMARY KEY, body BLOB NOT NULL);
    CREATE TABLE IF NOT EXISTS released_cells (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        recipient TEXT NOT NULL, session TEXT NOT NULL, body BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS released_cells_by_recipient ON released_cells (recipient);
";

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
    /// The data directory holds a store of the sled engine earlier builds used.
    #[error(
        "the store `{path}` was written by an earlier Symbolon with the sled engine; run \
         `symbolon store migrate --data-dir <DIR>` once to move it to SQLite"
    )]
    SledStore {
        /// The store's path.
        path: String,
    },
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
    /// The database failed.
    #[error("the store failed: {0}")]
    Database(#[from] rusqlite::Error),
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

impl From<symbolon_audit::StoreError> for UpdateError {
    fn from(error: symbolon_audit::StoreError) -> Self {
        UpdateError::Store(error.into())
    }
}

/// A change to a negotiation: the new record, or why the move is not allowed. It runs inside
/// the store's transaction, once.
pub type Change = Box<dyn FnOnce(Negotiation) -> Result<Negotiation, IllegalTransition> + Send>;

/// The audit event that records a negotiation's new state; it is written in the same
/// transaction as the state.
pub type Record = Box<dyn FnOnce(&Negotiation) -> AuditEvent + Send>;

/// Why a transfer process could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum TransferUpdateError {
    /// The change is not allowed in the process's state.
    #[error(transparent)]
    Illegal(#[from] IllegalTransferTransition),
    /// There is no such process.
    #[error("no transfer process `{0}`")]
    Missing(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<symbolon_audit::StoreError> for TransferUpdateError {
    fn from(error: symbolon_audit::StoreError) -> Self {
        TransferUpdateError::Store(error.into())
    }
}

impl From<rusqlite::Error> for TransferUpdateError {
    fn from(error: rusqlite::Error) -> Self {
        TransferUpdateError::Store(error.into())
    }
}

/// A change to a transfer process: the new record, or why the move is not allowed. It runs
/// inside the store's transaction, once.
pub type TransferChange =
    Box<dyn FnOnce(Transfer) -> Result<Transfer, IllegalTransferTransition> + Send>;

/// The audit event that records a transfer process's new state; it is written in the same
/// transaction as the state.
pub type TransferRecord = Box<dyn FnOnce(&Transfer) -> AuditEvent + Send>;

/// What opening a transfer process did.
#[derive(Debug, Clone, PartialEq)]
pub enum Opened {
    /// It was stored, with its audit record.
    Created,
    /// The same counterparty already opened a process with the same consumer's process id (a
    /// repeated request): that one, unchanged; nothing was written.
    Existing(Box<Transfer>),
    /// The process id is taken by another process; nothing was written.
    Taken,
}

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
    /// Stores a new negotiation under `pid` and its audit `record`; `false` (and nothing
    /// written) when the id is taken.
    fn create(
        &self,
        pid: &str,
        negotiation: &Negotiation,
        record: Record,
    ) -> Result<bool, StoreError>;
    /// The negotiation this connector knows as `pid`.
    fn get(&self, pid: &str) -> Result<Option<Negotiation>, StoreError>;
    /// Every negotiation.
    fn list(&self) -> Result<Vec<Negotiation>, StoreError>;
    /// Reads, changes and writes back the negotiation `pid`, with the audit event that
    /// records it (if the change is one to record), as one transaction.
    fn update(
        &self,
        pid: &str,
        change: Change,
        record: Option<Record>,
    ) -> Result<Negotiation, UpdateError>;
    /// Like [`update`](Self::update), and stores `agreement` in the same transaction: all are
    /// written, or none.
    fn update_with_agreement(
        &self,
        pid: &str,
        agreement: &Agreement,
        change: Change,
        record: Record,
    ) -> Result<Negotiation, UpdateError>;
}

/// Transfer processes, as provider and as consumer, keyed by this connector's process id.
/// Updates of one process are atomic (compare-and-swap), each committed with its audit event.
pub trait TransferRepository: Send + Sync {
    /// Stores a new process under `pid` and its audit `record`, unless the counterparty already
    /// opened one (in the same role) with the same consumer's process id: that one is returned
    /// and nothing is written.
    fn open(
        &self,
        pid: &str,
        transfer: &Transfer,
        record: TransferRecord,
    ) -> Result<Opened, StoreError>;
    /// The process this connector knows as `pid`.
    fn get(&self, pid: &str) -> Result<Option<Transfer>, StoreError>;
    /// Every process.
    fn list(&self) -> Result<Vec<Transfer>, StoreError>;
    /// Reads, changes and writes back the process `pid`, with the audit event that records it
    /// (if the change is one to record), as one transaction.
    fn update(
        &self,
        pid: &str,
        change: TransferChange,
        record: Option<TransferRecord>,
    ) -> Result<Transfer, TransferUpdateError>;
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
    /// Removes the credential whose wallet key is `key`; `false` when none is held.
    fn remove(&self, key: &str) -> Result<bool, StoreError>;
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
    /// Whether `nonce` (in namespace `kind`) is recorded, recording nothing.
    fn contains(&self, kind: &str, nonce: &str) -> Result<bool, StoreError>;
    /// Forgets nonces that expired before `now`; returns how many.
    fn prune(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;
}

/// DID documents captured when an audit event needs them (a did:web signer of a credential or
/// presentation it embeds, or of a held credential), read back at export: an export never
/// resolves anything.
pub trait DidDocumentRepository: Send + Sync {
    /// Stores `documents` (by DID), replacing older copies.
    fn put(&self, documents: &BTreeMap<String, Value>) -> Result<(), StoreError>;
    /// Appends `event` to the audit log and stores the `documents` it needs, in one
    /// transaction; returns the event's index.
    fn append_with(
        &self,
        event: &AuditEvent,
        documents: &BTreeMap<String, Value>,
    ) -> Result<u64, StoreError>;
    /// The stored documents of `dids` (those there are).
    fn get(&self, dids: &BTreeSet<String>) -> Result<BTreeMap<String, Value>, StoreError>;
}

/// MPC sessions this connector takes part in, by session id.
pub trait SessionRepository: Send + Sync {
    /// Stores a new session; `false` when one with its id is kept already.
    fn create(&self, session: &Session) -> Result<bool, StoreError>;
    /// Replaces the session with `session.id`.
    fn put(&self, session: &Session) -> Result<(), StoreError>;
    /// The session `id`.
    fn get(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// Every session, by id.
    fn list(&self) -> Result<Vec<Session>, StoreError>;
}

/// The counts released to each recipient of MPC results, for the differencing check
/// ([`crate::session::differencing`]).
pub trait ReleaseRepository: Send + Sync {
    /// Checks `cells` (one result's) against what `recipient` received before and records
    /// those that pass, in one transaction; returns per cell the earlier session it would be
    /// differenced against (`Some`: suppress it). With `whole`, one suppressed cell suppresses
    /// all and none is recorded.
    fn check_and_record(
        &self,
        recipient: &str,
        cells: Vec<crate::session::differencing::Released>,
        whole: bool,
    ) -> Result<Vec<Option<String>>, StoreError>;
    /// What `recipient` received, in the order it was released.
    fn list(
        &self,
        recipient: &str,
    ) -> Result<Vec<crate::session::differencing::Released>, StoreError>;
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
    /// Transfer processes.
    pub transfers: Arc<dyn TransferRepository>,
    /// MPC sessions.
    pub sessions: Arc<dyn SessionRepository>,
    /// Credentials this connector holds.
    pub credentials: Arc<dyn CredentialRepository>,
    /// Nonces and token ids already accepted.
    pub nonces: Arc<dyn NonceRepository>,
    /// DID documents captured for the audit trail.
    pub did_documents: Arc<dyn DidDocumentRepository>,
    /// Issuance requests received, as issuer, with its settings and registry.
    pub issuance: Arc<dyn IssuanceRepository>,
    /// Issuance requests sent, as holder.
    pub onboarding: Arc<dyn OnboardingRepository>,
    /// The counts released to each recipient of MPC results.
    pub releases: Arc<dyn ReleaseRepository>,
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
        Self::open_at(&root.join(STORE_DIR))
    }

    /// Opens (creating if needed) the store in the directory `path`.
    fn open_at(path: &Path) -> Result<Store, StoreError> {
        let path = path.to_owned();
        std::fs::create_dir_all(&path).map_err(|source| StoreError::Lock {
            path: path.display().to_string(),
            source,
        })?;
        let lock = lock(&path)?;
        if path.join(SLED_MARKER).exists() {
            return Err(StoreError::SledStore {
                path: path.display().to_string(),
            });
        }
        let database = path.join(DATABASE_FILE);
        prepare(&database, &path)?;
        let log = DurableLog::open(&database)?;
        let db = Arc::new(log);
        Ok(Store {
            offers: Arc::new(repositories::SqlOffers::new(db.clone())),
            negotiations: Arc::new(repositories::SqlNegotiations::new(db.clone())),
            agreements: Arc::new(repositories::SqlAgreements::new(db.clone())),
            transfers: Arc::new(transfers::SqlTransfers::new(db.clone())),
            sessions: Arc::new(repositories::SqlSessions::new(db.clone())),
            credentials: Arc::new(repositories::SqlCredentials::new(db.clone())),
            nonces: Arc::new(nonces::SqlNonces::new(db.clone())),
            did_documents: Arc::new(did_documents::SqlDidDocuments::new(db.clone())),
            issuance: Arc::new(issuance::SqlIssuance::new(db.clone())),
            onboarding: Arc::new(issuance::SqlOnboarding::new(db.clone())),
            releases: Arc::new(releases::SqlReleases::new(db.clone())),
            log: db,
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

/// Creates the repositories' tables and checks (or records) the schema version.
fn prepare(database: &Path, store: &Path) -> Result<(), StoreError> {
    let conn = rusqlite::Connection::open(database)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(SCHEMA)?;
    let found: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    match found {
        Some(found) if found > i64::from(SCHEMA_VERSION) => Err(StoreError::NewerSchema {
            path: store.display().to_string(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: SCHEMA_VERSION,
        }),
        Some(found) if found == i64::from(SCHEMA_VERSION) => Ok(()),
        _ => {
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
                [i64::from(SCHEMA_VERSION)],
            )?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
