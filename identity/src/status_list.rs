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
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::context::CREDENTIALS_V2_CONTEXT;
use crate::did::Did;
use crate::error::quote;
use crate::net::{get_limited, AddressError, AddressPolicy, HttpError};

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

/// How long one status list fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Fetches status lists over HTTPS (plain HTTP only on a loopback host), reaching only the
/// addresses its [`AddressPolicy`] allows, caching each list for a time-to-live.
pub struct HttpStatusSource {
    client: Option<reqwest::Client>,
    policy: AddressPolicy,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, String)>>,
}

impl HttpStatusSource {
    /// A source caching lists for `ttl` that reaches public addresses only.
    pub fn new(ttl: Duration) -> Self {
        Self::with_policy(ttl, AddressPolicy::PUBLIC_ONLY)
    }

    /// A source caching lists for `ttl` that reaches the addresses `policy` allows.
    pub fn with_policy(ttl: Duration, policy: AddressPolicy) -> Self {
        HttpStatusSource {
            client: policy.client(FETCH_TIMEOUT).ok(),
            policy,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

/// The credential document of a status list as fetched: a JSON credential, or the payload of
/// a compact JWT (its `vc` claim when it has one). The signature is not checked here.
fn document_of(text: &str) -> Option<Value> {
    let text = text.trim();
    if text.starts_with('{') {
        return serde_json::from_str(text).ok();
    }
    let payload = text.split('.').nth(1)?;
    let bytes = B64.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    Some(match claims.get("vc") {
        Some(vc) => vc.clone(),
        None => claims,
    })
}

/// The `ttl` a status list credential states for itself (Bitstring Status List §2.1: in
/// milliseconds, on `credentialSubject`), read from a JSON credential or the payload of a
/// compact JWT (`vc` or the payload itself); `None` when it states none.
pub fn stated_ttl(text: &str) -> Option<Duration> {
    let document = document_of(text)?;
    let subject = document.get("credentialSubject")?;
    let subject = match subject {
        Value::Array(items) => items.first()?,
        other => other,
    };
    subject
        .get("ttl")
        .and_then(Value::as_u64)
        .map(Duration::from_millis)
}

impl HttpStatusSource {
    /// Forgets the cached list at `url` if `issuer` issued it (its `issuer`, or a JWT's `iss`,
    /// names that DID), so that the next check fetches it again: how a revocation the issuer
    /// announces takes effect at once. Only what is cached is forgotten, and nothing is
    /// fetched here, so a peer cannot make the connector call an address; `false` when there
    /// was nothing of `issuer`'s at `url`.
    pub fn forget_if_issued_by(&self, url: &str, issuer: &str) -> bool {
        let Ok(mut cache) = self.cache.lock() else {
            return false;
        };
        let issued_by = cache.get(url).and_then(|(_, text)| {
            let document = document_of(text)?;
            let named = match document.get("issuer") {
                Some(Value::String(id)) => Some(id.clone()),
                Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).map(str::to_owned),
                _ => None,
            };
            named.or_else(|| {
                let payload = B64.decode(text.trim().split('.').nth(1)?).ok()?;
                let claims: Value = serde_json::from_slice(&payload).ok()?;
                claims.get("iss").and_then(Value::as_str).map(str::to_owned)
            })
        });
        if issued_by.as_deref() == Some(issuer) {
            cache.remove(url);
            true
        } else {
            false
        }
    }
}

impl StatusSource for HttpStatusSource {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<String, StatusFetchError>> {
        Box::pin(async move {
            if let Ok(cache) = self.cache.lock() {
                if let Some((at, body)) = cache.get(url) {
                    // The list's own `ttl`, when shorter than ours, bounds the reuse.
                    let ttl = stated_ttl(body).map_or(self.ttl, |own| own.min(self.ttl));
                    if at.elapsed() < ttl {
                        return Ok(body.clone());
                    }
                }
            }
            let parsed = self
                .policy
                .check_url(url)
                .map_err(StatusFetchError::Refused)?;
            let client = self.client.as_ref().ok_or(StatusFetchError::NoClient)?;
            let body = get_limited(client.get(parsed), url, crate::limits::MAX_INPUT_BYTES).await?;
            let text = String::from_utf8(body).map_err(|source| StatusFetchError::NotUtf8 {
                url: quote(url),
                source,
            })?;
            if let Ok(mut cache) = self.cache.lock() {
                cache.insert(url.to_owned(), (Instant::now(), text.clone()));
            }
            Ok(text)
        })
    }
}

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
    fn a_list_states_its_own_ttl_in_json_or_in_a_jwt() {
        let json = r#"{"credentialSubject": {"type": "BitstringStatusList", "ttl": 1500}}"#;
        assert_eq!(stated_ttl(json), Some(Duration::from_millis(1500)));
        let listed = r#"{"credentialSubject": [{"ttl": 20}]}"#;
        assert_eq!(stated_ttl(listed), Some(Duration::from_millis(20)));
        let claims = B64.encode(br#"{"vc": {"credentialSubject": {"ttl": 60000}}}"#);
        assert_eq!(
            stated_ttl(&format!("eyJhbGciOiJFZERTQSJ9.{claims}.c2ln")),
            Some(Duration::from_secs(60))
        );
        let bare = B64.encode(br#"{"credentialSubject": {"ttl": 7}}"#);
        assert_eq!(
            stated_ttl(&format!("h.{bare}.s")),
            Some(Duration::from_millis(7))
        );
        // None stated, or not readable: the configured lifetime applies.
        for text in [
            r#"{"credentialSubject": {}}"#,
            r#"{"credentialSubject": {"ttl": -5}}"#,
            r#"{"credentialSubject": {"ttl": "60"}}"#,
            "{not json",
            "a.b!.c",
            "",
        ] {
            assert_eq!(stated_ttl(text), None, "{text}");
        }
    }

    /// A server on 127.0.0.1 answering every request with `body`, counting requests.
    async fn counting_server(
        body: &'static str,
    ) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/status/1", listener.local_addr().unwrap());
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (url, hits)
    }

    #[tokio::test]
    async fn only_its_issuer_makes_a_cached_list_forgotten() {
        use std::sync::atomic::Ordering::SeqCst;
        let (url, hits) =
            counting_server(r#"{"issuer": {"id": "did:key:zIssuer"}, "credentialSubject": {}}"#)
                .await;
        let source =
            HttpStatusSource::with_policy(Duration::from_secs(3600), AddressPolicy::ALLOW_PRIVATE);
        // Nothing cached: nothing to forget, and nothing is fetched.
        assert!(!source.forget_if_issued_by(&url, "did:key:zIssuer"));
        assert_eq!(hits.load(SeqCst), 0);
        source.fetch(&url).await.unwrap();
        assert!(!source.forget_if_issued_by(&url, "did:key:zSomeoneElse"));
        source.fetch(&url).await.unwrap();
        assert_eq!(
            hits.load(SeqCst),
            1,
            "still cached after a stranger's announcement"
        );
        assert!(source.forget_if_issued_by(&url, "did:key:zIssuer"));
        source.fetch(&url).await.unwrap();
        assert_eq!(hits.load(SeqCst), 2, "fetched again after its issuer's");
        // A JWT names its issuer in `iss`.
        let claims = B64.encode(br#"{"iss": "did:key:zJwt", "vc": {"credentialSubject": {}}}"#);
        let jwt: &'static str =
            Box::leak(format!("eyJhbGciOiJFZERTQSJ9.{claims}.c2ln").into_boxed_str());
        let (url, _) = counting_server(jwt).await;
        source.fetch(&url).await.unwrap();
        assert!(source.forget_if_issued_by(&url, "did:key:zJwt"));
    }

    #[tokio::test]
    async fn the_cache_keeps_a_list_for_the_shorter_of_its_ttl_and_ours() {
        use std::sync::atomic::Ordering::SeqCst;
        // A list stating 200 ms, a source configured for an hour: 200 ms it is.
        let (url, hits) = counting_server(r#"{"credentialSubject": {"ttl": 200}}"#).await;
        let source =
            HttpStatusSource::with_policy(Duration::from_secs(3600), AddressPolicy::ALLOW_PRIVATE);
        source.fetch(&url).await.unwrap();
        source.fetch(&url).await.unwrap();
        assert_eq!(hits.load(SeqCst), 1, "reused within its ttl");
        tokio::time::sleep(Duration::from_millis(300)).await;
        source.fetch(&url).await.unwrap();
        assert_eq!(hits.load(SeqCst), 2, "fetched again after its ttl");
        // A list stating a day, a source configured for 0: never cached.
        let (url, hits) = counting_server(r#"{"credentialSubject": {"ttl": 86400000}}"#).await;
        let source = HttpStatusSource::with_policy(Duration::ZERO, AddressPolicy::ALLOW_PRIVATE);
        source.fetch(&url).await.unwrap();
        source.fetch(&url).await.unwrap();
        assert_eq!(hits.load(SeqCst), 2, "our 0 wins over its day");
    }

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

    #[tokio::test]
    async fn plain_http_is_refused_unless_the_host_is_loopback() {
        let source = HttpStatusSource::with_policy(Duration::ZERO, AddressPolicy::ALLOW_PRIVATE);
        for url in [
            "http://127.0.0.1.example.org/status/1",
            "http://localhost.evil.com/status/1",
            "http://localhost@evil.com/",
            "http://[::1]@evil.com/",
            "http://127.0.0.1@127.0.0.2:8080/status/1",
            "http://example.com/status/1",
        ] {
            let err = source.fetch(url).await.unwrap_err();
            assert!(matches!(err, StatusFetchError::Refused(_)), "{url}: {err}");
        }
    }

    /// A one-shot HTTP server on 127.0.0.1 answering `body`; returns its port and how many
    /// connections it accepted.
    async fn serve_once(
        body: &'static str,
    ) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = vec![0u8; 4096];
            let _ = socket.read(&mut buf).await.unwrap();
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(reply.as_bytes()).await.unwrap();
        });
        (port, accepted)
    }

    #[tokio::test]
    async fn plain_http_on_loopback_is_fetched_when_private_addresses_are_allowed() {
        let (port, _) = serve_once("eyJhbGciOiJFZERTQSJ9.e30.c2ln").await;
        let source = HttpStatusSource::with_policy(Duration::ZERO, AddressPolicy::ALLOW_PRIVATE);
        let text = source
            .fetch(&format!("http://127.0.0.1:{port}/status/1"))
            .await
            .unwrap();
        assert_eq!(text, "eyJhbGciOiJFZERTQSJ9.e30.c2ln");
    }

    #[tokio::test]
    async fn by_default_no_private_address_is_fetched() {
        let (port, accepted) = serve_once("eyJhbGciOiJFZERTQSJ9.e30.c2ln").await;
        let source = HttpStatusSource::new(Duration::ZERO);
        for url in [
            format!("http://127.0.0.1:{port}/status/1"),
            format!("http://localhost:{port}/status/1"),
            format!("https://[::ffff:127.0.0.1]:{port}/status/1"),
            "https://10.0.0.1/status/1".to_owned(),
            "https://169.254.169.254/latest/meta-data".to_owned(),
        ] {
            let err = source.fetch(&url).await.unwrap_err();
            assert!(matches!(err, StatusFetchError::Refused(_)), "{url}: {err}");
            assert!(
                err.public_reason()
                    .contains("refused by the address policy"),
                "{url}: {}",
                err.public_reason()
            );
        }
        tokio::task::yield_now().await;
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    }
}
