//! Verifying presentations: the presenter's signature, challenge, audience, lifetime and
//! replay, and every credential inside — at most [`MAX_PRESENTATION_CREDENTIALS`], verified
//! concurrently within the one deadline of the verification.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::time::Instant;

use super::{Expectations, Input, Verifier};
use crate::credential::subject_ids;
use crate::error::{quote, VerifyError};
use crate::jose;
use crate::limits;
use crate::report::Report;
use crate::status_list::BoxFuture;

/// Most credentials one presentation may carry.
pub const MAX_PRESENTATION_CREDENTIALS: usize = 32;

/// The longest a JWT presentation may live (`exp` − `iat`, and `exp` − now): a verifier
/// remembers the nonces it accepted for an hour.
pub const MAX_PRESENTATION_LIFETIME_SECONDS: i64 = 3600;

/// How a presentation is to be verified: what it must be bound to, and whether its
/// credentials must be about its presenter.
///
/// [`Verifier::verify_presentation`] is [`Verifier::verify_presentation_with`] with the options
/// `PresentationOptions::from(&expectations)`: the domain checked, holder binding on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentationOptions<'a> {
    /// The challenge (nonce) the verifier issued; single-use when the verifier keeps nonces.
    pub challenge: &'a str,
    /// The domain (audience) the presentation must name; `None` checks none (VC-API
    /// `options.domain` is optional).
    pub domain: Option<&'a str>,
    /// Whether every credential's subject must be the presenter (the holder, or when the
    /// presentation names none, the controller of the key that signed it). Holder binding is
    /// a verifier's policy, not a rule of the VC Data Model: it is always reported as the
    /// check `holder_binding`, and fails the presentation only when asked for.
    pub holder_binding: bool,
}

impl<'a> From<&'a Expectations> for PresentationOptions<'a> {
    fn from(expected: &'a Expectations) -> Self {
        PresentationOptions {
            challenge: &expected.challenge,
            domain: Some(&expected.audience),
            holder_binding: true,
        }
    }
}

/// What the presenter's signed part says.
struct Presented {
    presentation: Value,
    /// The presenter: the holder, or the controller of the signing key when there is none.
    signer: String,
    challenge: String,
    audience: Vec<String>,
    /// An SD-JWT's Key Binding JWT too old or dated in the future: a validity failure.
    stale_key_binding: Option<VerifyError>,
}

impl Verifier {
    /// Verifies a presentation and every credential in it, with the domain checked and holder
    /// binding required (see [`PresentationOptions`]).
    pub async fn verify_presentation(&self, input: &Input, expected: &Expectations) -> Report {
        self.verify_presentation_with(input, &PresentationOptions::from(expected))
            .await
    }

    /// Verifies a presentation and every credential in it, as `options` say.
    ///
    /// The challenge is recorded as used (when the verifier keeps nonces) only once every
    /// other check passed: a presentation that fails does not burn its challenge, and a
    /// challenge already used is refused before its credentials are fetched.
    pub async fn verify_presentation_with(
        &self,
        input: &Input,
        options: &PresentationOptions<'_>,
    ) -> Report {
        let deadline = self.deadline_from_now();
        let mut report = Report::new("presentation");
        let Some(presented) = self
            .presentation_signature(input, &mut report, deadline)
            .await
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
        let Presented {
            presentation,
            signer,
            challenge,
            audience,
            stale_key_binding,
        } = presented;
        report.signer = Some(signer.clone());
        let challenge_ok = if challenge == options.challenge {
            Ok(())
        } else {
            Err(VerifyError::WrongChallenge {
                expected: quote(options.challenge),
                found: quote(&challenge),
            })
        };
        let challenge_passed = report.record("challenge", challenge_ok).is_some();
        match options.domain {
            Some(domain) => {
                let audience_ok = if audience.iter().any(|a| a == domain) {
                    Ok(())
                } else {
                    Err(VerifyError::WrongAudience {
                        expected: quote(domain),
                        found: quote(&audience.join(", ")),
                    })
                };
                report.record("audience", audience_ok);
            }
            None => report.skip("audience", "no domain was asked for"),
        }
        if let Input::Jwt(_) = input {
            if let Err(error) = self.check_lifetime(&presentation) {
                report.fail("validity", error);
            }
        }
        if let Some(error) = stale_key_binding {
            report.fail("validity", error);
        }
        // A challenge used before is refused here, before any credential is fetched; it is
        // recorded only at the end, once everything else passed.
        let replayed = match (&self.nonces, challenge_passed) {
            (Some(store), true) => store.was_recorded(&challenge).await,
            _ => false,
        };
        if replayed {
            report.fail("replay", VerifyError::Replay(quote(&challenge)));
            report.skip(
                "holder_binding",
                "the challenge was used before; no credential was verified",
            );
            report.skip(
                "credentials",
                "the challenge was used before; no credential was verified",
            );
            report.document = Some(presentation);
            return report.finish();
        }
        self.check_credentials(
            &presentation,
            &signer,
            options.holder_binding,
            &mut report,
            deadline,
        )
        .await;
        match (&self.nonces, challenge_passed) {
            (Some(_), true) if report.has_failure() => report.skip(
                "replay",
                "the presentation failed another check, so its challenge was not used up",
            ),
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
        report.document = Some(presentation);
        report.finish()
    }

    /// Verifies the presentation's credentials concurrently and that each is about `holder`.
    async fn check_credentials(
        &self,
        presentation: &Value,
        holder: &str,
        holder_binding: bool,
        report: &mut Report,
        deadline: Instant,
    ) {
        let items = crate::json::one_or_many(presentation.get("verifiableCredential"));
        if items.len() > MAX_PRESENTATION_CREDENTIALS {
            report.skip(
                "holder_binding",
                "the presentation carries too many credentials; none was verified",
            );
            report.fail(
                "credentials",
                VerifyError::TooMany {
                    what: "credentials in the presentation",
                    count: items.len(),
                    limit: MAX_PRESENTATION_CREDENTIALS,
                },
            );
            return;
        }
        let inputs: Vec<Result<Input, VerifyError>> = items
            .into_iter()
            .map(|item| Input::credential(item.clone()))
            .collect();
        let reports = futures_util::future::join_all(inputs.iter().map(|input| {
            Box::pin(async move {
                match input {
                    Ok(input) => self.credential_report(input, deadline).await,
                    Err(error) => Report::refused_format("credential", error.clone()),
                }
            })
        }))
        .await;
        let mut binding = Ok(());
        let mut all_verified = true;
        for credential_report in reports {
            if let Some(document) = &credential_report.document {
                let subjects = subject_ids(document);
                if binding.is_ok() && !subjects.iter().all(|s| *s == holder) || subjects.is_empty()
                {
                    binding = Err(VerifyError::HolderMismatch {
                        subject: quote(&subjects.join(", ")),
                        holder: holder.to_owned(),
                    });
                }
            }
            all_verified &= credential_report.verified;
            report.credentials.push(credential_report);
        }
        match binding {
            Ok(()) => report.pass("holder_binding"),
            Err(error) if holder_binding => report.fail("holder_binding", error),
            Err(error) => report.skip(
                "holder_binding",
                &format!("not required by this verification ({error})"),
            ),
        }
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
    }

    /// Checks a JWT presentation's `exp` and `iat` (integers of representable times), that it
    /// has not expired, and that it lives no longer than
    /// [`MAX_PRESENTATION_LIFETIME_SECONDS`] — from `iat`, and from now. All arithmetic is
    /// checked: extreme values are refused, never wrapped.
    fn check_lifetime(&self, presentation: &Value) -> Result<(), VerifyError> {
        let exp = time_claim(presentation, "exp")?;
        let iat = time_claim(presentation, "iat")?;
        let Some(exp) = exp else {
            return Ok(());
        };
        let now = self.now().timestamp();
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        if exp.saturating_add(leeway) < now {
            return Err(VerifyError::Expired(
                DateTime::<Utc>::from_timestamp(exp, 0)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| exp.to_string()),
            ));
        }
        let too_long = |seconds: Option<i64>| match seconds {
            Some(seconds) if seconds <= MAX_PRESENTATION_LIFETIME_SECONDS => Ok(()),
            seconds => Err(VerifyError::TooLong {
                what: "the presentation",
                seconds: seconds.unwrap_or(i64::MAX),
                limit: MAX_PRESENTATION_LIFETIME_SECONDS,
            }),
        };
        if let Some(iat) = iat {
            too_long(exp.checked_sub(iat))?;
        }
        too_long(exp.checked_sub(now.saturating_add(leeway)))
    }

    /// Checks a presentation's format and signature (resolving the presenter's DID, until
    /// `deadline`); returns it with its presenter, challenge and audiences. The presenter is
    /// the holder, whose key must have signed; a presentation without a holder (VC Data Model
    /// 2.0 §4.12: `holder` is optional) is presented by the controller of the signing key.
    async fn presentation_signature(
        &self,
        input: &Input,
        report: &mut Report,
        deadline: Instant,
    ) -> Option<Presented> {
        match input {
            Input::Jwt(token) if crate::sd_jwt::is_sd_jwt(token) => {
                self.sd_jwt_presentation(token, report)
            }
            Input::Jwt(token) => {
                let decoded = report.record(
                    "format",
                    limits::check_size(token.as_bytes()).and_then(|()| jose::decode(token)),
                )?;
                report.format = Some("vp+jwt".into());
                let presentation = decoded.payload.clone();
                let signer = match presenter(&presentation, decoded.kid.as_deref()) {
                    Ok(signer) => signer,
                    Err(error) => {
                        report.fail("signature", error);
                        return None;
                    }
                };
                let signature = self
                    .within(
                        deadline,
                        "the signature check",
                        Box::pin(decoded.verify(token, &signer, &self.resolver))
                            as BoxFuture<'_, Result<String, _>>,
                    )
                    .await;
                report.record("signature", signature)?;
                let challenge = presentation
                    .get("nonce")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let audience: Vec<String> = crate::json::strings(presentation.get("aud"))
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                Some(Presented {
                    presentation,
                    signer,
                    challenge,
                    audience,
                    stale_key_binding: None,
                })
            }
            Input::Json(presentation) => {
                if let Err(error) = super::envelope::refuse_malformed(presentation) {
                    report.fail("format", error);
                    return None;
                }
                let info =
                    report.record("format", crate::data_integrity::proof_info(presentation))?;
                report.format = Some(info.cryptosuite.clone());
                let signer = match presenter(presentation, Some(&info.verification_method)) {
                    Ok(signer) => signer,
                    Err(error) => {
                        report.fail("signature", error);
                        return None;
                    }
                };
                let signature = self
                    .within(
                        deadline,
                        "the signature check",
                        Box::pin(self.check_di(presentation, &signer, "authentication"))
                            as BoxFuture<'_, Result<crate::data_integrity::ProofInfo, _>>,
                    )
                    .await;
                let info = report.record("signature", signature)?;
                Some(Presented {
                    presentation: presentation.clone(),
                    signer,
                    challenge: info.challenge.unwrap_or_default(),
                    audience: info.domain.into_iter().collect(),
                    stale_key_binding: None,
                })
            }
        }
    }
}

impl Verifier {
    /// An SD-JWT VC presented with key binding (RFC 9901 §7.3): the Key Binding JWT is
    /// required, signed by the credential's holder key (`cnf.jwk`) and over exactly the
    /// disclosures presented (those are its proof, a signature check), and fresh (a validity
    /// check); its `nonce` and `aud` are the challenge and audience. The
    /// presenter is the holder key's did:key; the SD-JWT VC itself is then verified as the
    /// presentation's one credential (issuer signature, disclosures, validity, status, trust).
    fn sd_jwt_presentation(&self, token: &str, report: &mut Report) -> Option<Presented> {
        let decoded = report.record(
            "format",
            crate::sd_jwt::decode(token)
                .and_then(|decoded| decoded.check_vc_claims().map(|()| decoded)),
        )?;
        report.format = Some(crate::sd_jwt::TYP.into());
        let bound = decoded.check_key_binding().and_then(|kb| {
            let key = decoded.holder_key()?.ok_or_else(|| {
                VerifyError::BadSignature("the credential names no holder key".into())
            })?;
            Ok((kb, crate::did::Did::key(&key)))
        });
        let (kb, holder) = report.record("signature", bound)?;
        let signer = holder.as_str().to_owned();
        Some(Presented {
            presentation: serde_json::json!({
                "@context": [crate::context::CREDENTIALS_V2_CONTEXT],
                "type": ["VerifiablePresentation"],
                "holder": signer,
                "verifiableCredential": [token],
            }),
            signer,
            challenge: kb.nonce.clone(),
            audience: vec![kb.audience.clone()],
            stale_key_binding: kb.check_fresh(&self.key_binding_check()).err(),
        })
    }
}

/// The time claim `name` (seconds since the epoch): absent, or an integer that is a
/// representable time.
fn time_claim(presentation: &Value, name: &str) -> Result<Option<i64>, VerifyError> {
    let Some(value) = presentation.get(name) else {
        return Ok(None);
    };
    let seconds = value.as_i64().ok_or_else(|| {
        VerifyError::Malformed(format!(
            "the presentation's `{name}` must be an integer (seconds since the epoch)"
        ))
    })?;
    if DateTime::<Utc>::from_timestamp(seconds, 0).is_none() {
        return Err(VerifyError::Malformed(format!(
            "the presentation's `{name}` ({seconds}) is outside the representable time range"
        )));
    }
    Ok(Some(seconds))
}

/// The presenter of a valid presentation: its `holder` (a URL, or an object's `id`), or when
/// it names none, the DID of `key` (the JWS `kid` or the proof's verification method).
fn presenter(presentation: &Value, key: Option<&str>) -> Result<String, VerifyError> {
    crate::credential::validate_presentation(presentation).map_err(VerifyError::Invalid)?;
    if let Some(holder) = crate::credential::holder_id(presentation) {
        return Ok(holder.to_owned());
    }
    let key = key.ok_or_else(|| {
        VerifyError::Malformed(
            "the presentation names no `holder` and its signature no key (`kid`)".into(),
        )
    })?;
    let (did, _) = crate::did::split_did_url(key)?;
    Ok(did.as_str().to_owned())
}
