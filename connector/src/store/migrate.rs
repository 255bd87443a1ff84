//! `symbolon store migrate`: moves a data directory's store from the sled engine of earlier
//! builds to SQLite.
//!
//! The sled store is opened once, single-threaded and read-only in effect (sled's deadlock
//! needs concurrent flushes); its trees are copied as they are — the records are the same JSON,
//! the audit segments the same bytes — into a new SQLite store built beside it, which is then
//! opened (rebuilding and checking the audit log's hash chain and latest signed head) before
//! it takes the store's place. The sled files are kept in `store.sled-backup`.

use std::path::Path;

use super::{Store, StoreError, DATABASE_FILE, SLED_MARKER, STORE_DIR};

/// Where the sled files are kept after a migration.
pub const SLED_BACKUP_DIR: &str = "store.sled-backup";

/// The trees holding JSON records under string keys, by table.
const RECORD_TREES: [&str; 4] = ["offers", "negotiations", "agreements", "credentials"];

/// What a migration copied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Records copied, per table, in [`RECORD_TREES`] order.
    pub records: Vec<(String, usize)>,
    /// Seen nonces copied.
    pub nonces: usize,
    /// Audit entries in the migrated log.
    pub audit_entries: u64,
    /// Signed tree heads copied.
    pub heads: usize,
}

/// Why a migration failed. Nothing is changed unless it succeeds.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The data directory holds no sled store.
    #[error("`{0}` holds no sled store to migrate")]
    NothingToMigrate(String),
    /// A backup of an earlier migration is in the way.
    #[error("`{0}` exists: an earlier migration left it; move it away first")]
    BackupExists(String),
    /// sled failed to read the old store.
    #[error("cannot read the sled store: {0}")]
    Sled(#[from] sled::Error),
    /// A stored nonce has no `kind:` prefix or no 8-byte expiry.
    #[error("the sled store's nonce `{0}` is malformed")]
    BadNonce(String),
    /// The new store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be moved.
    #[error("cannot move `{path}`: {source}")]
    Io {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for MigrateError {
    fn from(error: rusqlite::Error) -> Self {
        MigrateError::Store(error.into())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MigrateError + '_ {
    move |source| MigrateError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Migrates the sled store of the data directory at `root` to SQLite.
pub fn migrate_sled(root: &Path) -> Result<Migrated, MigrateError> {
    let store = root.join(STORE_DIR);
    if !store.join(SLED_MARKER).exists() {
        return Err(MigrateError::NothingToMigrate(store.display().to_string()));
    }
    // No `serve` may hold the store while it moves.
    let _lock = super::lock(&store)?;
    let backup = root.join(SLED_BACKUP_DIR);
    if backup.exists() {
        return Err(MigrateError::BackupExists(backup.display().to_string()));
    }
    let staging = root.join("store.migrating");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    let mut migrated = copy(&store, &staging)?;
    // The new store opens only if the copied audit log checks out.
    let opened = Store::open_at(&staging)?;
    migrated.audit_entries = opened.log.len();
    drop(opened);
    std::fs::rename(&store, &backup).map_err(io(&store))?;
    std::fs::rename(&staging, &store).map_err(io(&staging))?;
    Ok(migrated)
}

/// Copies every tree of the sled store in `from` into a new SQLite database in `to`.
fn copy(from: &Path, to: &Path) -> Result<Migrated, MigrateError> {
    let old = sled::Config::new().path(from).open()?;
    super::prepare(&to.join(DATABASE_FILE), to)?;
    let mut conn = rusqlite::Connection::open(to.join(DATABASE_FILE))?;
    let tx = conn.transaction()?;
    let mut migrated = Migrated::default();
    for table in RECORD_TREES {
        let tree = old.open_tree(table)?;
        let sql = format!("INSERT OR REPLACE INTO {table} (key, body) VALUES (?1, ?2)");
        let mut insert = tx.prepare(&sql)?;
        let mut count = 0;
        for item in tree.iter() {
            let (key, value) = item?;
            insert.execute((String::from_utf8_lossy(&key).into_owned(), value.to_vec()))?;
            count += 1;
        }
        migrated.records.push((table.to_owned(), count));
    }
    {
        let mut insert =
            tx.prepare("INSERT OR REPLACE INTO nonces (kind, nonce, expires) VALUES (?1, ?2, ?3)")?;
        for item in old.open_tree("nonces")?.iter() {
            let (key, value) = item?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let (kind, nonce) = key
                .split_once(':')
                .ok_or_else(|| MigrateError::BadNonce(key.clone()))?;
            let expires = <[u8; 8]>::try_from(value.as_ref())
                .map(i64::from_be_bytes)
                .map_err(|_| MigrateError::BadNonce(key.clone()))?;
            insert.execute((kind, nonce, expires))?;
            migrated.nonces += 1;
        }
    }
    {
        // The audit tree: `e` + big-endian index → a segment (or one entry whole), `h` +
        // big-endian tree size → a signed head's JWS.
        symbolon_audit::store::create_tables(&tx)?;
        let audit = old.open_tree("audit")?;
        let mut segment = tx.prepare("INSERT INTO audit_segments (start, body) VALUES (?1, ?2)")?;
        let mut head = tx.prepare("INSERT INTO audit_heads (size, jws) VALUES (?1, ?2)")?;
        for item in audit.iter() {
            let (key, value) = item?;
            let Some((&prefix, index)) = key.split_first() else {
                continue;
            };
            let Ok(index) = <[u8; 8]>::try_from(index).map(i64::from_be_bytes) else {
                continue;
            };
            match prefix {
                b'e' => {
                    segment.execute((index, value.to_vec()))?;
                }
                b'h' => {
                    head.execute((index, String::from_utf8_lossy(&value).into_owned()))?;
                    migrated.heads += 1;
                }
                _ => {}
            }
        }
    }
    tx.commit()?;
    Ok(migrated)
}
