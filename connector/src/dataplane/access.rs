//! The tokens a provider's data plane gives a started transfer's consumer, and the
//! `DataAddress` carrying them. Tokens are 256 random bits; the provider keeps only their
//! SHA-256 digests ([`DataAccess`]) and compares digests in constant time. The access token is
//! short-lived; the refresh token (`<process id>.<secret>`) gets a new pair while the process
//! is STARTED (RFC 6749 §6) and is replaced with it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::domain::DataAccess;
use crate::protocol::messages::transfer::DataAddressType;
use crate::protocol::messages::DataAddress;

/// The `endpointType` of an HTTP data address (the Dataspace Protocol's HTTP transport).
pub const ENDPOINT_TYPE: &str = "https://w3id.org/idsa/v4.1/HTTP";

/// A new access and refresh token, with what the provider keeps of them.
pub struct Issued {
    /// What the provider stores.
    pub access: DataAccess,
    /// The access token (sent once, never stored).
    pub token: Zeroizing<String>,
    /// The refresh token (sent once, never stored).
    pub refresh_token: Zeroizing<String>,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("access", &self.access)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// 256 random bits, base64url.
fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    B64.encode(bytes)
}

/// The SHA-256 of `token`, hex.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` is the one whose digest is `expected` (constant time over the digests).
pub fn matches(token: &str, expected: &str) -> bool {
    digest(token).as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The process id a refresh token names (`<process id>.<secret>`).
pub fn refresh_process(refresh_token: &str) -> Option<&str> {
    refresh_token
        .rsplit_once('.')
        .map(|(pid, _)| pid)
        .filter(|pid| !pid.is_empty())
}

/// New tokens for process `pid`, the access token valid for `ttl_seconds` from `now` (Unix
/// seconds).
pub fn issue(pid: &str, ttl_seconds: u64, now: i64) -> Issued {
    let token = Zeroizing::new(secret());
    let refresh_token = Zeroizing::new(format!("{pid}.{}", secret()));
    let token_digest = digest(&token);
    Issued {
        access: DataAccess {
            token_id: token_digest[..16].to_owned(),
            token_digest,
            refresh_digest: digest(&refresh_token),
            expires_at: now.saturating_add(i64::try_from(ttl_seconds).unwrap_or(i64::MAX)),
            pending: false,
        },
        token,
        refresh_token,
        expires_in: ttl_seconds,
    }
}

/// The `DataAddress` a consumer pulls from: `endpoint`, the bearer token, its lifetime, and
/// where and with what it gets a new one.
pub fn address(endpoint: String, refresh_endpoint: String, issued: &Issued) -> DataAddress {
    let mut address = DataAddress {
        kind: DataAddressType::DataAddress,
        endpoint_type: ENDPOINT_TYPE.to_owned(),
        endpoint: Some(endpoint),
        endpoint_properties: Vec::new(),
    };
    address.set_property("authorization", issued.token.as_str());
    address.set_property("authType", "bearer");
    address.set_property("expiresIn", issued.expires_in.to_string());
    address.set_property("refreshToken", issued.refresh_token.as_str());
    address.set_property("refreshEndpoint", refresh_endpoint);
    address
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_issued_token_matches_its_digest() {
        let issued = issue("urn:uuid:p", 300, 1_000);
        assert!(matches(&issued.token, &issued.access.token_digest));
        assert!(matches(
            &issued.refresh_token,
            &issued.access.refresh_digest
        ));
        assert!(!matches(&issued.refresh_token, &issued.access.token_digest));
        let other = issue("urn:uuid:p", 300, 1_000);
        assert!(!matches(&other.token, &issued.access.token_digest));
        assert_eq!(issued.access.expires_at, 1_300);
        assert_eq!(issued.access.token_id.len(), 16);
        assert!(!issued.access.token_digest.contains(issued.token.as_str()));
    }

    #[test]
    fn a_refresh_token_names_its_process() {
        let issued = issue("urn:uuid:5b1c", 60, 0);
        assert_eq!(
            refresh_process(&issued.refresh_token),
            Some("urn:uuid:5b1c")
        );
        assert_eq!(refresh_process("no-dot"), None);
        assert_eq!(refresh_process(".secret"), None);
    }

    #[test]
    fn the_address_carries_the_tokens_and_hides_them_from_debug() {
        let issued = issue("urn:uuid:p", 300, 0);
        let address = address(
            "https://p/data/x".into(),
            "https://p/data/token".into(),
            &issued,
        );
        assert_eq!(
            address.property("authorization"),
            Some(issued.token.as_str())
        );
        assert_eq!(address.property("authType"), Some("bearer"));
        assert_eq!(address.property("expiresIn"), Some("300"));
        assert_eq!(address.endpoint(), Some("https://p/data/x"));
        let shown = format!("{address:?} {issued:?}");
        assert!(!shown.contains(issued.token.as_str()), "{shown}");
        assert!(!shown.contains(issued.refresh_token.as_str()), "{shown}");
    }

    #[test]
    fn edc_namespaced_properties_are_read_too() {
        let json = serde_json::json!({
            "@type": "DataAddress",
            "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpointProperties": [
                {"@type": "EndpointProperty", "name": "https://w3id.org/edc/v0.0.1/ns/endpoint", "value": "https://edc/public"},
                {"@type": "EndpointProperty", "name": "https://w3id.org/edc/v0.0.1/ns/authorization", "value": "tok"},
                {"@type": "EndpointProperty", "name": "https://w3id.org/edc/v0.0.1/ns/authType", "value": "bearer"}
            ]
        });
        let address: DataAddress = serde_json::from_value(json).unwrap();
        assert_eq!(address.endpoint(), Some("https://edc/public"));
        assert_eq!(address.property("authorization"), Some("tok"));
        assert_eq!(address.property("authType"), Some("bearer"));
    }
}
