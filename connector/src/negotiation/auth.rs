//! Authentication of protocol calls with self-issued ID tokens, in the manner of the Decentralized
//! Claims Protocol.
//!
//! The caller sends `Authorization: Bearer <JWT>` with `iss` = `sub` = its DID, `aud` = the
//! callee's DID, a fresh `jti`, `iat` and `exp` (at most [`MAX_LIFETIME_SECONDS`] apart) and an
//! optional `nbf`, signed with a key of the caller's DID document. The callee checks the
//! signature, `iss` = `sub`, the audience, the time window (with [`LEEWAY_SECONDS`] of leeway)
//! and that the `jti` was never accepted before (the store keeps it until it expires).
//!
//! **Presentations travel inside the token.** When the callee must evaluate a policy (a contract
//! request), the caller puts a Verifiable Presentation of its credentials, as a `vp+jwt`, in the
//! `vp` claim. The presentation's nonce is the token's `jti` and its audience the callee's DID,
//! so it is bound to this one call: no extra round trip, nothing fetched from the caller. An
//! optional `purpose` claim states the purpose of the request for the policy.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use symbolon_identity::{jose, DidResolver, Identity};

use crate::store::{Store, StoreError};

/// How long a token this connector issues lives.
pub const TOKEN_LIFETIME_SECONDS: i64 = 120;
/// The longest lifetime accepted.
pub const MAX_LIFETIME_SECONDS: i64 = 600;
/// Clock skew allowed on every time check.
pub const LEEWAY_SECONDS: i64 = 30;
/// Largest token accepted.
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// The claim (a public claim name, RFC 7519 §4.2) in which a did:key caller names its
/// Credential Service, which its DID document cannot.
pub const CREDENTIAL_SERVICE_CLAIM: &str = crate::dcp::messages::CREDENTIAL_SERVICE_MEMBER;
/// Longest Credential Service URL read from a token.
pub const MAX_SERVICE_URL_BYTES: usize = 2048;

/// A self-issued token for a call to `audience`, optionally carrying a presentation and a
/// purpose. The presentation, if any, must be bound to the returned `jti`: build it with
/// [`TokenDraft`].
#[derive(Debug, Clone)]
pub struct TokenDraft {
    /// The token id, also the nonce a presentation must carry.
    pub jti: String,
    audience: String,
    access_token: Option<String>,
    credential_service: Option<String>,
}

impl TokenDraft {
    /// A new token id for a call to `audience`.
    pub fn new(audience: &str) -> Self {
        TokenDraft {
            jti: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            audience: audience.to_owned(),
            access_token: None,
            credential_service: None,
        }
    }

    /// Carries `access_token` in the `token` claim (Decentralized Claims Protocol): the
    /// callee presents it to a Credential Service, which decides what it may read.
    pub fn with_access_token(mut self, access_token: String) -> Self {
        self.access_token = Some(access_token);
        self
    }

    /// Names `url` as the caller's Credential Service (claim [`CREDENTIAL_SERVICE_CLAIM`]):
    /// for a did:key caller, whose DID document cannot.
    pub fn with_credential_service(mut self, url: Option<&str>) -> Self {
        self.credential_service = url.map(str::to_owned);
        self
    }

    /// The callee's DID.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Signs the token.
    pub fn sign(
        self,
        identity: &Identity,
        presentation: Option<&str>,
        purpose: Option<&str>,
    ) -> String {
        let now = Utc::now().timestamp();
        let mut claims = json!({
            "iss": identity.did.as_str(),
            "sub": identity.did.as_str(),
            "aud": self.audience,
            "jti": self.jti,
            "iat": now,
            "nbf": now,
            "exp": now.saturating_add(TOKEN_LIFETIME_SECONDS),
        });
        if let Some(object) = claims.as_object_mut() {
            if let Some(vp) = presentation {
                object.insert("vp".into(), vp.into());
            }
            if let Some(purpose) = purpose {
                object.insert("purpose".into(), purpose.into());
            }
            if let Some(token) = self.access_token {
                object.insert("token".into(), token.into());
            }
            if let Some(url) = self.credential_service {
                object.insert(CREDENTIAL_SERVICE_CLAIM.into(), url.into());
            }
        }
        jose::sign(
            &identity.key,
            &identity.verification_method(),
            "JWT",
            &claims,
        )
    }
}

/// Signs a token without a presentation.
pub fn bearer(identity: &Identity, audience: &str) -> String {
    TokenDraft::new(audience).sign(identity, None, None)
}

/// A token from `identity` for `audience` whose `jti` is `challenge` (a fresh one when `None`),
/// carrying in its `vp` claim a presentation of `credentials` bound to that `jti` and
/// `audience`: what an auditor sends to the audit API (`symbolon audit fetch`) or pastes into
/// a console's sign-in (`symbolon audit present`).
pub async fn presenting(
    identity: &Identity,
    credentials: &[symbolon_identity::Secured],
    audience: &str,
    challenge: Option<&str>,
) -> Result<String, symbolon_identity::IssueError> {
    let mut draft = TokenDraft::new(audience);
    if let Some(challenge) = challenge {
        draft.jti = challenge.to_owned();
    }
    let presentation = symbolon_identity::create_presentation(
        identity,
        credentials,
        symbolon_identity::Format::Jwt,
        &draft.jti,
        audience,
    )
    .await?;
    Ok(draft.sign(identity, Some(&presentation.to_text()), None))
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Its DID.
    pub did: String,
    /// The token's id.
    pub jti: String,
    /// The presentation it carried.
    pub presentation: Option<String>,
    /// The purpose it stated.
    pub purpose: Option<String>,
    /// The access token it carried (claim `token`, Decentralized Claims Protocol): for this
    /// connector's Credential Service when the caller is a verifier, for the caller's own
    /// Credential Service when it is a holder asking for something.
    pub access_token: Option<String>,
    /// The Credential Service it names in the token (claim [`CREDENTIAL_SERVICE_CLAIM`],
    /// at most [`MAX_SERVICE_URL_BYTES`]): signed by its key, read only for a did:key
    /// caller whose DID document names none.
    pub credential_service: Option<String>,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("no `Authorization: Bearer` self-issued token")]
    Missing,
    /// The token is malformed.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The signature does not verify with the issuer's DID.
    #[error("the token's signature does not verify: {0}")]
    BadSignature(#[source] symbolon_identity::VerifyError),
    /// The token is no compact JWS.
    #[error("malformed token: {0}")]
    Undecodable(#[source] symbolon_identity::VerifyError),
    /// `iss` and `sub` differ.
    #[error("the token's `iss` and `sub` differ; a self-issued token names the caller in both")]
    IssuerSubjectMismatch,
    /// The token is for someone else.
    #[error("the token is for audience `{0}`, not this connector")]
    WrongAudience(String),
    /// The token has expired.
    #[error("the token expired at {0}")]
    Expired(String),
    /// The token is not valid yet.
    #[error("the token is not valid before {0}")]
    NotYetValid(String),
    /// The token lives too long.
    #[error("the token lives {0} s; at most {MAX_LIFETIME_SECONDS} s are accepted")]
    TooLong(i64),
    /// The token was accepted before.
    #[error("the token `{0}` was already used (replay)")]
    Replayed(String),
    /// The header names no key (`kid`), or not as a DID URL of the issuer.
    #[error("the token's `kid` header must be a DID URL of the issuer's key: {0}")]
    BadKeyId(String),
    /// The issuer's DID document is another DID's.
    #[error("the DID document of `{0}` has another `id`: the token's `sub` is not its subject")]
    SubjectNotDocument(String),
    /// The signing key may not invoke capabilities.
    #[error(
        "the key `{0}` is not a `capabilityInvocation` method of its DID document, so it may not \
         sign a self-issued ID token"
    )]
    NotCapabilityInvocation(String),
    /// Over the peer network: the token is not the sending peer's own.
    #[error("the token's issuer is not the peer that sent it")]
    NotThePeer,
    /// The store failed while recording the token id.
    #[error("cannot record the token id: {0}")]
    Store(#[from] StoreError),
}

impl AuthError {
    /// A short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing_token",
            AuthError::Malformed(_) => "malformed_token",
            AuthError::BadSignature(_) => "bad_signature",
            AuthError::Undecodable(_) => "malformed_token",
            AuthError::IssuerSubjectMismatch => "iss_sub_mismatch",
            AuthError::WrongAudience(_) => "wrong_audience",
            AuthError::Expired(_) => "expired",
            AuthError::NotYetValid(_) => "not_yet_valid",
            AuthError::TooLong(_) => "lifetime_too_long",
            AuthError::Replayed(_) => "replayed",
            AuthError::NotThePeer => "not_the_peer",
            AuthError::BadKeyId(_) => "bad_kid",
            AuthError::SubjectNotDocument(_) => "sub_not_document",
            AuthError::NotCapabilityInvocation(_) => "not_capability_invocation",
            AuthError::Store(_) => "store",
        }
    }
}

/// Verifies a self-issued token sent to `own_did`; records its `jti` so it is never accepted
/// again.
pub async fn authenticate(
    token: Option<&str>,
    own_did: &str,
    resolver: &DidResolver,
    store: &Store,
) -> Result<Caller, AuthError> {
    let token = token.ok_or(AuthError::Missing)?.trim();
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Malformed(format!(
            "larger than {MAX_TOKEN_BYTES} bytes"
        )));
    }
    let decoded = jose::decode(token).map_err(AuthError::Undecodable)?;
    let claims = &decoded.payload;
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                AuthError::Malformed(format!("claim `{name}` is missing or not a string"))
            })
    };
    let time = |name: &str| {
        claims.get(name).and_then(Value::as_i64).ok_or_else(|| {
            AuthError::Malformed(format!("claim `{name}` is missing or not an integer"))
        })
    };
    let issuer = text("iss")?;
    if text("sub")? != issuer {
        return Err(AuthError::IssuerSubjectMismatch);
    }
    let audiences = symbolon_identity::json::one_or_many(claims.get("aud"));
    if audiences.is_empty() {
        return Err(AuthError::Malformed("claim `aud` is missing".into()));
    }
    let audience_ok = audiences.iter().any(|a| *a == own_did);
    if !audience_ok {
        let shown = claims.get("aud").map(Value::to_string).unwrap_or_default();
        return Err(AuthError::WrongAudience(shown.chars().take(200).collect()));
    }
    let jti = text("jti")?;
    let (iat, exp) = (time("iat")?, time("exp")?);
    let nbf = match claims.get("nbf") {
        Some(_) => Some(time("nbf")?),
        None => None,
    };
    check_times(iat, exp, nbf, Utc::now().timestamp())?;
    match decoded.kid.as_deref() {
        None => return Err(AuthError::BadKeyId("the header has no `kid`".into())),
        Some(kid) if !kid.starts_with(&format!("{issuer}#")) => {
            return Err(AuthError::BadKeyId(format!(
                "`{}` is not a key of `{issuer}`",
                kid.chars().take(200).collect::<String>()
            )))
        }
        Some(_) => {}
    }
    let method = decoded
        .verify(token, &issuer, resolver)
        .await
        .map_err(AuthError::BadSignature)?;
    check_document(&issuer, &method, resolver).await?;
    let expires = DateTime::<Utc>::from_timestamp(exp.saturating_add(LEEWAY_SECONDS), 0)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let seen = jti.clone();
    let fresh = store
        .blocking(move |s| s.nonces.check_and_record("jti", &seen, expires))
        .await?;
    if !fresh {
        return Err(AuthError::Replayed(jti));
    }
    Ok(Caller {
        did: issuer,
        jti,
        presentation: claims.get("vp").and_then(Value::as_str).map(str::to_owned),
        access_token: claims
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_owned),
        purpose: claims
            .get("purpose")
            .and_then(Value::as_str)
            .map(str::to_owned),
        credential_service: claims
            .get(CREDENTIAL_SERVICE_CLAIM)
            .and_then(Value::as_str)
            .filter(|url| url.len() <= MAX_SERVICE_URL_BYTES)
            .map(str::to_owned),
    })
}

/// Checks that the issuer's DID document is its own (`id` = the token's `sub`) and lists
/// `method` under `capabilityInvocation` (by reference, relative or absolute, or embedded).
async fn check_document(
    issuer: &str,
    method: &str,
    resolver: &DidResolver,
) -> Result<(), AuthError> {
    let did = symbolon_identity::Did::parse(issuer)
        .map_err(|e| AuthError::Malformed(format!("claim `iss`: {e}")))?;
    let document = resolver
        .resolve(&did)
        .await
        .map_err(|e| AuthError::BadSignature(symbolon_identity::VerifyError::from(e)))?;
    if document.get("id").and_then(Value::as_str) != Some(issuer) {
        return Err(AuthError::SubjectNotDocument(issuer.to_owned()));
    }
    let fragment = method.rsplit_once('#').map(|(_, f)| f);
    let names_method = |entry: &Value| {
        let id = entry
            .as_str()
            .or_else(|| entry.get("id").and_then(Value::as_str));
        id.is_some_and(|id| id == method || (id.starts_with('#') && Some(&id[1..]) == fragment))
    };
    let invokes = symbolon_identity::json::one_or_many(document.get("capabilityInvocation"))
        .iter()
        .any(|entry| names_method(entry));
    if invokes {
        Ok(())
    } else {
        Err(AuthError::NotCapabilityInvocation(method.to_owned()))
    }
}

/// Checks a token's times (seconds since the epoch) at `now`: each a representable time, not
/// expired, already valid, `exp` not before `iat`, and a lifetime of at most
/// [`MAX_LIFETIME_SECONDS`]. Every computation is checked: extreme values are refused, never
/// wrapped.
fn check_times(iat: i64, exp: i64, nbf: Option<i64>, now: i64) -> Result<(), AuthError> {
    for (name, value) in [("iat", Some(iat)), ("exp", Some(exp)), ("nbf", nbf)] {
        if let Some(value) = value {
            if DateTime::<Utc>::from_timestamp(value, 0).is_none() {
                return Err(AuthError::Malformed(format!(
                    "claim `{name}` ({value}) is outside the representable time range"
                )));
            }
        }
    }
    if exp.saturating_add(LEEWAY_SECONDS) < now {
        return Err(AuthError::Expired(rfc3339(exp)));
    }
    let not_yet = |at: i64| at.saturating_sub(LEEWAY_SECONDS) > now;
    if not_yet(iat) || nbf.is_some_and(not_yet) {
        return Err(AuthError::NotYetValid(rfc3339(nbf.unwrap_or(iat))));
    }
    match exp.checked_sub(iat) {
        Some(lifetime) if lifetime < 0 => Err(AuthError::Malformed(
            "claim `exp` precedes claim `iat`".into(),
        )),
        Some(lifetime) if lifetime <= MAX_LIFETIME_SECONDS => Ok(()),
        lifetime => Err(AuthError::TooLong(lifetime.unwrap_or(i64::MAX))),
    }
}

fn rfc3339(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .map(symbolon_identity::credential::format_time)
        .unwrap_or_else(|| seconds.to_string())
}

#[cfg(test)]
mod tests;
