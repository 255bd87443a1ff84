//! Access tokens to this connector's Credential Service (Decentralized Claims Protocol): the
//! built-in token service mints one for each verifier a request goes to, bound to that verifier
//! (its DID as `sub`) and to the credential types it may read (`scope`), and the Credential
//! Service accepts a query only with a token it minted, from that verifier.

use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::{json, Value};
use symbolon_identity::{jose, Identity};

use super::scope;

/// How long an access token lives: long enough for a provider to decide on the request.
pub const ACCESS_TOKEN_LIFETIME_SECONDS: i64 = 300;
/// Largest access token read.
pub const MAX_ACCESS_TOKEN_BYTES: usize = 16 * 1024;

/// Why an access token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The caller's token carried none.
    #[error("the self-issued token carries no access token (claim `token`)")]
    Missing,
    /// Not a token this connector minted, or altered.
    #[error("the access token is not one this Credential Service issued: {0}")]
    NotOurs(String),
    /// Minted for another verifier.
    #[error("the access token was issued to `{0}`, not to the caller")]
    OtherVerifier(String),
    /// Expired.
    #[error("the access token has expired")]
    Expired,
}

impl AccessError {
    /// A short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AccessError::Missing => "missing_access_token",
            AccessError::NotOurs(_) => "invalid_access_token",
            AccessError::OtherVerifier(_) => "access_token_for_another_verifier",
            AccessError::Expired => "access_token_expired",
        }
    }
}

/// An access token for `verifier` to read this connector's credentials of `types`.
pub fn mint(identity: &Identity, verifier: &str, types: &BTreeSet<String>) -> String {
    let now = Utc::now().timestamp();
    let scopes: Vec<String> = types.iter().map(|t| scope::scope_for(t)).collect();
    jose::sign(
        &identity.key,
        &identity.verification_method(),
        "at+jwt",
        &json!({
            "iss": identity.did.as_str(),
            "sub": verifier,
            "aud": identity.did.as_str(),
            "jti": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            "iat": now,
            "exp": now.saturating_add(ACCESS_TOKEN_LIFETIME_SECONDS),
            "scope": scopes.join(" "),
        }),
    )
}

/// Checks an access token `caller` presented: minted here, for `caller`, not expired. Returns
/// the credential types it grants.
pub fn check(
    identity: &Identity,
    token: Option<&str>,
    caller: &str,
) -> Result<BTreeSet<String>, AccessError> {
    let token = token.ok_or(AccessError::Missing)?;
    if token.len() > MAX_ACCESS_TOKEN_BYTES {
        return Err(AccessError::NotOurs("too large".into()));
    }
    let decoded = jose::decode(token).map_err(|e| AccessError::NotOurs(e.to_string()))?;
    decoded
        .verify_with_key(token, &identity.key.public_key())
        .map_err(|_| AccessError::NotOurs("the signature is not this connector's".into()))?;
    let claims = &decoded.payload;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    let own = identity.did.as_str();
    if text("iss") != own || text("aud") != own {
        return Err(AccessError::NotOurs(
            "its issuer or audience is not this connector".into(),
        ));
    }
    if text("sub") != caller {
        return Err(AccessError::OtherVerifier(
            text("sub").chars().take(200).collect(),
        ));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp.saturating_add(super::super::negotiation::auth::LEEWAY_SECONDS) < Utc::now().timestamp()
    {
        return Err(AccessError::Expired);
    }
    Ok(text("scope")
        .split_whitespace()
        .filter_map(scope::credential_type)
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use symbolon_identity::KeyAlgorithm;

    #[test]
    fn a_token_grants_its_scopes_to_its_verifier_only() {
        let holder = Identity::generate(KeyAlgorithm::Ed25519);
        let verifier = Identity::generate(KeyAlgorithm::Ed25519);
        let other = Identity::generate(KeyAlgorithm::Ed25519);
        let types = BTreeSet::from([scope::MEMBERSHIP.to_owned()]);
        let token = mint(&holder, verifier.did.as_str(), &types);
        assert_eq!(
            check(&holder, Some(&token), verifier.did.as_str()).unwrap(),
            types
        );
        assert_eq!(
            check(&holder, Some(&token), other.did.as_str())
                .unwrap_err()
                .code(),
            "access_token_for_another_verifier"
        );
        assert_eq!(
            check(&holder, None, verifier.did.as_str()).unwrap_err(),
            AccessError::Missing
        );
        // Minted by someone else (the verifier itself, say).
        let forged = mint(&verifier, verifier.did.as_str(), &types);
        assert_eq!(
            check(&holder, Some(&forged), verifier.did.as_str())
                .unwrap_err()
                .code(),
            "invalid_access_token"
        );
        // Tampered: the payload swapped under the holder's signature.
        let parts: Vec<&str> = token.split('.').collect();
        let other_payload = forged.split('.').nth(1).unwrap();
        let tampered = format!("{}.{}.{}", parts[0], other_payload, parts[2]);
        assert_eq!(
            check(&holder, Some(&tampered), verifier.did.as_str())
                .unwrap_err()
                .code(),
            "invalid_access_token"
        );
        assert_eq!(
            check(&holder, Some("not.a.token"), verifier.did.as_str())
                .unwrap_err()
                .code(),
            "invalid_access_token"
        );
        let huge = "a".repeat(MAX_ACCESS_TOKEN_BYTES + 1);
        assert!(check(&holder, Some(&huge), verifier.did.as_str()).is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let holder = Identity::generate(KeyAlgorithm::Ed25519);
        let now = Utc::now().timestamp();
        let token = jose::sign(
            &holder.key,
            &holder.verification_method(),
            "at+jwt",
            &json!({"iss": holder.did.as_str(), "aud": holder.did.as_str(), "sub": "did:example:v",
                    "iat": now - 1000, "exp": now - 900, "scope": ""}),
        );
        assert_eq!(
            check(&holder, Some(&token), "did:example:v").unwrap_err(),
            AccessError::Expired
        );
    }
}
