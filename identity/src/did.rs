//! Decentralized identifiers: did:key and did:jwk (created and resolved offline) and did:web
//! (resolved over HTTPS; plain HTTP only for loopback hosts; only hosts the resolver's
//! [`AddressPolicy`] allows are reached).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::Value;

use crate::error::{quote, DidError};
use crate::keys::PublicKey;
use crate::net::AddressPolicy;

pub mod resolution;

/// Longest DID or DID URL accepted.
pub const MAX_DID_LENGTH: usize = 4096;
/// Largest did:web document fetched.
pub const MAX_DID_DOCUMENT_BYTES: usize = 256 * 1024;

/// A syntactically valid DID (no path, query or fragment).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Did(String);

impl Did {
    /// Parses and checks a DID (`did:<method>:<method-specific-id>`).
    pub fn parse(text: &str) -> Result<Did, DidError> {
        let invalid = |reason: &str| DidError::InvalidDid {
            did: quote(text),
            reason: reason.to_owned(),
        };
        if text.len() > MAX_DID_LENGTH {
            return Err(invalid("too long"));
        }
        let rest = text
            .strip_prefix("did:")
            .ok_or_else(|| invalid("it must start with `did:`"))?;
        let (method, id) = rest
            .split_once(':')
            .ok_or_else(|| invalid("it must have the form `did:<method>:<id>`"))?;
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(invalid(
                "the method name must be lowercase letters and digits",
            ));
        }
        if id.is_empty() || id.ends_with(':') {
            return Err(invalid("the method-specific id is empty"));
        }
        let id_char_ok = |b: u8| b.is_ascii_alphanumeric() || b".-_:%".contains(&b);
        if !id.bytes().all(id_char_ok) {
            return Err(invalid(
                "the method-specific id has a character DIDs do not allow",
            ));
        }
        Ok(Did(text.to_owned()))
    }

    /// The DID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The method name (`key`, `jwk`, `web`, …).
    pub fn method(&self) -> &str {
        self.0.split(':').nth(1).unwrap_or_default()
    }

    /// The method-specific identifier.
    pub fn method_specific_id(&self) -> &str {
        let prefix = "did:".len() + self.method().len() + 1;
        self.0.get(prefix..).unwrap_or_default()
    }

    /// The did:key DID of a public key.
    pub fn key(public: &PublicKey) -> Did {
        Did(format!("did:key:{}", public.to_multibase()))
    }

    /// The did:jwk DID of a public key.
    pub fn jwk(public: &PublicKey) -> Did {
        Did(format!("did:jwk:{}", B64.encode(public.jwk().to_string())))
    }

    /// The default verification method id of a did:key, did:jwk or did:web DID.
    pub fn default_method(&self) -> String {
        match self.method() {
            "key" => format!("{}#{}", self.0, self.method_specific_id()),
            "web" => format!("{}#key-1", self.0),
            _ => format!("{}#0", self.0),
        }
    }
}

impl std::fmt::Display for Did {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits a DID URL into its DID and the fragment (without `#`).
pub fn split_did_url(url: &str) -> Result<(Did, Option<&str>), DidError> {
    let (did, fragment) = match url.split_once('#') {
        Some((did, fragment)) => (did, Some(fragment)),
        None => (url, None),
    };
    Ok((Did::parse(did)?, fragment))
}

/// The key of an offline DID (did:key or did:jwk), decoded without any I/O.
pub fn offline_public_key(did: &Did) -> Result<PublicKey, DidError> {
    let invalid = |reason: String| DidError::InvalidDid {
        did: quote(did.as_str()),
        reason,
    };
    let invalid_key = |source| DidError::InvalidDidKey {
        did: quote(did.as_str()),
        source,
    };
    match did.method() {
        "key" => PublicKey::from_multibase(did.method_specific_id()).map_err(invalid_key),
        "jwk" => {
            let bytes = B64
                .decode(did.method_specific_id())
                .map_err(|_| invalid("the did:jwk id is not base64url".into()))?;
            let jwk: Value = serde_json::from_slice(&bytes)
                .map_err(|_| invalid("the did:jwk id is not a JSON object".into()))?;
            PublicKey::from_jwk(&jwk).map_err(invalid_key)
        }
        other => Err(DidError::MethodNotSupported(quote(other))),
    }
}

/// The DID document of a did:key or did:jwk DID.
pub fn offline_document(did: &Did) -> Result<Value, DidError> {
    let public = offline_public_key(did)?;
    let method = did.default_method();
    let (context, vm) = match did.method() {
        "key" => (
            serde_json::json!([
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/multikey/v1"
            ]),
            serde_json::json!({
                "id": method, "type": "Multikey", "controller": did.as_str(),
                "publicKeyMultibase": public.to_multibase(),
            }),
        ),
        _ => (
            serde_json::json!([
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/suites/jws-2020/v1"
            ]),
            serde_json::json!({
                "id": method, "type": "JsonWebKey2020", "controller": did.as_str(),
                "publicKeyJwk": public.jwk(),
            }),
        ),
    };
    Ok(serde_json::json!({
        "@context": context,
        "id": did.as_str(),
        "verificationMethod": [vm],
        "authentication": [method],
        "assertionMethod": [method],
        "capabilityInvocation": [method],
        "capabilityDelegation": [method],
    }))
}

/// The URL a did:web DID resolves at. Plain HTTP only for loopback hosts.
pub fn did_web_url(did: &Did) -> Result<String, DidError> {
    let invalid = |reason: &str| DidError::InvalidDid {
        did: quote(did.as_str()),
        reason: reason.to_owned(),
    };
    let mut parts = did.method_specific_id().split(':');
    let authority = parts
        .next()
        .unwrap_or_default()
        .replace("%3A", ":")
        .replace("%3a", ":");
    let host = authority
        .rsplit_once(':')
        .map_or(authority.as_str(), |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                authority.as_str()
            }
        });
    if host.is_empty() || host.contains('%') || host.contains('/') {
        return Err(invalid("the did:web host is not valid"));
    }
    let scheme = if crate::net::is_loopback_host(host) {
        "http"
    } else {
        "https"
    };
    let path: Vec<&str> = parts.collect();
    if path.iter().any(|p| p.is_empty() || *p == ".." || *p == ".") {
        return Err(invalid("the did:web path has an empty or relative segment"));
    }
    Ok(if path.is_empty() {
        format!("{scheme}://{authority}/.well-known/did.json")
    } else {
        format!("{scheme}://{authority}/{}/did.json", path.join("/"))
    })
}

/// Finds the public key of a verification method in a DID document.
///
/// `reference` is a full DID URL or a fragment; with `None` the first method is taken.
pub fn key_in_document(
    did: &Did,
    document: &Value,
    reference: Option<&str>,
) -> Result<(String, PublicKey), DidError> {
    let not_found = || DidError::NoVerificationMethod {
        did: did.to_string(),
        reference: reference.map(quote).unwrap_or_else(|| "(any)".into()),
    };
    let methods = document
        .get("verificationMethod")
        .and_then(Value::as_array)
        .ok_or_else(not_found)?;
    for method in methods {
        let Some(id) = method.get("id").and_then(Value::as_str) else {
            continue;
        };
        let absolute = if id.starts_with('#') {
            format!("{did}{id}")
        } else {
            id.to_owned()
        };
        let wanted = match reference {
            None => true,
            Some(r) if r.starts_with("did:") => absolute == r,
            Some(r) => absolute
                .rsplit_once('#')
                .is_some_and(|(_, f)| f == r.trim_start_matches('#')),
        };
        if !wanted {
            continue;
        }
        let key = if let Some(multibase) = method.get("publicKeyMultibase").and_then(Value::as_str)
        {
            PublicKey::from_multibase(multibase)
        } else if let Some(jwk) = method.get("publicKeyJwk") {
            PublicKey::from_jwk(jwk)
        } else {
            continue;
        };
        return key
            .map(|k| (absolute, k))
            .map_err(|source| DidError::InvalidDocumentKey {
                did: did.to_string(),
                source,
            });
    }
    Err(not_found())
}

/// Resolves DIDs: did:key and did:jwk offline, did:web over HTTP(S) with a cache, reaching
/// only the hosts its [`AddressPolicy`] allows.
pub struct DidResolver {
    http: Option<reqwest::Client>,
    policy: AddressPolicy,
    cache: Mutex<HashMap<Did, (Instant, Value)>>,
    ttl: Duration,
    /// Decoded did:key / did:jwk keys: decoding a point costs as much as a fifth of a verify.
    keys: Mutex<HashMap<String, PublicKey>>,
}

/// Most offline keys kept decoded.
const KEY_CACHE_CAPACITY: usize = 4096;

impl std::fmt::Debug for DidResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DidResolver")
            .field("web", &self.http.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for DidResolver {
    fn default() -> Self {
        Self::new()
    }
}

impl DidResolver {
    /// A resolver for did:key, did:jwk and did:web on public hosts (documents cached for five
    /// minutes).
    pub fn new() -> Self {
        Self::with_policy(AddressPolicy::PUBLIC_ONLY)
    }

    /// A resolver for did:key, did:jwk and did:web on the hosts `policy` allows (documents
    /// cached for five minutes).
    pub fn with_policy(policy: AddressPolicy) -> Self {
        DidResolver {
            http: policy.client(Duration::from_secs(10)).ok(),
            policy,
            cache: Mutex::new(HashMap::new()),
            ttl: Duration::from_secs(300),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// A resolver that never touches the network (did:key and did:jwk only).
    pub fn offline() -> Self {
        DidResolver {
            http: None,
            policy: AddressPolicy::PUBLIC_ONLY,
            cache: Mutex::new(HashMap::new()),
            ttl: Duration::ZERO,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// A resolver that never touches the network and knows, besides did:key and did:jwk, the
    /// given did:web documents (e.g. those an audit bundle carries). A document whose `id` is
    /// not the DID it is given for is left out.
    pub fn offline_with_documents<'a>(
        documents: impl IntoIterator<Item = (&'a Did, &'a Value)>,
    ) -> Self {
        let now = Instant::now();
        let known = documents
            .into_iter()
            .filter(|(did, document)| {
                did.method() == "web"
                    && document.get("id").and_then(Value::as_str) == Some(did.as_str())
            })
            .map(|(did, document)| (did.clone(), (now, document.clone())))
            .collect();
        DidResolver {
            http: None,
            policy: AddressPolicy::PUBLIC_ONLY,
            cache: Mutex::new(known),
            ttl: Duration::MAX,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Resolves a DID to its DID document.
    pub async fn resolve(&self, did: &Did) -> Result<Value, DidError> {
        match did.method() {
            "key" | "jwk" => offline_document(did),
            "web" => self.resolve_web(did).await,
            other => Err(DidError::MethodNotSupported(quote(other))),
        }
    }

    /// The public key a DID URL (or a bare DID) names, with the verification method's full id.
    pub async fn public_key(&self, did_url: &str) -> Result<(String, PublicKey), DidError> {
        let (did, fragment) = split_did_url(did_url)?;
        match did.method() {
            "key" | "jwk" => {
                let key = self.offline_key(&did)?;
                let method = did.default_method();
                if let Some(fragment) = fragment {
                    let expected = method.rsplit_once('#').map(|(_, f)| f).unwrap_or_default();
                    if fragment != expected {
                        return Err(DidError::NoVerificationMethod {
                            did: did.to_string(),
                            reference: quote(did_url),
                        });
                    }
                }
                Ok((method, key))
            }
            _ => {
                let document = self.resolve(&did).await?;
                key_in_document(&did, &document, fragment.map(|_| did_url))
            }
        }
    }

    fn offline_key(&self, did: &Did) -> Result<PublicKey, DidError> {
        if let Some(key) = self
            .keys
            .lock()
            .ok()
            .and_then(|keys| keys.get(did.as_str()).copied())
        {
            return Ok(key);
        }
        let key = offline_public_key(did)?;
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() >= KEY_CACHE_CAPACITY {
                keys.clear();
            }
            keys.insert(did.to_string(), key);
        }
        Ok(key)
    }

    async fn resolve_web(&self, did: &Did) -> Result<Value, DidError> {
        if let Ok(cache) = self.cache.lock() {
            if let Some((at, document)) = cache.get(did) {
                if at.elapsed() < self.ttl {
                    return Ok(document.clone());
                }
            }
        }
        let url = did_web_url(did)?;
        let failed = |reason: String| DidError::Resolution {
            did: did.to_string(),
            reason,
        };
        let client = self
            .http
            .as_ref()
            .ok_or_else(|| failed("this resolver is offline".into()))?;
        let checked = self
            .policy
            .check_url(&url)
            .map_err(|source| DidError::Refused {
                did: did.to_string(),
                source,
            })?;
        let request = client
            .get(checked)
            .header("accept", "application/did+json, application/json");
        let bytes = crate::net::get_limited(request, &url, MAX_DID_DOCUMENT_BYTES)
            .await
            .map_err(|source| {
                if source.status() == Some(reqwest::StatusCode::NOT_FOUND) {
                    DidError::NotFound(did.to_string())
                } else {
                    DidError::Http {
                        did: did.to_string(),
                        source: Arc::new(source),
                    }
                }
            })?;
        let document: Value =
            serde_json::from_slice(&bytes).map_err(|source| DidError::DocumentNotJson {
                did: did.to_string(),
                source: Arc::new(source),
            })?;
        if document.get("id").and_then(Value::as_str) != Some(did.as_str()) {
            return Err(failed("the DID document's `id` is not the DID".into()));
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(did.clone(), (Instant::now(), document.clone()));
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests;
