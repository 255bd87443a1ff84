//! Revocation and suspension with Bitstring Status List v1.0.
//!
//! The issuer keeps one list per purpose, assigns each credential an index in it, and publishes
//! the list as a signed `BitstringStatusListCredential` whose `encodedList` is the multibase
//! (`u`, base64url) of the GZIP-compressed bitstring. Index 0 is the most significant bit of
//! the first byte. Lists hold at least 131,072 bits (16 KiB), as the specification asks, so that
//! an index reveals little about which credential it belongs to.

use std::collections::HashMap;
use std::future::Future;
use std::io::{Read as _, Write as _};
use std::pin::Pin;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::context::CREDENTIALS_V2_CONTEXT;
use crate::did::Did;
use crate::error::quote;
use crate::net::{AddressError, HttpError};

/// The minimum (and default) number of entries in a list.
pub const MIN_BITS: usize = 131_072;
/// The largest decompressed list a verifier accepts (a guard against compression bombs).
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// What a status bit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusPurpose {
    /// Set bits are revoked for good.
    Revocation,
    /// Set bits are suspended (reversible).
    Suspension,
}

impl StatusPurpose {
    /// The `statusPurpose` value.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
        }
    }

    /// Parses a `statusPurpose` value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "revocation" => Some(StatusPurpose::Revocation),
            "suspension" => Some(StatusPurpose::Suspension),
            _ => None,
        }
    }
}

/// A status list error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    /// The index is outside the list.
    #[error("status index {index} is outside the list of {len} entries")]
    OutOfRange {
        /// The index.
        index: u64,
        /// The list's length.
        len: usize,
    },
    /// The encoded list is malformed.
    #[error("malformed status list: {0}")]
    Malformed(String),
}

/// A bitstring status list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: Vec<u8>,
}

impl Default for StatusList {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusList {
    /// An empty list of [`MIN_BITS`] entries.
    pub fn new() -> Self {
        StatusList {
            bits: vec![0; MIN_BITS / 8],
        }
    }

    /// A list from raw bytes (as stored by the issuer).
    pub fn from_bytes(bits: Vec<u8>) -> Result<Self, StatusListError> {
        if bits.len() * 8 < MIN_BITS || bits.len() > MAX_LIST_BYTES {
            return Err(StatusListError::Malformed(format!(
                "a list must hold {MIN_BITS} to {} bits",
                MAX_LIST_BYTES * 8
            )));
        }
        Ok(StatusList { bits })
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bits
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.bits.len() * 8
    }

    /// Whether the list has no entries (never true for a valid list).
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    fn locate(&self, index: u64) -> Result<(usize, u8), StatusListError> {
        let out = || StatusListError::OutOfRange {
            index,
            len: self.len(),
        };
        let i = usize::try_from(index).map_err(|_| out())?;
        if i >= self.len() {
            return Err(out());
        }
        Ok((i / 8, 0x80 >> (i % 8)))
    }

    /// Reads entry `index`.
    pub fn get(&self, index: u64) -> Result<bool, StatusListError> {
        let (byte, mask) = self.locate(index)?;
        Ok(self.bits.get(byte).is_some_and(|b| b & mask != 0))
    }

    /// Sets entry `index`.
    pub fn set(&mut self, index: u64, value: bool) -> Result<(), StatusListError> {
        let (byte, mask) = self.locate(index)?;
        if let Some(b) = self.bits.get_mut(byte) {
            if value {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
        Ok(())
    }

    /// The `encodedList`: `u` + base64url(gzip(bits)).
    pub fn encode(&self) -> String {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing to a Vec cannot fail.
        let compressed = encoder
            .write_all(&self.bits)
            .and_then(|()| encoder.finish())
            .unwrap_or_default();
        format!("u{}", B64.encode(compressed))
    }

    /// Decodes an `encodedList`, refusing lists shorter than [`MIN_BITS`] or larger than
    /// [`MAX_LIST_BYTES`] once decompressed.
    pub fn decode(encoded: &str) -> Result<Self, StatusListError> {
        let malformed = |why: &str| StatusListError::Malformed(why.to_owned());
        let b64 = encoded
            .strip_prefix('u')
            .ok_or_else(|| malformed("`encodedList` must be multibase base64url (`u…`)"))?;
        let compressed = B64
            .decode(b64)
            .map_err(|_| malformed("`encodedList` is not base64url"))?;
        let mut bits = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .take(MAX_LIST_BYTES as u64 + 1)
            .read_to_end(&mut bits)
            .map_err(|_| malformed("`encodedList` is not GZIP data"))?;
        Self::from_bytes(bits)
    }

    /// The unsigned `BitstringStatusListCredential` publishing this list at `url`.
    pub fn credential(&self, issuer: &Did, url: &str, purpose: StatusPurpose) -> Value {
        json!({
            "@context": [CREDENTIALS_V2_CONTEXT],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer.as_str(),
            "validFrom": crate::credential::format_time(chrono::Utc::now()),
            "credentialSubject": {
                "id": format!("{url}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": purpose.as_str(),
                "encodedList": self.encode(),
            }
        })
    }
}

/// A `credentialStatus` entry pointing at index `index` of the list at `url`.
pub fn entry(url: &str, purpose: StatusPurpose, index: u64) -> Value {
    json!({
        "id": format!("{url}#{index}"),
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose.as_str(),
        "statusListIndex": index.to_string(),
        "statusListCredential": url,
    })
}

/// A boxed future, so that status sources can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a status list credential could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusFetchError {
    /// The URL is refused: it is not an `https` URL (plain `http` only on a loopback host),
    /// carries user information, or names a host the address policy refuses.
    #[error("status list URL refused: {0}")]
    Refused(#[source] AddressError),
    /// This source has no HTTP client (building it failed).
    #[error("no HTTP client is available to fetch status lists")]
    NoClient,
    /// The HTTP request failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The body is not UTF-8.
    #[error("the status list at `{url}` is not UTF-8: {source}")]
    NotUtf8 {
        /// The URL (truncated).
        url: String,
        /// The decoding error.
        #[source]
        source: std::string::FromUtf8Error,
    },
    /// The source holds no list at the URL.
    #[error("no status list at `{0}`")]
    NotFound(String),
}

impl StatusFetchError {
    /// What the caller who presented the credential may be told: the address policy's
    /// refusal, or that no usable list came — never the upstream status, body or transport
    /// error.
    pub fn public_reason(&self) -> String {
        match self {
            StatusFetchError::Refused(_)
            | StatusFetchError::NoClient
            | StatusFetchError::NotFound(_) => self.to_string(),
            StatusFetchError::Http(error) => {
                format!(
                    "the status list could not be fetched: {}",
                    error.public_reason()
                )
            }
            StatusFetchError::NotUtf8 { .. } => {
                "the status list could not be fetched: no usable answer".to_owned()
            }
        }
    }
}

/// Where a verifier gets status list credentials from.
pub trait StatusSource: Send + Sync {
    /// Fetches the status list credential at `url` (a compact JWT or a JSON credential).
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<String, StatusFetchError>>;
}

mod http;

pub use http::{stated_ttl, HttpStatusSource};

/// Status lists held in memory (tests, offline audit bundles).
#[derive(Default)]
pub struct StaticStatusSource {
    lists: Mutex<HashMap<String, String>>,
}

impl StaticStatusSource {
    /// Publishes (or replaces) the list credential at `url`.
    pub fn insert(&self, url: &str, credential: String) {
        if let Ok(mut lists) = self.lists.lock() {
            lists.insert(url.to_owned(), credential);
        }
    }
}

impl StatusSource for StaticStatusSource {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<String, StatusFetchError>> {
        let found = self
            .lists
            .lock()
            .ok()
            .and_then(|lists| lists.get(url).cloned());
        Box::pin(async move { found.ok_or_else(|| StatusFetchError::NotFound(quote(url))) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_encode_decode() {
        let mut list = StatusList::new();
        assert!(list.len() >= MIN_BITS);
        list.set(0, true).unwrap();
        list.set(94567, true).unwrap();
        let decoded = StatusList::decode(&list.encode()).unwrap();
        assert!(decoded.get(0).unwrap());
        assert!(decoded.get(94567).unwrap());
        assert!(!decoded.get(1).unwrap());
        assert_eq!(decoded.as_bytes()[0], 0x80, "index 0 is the leftmost bit");
        list.set(0, false).unwrap();
        assert!(!list.get(0).unwrap());
        assert!(list.get(MIN_BITS as u64).is_err());
        assert!(list.set(u64::MAX, true).is_err());
    }

    #[test]
    fn malformed_and_oversized_lists_are_refused() {
        assert!(StatusList::decode("").is_err());
        assert!(StatusList::decode("zabc").is_err());
        assert!(StatusList::decode("u!!!").is_err());
        assert!(StatusList::decode(&format!("u{}", B64.encode(b"not gzip"))).is_err());
        let short = StatusList { bits: vec![0; 16] };
        assert!(StatusList::decode(&short.encode()).is_err(), "too short");
        let bomb = StatusList {
            bits: vec![0; MAX_LIST_BYTES + 8],
        };
        assert!(StatusList::decode(&bomb.encode()).is_err(), "too large");
    }
}
