//! The provider's decision, as data: a verified presentation, the offer's compiled policy and
//! the stated purpose in, a [`Verdict`] out. Each credential of the presentation is judged on
//! its own: a revoked, expired, untrusted one, or one about someone else, is set aside with its
//! reason, and the policy reads the others. Pure: it reads nothing and writes nothing; the
//! negotiation service verifies the presentation before and records and enforces the verdict
//! after.

pub(crate) mod claims;

use serde_json::{json, Value};
use symbolon_identity::Report;
use symbolon_policy::{Decision, Request};

use crate::catalog::CompiledOffer;
use crate::domain::Obligation;

/// What the provider answers a contract request with.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Agree, and the consumer takes on these obligations.
    Agree {
        /// The obligations of the deciding policies.
        obligations: Vec<Obligation>,
        /// The verified credentials the decision read (their documents, without proofs):
        /// what the agreement rests on, checked again whenever its data is served.
        grounds: Vec<Value>,
    },
    /// Refuse, for these reasons (in words a person understands).
    Refuse {
        /// Why.
        reasons: Vec<String>,
    },
}

impl Verdict {
    fn refuse(reason: impl Into<String>) -> Verdict {
        Verdict::Refuse {
            reasons: vec![reason.into()],
        }
    }
}

/// The first reason of a refusal when the presentation held no credential: the policy's own
/// reasons (an attribute missing) follow, but this is what the consumer has to change.
const NO_CREDENTIALS: &str = "you presented no credentials: the policy reads its attributes \
     from them; get one into the wallet (`symbolon join`, or `symbolon credential store`) and \
     ask again";

/// A verdict and, when the policy was evaluated, the policy's decision (for the audit trail).
#[derive(Debug, Clone)]
pub struct Decided {
    /// The verdict.
    pub verdict: Verdict,
    /// The policy's decision, when it came to one.
    pub decision: Option<Decision>,
}

/// What a decision reads.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// The caller's DID (from its authenticated token).
    pub caller: &'a str,
    /// The verification report of the caller's presentation.
    pub presentation: &'a Report,
    /// The offer asked for, with its compiled policy.
    pub offer: &'a CompiledOffer,
    /// The purpose the caller stated.
    pub purpose: Option<&'a str>,
}

/// Decides a contract request.
pub fn decide(question: Question<'_>) -> Decided {
    let refused = |verdict| Decided {
        verdict,
        decision: None,
    };
    let report = question.presentation;
    if presentation_failed(report) {
        return refused(Verdict::Refuse {
            reasons: presentation_reasons(report),
        });
    }
    if report.signer.as_deref() != Some(question.caller) {
        return refused(Verdict::refuse(format!(
            "the presentation's holder is not the caller `{}`",
            question.caller
        )));
    }
    let offer = &question.offer.offer;
    let policies = &question.offer.policies;
    let mut attributes = claims::request_attributes(question.caller, &offer.id, report);
    attributes.insert("action".into(), offer.action.clone().into());
    attributes.insert("offer".into(), offer.id.clone().into());
    let mut asked = json!({ "dataset": offer.id });
    if let Some(purpose) = question.purpose {
        asked["purpose"] = purpose.into();
    }
    attributes.insert("request".into(), asked);
    let mut request = match Request::from_json(policies.schema(), &Value::Object(attributes)) {
        Ok(request) => request,
        Err(error) => {
            return refused(Verdict::refuse(format!(
                "the presented credentials do not fit the policy's attributes: {error}"
            )))
        }
    };
    request.set_now_if_missing(policies.schema());
    let decision = policies.evaluate(&request);
    let verdict = if decision.is_permit() || deferred_to_admission(offer, &decision) {
        Verdict::Agree {
            obligations: Obligation::from_decision(&decision),
            grounds: claims::grounds(question.caller, &offer.id, report),
        }
    } else {
        let mut reasons = decision.reasons();
        if report.credentials.is_empty() {
            reasons.insert(0, NO_CREDENTIALS.to_owned());
        }
        reasons.extend(claims::set_aside(question.caller, report));
        Verdict::Refuse { reasons }
    };
    Decided {
        verdict,
        decision: Some(decision),
    }
}

/// Whether a computation offer's policy failed only on conditions about the session
/// (`session.*`, unknown while negotiating): those are decided when a session is admitted
/// ([`crate::session::admission`]), against its manifest, so the agreement is made. The
/// obligations of such a policy are not known before the session either; they are not carried
/// by the agreement yet.
fn deferred_to_admission(offer: &crate::domain::Offer, decision: &Decision) -> bool {
    offer.kind == crate::domain::OfferKind::Computation
        && !decision.no_applicable_policy
        && decision.forbidden.is_empty()
        && !decision.failed.is_empty()
        && decision.failed.iter().all(|condition| {
            condition.seen.is_none()
                && condition
                    .attribute
                    .as_deref()
                    .is_some_and(|a| a.starts_with("session."))
        })
}

/// Whether the presentation itself failed (its format, signature, challenge, audience,
/// lifetime or replay check): then nothing in it is read. A credential that failed is judged
/// on its own and set aside ([`claims::set_aside`]); the others still count.
fn presentation_failed(report: &Report) -> bool {
    !report.verified
        && (report.checks.is_empty()
            || report.checks.iter().any(|check| {
                check.outcome == symbolon_identity::Outcome::Failed
                    && !matches!(check.check, "credentials" | "holder_binding")
            }))
}

/// The outcome of verifying `report` for the audit trail: `ok`, `partial` (some credentials
/// set aside) or `refused` (the presentation itself failed, or is not the caller's).
pub fn presentation_outcome(caller: &str, report: &Report) -> &'static str {
    if presentation_failed(report) || report.signer.as_deref() != Some(caller) {
        "refused"
    } else if report.verified && claims::set_aside(caller, report).is_empty() {
        "ok"
    } else {
        "partial"
    }
}

/// Why a presentation that did not verify is refused: the presentation's error and each
/// failed credential's.
fn presentation_reasons(report: &Report) -> Vec<String> {
    let mut reasons = vec![format!(
        "the presentation was rejected: {}",
        report
            .error
            .clone()
            .unwrap_or_else(|| "verification failed".into())
    )];
    for credential in report.credentials.iter().filter(|c| !c.verified) {
        if let Some(error) = &credential.error {
            reasons.push(format!(
                "credential {}: {error}",
                credential.types.join("/")
            ));
        }
    }
    reasons
}

#[cfg(test)]
mod tests;
