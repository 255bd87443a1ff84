//! The audit bundle: a self-contained JSON export an auditor verifies offline.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The value of a bundle's `format`.
pub const BUNDLE_FORMAT: &str = "symbolon-audit-bundle/1";

/// Largest bundle read (256 MiB).
pub const MAX_BUNDLE_BYTES: u64 = 256 * 1024 * 1024;

/// An exported audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditBundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The DID of the connector whose log this is.
    pub log_id: String,
    /// Every entry in order, as stored: `{"event": …, "index": n, "prev": "<hex>"}`. The Merkle
    /// leaf of each is its RFC 8785 canonical JSON.
    pub entries: Vec<Value>,
    /// Every signed tree head (compact JWS), oldest first.
    pub heads: Vec<String>,
    /// DID documents by DID: the log's own, and those of credential issuers that cannot be
    /// resolved offline. did:key and did:jwk are also resolved without them.
    #[serde(default)]
    pub did_documents: BTreeMap<String, Value>,
    /// Credentials needed to check the log (e.g. the connector's membership credential),
    /// as compact JWS strings or JSON documents.
    #[serde(default)]
    pub credentials: Vec<Value>,
}

/// Why a bundle cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("the bundle is larger than {MAX_BUNDLE_BYTES} bytes")]
    TooLarge,
    /// Not JSON, or not shaped like a bundle.
    #[error("the bundle is not valid: {0}")]
    Malformed(#[source] serde_json::Error),
    /// The bundle could not be written as JSON.
    #[error("the bundle cannot be written as JSON: {0}")]
    Serialize(#[source] serde_json::Error),
    /// An unknown `format`.
    #[error("the bundle format `{0}` is not supported; expected `{BUNDLE_FORMAT}`")]
    UnsupportedFormat(String),
    /// Reading failed.
    #[error("reading the bundle failed: {0}")]
    Io(#[from] std::io::Error),
}

impl AuditBundle {
    /// Parses a bundle from bytes (at most [`MAX_BUNDLE_BYTES`]).
    pub fn from_slice(bytes: &[u8]) -> Result<AuditBundle, BundleError> {
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge);
        }
        let bundle: AuditBundle = serde_json::from_slice(bytes).map_err(BundleError::Malformed)?;
        if bundle.format != BUNDLE_FORMAT {
            return Err(BundleError::UnsupportedFormat(
                bundle.format.chars().take(64).collect(),
            ));
        }
        Ok(bundle)
    }

    /// Reads a bundle, refusing more than [`MAX_BUNDLE_BYTES`].
    pub fn from_reader(reader: impl Read) -> Result<AuditBundle, BundleError> {
        let mut bytes = Vec::new();
        reader.take(MAX_BUNDLE_BYTES + 1).read_to_end(&mut bytes)?;
        AuditBundle::from_slice(&bytes)
    }

    /// Reads a bundle file.
    pub fn from_path(path: &std::path::Path) -> Result<AuditBundle, BundleError> {
        let file = std::fs::File::open(path)?;
        if file.metadata()?.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge);
        }
        AuditBundle::from_reader(std::io::BufReader::new(file))
    }

    /// The bundle as pretty JSON.
    pub fn to_json_pretty(&self) -> Result<String, BundleError> {
        serde_json::to_string_pretty(self).map_err(BundleError::Serialize)
    }
}
