//! Status lists fetched over HTTPS and cached: for a configured lifetime, or a list's own
//! shorter `ttl`; an issuer's notice forgets a cached copy.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{BoxFuture, StatusFetchError, StatusSource};
use crate::error::quote;
use crate::net::{get_limited, AddressPolicy};

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
    let claims = crate::verify::peek_jwt_payload(text)?;
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
    crate::json::one_or_many(document.get("credentialSubject"))
        .first()?
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
            let named =
                document_of(text).and_then(|d| crate::credential::issuer_id(&d).map(str::to_owned));
            named.or_else(|| {
                let claims = crate::verify::peek_jwt_payload(text.trim())?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status_list::B64;
    use base64::Engine as _;

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
