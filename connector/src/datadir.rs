//! The connector's data directory: its keystore, admin token, wallet, issued-credential
//! registry, status lists and installed trust list.
//!
//! Files are written atomically (a temporary file, fsync, rename) so that a crash never leaves
//! half a file; files holding secrets are mode 0600.

use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};
use subtle::ConstantTimeEq as _;
use symbolon_identity::keystore::{self, write_private_file, Identity};
use symbolon_identity::KeyAlgorithm;

/// The admin token's file name.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
/// The installed trust list (a signed TrustListCredential).
pub const TRUST_LIST_FILE: &str = "trust-list.jwt";
/// A trust list received from a peer that waits for the operator's approval
/// (`serve --trust-list-approval`): `{credential, from, received_at}`.
pub const PENDING_TRUST_LIST_FILE: &str = "trust-list.pending.json";
/// Where `serve` records the URL it listens on.
pub const SERVE_URL_FILE: &str = "serve.url";

/// An error about the data directory.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// A file could not be read or written.
    #[error("`{path}`: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("`{path}` is malformed: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The keystore failed.
    #[error(transparent)]
    Key(#[from] symbolon_identity::KeyError),
}

/// A connector's data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root` (not created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The directory's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Creates a new identity with an admin token; refuses to overwrite an existing one.
    pub fn init(
        &self,
        algorithm: KeyAlgorithm,
        passphrase: Option<&str>,
    ) -> Result<Identity, DataDirError> {
        self.init_with(Identity::generate(algorithm), passphrase)
    }

    /// Creates the keystore for `identity` (a fresh key, with a did:key or a did:web DID) and
    /// the admin token.
    pub fn init_with(
        &self,
        identity: Identity,
        passphrase: Option<&str>,
    ) -> Result<Identity, DataDirError> {
        keystore::create(&self.root, &identity, passphrase)?;
        let mut token = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut token);
        let token = hex::encode(token);
        let path = self.path(ADMIN_TOKEN_FILE);
        write_private_file(&path, token.as_bytes()).map_err(|source| io(&path, source))?;
        Ok(identity)
    }

    /// Loads the identity, with the passphrase from `SYMBOLON_PASSPHRASE` when set.
    pub fn identity(&self) -> Result<Identity, DataDirError> {
        let passphrase = std::env::var(keystore::PASSPHRASE_ENV)
            .ok()
            .filter(|p| !p.is_empty());
        Ok(keystore::load(&self.root, passphrase.as_deref())?)
    }

    /// The admin token.
    pub fn admin_token(&self) -> Result<AdminToken, DataDirError> {
        let path = self.path(ADMIN_TOKEN_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| io(&path, source))?;
        Ok(AdminToken(text.trim().to_owned()))
    }

    /// Reads a JSON file, or `None` if it does not exist.
    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, DataDirError> {
        let path = self.path(name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| DataDirError::Malformed {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(io(&path, source)),
        }
    }

    /// Writes a JSON file atomically and durably.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), DataDirError> {
        let path = self.path(name);
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| DataDirError::Malformed {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        self.write_bytes(name, &bytes)
    }

    /// Writes a file atomically and durably (mode 0600).
    pub fn write_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), DataDirError> {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| io(parent, source))?;
        }
        write_private_file(&path, bytes).map_err(|source| io(&path, source))
    }

    /// Removes a file durably (the directory is synced); a file that does not exist is no
    /// error.
    pub fn remove(&self, name: &str) -> Result<(), DataDirError> {
        let path = self.path(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(io(&path, source)),
        }
        let parent = path.parent().unwrap_or(&self.root);
        std::fs::File::open(parent)
            .and_then(|directory| directory.sync_all())
            .map_err(|source| io(parent, source))
    }

    /// Reads a text file, or `None` if it does not exist.
    pub fn read_text(&self, name: &str) -> Result<Option<String>, DataDirError> {
        let path = self.path(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(io(&path, source)),
        }
    }
}

fn io(path: &Path, source: std::io::Error) -> DataDirError {
    DataDirError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The admin token; compared in constant time, never printed by `Debug`.
#[derive(Clone)]
pub struct AdminToken(String);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// Whether `candidate` is the token (constant time in the token's content).
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.len() == candidate.len() && bool::from(self.0.as_bytes().ct_eq(candidate.as_bytes()))
    }

    /// The token text, for the CLI to send.
    pub fn expose(&self) -> &str {
        &self.0
    }
}
