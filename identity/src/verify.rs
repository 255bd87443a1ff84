//! Verifying credentials and presentations.
//!
//! A [`Verifier`] checks a credential, in order: format and algorithm; then — when it holds a
//! trust list — that the issuer may issue the credential's types, *before anything about the
//! credential is fetched* (an untrusted issuer's did:web document is not resolved and its
//! status list not fetched); then signature, validity window (with a clock skew of
//! [`Verifier::leeway`]), and revocation and suspension status. For presentations it also
//! checks the challenge, the audience, the lifetime, that the nonce was never accepted before,
//! and that every credential's subject is the presenter; a presentation's credentials (at most
//! [`MAX_PRESENTATION_CREDENTIALS`]) and their status lists are checked concurrently. One
//! deadline, [`Verifier::deadline`], bounds each verification: a check still waiting for a DID
//! document or a status list when it passes fails. Every check lands in the [`Report`].

pub mod envelope;
mod presentation;
mod status;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use tokio::time::Instant;

use crate::credential::{issuer_id, parse_time, specific_types};
use crate::data_integrity;
use crate::did::{split_did_url, DidResolver};
use crate::error::{quote, VerifyError};
use crate::jose;
use crate::limits;
use crate::nonce::NonceStore;
use crate::report::Report;
use crate::status_list::{BoxFuture, StatusSource};
use crate::trust::TrustList;

pub use presentation::{
    PresentationOptions, MAX_PRESENTATION_CREDENTIALS, MAX_PRESENTATION_LIFETIME_SECONDS,
};
pub use status::{StatusMessage, VerifiedLists, MAX_STATUS_ENTRIES};

/// How long one verification may take by default, DID documents and status lists included.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// A credential or presentation as received: a compact JWS or a JSON document.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A compact JWS.
    Jwt(String),
    /// A JSON document (Data Integrity, or an enveloped JWS).
    Json(Value),
}

impl Input {
    /// Parses text: a compact JWS, or JSON (size and depth limited).
    pub fn parse(text: &str) -> Result<Input, VerifyError> {
        limits::check_input(text.as_bytes())?;
        let trimmed = text.trim();
        if trimmed.starts_with('{') || trimmed.starts_with('"') {
            let value: Value =
                serde_json::from_str(trimmed).map_err(|e| VerifyError::Json(Arc::new(e)))?;
            return Ok(Input::from_value(value));
        }
        Ok(Input::Jwt(trimmed.to_owned()))
    }

    /// Reads a JSON value: a string is a compact JWS; a well-formed enveloped credential or
    /// presentation is unwrapped to its JWS. A malformed envelope stays JSON, and is refused
    /// as such when verified.
    pub fn from_value(value: Value) -> Input {
        match value {
            Value::String(token) => Input::Jwt(token),
            Value::Object(_) => match envelope::unwrap_declared(&value) {
                Some(token) => Input::Jwt(token.to_owned()),
                None => Input::Json(value),
            },
            other => Input::Json(other),
        }
    }

    /// Reads a JSON value that must be a credential: a compact JWS, a secured credential, or
    /// an `EnvelopedVerifiableCredential` whose `@context`, type and media type
    /// (`application/vc+jwt`) are checked.
    pub fn credential(value: Value) -> Result<Input, VerifyError> {
        Self::of_kind(value, envelope::Kind::Credential)
    }

    /// Reads a JSON value that must be a presentation: a compact JWS, a secured presentation,
    /// or an `EnvelopedVerifiablePresentation` whose `@context`, type and media type
    /// (`application/vp+jwt`) are checked.
    pub fn presentation(value: Value) -> Result<Input, VerifyError> {
        Self::of_kind(value, envelope::Kind::Presentation)
    }

    fn of_kind(value: Value, kind: envelope::Kind) -> Result<Input, VerifyError> {
        match value {
            Value::String(token) => Ok(Input::Jwt(token)),
            value => match envelope::unwrap(&value, kind)? {
                Some(token) => Ok(Input::Jwt(token.to_owned())),
                None => Ok(Input::Json(value)),
            },
        }
    }
}

/// What a presentation must be bound to.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// The challenge (nonce) the verifier issued.
    pub challenge: String,
    /// The audience (domain): the verifier's DID or origin.
    pub audience: String,
}

/// Verifies credentials and presentations.
#[derive(Clone)]
pub struct Verifier {
    resolver: Arc<DidResolver>,
    status: Option<Arc<dyn StatusSource>>,
    trust: Option<TrustList>,
    nonces: Option<Arc<dyn NonceStore>>,
    now: Option<DateTime<Utc>>,
    /// `Some(own issuers)`: status lists are fetched only for trusted issuers and these.
    status_gate: Option<Arc<[String]>>,
    /// Status lists verified moments ago, reused rather than verified again.
    verified_lists: Option<Arc<VerifiedLists>>,
    /// Allowed clock skew on every time check (default 60 seconds).
    pub leeway: Duration,
    /// How long one verification — a credential, or a presentation with all its credentials
    /// — may wait for DID documents and status lists (default [`DEFAULT_DEADLINE`]).
    pub deadline: Duration,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("trust", &self.trust.as_ref().map(|t| &t.data_space))
            .field("status", &self.status.is_some())
            .field("nonces", &self.nonces.is_some())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// A credential whose format was checked and whose signature is still to be checked.
struct Decoded<'a> {
    credential: Value,
    jws: Option<(&'a str, jose::DecodedJws)>,
    /// An SD-JWT's Key Binding JWT too old or dated in the future: a validity failure.
    stale_key_binding: Option<VerifyError>,
}

impl Verifier {
    /// A verifier with `resolver`, no status source, no trust list and no nonce store.
    pub fn new(resolver: Arc<DidResolver>) -> Self {
        Verifier {
            resolver,
            status: None,
            trust: None,
            nonces: None,
            now: None,
            status_gate: None,
            verified_lists: None,
            leeway: Duration::from_secs(60),
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// Checks credential status against lists from `source`.
    pub fn with_status_source(mut self, source: Arc<dyn StatusSource>) -> Self {
        self.status = Some(source);
        self
    }

    /// Reuses the status lists in `lists` that were verified in the last minute from the same
    /// credential text, and keeps the ones it verifies there.
    pub fn with_verified_lists(mut self, lists: Arc<VerifiedLists>) -> Self {
        self.verified_lists = Some(lists);
        self
    }

    /// Checks issuers against `trust` (verifying in a data-space context).
    pub fn with_trust_list(mut self, trust: TrustList) -> Self {
        self.trust = Some(trust);
        self
    }

    /// Refuses a presentation nonce seen before.
    pub fn with_nonce_store(mut self, store: Arc<dyn NonceStore>) -> Self {
        self.nonces = Some(store);
        self
    }

    /// Fetches a credential's status list only when its issuer is trusted for it — allowed by
    /// the trust list, or one of `own_issuers` (e.g. the verifier's own DID, whose lists it
    /// publishes). Any other credential's status fails as not checked, and nothing is fetched
    /// for it: for a verifier that strangers call.
    pub fn fetch_status_only_when_trusted(mut self, own_issuers: Vec<String>) -> Self {
        self.status_gate = Some(own_issuers.into());
        self
    }

    /// Verifies as of `now` instead of the system clock.
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// The trust list in use.
    pub fn trust_list(&self) -> Option<&TrustList> {
        self.trust.as_ref()
    }

    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }

    fn leeway(&self) -> TimeDelta {
        TimeDelta::from_std(self.leeway).unwrap_or(TimeDelta::MAX)
    }

    /// When a verification starting now must end.
    fn deadline_from_now(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.deadline)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400))
    }

    /// Runs `check` until `deadline`; past it, the check fails naming `what` was cut short.
    async fn within<T>(
        &self,
        deadline: Instant,
        what: &'static str,
        check: impl std::future::Future<Output = Result<T, VerifyError>>,
    ) -> Result<T, VerifyError> {
        tokio::time::timeout_at(deadline, check)
            .await
            .unwrap_or(Err(VerifyError::Deadline {
                what,
                deadline: self.deadline,
            }))
    }

    /// Verifies a credential.
    pub async fn verify_credential(&self, input: &Input) -> Report {
        self.credential_report(input, self.deadline_from_now())
            .await
    }

    /// Verifies a credential, waiting for nothing past `deadline`.
    async fn credential_report(&self, input: &Input, deadline: Instant) -> Report {
        let mut report = Report::new("credential");
        let Some(decoded) = self.decode_credential(input, &mut report) else {
            for check in ["validity", "status", "trust"] {
                report.skip(check, "the signature was not verified");
            }
            return report.finish();
        };
        let credential = &decoded.credential;
        if let Some(trust) = &self.trust {
            if let Err(error) = trust.check(credential) {
                report.fail("trust", error);
                for check in ["signature", "validity", "status"] {
                    report.skip(
                        check,
                        "the issuer is not trusted for this credential, so nothing about it \
                         was fetched",
                    );
                }
                return report.finish();
            }
        }
        let signature = self
            .within(
                deadline,
                "the signature check",
                self.check_signature(&decoded),
            )
            .await;
        if report.record("signature", signature).is_none() {
            for check in ["validity", "status", "trust"] {
                report.skip(check, "the signature was not verified");
            }
            return report.finish();
        }
        report.signer = issuer_id(credential).map(str::to_owned);
        report.types = specific_types(credential);
        let stale_key_binding = decoded.stale_key_binding;
        let validity = self
            .check_validity(credential)
            .and_then(|()| stale_key_binding.map_or(Ok(()), Err));
        report.record("validity", validity);
        match credential.get("credentialStatus") {
            None => report.skip("status", "the credential has no credentialStatus"),
            Some(_) if self.status.is_none() => {
                report.skip("status", "this verifier has no status source")
            }
            Some(_) if !self.may_fetch_status(credential) => report.fail(
                "status",
                VerifyError::StatusUnavailable(format!(
                    "not checked: issuer `{}` is not trusted, so its status list is not fetched",
                    quote(issuer_id(credential).unwrap_or_default())
                )),
            ),
            Some(status) => {
                let result = self.check_status(credential, status, deadline).await;
                if let Some(messages) = report.record("status", result) {
                    report.status_messages = messages;
                }
            }
        }
        match &self.trust {
            None => report.skip("trust", "no trust list installed"),
            Some(_) => report.pass("trust"),
        }
        report.document = Some(decoded.credential);
        report.finish()
    }

    /// Whether the status list of `credential` may be fetched.
    fn may_fetch_status(&self, credential: &Value) -> bool {
        let Some(own) = &self.status_gate else {
            return true;
        };
        let issuer = issuer_id(credential).unwrap_or_default();
        own.iter().any(|did| did == issuer)
            || self
                .trust
                .as_ref()
                .is_some_and(|trust| trust.check(credential).is_ok())
    }

    /// Checks the format and the data model (no I/O); returns the credential, not yet
    /// verified.
    fn decode_credential<'a>(&self, input: &'a Input, report: &mut Report) -> Option<Decoded<'a>> {
        let (credential, jws) = match input {
            Input::Jwt(token) if crate::sd_jwt::is_sd_jwt(token) => {
                let decoded = report.record(
                    "format",
                    crate::sd_jwt::decode(token)
                        .and_then(|decoded| decoded.check_vc_claims().map(|()| decoded)),
                )?;
                report.format = Some(crate::sd_jwt::TYP.into());
                // A Key Binding JWT, when there is one, must hold: its proof with the
                // signature, its age with the validity window (its nonce and audience are a
                // presentation verifier's to check).
                let mut stale_key_binding = None;
                if decoded.key_binding.is_some() {
                    match decoded.check_key_binding() {
                        Ok(kb) => {
                            stale_key_binding = kb.check_fresh(&self.key_binding_check()).err()
                        }
                        Err(error) => {
                            report.fail("signature", error);
                            return None;
                        }
                    }
                }
                let issuer_jwt = token.trim().split('~').next().unwrap_or_default();
                // The view holds the disclosed claims only: the subject schemas, which need
                // the hidden ones, do not apply to it.
                return Some(Decoded {
                    credential: decoded.credential(),
                    jws: Some((issuer_jwt, decoded.jws)),
                    stale_key_binding,
                });
            }
            Input::Jwt(token) => {
                let mut decoded = report.record(
                    "format",
                    limits::check_size(token.as_bytes())
                        .and_then(|()| jose::decode(token))
                        .and_then(|decoded| {
                            if crate::credential::is_v1(&decoded.payload) {
                                Err(VerifyError::Malformed(
                                    "a vc+jwt credential is VC 2.0 (VC-JOSE-COSE §3.1.1); its \
                                     first context cannot be the VC 1.1 one"
                                        .into(),
                                ))
                            } else {
                                Ok(decoded)
                            }
                        }),
                )?;
                report.format = Some("vc+jwt".into());
                // The signature check needs the signing input, not the parsed payload.
                let payload = std::mem::take(&mut decoded.payload);
                (payload, Some((token.as_str(), decoded)))
            }
            Input::Json(credential) => {
                let info = report.record(
                    "format",
                    envelope::refuse_malformed(credential)
                        .and_then(|()| data_integrity::proof_info(credential)),
                )?;
                report.format = Some(info.cryptosuite);
                (credential.clone(), None)
            }
        };
        if let Err(error) = crate::credential::validate(&credential) {
            report.fail("signature", VerifyError::Invalid(error));
            return None;
        }
        Some(Decoded {
            credential,
            jws,
            stale_key_binding: None,
        })
    }

    /// Checks the signature of a decoded credential (resolving the issuer's DID). The future
    /// is boxed: its type (DID resolution, JSON-LD, HTTP) is erased here, so that the futures
    /// of verifications stay shallow enough for the compiler's layout queries.
    fn check_signature<'a>(
        &'a self,
        decoded: &'a Decoded<'_>,
    ) -> BoxFuture<'a, Result<(), VerifyError>> {
        let issuer = issuer_id(&decoded.credential).unwrap_or_default();
        match &decoded.jws {
            Some((token, jws)) => {
                Box::pin(async move { jws.verify(token, issuer, &self.resolver).await.map(drop) })
            }
            None => Box::pin(async move {
                self.check_di(&decoded.credential, issuer, "assertionMethod")
                    .await
                    .map(drop)
            }),
        }
    }

    async fn check_di(
        &self,
        document: &Value,
        signer: &str,
        purpose: &str,
    ) -> Result<data_integrity::ProofInfo, VerifyError> {
        let infos = data_integrity::verify_proofs(document, &self.resolver).await?;
        // Every proof of a set or chain verified; one of them must be the signer's, for the
        // purpose required (others may be endorsements, notarisations and the like).
        let mut refusal = None;
        for info in infos {
            let (did, _) = split_did_url(&info.verification_method)?;
            if did.as_str() != signer {
                refusal.get_or_insert_with(|| {
                    format!(
                        "the proof's key belongs to `{}`, not to `{}`",
                        did,
                        quote(signer)
                    )
                });
            } else if info.proof_purpose != purpose {
                refusal = Some(format!(
                    "proof purpose `{}` where `{purpose}` is required",
                    quote(&info.proof_purpose)
                ));
            } else {
                return Ok(info);
            }
        }
        Err(VerifyError::BadSignature(refusal.unwrap_or_default()))
    }

    /// What an SD-JWT's Key Binding JWT is checked against: now, the leeway, and at most
    /// [`MAX_PRESENTATION_LIFETIME_SECONDS`] of age.
    fn key_binding_check(&self) -> crate::sd_jwt::KeyBindingCheck {
        crate::sd_jwt::KeyBindingCheck {
            now: self.now().timestamp(),
            leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
            max_age: MAX_PRESENTATION_LIFETIME_SECONDS,
        }
    }

    fn check_validity(&self, credential: &Value) -> Result<(), VerifyError> {
        let now = self.now();
        // VC 1.1 names the window `issuanceDate` / `expirationDate` (§4.6, §4.7).
        let (from_name, until_name) = if crate::credential::is_v1(credential) {
            ("issuanceDate", "expirationDate")
        } else {
            ("validFrom", "validUntil")
        };
        if let Some(from) = credential.get(from_name).and_then(Value::as_str) {
            let at = parse_time(from)
                .ok_or_else(|| VerifyError::Malformed(format!("validFrom `{}`", quote(from))))?;
            if later(now, self.leeway()) < at {
                return Err(VerifyError::NotYetValid(from.to_owned()));
            }
        }
        if let Some(until) = credential.get(until_name).and_then(Value::as_str) {
            let at = parse_time(until)
                .ok_or_else(|| VerifyError::Malformed(format!("validUntil `{}`", quote(until))))?;
            if earlier(now, self.leeway()) > at {
                return Err(VerifyError::Expired(until.to_owned()));
            }
        }
        Ok(())
    }
}

/// `time + by`, or the latest representable time when that overflows.
fn later(time: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    time.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `time - by`, or the earliest representable time when that overflows.
fn earlier(time: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    time.checked_sub_signed(by)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Decodes the payload of a compact JWS without verifying it (for display only).
pub fn peek_jwt_payload(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_arithmetic_saturates_instead_of_overflowing() {
        let now = Utc::now();
        assert_eq!(later(now, TimeDelta::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(earlier(now, TimeDelta::MAX), DateTime::<Utc>::MIN_UTC);
        assert_eq!(
            later(DateTime::<Utc>::MAX_UTC, TimeDelta::seconds(1)),
            DateTime::<Utc>::MAX_UTC
        );
        let mut verifier = Verifier::new(Arc::new(DidResolver::offline()));
        verifier.leeway = Duration::MAX;
        verifier.deadline = Duration::MAX;
        let credential = serde_json::json!({"validFrom": "9999-12-31T23:59:59Z",
                                            "validUntil": "0001-01-01T00:00:00Z"});
        assert!(verifier.check_validity(&credential).is_ok());
        assert!(verifier.deadline_from_now() > Instant::now());
    }
}
