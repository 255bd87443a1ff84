//! The provider's decision on a request: the consumer's credentials verified (inline or
//! fetched by DCP), the offer's policy evaluated, and the answer sent — an agreement or a
//! termination naming the reasons; for a `manual` offer the verdict is only kept as a
//! recommendation ([`Negotiations::assess`]).

use std::sync::Arc;

use serde_json::{json, Value};
use symbolon_audit::EventKind;
use symbolon_identity::{Expectations, Input};

use super::state::{IllegalTransition, Role};
use super::{DspError, Negotiations};
use crate::catalog::CompiledOffer;
use crate::dcp::{self, scope};
use crate::decision::{self, Question, Verdict};
use crate::domain::{now, Negotiation, Obligation, Recommendation};

impl Negotiations {
    /// Decides `pid` in a task of its own.
    pub(super) fn decide_later(&self, pid: &str) {
        let service = self.clone();
        let pid = pid.to_owned();
        tokio::spawn(async move { service.decide(&pid).await });
    }

    /// Decides `pid` and answers the consumer with an agreement or a termination naming the
    /// reasons; any failure on the way terminates the negotiation with a reason, so a consumer
    /// is not left waiting. The answer is stored once the consumer acknowledged it; a consumer
    /// that cannot be reached is tried again a few times, then the negotiation stays REQUESTED
    /// (or ACCEPTED), every failed send on record: the provider never claims an agreement or a
    /// termination the consumer has not received. Its operator can still terminate it, and it
    /// is decided again when the connector restarts. For a `manual` negotiation the decision
    /// is only assessed ([`Negotiations::assess`]).
    pub(super) async fn decide(&self, pid: &str) {
        let key = pid.to_owned();
        match self
            .cx
            .store()
            .blocking(move |s| s.negotiations.get(&key))
            .await
        {
            Ok(Some(n)) if n.decision.is_manual() => return self.assess(pid).await,
            Ok(_) => {}
            Err(error) => tracing::error!(%error, pid, "cannot read a negotiation to decide"),
        }
        let answer = match self.verdict(pid).await {
            Ok(Answer::Agree {
                negotiation,
                offer,
                obligations,
                grounds,
            }) => self
                .agreement_for(pid, &negotiation, &offer, obligations, grounds)
                .map(Some),
            Ok(Answer::Refuse(reasons)) => {
                tracing::info!(
                    pid,
                    reasons = %reasons.join("; "),
                    "contract request refused by the offer's policy"
                );
                let attempt = || self.terminate_own(pid, "policy.denied", reasons.clone(), false);
                self.retrying(pid, "termination", attempt).await;
                return;
            }
            Err(error) => Err(error),
        };
        match answer {
            Ok(Some(agreement)) => {
                let attempt = || self.send_agreement(pid, &agreement);
                self.retrying(pid, "agreement", attempt).await;
            }
            Ok(None) => {}
            Err(DspError::Illegal(error)) => {
                tracing::info!(%error, pid, "the negotiation moved on before the decision");
            }
            Err(error) => {
                tracing::error!(%error, pid, "cannot decide a negotiation");
                let reason = vec!["the provider failed to decide; request again later".to_owned()];
                let attempt = || self.terminate_own(pid, "internal", reason.clone(), false);
                self.retrying(pid, "termination", attempt).await;
            }
        }
    }

    /// Assesses a `manual` negotiation: verifies the consumer's presentation and evaluates the
    /// policy as [`Negotiations::decide`] would, and keeps the verdict on the negotiation as a
    /// recommendation for the operator (the presentation is then no longer kept). Nothing is
    /// sent. A failure is logged; the assessment is made again when the connector restarts.
    pub(super) async fn assess(&self, pid: &str) {
        let recommendation = match self.verdict(pid).await {
            Ok(Answer::Agree {
                obligations,
                grounds,
                ..
            }) => Recommendation {
                agree: true,
                obligations,
                grounds,
                reasons: Vec::new(),
                decided: now(),
            },
            Ok(Answer::Refuse(reasons)) => Recommendation {
                agree: false,
                obligations: Vec::new(),
                grounds: Vec::new(),
                reasons,
                decided: now(),
            },
            Err(error) => {
                tracing::error!(%error, pid, "cannot assess a negotiation");
                return;
            }
        };
        let kept = self
            .update(pid, None, move |mut n| {
                if !n.awaits_decision() {
                    // The operator answered, or the consumer moved, meanwhile.
                    return Err(IllegalTransition {
                        from: n.state,
                        message: "a policy verdict",
                        by: Some(Role::Provider),
                    });
                }
                n.recommendation = Some(recommendation);
                n.pending = None;
                Ok(n)
            })
            .await;
        if let Err(error) = kept {
            tracing::info!(%error, pid, "the verdict is not kept");
        }
    }

    /// Verifies the consumer's presentation and decides on the offer's policy.
    async fn verdict(&self, pid: &str) -> Result<Answer, DspError> {
        let store = self.cx.store();
        let negotiation = store
            .negotiations
            .get(pid)?
            .ok_or_else(|| DspError::NotFound(format!("no negotiation `{pid}`")))?;
        let refuse = |reason: String| Ok(Answer::Refuse(vec![reason]));
        let Some(pending) = negotiation.pending.clone() else {
            return refuse(
                "the request's presentation was not kept (a restart); request again".into(),
            );
        };
        if let Some(reason) = pending.offer_refused {
            return refuse(reason);
        }
        let Some(offer) = store.offers.get(&negotiation.offer_id)? else {
            return refuse(format!(
                "offer `{}` is not in this provider's catalog",
                negotiation.offer_id
            ));
        };
        let compiled = self.cx.offers().compiled(&offer)?;
        let Some((verifier, _)) = self.cx.verification().trusted_verifier() else {
            return refuse(
                "the provider has no trust list installed and so trusts no issuer".into(),
            );
        };
        let caller = negotiation.counterparty.clone();
        let asked = scope::types_for_policies(compiled.policies.policy_set());
        let (report, mode) = match (pending.presentation, pending.access_token) {
            // INVARIANT: the presentation's nonce is the token's `jti`, which authentication
            // recorded as used; a replayed presentation needs a replayed token, refused there.
            (Some(presentation), _) => {
                let expectations = Expectations {
                    challenge: pending.jti,
                    audience: self.did().to_owned(),
                };
                let report = verifier
                    .verify_presentation(&Input::Jwt(presentation), &expectations)
                    .await;
                (report, "inline")
            }
            (None, Some(access_token)) => {
                let fetched = dcp::verifier::fetch_presentations(
                    &self.cx,
                    &verifier,
                    &caller,
                    &access_token,
                    pending.credential_service.as_deref(),
                    &asked,
                )
                .await;
                match fetched {
                    Ok(report) => (report, "dcp"),
                    Err(error) => {
                        let mut event = self.cx.audit().event(
                            EventKind::PresentationVerified,
                            pid,
                            "refused",
                            json!({ "mode": "dcp", "error": error.to_string() }),
                        );
                        event.actor = caller.clone();
                        self.cx.audit().record(event).await?;
                        return refuse(error.to_string());
                    }
                }
            }
            (None, None) => {
                return refuse(
                    "no presentation of credentials came with the request: neither one in the \
                     token's `vp` claim nor an access token to a Credential Service in its \
                     `token` claim"
                        .into(),
                )
            }
        };
        let mut event = self.cx.audit().event(
            EventKind::PresentationVerified,
            pid,
            decision::presentation_outcome(&caller, &report),
            json!({ "mode": mode, "error": report.error, "types": report.credentials.iter().flat_map(|c| c.types.clone()).collect::<Vec<_>>() }),
        );
        event.actor = caller.clone();
        self.cx.audit().record(event).await?;
        let decided = decision::decide(Question {
            caller: &caller,
            presentation: &report,
            offer: &compiled,
            purpose: negotiation.purpose.as_deref(),
        });
        if let Some(decision) = &decided.decision {
            let mut event = self.cx.audit().event(
                EventKind::PolicyDecision,
                pid,
                if decision.is_permit() {
                    "permit"
                } else {
                    "deny"
                },
                decision.to_json(),
            );
            event.actor = caller;
            self.cx.audit().record(event).await?;
        }
        Ok(match decided.verdict {
            Verdict::Agree {
                obligations,
                grounds,
            } => Answer::Agree {
                grounds,
                negotiation: Box::new(negotiation),
                offer: compiled,
                obligations,
            },
            Verdict::Refuse { mut reasons } => {
                reasons.extend(missing(&asked, &report));
                Answer::Refuse(reasons)
            }
        })
    }
}

/// For each credential type the decision asked for that no credential of `report` is, a
/// reason saying so (a refusal's explanation; one presented but set aside says why itself).
fn missing(
    asked: &std::collections::BTreeSet<String>,
    report: &symbolon_identity::Report,
) -> Vec<String> {
    asked
        .iter()
        .filter(|kind| {
            !report
                .credentials
                .iter()
                .any(|c| c.types.iter().any(|t| t == *kind))
        })
        .map(|kind| format!("credential: no {kind} was presented, and the policy reads one"))
        .collect()
}

/// What the provider answers a request with.
enum Answer {
    /// Agree on `offer` with `obligations`.
    Agree {
        negotiation: Box<Negotiation>,
        offer: Arc<CompiledOffer>,
        obligations: Vec<Obligation>,
        grounds: Vec<Value>,
    },
    /// Refuse, for these reasons.
    Refuse(Vec<String>),
}
