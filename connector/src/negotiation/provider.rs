//! The provider's side: requests come in, the policy decides, an agreement or a termination
//! goes out.

use serde_json::{json, Value};
use symbolon_identity::{Expectations, Input, Verifier};
use symbolon_policy::{Policies, Request};

use super::auth::Caller;
use super::messages::{
    self, ContractAgreementVerificationMessage, ContractNegotiationEventMessage,
    ContractRequestMessage, EventType,
};
use super::state::{transition, Move, NegotiationState, Role};
use super::{now, DspError, Negotiator};
use crate::catalog;
use crate::store::negotiations::Negotiation;
use crate::store::Event;

impl Negotiator {
    /// `POST /negotiations/request`: a consumer starts a negotiation. Answers the new
    /// `ContractNegotiation` (201); the decision follows asynchronously.
    pub async fn provider_initial_request(
        &self,
        caller: Caller,
        message: ContractRequestMessage,
    ) -> Result<Value, DspError> {
        if message.provider_pid.is_some() {
            return Err(DspError::BadRequest(
                "ContractRequestMessage: an initial request must not carry `providerPid`; \
                 send a counter-request to /negotiations/{providerPid}/request"
                    .into(),
            ));
        }
        let Some(callback) = message.callback_address.clone() else {
            return Err(DspError::BadRequest(
                "ContractRequestMessage: missing field `callbackAddress` (required in an initial request)".into(),
            ));
        };
        crate::dsp_p2p::check_callback(&callback, &caller.did).map_err(|why| {
            DspError::BadRequest(format!(
                "ContractRequestMessage: field `callbackAddress` {why}"
            ))
        })?;
        let offer_id = catalog::offer_id_from(&message.offer.id, message.offer.target.as_deref());
        let provider_pid = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let negotiation = Negotiation {
            role: Role::Provider,
            provider_pid: Some(provider_pid.clone()),
            consumer_pid: message.consumer_pid.clone(),
            state: NegotiationState::Requested,
            offer_id,
            counterparty: caller.did.clone(),
            counterparty_address: callback.trim_end_matches('/').to_owned(),
            offer: serde_json::to_value(&message.offer).unwrap_or_default(),
            agreement_id: None,
            reason: Vec::new(),
            purpose: caller.purpose.clone(),
            created: now(),
            updated: now(),
        };
        self.open_negotiation(&provider_pid, &negotiation, &caller.did)
            .await?;
        let engine = self.clone();
        let pid = provider_pid.clone();
        tokio::spawn(async move { engine.decide(&pid, caller).await });
        Ok(messages::negotiation(
            &provider_pid,
            &message.consumer_pid,
            NegotiationState::Requested,
        ))
    }

    /// `POST /negotiations/:pid/request`: a counter-request (only after an offer).
    pub async fn provider_counter_request(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractRequestMessage,
    ) -> Result<Value, DspError> {
        let next = self
            .provider_move(pid, &caller, &message.consumer_pid, Move::Request, |n| {
                n.offer = serde_json::to_value(&message.offer).unwrap_or_default();
                n.purpose = caller.purpose.clone();
            })
            .await?;
        let engine = self.clone();
        let pid = pid.to_owned();
        tokio::spawn(async move { engine.decide(&pid, caller).await });
        Ok(answer(&next))
    }

    /// `POST /negotiations/:pid/events` on the provider: the consumer accepted an offer.
    pub async fn provider_event(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractNegotiationEventMessage,
    ) -> Result<Value, DspError> {
        if message.event_type != EventType::Accepted {
            let n = self.negotiation_for(pid, &caller.did)?;
            return Err(super::state::IllegalTransition {
                from: n.state,
                message: Move::Finalize.message(),
                by: Some(Role::Consumer),
            }
            .into());
        }
        let next = self
            .provider_move(pid, &caller, &message.consumer_pid, Move::Accept, |_| {})
            .await?;
        let engine = self.clone();
        let pid = pid.to_owned();
        tokio::spawn(async move { engine.decide(&pid, caller).await });
        Ok(answer(&next))
    }

    /// `POST /negotiations/:pid/agreement/verification`: the consumer verified the agreement;
    /// the provider finalises.
    pub async fn provider_verification(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractAgreementVerificationMessage,
    ) -> Result<Value, DspError> {
        let next = self
            .provider_move(pid, &caller, &message.consumer_pid, Move::Verify, |_| {})
            .await?;
        self.witness(&caller.did, message.tree_head.as_deref())
            .await;
        let engine = self.clone();
        let pid = pid.to_owned();
        tokio::spawn(async move { engine.finalize(&pid).await });
        Ok(answer(&next))
    }

    /// Checks and applies a consumer's message to a provider negotiation.
    async fn provider_move(
        &self,
        pid: &str,
        caller: &Caller,
        consumer_pid: &str,
        mv: Move,
        also: impl FnOnce(&mut Negotiation),
    ) -> Result<Negotiation, DspError> {
        let current = self.negotiation_for(pid, &caller.did)?;
        if current.role != Role::Provider || current.consumer_pid != consumer_pid {
            return Err(DspError::NotFound(format!(
                "no provider negotiation `{pid}` with consumer process `{consumer_pid}`"
            )));
        }
        self.apply_move(pid, &caller.did, Role::Consumer, mv, also)
            .await
    }

    /// Verifies the consumer's presentation, evaluates the offer's policy, and answers with
    /// an agreement or a termination naming the reasons.
    async fn decide(&self, pid: &str, caller: Caller) {
        let outcome = self.evaluate(pid, &caller).await;
        let result = match outcome {
            Ok(Ok((negotiation, obligations))) => self.agree(pid, negotiation, obligations).await,
            Ok(Err(reasons)) => {
                self.terminate_as_provider(pid, "policy.denied", reasons)
                    .await
            }
            Err(error) => {
                tracing::error!(%error, pid, "cannot decide a negotiation");
                self.terminate_as_provider(
                    pid,
                    "internal",
                    vec!["the provider failed to decide; try again later".into()],
                )
                .await
            }
        };
        if let Err(error) = result {
            tracing::warn!(%error, pid, "negotiation step failed");
        }
    }

    /// `Ok(Ok(obligations))` to agree, `Ok(Err(reasons))` to refuse.
    #[allow(clippy::type_complexity)]
    async fn evaluate(
        &self,
        pid: &str,
        caller: &Caller,
    ) -> Result<Result<(Negotiation, Value), Vec<String>>, DspError> {
        let Some(negotiation) = self.store().negotiations.get(pid)? else {
            return Err(DspError::NotFound(pid.to_owned()));
        };
        let Some(offer) = self.store().offers.get(&negotiation.offer_id)? else {
            return Ok(Err(vec![format!(
                "offer `{}` is not in this provider's catalog",
                negotiation.offer_id
            )]));
        };
        let Some(presentation) = caller.presentation.as_deref() else {
            return Ok(Err(vec![
                "no presentation of credentials came with the request (claim `vp` of the token)"
                    .into(),
            ]));
        };
        let Some(trust) = crate::trust::installed(&self.inner.dir) else {
            return Ok(Err(vec![
                "the provider has no trust list installed and so trusts no issuer".into(),
            ]));
        };
        let verifier = Verifier::new(self.inner.resolver.clone())
            .with_status_source(self.inner.status_source.clone())
            .with_trust_list(trust)
            .with_nonce_store(std::sync::Arc::new(self.store().nonces.for_presentations()));
        let report = verifier
            .verify_presentation(
                &Input::Jwt(presentation.to_owned()),
                &Expectations {
                    challenge: caller.jti.clone(),
                    audience: self.did().to_owned(),
                },
            )
            .await;
        let holder_ok = report.signer.as_deref() == Some(caller.did.as_str());
        self.record(Event::now(
            "presentation.verified",
            &caller.did,
            pid,
            if report.verified && holder_ok { "ok" } else { "refused" },
            json!({ "error": report.error, "types": report.credentials.iter().flat_map(|c| c.types.clone()).collect::<Vec<_>>() }),
        ))
        .await;
        if !report.verified {
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
            return Ok(Err(reasons));
        }
        if !holder_ok {
            return Ok(Err(vec![format!(
                "the presentation's holder is not the caller `{}`",
                caller.did
            )]));
        }
        let policies = match Policies::from_sources(
            &[(&format!("offer {}", offer.id), &offer.policy)],
            self.schema().clone(),
        ) {
            Ok(policies) => policies,
            Err(diagnostics) => {
                return Err(DspError::Internal(format!(
                    "stored policy of `{}` no longer checks: {}",
                    offer.id,
                    diagnostics.render()
                )))
            }
        };
        let mut attributes = super::claims::request_attributes(&caller.did, &report);
        attributes.insert("action".into(), offer.action.clone().into());
        attributes.insert("offer".into(), offer.id.clone().into());
        if let Some(purpose) = &negotiation.purpose {
            attributes.insert("request".into(), json!({ "purpose": purpose }));
        }
        let decision =
            match Request::from_json(policies.schema(), &serde_json::Value::Object(attributes)) {
                Ok(mut request) => {
                    request.set_now_if_missing(policies.schema());
                    policies.evaluate(&request)
                }
                Err(error) => {
                    return Ok(Err(vec![format!(
                        "the presented credentials do not fit the policy's attributes: {error}"
                    )]))
                }
            };
        self.record(Event::now(
            "policy.decision",
            &caller.did,
            pid,
            if decision.is_permit() {
                "permit"
            } else {
                "deny"
            },
            decision.to_json(),
        ))
        .await;
        if decision.is_permit() {
            let obligations = decision.to_json()["obligations"].take();
            Ok(Ok((negotiation, obligations)))
        } else {
            Ok(Err(decision.reasons()))
        }
    }

    /// Signs and stores the agreement, moves to AGREED and sends it to the consumer.
    async fn agree(
        &self,
        pid: &str,
        negotiation: Negotiation,
        obligations: Value,
    ) -> Result<(), DspError> {
        let offer = self
            .store()
            .offers
            .get(&negotiation.offer_id)?
            .ok_or_else(|| DspError::NotFound(negotiation.offer_id.clone()))?;
        let odrl_offer = catalog::odrl_offer(&offer, self.schema())
            .map_err(|e| DspError::Internal(e.to_string()))?;
        let agreement = super::agreement::sign(
            &self.inner.identity,
            super::agreement::Terms {
                offer: &offer,
                odrl_offer: &odrl_offer,
                assignee: &negotiation.counterparty,
                provider_pid: pid,
                consumer_pid: &negotiation.consumer_pid,
                obligations,
            },
        );
        self.store().agreements.put(&agreement).await?;
        let next = self
            .store()
            .negotiations
            .update(pid, |mut n| {
                n.state = transition(n.state, Role::Provider, Move::Agree)?;
                n.agreement_id = Some(agreement.id.clone());
                n.updated = now();
                Ok::<_, DspError>(n)
            })
            .await??;
        self.changed(pid, &next, self.did()).await;
        let message = messages::build(
            "ContractAgreementMessage",
            json!({
                "providerPid": pid,
                "consumerPid": next.consumer_pid,
                "agreement": super::agreement::message_body(&agreement),
                "callbackAddress": self.dsp_url(),
            }),
        );
        let url = format!(
            "{}/negotiations/{}/agreement",
            next.counterparty_address, next.consumer_pid
        );
        self.tell(pid, &url, &next.counterparty, &message).await;
        Ok(())
    }

    /// Moves VERIFIED → FINALIZED and tells the consumer.
    async fn finalize(&self, pid: &str) {
        let Some(next) = self.own_move(pid, Role::Provider, Move::Finalize).await else {
            return;
        };
        let mut message = messages::build(
            "ContractNegotiationEventMessage",
            json!({ "providerPid": pid, "consumerPid": next.consumer_pid, "eventType": "FINALIZED" }),
        );
        if let (Some(head), Some(object)) = (self.tree_head().await, message.as_object_mut()) {
            object.insert("treeHead".into(), head.into());
        }
        let url = format!(
            "{}/negotiations/{}/events",
            next.counterparty_address, next.consumer_pid
        );
        self.tell(pid, &url, &next.counterparty, &message).await;
    }

    /// Terminates a provider negotiation and tells the consumer why.
    async fn terminate_as_provider(
        &self,
        pid: &str,
        code: &str,
        reasons: Vec<String>,
    ) -> Result<(), DspError> {
        let next = self
            .store()
            .negotiations
            .update(pid, |mut n| {
                n.state = transition(n.state, Role::Provider, Move::Terminate)?;
                n.reason = reasons.clone();
                n.updated = now();
                Ok::<_, DspError>(n)
            })
            .await??;
        self.changed(pid, &next, self.did()).await;
        let message = messages::build(
            "ContractNegotiationTerminationMessage",
            json!({ "providerPid": pid, "consumerPid": next.consumer_pid, "code": code, "reason": reasons }),
        );
        let url = format!(
            "{}/negotiations/{}/termination",
            next.counterparty_address, next.consumer_pid
        );
        self.tell(pid, &url, &next.counterparty, &message).await;
        Ok(())
    }
}

/// The `ContractNegotiation` answer for `negotiation`.
pub(super) fn answer(negotiation: &Negotiation) -> Value {
    messages::negotiation(
        negotiation.provider_pid.as_deref().unwrap_or_default(),
        &negotiation.consumer_pid,
        negotiation.state,
    )
}
