//! How a presentation a Credential Service answered is bound to this connector's query.
//!
//! This connector's query carries a self-issued token whose `jti` a Symbolon Credential Service
//! copies into the presentation's `nonce`: such a presentation answers this one query and no
//! other, and is verified against that nonce ([`Binding::Nonce`]). A presentation that carries a
//! nonce must carry exactly that one.
//!
//! The Decentralized Claims Protocol 1.0 does not require the nonce. Its Presentation Query
//! API's `PresentationResponseMessage` is only an array of presentations, and an EDC-style
//! Credential Service signs a presentation with `iss` (the holder), `aud` (the verifier), `jti`,
//! `iat` and `exp`, but no `nonce`. Such a presentation is accepted when it is bound otherwise
//! ([`Binding::Unnonced`]):
//!
//! - **to this verifier**: its `aud` names this connector's DID, so no other verifier that
//!   received a presentation from the holder can pass it on to this one;
//! - **to the caller**: `iss` (when present) and the presenter (the `holder`, or the controller
//!   of the signing key) are the DID that authenticated the request, whose key signed it;
//! - **to now**: `iat` at most [`MAX_AGE_SECONDS`] old (and not in the future), `exp` not
//!   passed;
//! - **to once**: its `jti` (or, lacking one, its `id`) was never accepted before; the store
//!   keeps it until the presentation could no longer pass the time checks anyway.
//!
//! Why that is sound: the nonce protects against a presentation being replayed to the verifier
//! that asked for it. Here the presentation does not travel through the caller's hands to
//! this connector; this connector fetched it itself, from the Credential Service that the
//! caller's DID document names, on a query authenticated in both directions — by this
//! connector's self-issued token to the service, and by the access token the caller minted for
//! this connector (which the caller's own token, checked before the query, carried). What
//! remains is a replay by someone who captured an earlier answer, which the audience, the short
//! window and the single-use `jti` close; and a presentation meant for another verifier, which
//! the audience closes.

use chrono::{DateTime, Utc};
use serde_json::Value;
use symbolon_identity::report::{Check, Outcome};
use symbolon_identity::Report;

use crate::negotiation::auth::LEEWAY_SECONDS;
use crate::store::{Store, StoreError};

/// The oldest a presentation without a nonce may be (`now` − `iat`), in seconds.
pub const MAX_AGE_SECONDS: i64 = 300;

/// The nonce kind under which the ids of accepted presentations without a nonce are kept.
const SEEN_KIND: &str = "dcp-vp";

/// How a presentation is bound to the query that fetched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// It carries a nonce: it must be the query token's `jti`.
    Nonce,
    /// It carries none, and passed the checks of the module's list but the single use of its
    /// id, recorded once the presentation verified.
    Unnonced {
        /// Its `jti` (or `id`).
        id: String,
        /// Until when its id must be remembered.
        until: DateTime<Utc>,
    },
}

/// Why a presentation without a nonce is refused.
#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    /// The presentation is no JWT whose payload can be read.
    #[error("credential: the presentation is not a readable JWT")]
    Unreadable,
    /// A claim the binding needs is missing or malformed.
    #[error("credential: a presentation without `nonce` must carry `{0}`")]
    Missing(&'static str),
    /// It is for another verifier.
    #[error(
        "credential: the presentation without `nonce` is for audience `{0}`, not this connector"
    )]
    Audience(String),
    /// Its issuer or presenter is not the caller.
    #[error(
        "credential: the presentation without `nonce` is by `{found}`, not the caller `{caller}`"
    )]
    NotTheCaller {
        /// Who it names.
        found: String,
        /// The authenticated caller.
        caller: String,
    },
    /// It was issued too long ago, or in the future.
    #[error(
        "credential: the presentation without `nonce` was issued at {iat}, outside the \
         {MAX_AGE_SECONDS} s window of a fresh answer"
    )]
    Stale {
        /// Its `iat`.
        iat: i64,
    },
    /// It has expired.
    #[error("credential: the presentation without `nonce` expired at {0}")]
    Expired(i64),
    /// Its id was accepted before.
    #[error("credential: the presentation `{0}` was already accepted once (replay)")]
    Replayed(String),
    /// The store failed.
    #[error("cannot record the presentation's id: {0}")]
    Store(#[from] StoreError),
}

/// How `presentation` (a compact JWT, not yet verified) from `caller`'s Credential Service is
/// bound, checked at `now` (seconds) for a presentation to `own_did`. The claims read here are
/// those the signature then covers: a presentation whose signature fails is refused anyway.
pub fn binding(
    presentation: &str,
    caller: &str,
    own_did: &str,
    now: i64,
) -> Result<Binding, BindingError> {
    let payload = symbolon_identity::verify::peek_jwt_payload(presentation)
        .filter(Value::is_object)
        .ok_or(BindingError::Unreadable)?;
    if payload.get("nonce").is_some() {
        return Ok(Binding::Nonce);
    }
    let audiences = symbolon_identity::json::one_or_many(payload.get("aud"));
    if !audiences.iter().any(|a| a.as_str() == Some(own_did)) {
        let shown = payload.get("aud").map(Value::to_string).unwrap_or_default();
        return Err(BindingError::Audience(shown.chars().take(200).collect()));
    }
    if let Some(issuer) = payload.get("iss") {
        if issuer.as_str() != Some(caller) {
            return Err(BindingError::NotTheCaller {
                found: issuer.to_string().chars().take(200).collect(),
                caller: caller.to_owned(),
            });
        }
    }
    let time = |name: &'static str| {
        payload
            .get(name)
            .and_then(Value::as_i64)
            .filter(|t| DateTime::<Utc>::from_timestamp(*t, 0).is_some())
            .ok_or(BindingError::Missing(name))
    };
    let (iat, exp) = (time("iat")?, time("exp")?);
    if iat > now.saturating_add(LEEWAY_SECONDS)
        || iat < now.saturating_sub(MAX_AGE_SECONDS + LEEWAY_SECONDS)
    {
        return Err(BindingError::Stale { iat });
    }
    if exp.saturating_add(LEEWAY_SECONDS) < now {
        return Err(BindingError::Expired(exp));
    }
    let id = ["jti", "id"]
        .iter()
        .find_map(|name| payload.get(*name).and_then(Value::as_str))
        .filter(|id| !id.is_empty() && id.len() <= 512)
        .ok_or(BindingError::Missing("jti"))?;
    // Remembered until neither the window nor `exp` would let it through again.
    let last = exp.max(iat.saturating_add(MAX_AGE_SECONDS)) + LEEWAY_SECONDS;
    Ok(Binding::Unnonced {
        id: id.to_owned(),
        until: DateTime::<Utc>::from_timestamp(last, 0).unwrap_or(DateTime::<Utc>::MAX_UTC),
    })
}

/// Completes the verification `report` of a presentation without a nonce from `caller`: its
/// presenter must be the caller, and its id is used up once everything verified (a
/// presentation that fails does not use it up). The report's `challenge` check, passed
/// vacuously, says what bound the presentation instead.
pub async fn conclude(
    store: &Store,
    mut report: Report,
    caller: &str,
    id: String,
    until: DateTime<Utc>,
) -> Result<Report, BindingError> {
    for check in report.checks.iter_mut().filter(|c| c.check == "challenge") {
        *check = Check {
            check: "challenge",
            outcome: Outcome::Skipped,
            reason: Some(
                "no `nonce`: bound instead by its audience, its issuer (the caller), a short \
                 time window and its single-use `jti`"
                    .into(),
            ),
            code: None,
        };
    }
    if report.signer.as_deref() != Some(caller) {
        return Err(BindingError::NotTheCaller {
            found: report.signer.clone().unwrap_or_default(),
            caller: caller.to_owned(),
        });
    }
    if !report.verified {
        return Ok(report);
    }
    let seen = id.clone();
    let fresh = store
        .blocking(move |s| s.nonces.check_and_record(SEEN_KIND, &seen, until))
        .await?;
    if fresh {
        Ok(report)
    } else {
        Err(BindingError::Replayed(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use symbolon_identity::{jose, Identity, KeyAlgorithm};

    const ME: &str = "did:web:provider.example";

    fn signed(holder: &Identity, payload: Value) -> String {
        jose::sign(
            &holder.key,
            &holder.verification_method(),
            "vp+jwt",
            &payload,
        )
    }

    #[test]
    fn a_presentation_without_nonce_must_be_bound_otherwise() {
        let holder = Identity::generate(KeyAlgorithm::Ed25519);
        let caller = holder.did.as_str();
        let now = 1_800_000_000;
        let good = json!({"iss": caller, "aud": ME, "iat": now - 5, "exp": now + 60,
                          "jti": "urn:uuid:1", "type": ["VerifiablePresentation"]});
        let with = |member: &str, value: Value| {
            let mut p = good.clone();
            p[member] = value;
            signed(&holder, p)
        };
        let without = |member: &str| {
            let mut p = good.clone();
            p.as_object_mut().unwrap().remove(member);
            signed(&holder, p)
        };
        match binding(&signed(&holder, good.clone()), caller, ME, now).unwrap() {
            Binding::Unnonced { id, until } => {
                assert_eq!(id, "urn:uuid:1");
                assert_eq!(
                    until.timestamp(),
                    now - 5 + MAX_AGE_SECONDS + LEEWAY_SECONDS
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            binding(&with("nonce", json!("n")), caller, ME, now).unwrap(),
            Binding::Nonce
        );
        // An empty nonce is a nonce: it must match the query, and will not.
        assert_eq!(
            binding(&with("nonce", json!("")), caller, ME, now).unwrap(),
            Binding::Nonce
        );
        let refused = [
            (with("aud", json!("did:web:other.example")), "audience"),
            (without("aud"), "audience"),
            (with("iss", json!("did:web:someone.else")), "not the caller"),
            (without("iat"), "`iat`"),
            (with("exp", json!("soon")), "`exp`"),
            (with("iat", json!(now - MAX_AGE_SECONDS - 60)), "window"),
            (with("iat", json!(now + 600)), "window"),
            (with("exp", json!(now - 100)), "expired"),
            (without("jti"), "`jti`"),
        ];
        for (presentation, says) in refused {
            let error = binding(&presentation, caller, ME, now).unwrap_err();
            assert!(error.to_string().contains(says), "{says}: {error}");
        }
        // No `iss` is fine (the presenter is checked after the signature); `id` stands in
        // for a missing `jti`.
        let mut other = good.clone();
        other.as_object_mut().unwrap().remove("iss");
        other.as_object_mut().unwrap().remove("jti");
        other["id"] = "urn:uuid:2".into();
        assert!(matches!(
            binding(&signed(&holder, other), caller, ME, now),
            Ok(Binding::Unnonced { ref id, .. }) if id == "urn:uuid:2"
        ));
        assert!(matches!(
            binding("not-a-jwt", caller, ME, now),
            Err(BindingError::Unreadable)
        ));
    }
}
