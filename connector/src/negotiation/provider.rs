//! The provider's side: requests come in, the decision is made ([`super::deciding`]), an
//! agreement or a termination goes out (stored once the consumer acknowledged it; tried again a few times when the
//! consumer cannot be reached). For an offer whose `decision` is `manual`, the decision is
//! only assessed and kept as a recommendation; the operator answers ([`super::manual`]).

use serde_json::Value;

use super::auth::Caller;
use super::consumer::StartError;
use super::state::{transition, Move, NegotiationState, Role};
use super::{agreement, terms, DspError, Negotiations};
use crate::catalog::{self, CompiledOffer};
use crate::domain::{new_urn, now, Agreement, Decision, Negotiation, Obligation, PendingDecision};
use crate::protocol::messages::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiation,
    ContractNegotiationEventMessage, ContractRequestMessage, EventType, Message as _,
};
use crate::protocol::peer::check_callback;

impl Negotiations {
    /// `POST /negotiations/request`: a consumer starts a negotiation. Answers the new
    /// `ContractNegotiation` (201); the decision follows asynchronously.
    pub async fn provider_initial_request(
        &self,
        caller: Caller,
        message: ContractRequestMessage,
    ) -> Result<ContractNegotiation, DspError> {
        const TYPE: &str = ContractRequestMessage::TYPE;
        if message.provider_pid.is_some() {
            return Err(DspError::BadRequest(format!(
                "{TYPE}: an initial request must not carry `providerPid`; send a \
                 counter-request to /negotiations/{{providerPid}}/request"
            )));
        }
        let Some(callback) = message.callback_address.clone() else {
            return Err(DspError::BadRequest(format!(
                "{TYPE}: missing field `callbackAddress` (required in an initial request)"
            )));
        };
        let policy = self.cx.network().policy();
        check_callback(&callback, &caller.did, policy).map_err(|source| DspError::Callback {
            message: TYPE,
            source,
        })?;
        let Some(offer_id) = catalog::offer_id_from(&message.offer) else {
            return Err(DspError::BadRequest(format!(
                "{TYPE}: the offer names no `target` and is not one of this catalog's offers"
            )));
        };
        let decision = self
            .check_requested_offer(TYPE, &offer_id, &message.offer.id)
            .await?;
        let provider_pid = new_urn();
        let negotiation = Negotiation {
            role: Role::Provider,
            provider_pid: Some(provider_pid.clone()),
            consumer_pid: Some(message.consumer_pid.clone()),
            state: NegotiationState::Requested,
            offer_id,
            counterparty: caller.did.clone(),
            counterparty_address: callback.trim_end_matches('/').to_owned(),
            offer: message.offer,
            agreement_id: None,
            reason: Vec::new(),
            purpose: caller.purpose.clone(),
            pending: Some(pending(&caller, None)),
            decision,
            recommendation: None,
            created: now(),
            updated: now(),
        };
        let answer = answer(&negotiation);
        self.open(&provider_pid, negotiation, &caller.did).await?;
        self.decide_later(&provider_pid);
        Ok(answer)
    }

    /// Refuses, at request time, a request for a dataset this catalog does not hold, or one
    /// naming an offer `@id` this provider never made for it (the target alone does not decide);
    /// answers who decides on the offer.
    async fn check_requested_offer(
        &self,
        message: &str,
        offer_id: &str,
        offer_iri: &str,
    ) -> Result<Decision, DspError> {
        let key = offer_id.to_owned();
        let known = self
            .cx
            .store()
            .blocking(move |s| s.offers.get(&key))
            .await?;
        let Some(offer) = known else {
            return Err(DspError::BadRequest(format!(
                "{message}: dataset `{}` is not in this provider's catalog",
                offer_id.chars().take(100).collect::<String>()
            )));
        };
        if offer_iri != catalog::offer_iri(offer_id) {
            return Err(DspError::BadRequest(format!(
                "{message}: offer `{}` is not an offer of this catalog for dataset `{offer_id}`",
                offer_iri.chars().take(100).collect::<String>()
            )));
        }
        Ok(offer.decision)
    }

    /// `POST /negotiations/:pid/request`: a counter-request (only after an offer). The offer
    /// it asks for is checked against the policy ([`super::terms`]); one the policy does not
    /// permit is refused by the decision that follows, with the reason.
    pub async fn provider_counter_request(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractRequestMessage,
    ) -> Result<ContractNegotiation, DspError> {
        let current = self.negotiation_for(pid, &caller.did).await?;
        let stored = self.stored_offer(&current.offer_id).await?;
        let offer_refused = match stored {
            Some(offer) => {
                let compiled = self.cx.offers().compiled(&offer)?;
                terms::within_policy(&message.offer, &compiled)
                    .err()
                    .map(|why| format!("the offer asked for is not permitted: {why}"))
            }
            None => Some(format!(
                "offer `{}` is no longer in this provider's catalog",
                current.offer_id
            )),
        };
        let (offer, purpose) = (message.offer, caller.purpose.clone());
        let pending = pending(&caller, offer_refused);
        let next = self
            .provider_move(
                pid,
                &caller,
                &message.consumer_pid,
                Move::Request,
                move |n| {
                    n.offer = offer.clone();
                    n.purpose = purpose.clone();
                    n.pending = Some(pending.clone());
                    n.recommendation = None;
                },
            )
            .await?;
        self.decide_later(pid);
        Ok(answer(&next))
    }

    /// `POST /negotiations/:pid/events` on the provider: the consumer accepted an offer.
    pub async fn provider_event(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractNegotiationEventMessage,
    ) -> Result<ContractNegotiation, DspError> {
        if message.event_type != EventType::Accepted {
            let n = self.negotiation_for(pid, &caller.did).await?;
            return Err(super::state::IllegalTransition {
                from: n.state,
                message: Move::Finalize.message(),
                by: Some(Role::Consumer),
            }
            .into());
        }
        let (purpose, pending) = (caller.purpose.clone(), pending(&caller, None));
        let next = self
            .provider_move(
                pid,
                &caller,
                &message.consumer_pid,
                Move::Accept,
                move |n| {
                    n.purpose = purpose.clone();
                    n.pending = Some(pending.clone());
                    n.recommendation = None;
                },
            )
            .await?;
        self.decide_later(pid);
        Ok(answer(&next))
    }

    /// `POST /negotiations/:pid/agreement/verification`: the consumer verified the agreement;
    /// the provider finalises.
    pub async fn provider_verification(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractAgreementVerificationMessage,
    ) -> Result<ContractNegotiation, DspError> {
        let next = self
            .provider_move(pid, &caller, &message.consumer_pid, Move::Verify, |_| {})
            .await?;
        self.witness(&caller.did, message.tree_head.as_deref())
            .await?;
        let service = self.clone();
        let pid = pid.to_owned();
        tokio::spawn(async move { service.finalize(&pid).await });
        Ok(answer(&next))
    }

    /// Checks and applies a consumer's message to a provider negotiation, once a move of this
    /// connector's in flight on it has settled.
    async fn provider_move(
        &self,
        pid: &str,
        caller: &Caller,
        consumer_pid: &str,
        mv: Move,
        also: impl Fn(&mut Negotiation) + Send + Sync + 'static,
    ) -> Result<Negotiation, DspError> {
        let _slot = self.settle(pid).await;
        let current = self.negotiation_for(pid, &caller.did).await?;
        if current.role != Role::Provider || current.consumer_pid.as_deref() != Some(consumer_pid) {
            return Err(DspError::NotFound(format!(
                "no provider negotiation `{pid}` with consumer process `{consumer_pid}`"
            )));
        }
        self.apply_move(pid, &caller.did, Role::Consumer, mv, also)
            .await
    }

    /// The agreement on `negotiation`'s terms: the policy of `offer` with its `obligations`,
    /// and the duties the negotiated offer added (when it is one the policy permits), signed.
    pub(super) fn agreement_for(
        &self,
        pid: &str,
        negotiation: &Negotiation,
        offer: &CompiledOffer,
        obligations: Vec<Obligation>,
        grounds: Vec<Value>,
    ) -> Result<Agreement, DspError> {
        let consumer_pid = negotiation.consumer_pid.as_deref().ok_or_else(|| {
            DspError::BadRequest(format!("negotiation `{pid}` has no consumer process yet"))
        })?;
        let added_duties = terms::within_policy(&negotiation.offer, offer).unwrap_or_default();
        Ok(agreement::sign(
            self.cx.identity(),
            agreement::Terms {
                offer,
                assignee: &negotiation.counterparty,
                provider_pid: pid,
                consumer_pid,
                obligations,
                grounds,
                added_duties,
            },
        ))
    }

    /// Sends `agreement` to the consumer and, once it acknowledged it, stores it with the move
    /// to AGREED (one transaction).
    pub(super) async fn send_agreement(
        &self,
        pid: &str,
        agreement: &Agreement,
    ) -> Result<Negotiation, StartError> {
        let (_slot, current) = self.begin_move(pid, Move::Agree).await?;
        let message = ContractAgreementMessage {
            provider_pid: pid.to_owned(),
            consumer_pid: agreement.consumer_pid.clone(),
            agreement: agreement::message_body(agreement),
            callback_address: Some(
                self.cx
                    .network()
                    .callback_for(&current.counterparty_address),
            ),
        };
        self.deliver(pid, &current, "/agreement", &message, None)
            .await?;
        let (key, stored) = (pid.to_owned(), agreement.clone());
        let (record, agreement_id) = (self.record(pid, self.did()), agreement.id.clone());
        let next = self
            .cx
            .store()
            .blocking(move |s| {
                s.negotiations.update_with_agreement(
                    &key,
                    &stored,
                    Box::new(move |mut n| {
                        n.state = transition(n.state, Role::Provider, Move::Agree)?;
                        n.agreement_id = Some(agreement_id);
                        n.pending = None;
                        n.updated = now();
                        Ok(n)
                    }),
                    record,
                )
            })
            .await
            .map_err(DspError::from)?;
        self.announce(pid, &next);
        Ok(next)
    }

    /// Finalises a VERIFIED negotiation: tells the consumer, with this connector's tree head,
    /// and moves to FINALIZED once it acknowledged (tried again a few times).
    pub(super) async fn finalize(&self, pid: &str) {
        self.retrying(pid, "finalization", || self.send_finalization(pid))
            .await;
    }

    /// One attempt of [`Negotiations::finalize`].
    async fn send_finalization(&self, pid: &str) -> Result<Negotiation, StartError> {
        let (_slot, current) = self.begin_move(pid, Move::Finalize).await?;
        let message = ContractNegotiationEventMessage {
            provider_pid: pid.to_owned(),
            consumer_pid: current.consumer_pid.clone().unwrap_or_default(),
            event_type: EventType::Finalized,
            tree_head: self.tree_head().await,
        };
        self.deliver(pid, &current, "/events", &message, None)
            .await?;
        let did = self.did().to_owned();
        Ok(self
            .apply_move(pid, &did, Role::Provider, Move::Finalize, |_| {})
            .await?)
    }
}

/// What the decision on `caller`'s request reads later; `offer_refused` says why the offer
/// it asks for is not permitted, if it is not.
fn pending(caller: &Caller, offer_refused: Option<String>) -> PendingDecision {
    PendingDecision {
        jti: caller.jti.clone(),
        presentation: caller.presentation.clone(),
        access_token: caller
            .presentation
            .is_none()
            .then(|| caller.access_token.clone())
            .flatten(),
        credential_service: caller.credential_service.clone(),
        offer_refused,
    }
}

/// The `ContractNegotiation` answer for `negotiation`.
pub(super) fn answer(negotiation: &Negotiation) -> ContractNegotiation {
    ContractNegotiation {
        provider_pid: negotiation.provider_pid.clone().unwrap_or_default(),
        consumer_pid: negotiation.consumer_pid.clone().unwrap_or_default(),
        state: negotiation.state,
    }
}
