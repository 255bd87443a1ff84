//! The consumer's side: start a negotiation, then follow the provider's messages to the
//! outcome. Also the messages either side may receive (termination, state queries).

use serde_json::{json, Value};
use symbolon_identity::{create_presentation, Format};

use super::auth::{Caller, TokenDraft};
use super::messages::{
    self, ContractAgreementMessage, ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage, ContractOfferMessage, EventType,
};
use super::provider::answer;
use super::state::{transition, IllegalTransition, Move, NegotiationState, Role};
use super::{now, DspError, Negotiator, SendError};
use crate::catalog;
use crate::store::negotiations::Negotiation;

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
}

/// Why a negotiation could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The request is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The provider could not be asked.
    #[error(transparent)]
    Send(#[from] SendError),
    /// Something failed here.
    #[error(transparent)]
    Internal(#[from] DspError),
}

impl Negotiator {
    /// Starts a negotiation as consumer: fetches the offer from the provider's catalog,
    /// presents this connector's held credentials bound to the call, and sends the request.
    /// Returns the negotiation as stored (REQUESTED, or TERMINATED if the provider refused
    /// the call outright).
    pub async fn start(&self, start: StartNegotiation) -> Result<Negotiation, StartError> {
        let base = super::operator::http_base(&start.provider_url, "provider_url")?;
        let provider_did = match start.provider_did.clone() {
            Some(did) => did,
            None => self.participant_did(&base).await?,
        };
        let dataset = self
            .fetch(
                &format!("{base}/catalog/datasets/{}", start.offer_id),
                &provider_did,
            )
            .await?;
        let mut offer = dataset
            .get("hasPolicy")
            .and_then(Value::as_array)
            .and_then(|p| p.first())
            .cloned()
            .ok_or_else(|| {
                StartError::Invalid(format!(
                    "the provider's dataset `{}` has no offer",
                    start.offer_id
                ))
            })?;
        if let Some(object) = offer.as_object_mut() {
            object.insert("target".into(), start.offer_id.clone().into());
        }
        let consumer_pid = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let negotiation = Negotiation {
            role: Role::Consumer,
            provider_pid: None,
            consumer_pid: consumer_pid.clone(),
            state: NegotiationState::Requested,
            offer_id: start.offer_id.clone(),
            counterparty: provider_did.clone(),
            counterparty_address: base.clone(),
            offer: offer.clone(),
            agreement_id: None,
            reason: Vec::new(),
            purpose: start.purpose.clone(),
            created: now(),
            updated: now(),
        };
        self.open_negotiation(&consumer_pid, &negotiation, self.did())
            .await?;
        let token = self
            .presenting_token(&provider_did, start.purpose.as_deref())
            .await?;
        let message = messages::build(
            "ContractRequestMessage",
            json!({ "consumerPid": consumer_pid, "offer": offer, "callbackAddress": self.callback_for(&base) }),
        );
        let url = format!("{base}/negotiations/request");
        match self.send(&url, &provider_did, &message, Some(token)).await {
            Ok(answer) => {
                let provider_pid = answer
                    .get("providerPid")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let next = self
                    .store()
                    .negotiations
                    .update(&consumer_pid, |mut n| {
                        if n.provider_pid.is_none() {
                            n.provider_pid = provider_pid;
                        }
                        Ok::<_, DspError>(n)
                    })
                    .await
                    .map_err(DspError::from)??;
                Ok(next)
            }
            Err(error) => {
                let reason = error.to_string();
                let next = self
                    .store()
                    .negotiations
                    .update(&consumer_pid, |mut n| {
                        n.state = transition(n.state, Role::Consumer, Move::Terminate)?;
                        n.reason = vec![reason];
                        n.updated = now();
                        Ok::<_, DspError>(n)
                    })
                    .await
                    .map_err(DspError::from)??;
                self.changed(&consumer_pid, &next, self.did()).await;
                Ok(next)
            }
        }
    }

    /// A self-issued token for `audience` that presents this connector's held credentials,
    /// bound to the token's id, and states `purpose`.
    pub(super) async fn presenting_token(
        &self,
        audience: &str,
        purpose: Option<&str>,
    ) -> Result<String, StartError> {
        let draft = TokenDraft::new(audience);
        let held: Vec<_> = self
            .store()
            .credentials
            .list()
            .map_err(DspError::from)?
            .iter()
            .map(|c| c.secured())
            .collect();
        let presentation = create_presentation(
            &self.inner.identity,
            &held,
            Format::Jwt,
            &draft.jti,
            audience,
        )
        .await
        .map_err(|e| StartError::Invalid(format!("cannot present the held credentials: {e}")))?;
        Ok(draft.sign(&self.inner.identity, Some(&presentation.to_text()), purpose))
    }

    /// The counterparty's DID from its `/.well-known/dspace-version` (`participantId`).
    pub(super) async fn participant_did(&self, base: &str) -> Result<String, StartError> {
        if let Some((peer, _)) = crate::dsp_p2p::split(base) {
            // On the peer network the address names the peer, and the peer its did:key.
            return peer
                .parse::<symbolon_p2p::PeerId>()
                .ok()
                .and_then(|id| symbolon_p2p::did_of_peer(&id).ok())
                .map(|did| did.to_string())
                .ok_or_else(|| {
                    StartError::Invalid(format!("`{peer}` in `{base}` is not a PeerId"))
                });
        }
        let origin = origin(base);
        let url = format!("{origin}/.well-known/dspace-version");
        let response =
            self.inner
                .http
                .get(&url)
                .send()
                .await
                .map_err(|e| SendError::Unreachable {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
        let document = super::read_answer(&url, response).await?;
        document
            .get("protocolVersions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|v| v.get("version").and_then(Value::as_str) == Some("2025-1"))
            .and_then(|v| v.get("participantId"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                StartError::Invalid(format!(
                    "`{url}` names no `participantId` for version 2025-1; pass the counterparty's DID"
                ))
            })
    }

    /// `POST /negotiations/offers`: a provider starts a negotiation with an offer. It is
    /// stored as OFFERED for this connector's operator to answer.
    pub async fn consumer_initial_offer(
        &self,
        caller: Caller,
        message: ContractOfferMessage,
    ) -> Result<Value, DspError> {
        if message.consumer_pid.is_some() {
            return Err(DspError::BadRequest(
                "ContractOfferMessage: an initial offer must not carry `consumerPid`".into(),
            ));
        }
        let Some(callback) = message.callback_address.clone() else {
            return Err(DspError::BadRequest(
                "ContractOfferMessage: missing field `callbackAddress` (required in an initial offer)".into(),
            ));
        };
        crate::dsp_p2p::check_callback(&callback, &caller.did).map_err(|why| {
            DspError::BadRequest(format!(
                "ContractOfferMessage: field `callbackAddress` {why}"
            ))
        })?;
        let consumer_pid = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let negotiation = Negotiation {
            role: Role::Consumer,
            provider_pid: Some(message.provider_pid.clone()),
            consumer_pid: consumer_pid.clone(),
            state: NegotiationState::Offered,
            offer_id: catalog::offer_id_from(&message.offer.id, message.offer.target.as_deref()),
            counterparty: caller.did.clone(),
            counterparty_address: callback.trim_end_matches('/').to_owned(),
            offer: serde_json::to_value(&message.offer).unwrap_or_default(),
            agreement_id: None,
            reason: Vec::new(),
            purpose: None,
            created: now(),
            updated: now(),
        };
        self.open_negotiation(&consumer_pid, &negotiation, &caller.did)
            .await?;
        Ok(answer(&negotiation))
    }

    /// `POST /negotiations/:pid/offers`: a counter-offer from the provider.
    pub async fn consumer_counter_offer(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractOfferMessage,
    ) -> Result<Value, DspError> {
        let offer = serde_json::to_value(&message.offer).unwrap_or_default();
        let next = self
            .consumer_move(pid, &caller, &message.provider_pid, Move::Offer, |n| {
                n.offer = offer
            })
            .await?;
        Ok(answer(&next))
    }

    /// `POST /negotiations/:pid/agreement`: the provider's signed agreement. It is verified,
    /// stored, and answered with a verification message.
    pub async fn consumer_agreement(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractAgreementMessage,
        raw: &Value,
    ) -> Result<Value, DspError> {
        let current = self.negotiation_for(pid, &caller.did)?;
        if current.role != Role::Consumer {
            return Err(DspError::NotFound(format!(
                "no consumer negotiation `{pid}`"
            )));
        }
        transition(current.state, Role::Provider, Move::Agree)?;
        let body = raw.get("agreement").cloned().unwrap_or_default();
        let (odrl, signature) = super::agreement::verify(
            &body,
            &current.counterparty,
            self.did(),
            &current.offer_id,
            self.resolver(),
        )
        .await
        .map_err(|e| DspError::BadRequest(format!("ContractAgreementMessage: {e}")))?;
        let agreement = crate::store::agreements::Agreement {
            id: message.agreement.id.clone(),
            offer_id: current.offer_id.clone(),
            provider: current.counterparty.clone(),
            assignee: self.did().to_owned(),
            provider_pid: message.provider_pid.clone(),
            consumer_pid: pid.to_owned(),
            policy: String::new(),
            action: String::new(),
            obligations: odrl.get("obligation").cloned().unwrap_or(json!([])),
            odrl,
            signature,
            timestamp: message.agreement.timestamp.clone().unwrap_or_else(now),
        };
        self.store().agreements.put(&agreement).await?;
        let agreement_id = agreement.id.clone();
        let provider_pid = message.provider_pid.clone();
        let next = self
            .consumer_move(pid, &caller, &message.provider_pid, Move::Agree, |n| {
                n.agreement_id = Some(agreement_id);
                n.provider_pid = Some(provider_pid);
            })
            .await?;
        let engine = self.clone();
        let pid = pid.to_owned();
        tokio::spawn(async move { engine.verify_agreement(&pid).await });
        Ok(answer(&next))
    }

    /// Moves AGREED → VERIFIED and tells the provider.
    async fn verify_agreement(&self, pid: &str) {
        let Some(next) = self.own_move(pid, Role::Consumer, Move::Verify).await else {
            return;
        };
        let provider_pid = next.provider_pid.clone().unwrap_or_default();
        let mut message = messages::build(
            "ContractAgreementVerificationMessage",
            json!({ "providerPid": provider_pid, "consumerPid": pid }),
        );
        if let (Some(head), Some(object)) = (self.tree_head().await, message.as_object_mut()) {
            object.insert("treeHead".into(), head.into());
        }
        let url = format!(
            "{}/negotiations/{provider_pid}/agreement/verification",
            next.counterparty_address
        );
        self.tell(pid, &url, &next.counterparty, &message).await;
    }

    /// `POST /negotiations/:pid/events` on the consumer: the provider finalised.
    pub async fn consumer_event(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractNegotiationEventMessage,
    ) -> Result<Value, DspError> {
        if message.event_type != EventType::Finalized {
            let n = self.negotiation_for(pid, &caller.did)?;
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
            .await;
        Ok(answer(&next))
    }

    /// `POST /negotiations/:pid/termination`, on either side.
    pub async fn terminated_by_counterparty(
        &self,
        pid: &str,
        caller: Caller,
        message: ContractNegotiationTerminationMessage,
    ) -> Result<Value, DspError> {
        let current = self.negotiation_for(pid, &caller.did)?;
        let (other_pid, by) = match current.role {
            Role::Provider => (&message.consumer_pid, Role::Consumer),
            Role::Consumer => (&message.provider_pid, Role::Provider),
        };
        let expected = match current.role {
            Role::Provider => Some(current.consumer_pid.as_str()),
            Role::Consumer => current.provider_pid.as_deref(),
        };
        if expected.is_some_and(|e| e != other_pid) {
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
            .store()
            .negotiations
            .update(pid, |mut n| {
                n.state = transition(n.state, by, Move::Terminate)?;
                n.reason = reasons;
                n.updated = now();
                Ok::<_, DspError>(n)
            })
            .await??;
        self.changed(pid, &next, &caller.did).await;
        Ok(answer(&next))
    }

    /// `GET /negotiations/:pid`, on either side.
    pub fn negotiation_state(&self, pid: &str, caller: &Caller) -> Result<Value, DspError> {
        Ok(answer(&self.negotiation_for(pid, &caller.did)?))
    }

    /// Checks and applies a provider's message to a consumer negotiation.
    async fn consumer_move(
        &self,
        pid: &str,
        caller: &Caller,
        provider_pid: &str,
        mv: Move,
        also: impl FnOnce(&mut Negotiation),
    ) -> Result<Negotiation, DspError> {
        let current = self.negotiation_for(pid, &caller.did)?;
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

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}
