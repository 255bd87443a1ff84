//! Verifying credentials and presentations.
//!
//! A [`Verifier`] checks, in order: format and algorithm, signature, validity window (with a
//! clock skew of [`Verifier::leeway`]), revocation and suspension status, and — when it holds a
//! trust list — that the issuer may issue the credential's types. For presentations it also
//! checks the challenge, the audience, that the nonce was never accepted before, and that every
//! credential's subject is the presenter. Every check lands in the [`Report`].

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::credential::{issuer_id, parse_time, specific_types, subject_ids};
use crate::data_integrity;
use crate::did::{split_did_url, DidResolver};
use crate::error::{quote, VerifyError};
use crate::jose;
use crate::limits;
use crate::nonce::NonceStore;
use crate::report::Report;
use crate::status_list::{StatusList, StatusPurpose, StatusSource};
use crate::trust::TrustList;

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

    /// Reads a JSON value: a string is a compact JWS; an enveloped credential or
    /// presentation is unwrapped to its JWS.
    pub fn from_value(value: Value) -> Input {
        match value {
            Value::String(token) => Input::Jwt(token),
            Value::Object(ref object) => {
                let enveloped = object
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.starts_with("Enveloped"));
                let data_url = object
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|id| id.strip_prefix("data:"));
                match (enveloped, data_url.and_then(|d| d.split_once(','))) {
                    (true, Some((_, token))) => Input::Jwt(token.to_owned()),
                    _ => Input::Json(value),
                }
            }
            other => Input::Json(other),
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
    /// Allowed clock skew on every time check (default 60 seconds).
    pub leeway: Duration,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("trust", &self.trust.as_ref().map(|t| &t.data_space))
            .field("status", &self.status.is_some())
            .field("nonces", &self.nonces.is_some())
            .finish_non_exhaustive()
    }
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
            leeway: Duration::from_secs(60),
        }
    }

    /// Checks credential status against lists from `source`.
    pub fn with_status_source(mut self, source: Arc<dyn StatusSource>) -> Self {
        self.status = Some(source);
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

    fn leeway(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.leeway).unwrap_or_else(|_| chrono::Duration::seconds(60))
    }

    /// Verifies a credential.
    pub async fn verify_credential(&self, input: &Input) -> Report {
        let mut report = Report::new("credential");
        let Some(credential) = self.credential_signature(input, &mut report).await else {
            for check in ["validity", "status", "trust"] {
                report.skip(check, "the signature was not verified");
            }
            return report.finish();
        };
        report.signer = issuer_id(&credential).map(str::to_owned);
        report.types = specific_types(&credential);
        let validity = self.check_validity(&credential);
        report.record("validity", validity);
        match credential.get("credentialStatus") {
            None => report.skip("status", "the credential has no credentialStatus"),
            Some(_) if self.status.is_none() => {
                report.skip("status", "this verifier has no status source")
            }
            Some(status) => {
                let result = self.check_status(&credential, status).await;
                report.record("status", result);
            }
        }
        match &self.trust {
            None => report.skip("trust", "no trust list installed"),
            Some(trust) => {
                report.record("trust", trust.check(&credential));
            }
        }
        report.document = Some(credential);
        report.finish()
    }

    /// Checks format and signature; returns the credential JSON when the signature holds.
    async fn credential_signature(&self, input: &Input, report: &mut Report) -> Option<Value> {
        match input {
            Input::Jwt(token) => {
                let decoded = report.record(
                    "format",
                    limits::check_input(token.as_bytes()).and_then(|()| jose::decode(token)),
                )?;
                report.format = Some("vc+jwt".into());
                let credential = decoded.payload.clone();
                let structure =
                    crate::credential::validate(&credential).map_err(VerifyError::Invalid);
                if let Err(error) = structure {
                    report.fail("signature", error);
                    return None;
                }
                let issuer = issuer_id(&credential).unwrap_or_default().to_owned();
                let result = decoded.verify(token, &issuer, &self.resolver).await;
                report.record("signature", result)?;
                Some(credential)
            }
            Input::Json(credential) => {
                let proof = data_integrity::proof_info(credential);
                let info = report.record("format", proof)?;
                report.format = Some(info.cryptosuite.clone());
                if let Err(error) = crate::credential::validate(credential) {
                    report.fail("signature", VerifyError::Invalid(error));
                    return None;
                }
                let result = self
                    .check_di(
                        credential,
                        issuer_id(credential).unwrap_or_default(),
                        "assertionMethod",
                    )
                    .await;
                report.record("signature", result)?;
                Some(credential.clone())
            }
        }
    }

    async fn check_di(
        &self,
        document: &Value,
        signer: &str,
        purpose: &str,
    ) -> Result<data_integrity::ProofInfo, VerifyError> {
        let info = data_integrity::verify_proof(document, &self.resolver).await?;
        let (did, _) = split_did_url(&info.verification_method)?;
        if did.as_str() != signer {
            return Err(VerifyError::BadSignature(format!(
                "the proof's key belongs to `{}`, not to `{}`",
                did,
                quote(signer)
            )));
        }
        if info.proof_purpose != purpose {
            return Err(VerifyError::BadSignature(format!(
                "proof purpose `{}` where `{purpose}` is required",
                quote(&info.proof_purpose)
            )));
        }
        Ok(info)
    }

    fn check_validity(&self, credential: &Value) -> Result<(), VerifyError> {
        let now = self.now();
        if let Some(from) = credential.get("validFrom").and_then(Value::as_str) {
            let at = parse_time(from)
                .ok_or_else(|| VerifyError::Malformed(format!("validFrom `{}`", quote(from))))?;
            if now + self.leeway() < at {
                return Err(VerifyError::NotYetValid(from.to_owned()));
            }
        }
        if let Some(until) = credential.get("validUntil").and_then(Value::as_str) {
            let at = parse_time(until)
                .ok_or_else(|| VerifyError::Malformed(format!("validUntil `{}`", quote(until))))?;
            if now - self.leeway() > at {
                return Err(VerifyError::Expired(until.to_owned()));
            }
        }
        Ok(())
    }

    async fn check_status(&self, credential: &Value, status: &Value) -> Result<(), VerifyError> {
        let entries = crate::json::one_or_many(Some(status));
        for entry in entries {
            if entry.get("type").and_then(Value::as_str) != Some("BitstringStatusListEntry") {
                return Err(VerifyError::StatusUnavailable(
                    "only BitstringStatusListEntry is supported".into(),
                ));
            }
            let field = |name: &str| {
                entry.get(name).and_then(Value::as_str).ok_or_else(|| {
                    VerifyError::Malformed(format!("credentialStatus lacks `{name}`"))
                })
            };
            let url = field("statusListCredential")?;
            let purpose_text = field("statusPurpose")?;
            let purpose = StatusPurpose::parse(purpose_text).ok_or_else(|| {
                VerifyError::StatusUnavailable(format!(
                    "unsupported statusPurpose `{}`",
                    quote(purpose_text)
                ))
            })?;
            let index: u64 = field("statusListIndex")?
                .parse()
                .map_err(|_| VerifyError::Malformed("statusListIndex is not a number".into()))?;
            let list = self
                .fetch_list(url, issuer_id(credential).unwrap_or_default(), purpose)
                .await?;
            let set = list.get(index)?;
            if set {
                return Err(match purpose {
                    StatusPurpose::Revocation => VerifyError::Revoked {
                        list: url.to_owned(),
                        index,
                    },
                    StatusPurpose::Suspension => VerifyError::Suspended {
                        list: url.to_owned(),
                        index,
                    },
                });
            }
        }
        Ok(())
    }

    async fn fetch_list(
        &self,
        url: &str,
        issuer: &str,
        purpose: StatusPurpose,
    ) -> Result<StatusList, VerifyError> {
        let unavailable = |why: String| VerifyError::StatusUnavailable(why);
        let source = self
            .status
            .as_ref()
            .ok_or_else(|| unavailable("no status source".into()))?;
        let text = source
            .fetch(url)
            .await
            .map_err(|e| VerifyError::StatusFetch(Arc::new(e)))?;
        // The status list credential is verified like any credential, without status or trust.
        let plain = Verifier {
            status: None,
            trust: None,
            nonces: None,
            ..self.clone()
        };
        let report = Box::pin(plain.verify_credential(&Input::parse(&text)?)).await;
        let list_credential = match (report.verified, report.document) {
            (true, Some(document)) => document,
            _ => {
                return Err(unavailable(format!(
                    "the status list credential does not verify: {}",
                    report.error.unwrap_or_default()
                )))
            }
        };
        if issuer_id(&list_credential) != Some(issuer) {
            return Err(unavailable(
                "the status list was not issued by the credential's issuer".into(),
            ));
        }
        if !specific_types(&list_credential)
            .iter()
            .any(|t| t == "BitstringStatusListCredential")
        {
            return Err(unavailable("not a BitstringStatusListCredential".into()));
        }
        let subject = list_credential
            .get("credentialSubject")
            .cloned()
            .unwrap_or_default();
        if subject.get("statusPurpose").and_then(Value::as_str) != Some(purpose.as_str()) {
            return Err(unavailable(
                "the list's statusPurpose differs from the entry's".into(),
            ));
        }
        let encoded = subject
            .get("encodedList")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(StatusList::decode(encoded)?)
    }

    /// Verifies a presentation and every credential in it.
    pub async fn verify_presentation(&self, input: &Input, expected: &Expectations) -> Report {
        let mut report = Report::new("presentation");
        let Some((presentation, holder, challenge, audience, expires)) =
            self.presentation_signature(input, &mut report).await
        else {
            for check in [
                "challenge",
                "audience",
                "replay",
                "holder_binding",
                "credentials",
            ] {
                report.skip(check, "the signature was not verified");
            }
            return report.finish();
        };
        report.signer = Some(holder.clone());
        let challenge_ok = if challenge == expected.challenge {
            Ok(())
        } else {
            Err(VerifyError::WrongChallenge {
                expected: quote(&expected.challenge),
                found: quote(&challenge),
            })
        };
        let challenge_passed = report.record("challenge", challenge_ok).is_some();
        let audience_ok = if audience.iter().any(|a| a == &expected.audience) {
            Ok(())
        } else {
            Err(VerifyError::WrongAudience {
                expected: quote(&expected.audience),
                found: quote(&audience.join(", ")),
            })
        };
        report.record("audience", audience_ok);
        if let Some(expires) = expires {
            if self.now() - self.leeway() > expires {
                report.fail("validity", VerifyError::Expired(expires.to_rfc3339()));
            }
        }
        match (&self.nonces, challenge_passed) {
            (Some(store), true) => {
                let fresh = if store.check_and_record(&challenge).await {
                    Ok(())
                } else {
                    Err(VerifyError::Replay(quote(&challenge)))
                };
                report.record("replay", fresh);
            }
            (Some(_), false) => report.skip("replay", "the challenge did not match"),
            (None, _) => report.skip("replay", "this verifier keeps no nonces"),
        }
        let credentials: Vec<Value> =
            crate::json::one_or_many(presentation.get("verifiableCredential"))
                .into_iter()
                .cloned()
                .collect();
        let mut binding = Ok(());
        let mut all_verified = true;
        for item in credentials {
            let credential_report =
                Box::pin(self.verify_credential(&Input::from_value(item))).await;
            if let Some(document) = &credential_report.document {
                let subjects = subject_ids(document);
                if binding.is_ok() && !subjects.iter().all(|s| *s == holder) || subjects.is_empty()
                {
                    binding = Err(VerifyError::HolderMismatch {
                        subject: quote(&subjects.join(", ")),
                        holder: holder.clone(),
                    });
                }
            }
            all_verified &= credential_report.verified;
            report.credentials.push(credential_report);
        }
        report.record("holder_binding", binding);
        if all_verified {
            report.pass("credentials");
        } else {
            let reason = report
                .credentials
                .iter()
                .find_map(|c| c.rejection().cloned());
            report.fail(
                "credentials",
                reason.unwrap_or_else(|| VerifyError::Malformed("a credential failed".into())),
            );
        }
        report.document = Some(presentation);
        report.finish()
    }

    /// Checks a presentation's format and signature; returns it with holder, challenge,
    /// audiences and expiry.
    async fn presentation_signature(
        &self,
        input: &Input,
        report: &mut Report,
    ) -> Option<(Value, String, String, Vec<String>, Option<DateTime<Utc>>)> {
        match input {
            Input::Jwt(token) => {
                let decoded = report.record(
                    "format",
                    limits::check_input(token.as_bytes()).and_then(|()| jose::decode(token)),
                )?;
                report.format = Some("vp+jwt".into());
                let presentation = decoded.payload.clone();
                let holder = match holder_of(&presentation) {
                    Ok(holder) => holder,
                    Err(error) => {
                        report.fail("signature", error);
                        return None;
                    }
                };
                report.record(
                    "signature",
                    decoded.verify(token, &holder, &self.resolver).await,
                )?;
                let challenge = presentation
                    .get("nonce")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let audience: Vec<String> = crate::json::strings(presentation.get("aud"))
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                let expires = presentation
                    .get("exp")
                    .and_then(Value::as_i64)
                    .and_then(|t| DateTime::from_timestamp(t, 0));
                Some((presentation, holder, challenge, audience, expires))
            }
            Input::Json(presentation) => {
                let info = report.record("format", data_integrity::proof_info(presentation))?;
                report.format = Some(info.cryptosuite.clone());
                let holder = match holder_of(presentation) {
                    Ok(holder) => holder,
                    Err(error) => {
                        report.fail("signature", error);
                        return None;
                    }
                };
                let info = report.record(
                    "signature",
                    self.check_di(presentation, &holder, "authentication").await,
                )?;
                let audience = info.domain.into_iter().collect();
                Some((
                    presentation.clone(),
                    holder,
                    info.challenge.unwrap_or_default(),
                    audience,
                    None,
                ))
            }
        }
    }
}

fn holder_of(presentation: &Value) -> Result<String, VerifyError> {
    crate::credential::validate_presentation(presentation).map_err(VerifyError::Invalid)?;
    presentation
        .get("holder")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| VerifyError::Malformed("the presentation has no `holder`".into()))
}

/// Decodes the payload of a compact JWS without verifying it (for display only).
pub fn peek_jwt_payload(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
