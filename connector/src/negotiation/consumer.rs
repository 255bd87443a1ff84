//! The consumer's side: start a negotiation, then follow the provider's messages to the
//! outcome. Also the messages either side may receive (termination, state queries).

use serde_json::Value;

use super::auth::Caller;
use super::inflight::Busy;
use super::provider::answer;
use super::state::{IllegalTransition, Move, NegotiationState, Role};
use super::{agreement, DspError, Negotiations};
use crate::catalog::Dataset;
use crate::domain::{new_urn, now, Agreement, Decision, Negotiation};
use crate::messenger::SendError;
use crate::protocol::messages::{
    self, ContractAgreementMessage, ContractNegotiation, ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage, ContractOfferMessage, ContractRequestMessage, EventType,
    Message as _,
};
use crate::protocol::peer::check_callback;
use crate::protocol::pid;
use crate::store::Record;

/// What a consumer asks for.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct StartNegotiation {
    /// The provider's protocol base URL (e.g. `https://provider.example/dsp/2025-1`).
    pub provider_url: String,
    /// The provider's DID; when absent it is read from the provider's
    /// `/.well-known/dspace-version` (`participantId`).
    #[serde(default)]
    pub provider_did: Option<String>,
    /// The offer (dataset) id in the provider's catalog.
    pub offer_id: String,
    /// The purpose to state to the provider's policy.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Who answers the provider on this side: `auto` (default: an agreement received is
    /// verified at once) or `manual` (the operator verifies it, or terminates).
    #[serde(default)]
    pub decision: Decision,
}

/// Why a negotiation could not be started, or an operator's move made.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The request is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The counterparty could not be asked.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The counterparty's answer is unusable.
    #[error("the counterparty's answer is unusable: {0}")]
    Answer(#[source] serde_json::Error),
    /// The held credentials cannot be presented.
    #[error("cannot present the held credentials: {0}")]
    Present(#[from] symbolon_identity::IssueError),
    /// Another move on the negotiation is in flight (409).
    #[error(transparent)]
    Busy(#[from] Busy),
    /// The negotiation does not allow the move now, for the reason given (409).
    #[error("{0}")]
    Conflict(String),
    /// Something failed here.
    #[error(transparent)]
    Internal(#[from] DspError),
}

impl From<crate::store::StoreError> for StartError {
    fn from(error: crate::store::StoreError) -> Self {
        StartError::Internal(error.into())
    }
}

impl Negotiations {
    /// Starts a negotiation as consumer: fetches the offer from the provider's catalog,
    /// presents this connector's held credentials bound to the call, and sends the request.
    /// Returns the negotiation as stored: REQUESTED once the provider acknowledged, with its
    /// process id; TERMINATED with the reason if the provider could not be reached or refused.
    ///
    /// The process is stored (REQUESTED) before the request is sent, its slot held until the
    /// answer is in, so that the provider's first message finds it. A request that fails
    /// leaves no process at the provider to keep in step with, and a retry would be a new
    /// request (a new presentation, a new process id): so this one ends here, TERMINATED with
    /// the reason, rather than staying REQUESTED for an answer that cannot come; the failed
    /// send is on record.
    pub async fn start(&self, start: StartNegotiation) -> Result<Negotiation, StartError> {
        let policy = self.cx.network().policy();
        let base = super::operator::protocol_base(&start.provider_url, "provider_url", policy)?;
        let provider_did = match start.provider_did.clone() {
            Some(did) => did,
            None => self.participant_did(&base).await?,
        };
        let offer_segment = pid::segment(&start.offer_id)
            .map_err(|e| StartError::Invalid(format!("`offer_id`: {e}")))?;
        let dataset = self
            .fetch(
                &format!("{base}/catalog/datasets/{offer_segment}"),
                &provider_did,
            )
            .await?;
        let dataset: Dataset = serde_json::from_value(dataset).map_err(StartError::Answer)?;
        let mut offer = dataset.has_policy.into_iter().next().ok_or_else(|| {
            StartError::Invalid(format!(
                "the provider's dataset `{}` has no offer",
                start.offer_id
            ))
        })?;
        offer.target = Some(start.offer_id.clone());
        let consumer_pid = new_urn();
        let negotiation = Negotiation {
            role: Role::Consumer,
            provider_pid: None,
            consumer_pid: Some(consumer_pid.clone()),
            state: NegotiationState::Requested,
            offer_id: start.offer_id.clone(),
            counterparty: provider_did.clone(),
            counterparty_address: base.clone(),
            offer: offer.clone(),
            agreement_id: None,
            reason: Vec::new(),
            purpose: start.purpose.clone(),
            pending: None,
            decision: start.decision,
            recommendation: None,
            created: now(),
            updated: now(),
        };
        let _slot = self
            .cx
            .negotiation_moves()
            .hold(&consumer_pid, super::inflight::SETTLE)
            .await?;
        let token = self
            .presenting_token(&provider_did, &base, start.purpose.as_deref(), &offer)
            .await?;
        self.open(&consumer_pid, negotiation, self.did()).await?;
        let message = ContractRequestMessage {
            consumer_pid: consumer_pid.clone(),
            provider_pid: None,
            offer,
            callback_address: Some(self.cx.network().callback_for(&base)),
        };
        let url = format!("{base}/negotiations/request");
        match self.send(&url, &provider_did, &message, Some(token)).await {
            Ok(answer) => {
                // A provider process id outside the allowed set is not kept: the agreement
                // message names it again, and is checked then.
                let provider_pid = messages::parse_members::<ContractNegotiation>(&answer)
                    .ok()
                    .map(|a| a.provider_pid);
                Ok(self
                    .update(&consumer_pid, None, move |mut n| {
                        if n.provider_pid.is_none() {
                            n.provider_pid = provider_pid;
                        }
                        Ok(n)
                    })
                    .await?)
            }
            Err(error) => {
                self.send_failed(
                    &consumer_pid,
                    ContractRequestMessage::TYPE,
                    &error.to_string(),
                )
                .await;
                Ok(self
                    .terminate_here(&consumer_pid, Role::Consumer, vec![error.to_string()])
                    .await?)
            }
        }
    }

    /// `POST /negotiations/offers`: a provider starts a negotiation with an offer. It is
    /// stored as OFFERED for this connector's operator to answer.
    pub async fn consumer_initial_offer(
        &self,
        caller: Caller,
        message: ContractOfferMessage,
    ) -> Result<ContractNegotiation, DspError> {
        const TYPE: &str = ContractOfferMessage::TYPE;
        if message.consumer_pid.is_some() {
            return Err(DspError::BadRequest(format!(
                "{TYPE}: an initial offer must not carry `consumerPid`"
            )));
        }
        let Some(callback) = message.callback_address.clone() else {
            return Err(DspError::BadRequest(format!(
                "{TYPE}: missing field `callbackAddress` (required in an initial offer)"
            )));
        };
        let policy = self.cx.network().policy();
        check_callback(&callback, &caller.did, policy).map_err(|source| DspError::Callback {
            message: TYPE,
            source,
        })?;
        let Some(offer_id) = crate::catalog::offer_id_from(&message.offer) else {
            return Err(DspError::BadRequest(format!(
                "{TYPE}: the offer names no `target`"
            )));
        };
        let consumer_pid = new_urn();
        let negotiation = Negotiation {
            role: Role::Consumer,
            provider_pid: Some(message.provider_pid.clone()),
            consumer_pid: Some(consumer_pid.clone()),
            state: NegotiationState::Offered,
            offer_id,
            counterparty: caller.did.clone(),
            counterparty_address: callback.trim_end_matches('/').to_owned(),
            offer: message.offer,
            agreement_id: None,
            reason: Vec::new(),
            purpose: None,
            pending: None,
            decision: Decision::Auto,
            recommendation: None,
            created: now(),
            updated: now(),
        };
        let answer = answer(&negotiation);
        self.open(&consumer_pid, negotiation, &caller.did).await?;
        Ok(answer)
    }

    /// `POST /negotiations/:pid/offers`: a counter-offer from the provider.
    pub async fn consumer_counter_offer(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractOfferMessage,
    ) -> Result<ContractNegotiation, DspError> {
        let offer = message.offer;
        let next = self
            .consumer_move(pid, &caller, &message.provider_pid, Move::Offer, move |n| {
                n.offer = offer.clone()
            })
            .await?;
        Ok(answer(&next))
    }

    /// `POST /negotiations/:pid/agreement`: the provider's signed agreement. It is verified,
    /// stored with the move to AGREED, and answered with a verification message (in `manual`
    /// mode the operator verifies).
    pub async fn consumer_agreement(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractAgreementMessage,
    ) -> Result<ContractNegotiation, DspError> {
        let _slot = self.settle(pid).await;
        let current = self.negotiation_for(pid, &caller.did).await?;
        if current.role != Role::Consumer
            || current
                .provider_pid
                .as_deref()
                .is_some_and(|p| p != message.provider_pid)
        {
            return Err(DspError::NotFound(format!(
                "no consumer negotiation `{pid}` with provider process `{}`",
                message.provider_pid
            )));
        }
        super::state::transition(current.state, Role::Provider, Move::Agree)?;
        let verified = agreement::verify(
            &message.agreement,
            &current.counterparty,
            self.did(),
            &current.offer_id,
            &self.cx.verification().resolver,
        )
        .await
        .map_err(|e| DspError::BadRequest(format!("{}: {e}", ContractAgreementMessage::TYPE)))?;
        let agreement = Agreement {
            id: message.agreement.id.clone(),
            offer_id: current.offer_id.clone(),
            provider: current.counterparty.clone(),
            assignee: self.did().to_owned(),
            provider_pid: message.provider_pid.clone(),
            consumer_pid: pid.to_owned(),
            action: verified.action,
            obligations: verified.obligations,
            policy: None,
            odrl: verified.odrl,
            signature: verified.signature,
            timestamp: message.agreement.timestamp.clone().unwrap_or_else(now),
            grounds: Vec::new(),
            withdrawn: None,
        };
        let (key, provider_pid) = (pid.to_owned(), message.provider_pid.clone());
        let transition = self.record(pid, &caller.did);
        let signed = agreement.signature.is_some();
        // The trail says whether the provider signed what this consumer agreed to.
        let record: Record = Box::new(move |n| {
            let mut event = transition(n);
            event
                .details
                .get_or_insert_with(Default::default)
                .insert("agreement_signed".into(), signed.into());
            event
        });
        let agreement_id = agreement.id.clone();
        let next = self
            .cx
            .store()
            .blocking(move |s| {
                s.negotiations.update_with_agreement(
                    &key,
                    &agreement,
                    Box::new(move |mut n| {
                        n.state = super::state::transition(n.state, Role::Provider, Move::Agree)?;
                        n.agreement_id = Some(agreement_id);
                        n.provider_pid = Some(provider_pid);
                        n.updated = now();
                        Ok(n)
                    }),
                    record,
                )
            })
            .await
            .map_err(DspError::from)?;
        self.announce(pid, &next);
        if !next.decision.is_manual() {
            let service = self.clone();
            let pid = pid.to_owned();
            tokio::spawn(async move { service.verify_agreement(&pid).await });
        }
        Ok(answer(&next))
    }

    /// Verifies a received agreement on its own (`auto` mode): tells the provider, and moves
    /// AGREED → VERIFIED once it acknowledged (tried again a few times).
    pub(super) async fn verify_agreement(&self, pid: &str) {
        self.retrying(pid, "verification", || self.send_verification(pid))
            .await;
    }

    /// Tells the provider that the agreement of `pid` is verified, with this connector's tree
    /// head, and moves AGREED → VERIFIED once it acknowledged.
    pub(super) async fn send_verification(&self, pid: &str) -> Result<Negotiation, StartError> {
        let (_slot, current) = self.begin_move(pid, Move::Verify).await?;
        let message = crate::protocol::messages::ContractAgreementVerificationMessage {
            provider_pid: current.provider_pid.clone().unwrap_or_default(),
            consumer_pid: pid.to_owned(),
            tree_head: self.tree_head().await,
        };
        self.deliver(pid, &current, "/agreement/verification", &message, None)
            .await?;
        let did = self.did().to_owned();
        Ok(self
            .apply_move(pid, &did, Role::Consumer, Move::Verify, |_| {})
            .await?)
    }

    /// `POST /negotiations/:pid/events` on the consumer: the provider finalised.
    pub async fn consumer_event(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractNegotiationEventMessage,
    ) -> Result<ContractNegotiation, DspError> {
        if message.event_type != EventType::Finalized {
            let n = self.negotiation_for(pid, &caller.did).await?;
            return Err(IllegalTransition {
                from: n.state,
                message: Move::Accept.message(),
                by: Some(Role::Provider),
            }
            .into());
        }
        let next = self
            .consumer_move(pid, &caller, &message.provider_pid, Move::Finalize, |_| {})
            .await?;
        self.witness(&caller.did, message.tree_head.as_deref())
            .await?;
        Ok(answer(&next))
    }

    /// `POST /negotiations/:pid/termination`, on either side.
    pub async fn terminated_by_counterparty(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractNegotiationTerminationMessage,
    ) -> Result<ContractNegotiation, DspError> {
        let _slot = self.settle(pid).await;
        let current = self.negotiation_for(pid, &caller.did).await?;
        let (other_pid, by) = match current.role {
            Role::Provider => (&message.consumer_pid, Role::Consumer),
            Role::Consumer => (&message.provider_pid, Role::Provider),
        };
        if current.their_pid().is_some_and(|known| known != other_pid) {
            return Err(DspError::NotFound(format!(
                "negotiation `{pid}` is not paired with process `{other_pid}`"
            )));
        }
        let reasons: Vec<String> = message
            .reason
            .unwrap_or_default()
            .iter()
            .map(|r| match r {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let next = self
            .apply_move(pid, &caller.did, by, Move::Terminate, move |n| {
                n.reason = reasons.clone();
                n.pending = None;
            })
            .await?;
        Ok(answer(&next))
    }

    /// `GET /negotiations/:pid`, on either side.
    pub async fn negotiation_state(
        &self,
        pid: &str,
        caller: &Caller,
    ) -> Result<ContractNegotiation, DspError> {
        Ok(answer(&self.negotiation_for(pid, &caller.did).await?))
    }

    /// Checks and applies a provider's message to a consumer negotiation, once a move of this
    /// connector's in flight on it has settled.
    async fn consumer_move(
        &self,
        pid: &str,
        caller: &Caller,
        provider_pid: &str,
        mv: Move,
        also: impl Fn(&mut Negotiation) + Send + Sync + 'static,
    ) -> Result<Negotiation, DspError> {
        let _slot = self.settle(pid).await;
        let current = self.negotiation_for(pid, &caller.did).await?;
        if current.role != Role::Consumer
            || current
                .provider_pid
                .as_deref()
                .is_some_and(|p| p != provider_pid)
        {
            return Err(DspError::NotFound(format!(
                "no consumer negotiation `{pid}` with provider process `{provider_pid}`"
            )));
        }
        self.apply_move(pid, &caller.did, Role::Provider, mv, also)
            .await
    }
}
