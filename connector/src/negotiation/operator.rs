//! Moves a connector's operator makes through the management API, besides starting a
//! negotiation: a provider offers a contract to a consumer, a consumer accepts an offer it
//! received, and either side terminates a negotiation that is still open.

use serde_json::json;

use super::consumer::StartError;
use super::messages;
use super::state::{transition, Move, NegotiationState, Role};
use super::{now, DspError, Negotiator};
use crate::catalog;
use crate::store::negotiations::Negotiation;

/// A contract a provider offers to a consumer.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct OfferContract {
    /// The consumer's protocol base URL (e.g. `https://consumer.example/dsp/2025-1`).
    pub consumer_url: String,
    /// The consumer's DID; when absent it is read from the consumer's
    /// `/.well-known/dspace-version` (`participantId`).
    #[serde(default)]
    pub consumer_did: Option<String>,
    /// The offer in this connector's catalog.
    pub offer_id: String,
}

impl Negotiator {
    /// Offers the contract of one of this connector's offers to a consumer (a provider-initiated
    /// negotiation). Returns the negotiation as stored: OFFERED, with the consumer's process id,
    /// or TERMINATED when the consumer could not be reached or refused the offer. The consumer
    /// then accepts (this connector verifies its presentation against the offer's policy and
    /// agrees or terminates) or terminates.
    pub async fn offer_contract(&self, request: OfferContract) -> Result<Negotiation, StartError> {
        let base = http_base(&request.consumer_url, "consumer_url")?;
        let Some(offer) = self
            .store()
            .offers
            .get(&request.offer_id)
            .map_err(DspError::from)?
        else {
            return Err(StartError::Invalid(format!(
                "no offer `{}` in this connector's catalog",
                request.offer_id
            )));
        };
        let mut odrl = catalog::odrl_offer(&offer, self.schema())
            .map_err(|e| StartError::Invalid(e.to_string()))?;
        if let Some(object) = odrl.as_object_mut() {
            object.insert("target".into(), offer.id.clone().into());
        }
        let consumer_did = match request.consumer_did.clone() {
            Some(did) => did,
            None => self.participant_did(&base).await?,
        };
        let provider_pid = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let negotiation = Negotiation {
            role: Role::Provider,
            provider_pid: Some(provider_pid.clone()),
            // Learnt from the consumer's answer.
            consumer_pid: String::new(),
            state: NegotiationState::Offered,
            offer_id: offer.id.clone(),
            counterparty: consumer_did.clone(),
            counterparty_address: base.clone(),
            offer: odrl.clone(),
            agreement_id: None,
            reason: Vec::new(),
            purpose: None,
            created: now(),
            updated: now(),
        };
        self.open_negotiation(&provider_pid, &negotiation, self.did())
            .await?;
        let message = messages::build(
            "ContractOfferMessage",
            json!({ "providerPid": provider_pid, "offer": odrl, "callbackAddress": self.callback_for(&base) }),
        );
        let url = format!("{base}/negotiations/offers");
        let answer = self.send(&url, &consumer_did, &message, None).await;
        let consumer_pid = answer.as_ref().ok().and_then(|a| {
            a.get("consumerPid")
                .and_then(serde_json::Value::as_str)
                .filter(|pid| !pid.is_empty())
                .map(str::to_owned)
        });
        match (answer, consumer_pid) {
            (Ok(_), Some(consumer_pid)) => Ok(self
                .store()
                .negotiations
                .update(&provider_pid, |mut n| {
                    n.consumer_pid = consumer_pid;
                    Ok::<_, DspError>(n)
                })
                .await
                .map_err(DspError::from)??),
            (Ok(_), None) => {
                let reason = "the consumer's answer names no `consumerPid`".to_owned();
                self.terminate_locally(&provider_pid, Role::Provider, reason)
                    .await
            }
            (Err(error), _) => {
                self.terminate_locally(&provider_pid, Role::Provider, error.to_string())
                    .await
            }
        }
    }

    /// Accepts, as consumer, an offer a provider made (the negotiation is OFFERED): tells the
    /// provider, presenting this connector's held credentials and `purpose` for its policy.
    /// Returns the negotiation as stored: ACCEPTED, or TERMINATED if the provider could not be
    /// told.
    pub async fn accept_offer(
        &self,
        pid: &str,
        purpose: Option<String>,
    ) -> Result<Negotiation, StartError> {
        let current = self.own_negotiation(pid)?;
        let Some(provider_pid) = current.provider_pid.clone() else {
            return Err(StartError::Invalid(format!(
                "negotiation `{pid}` has no provider process to answer"
            )));
        };
        if current.role != Role::Consumer {
            return Err(StartError::Invalid(format!(
                "negotiation `{pid}` is a provider's: only a consumer accepts an offer"
            )));
        }
        let token = self
            .presenting_token(&current.counterparty, purpose.as_deref())
            .await?;
        let next = self
            .store()
            .negotiations
            .update(pid, |mut n| {
                n.state = transition(n.state, Role::Consumer, Move::Accept)?;
                n.purpose = purpose;
                n.updated = now();
                Ok::<_, DspError>(n)
            })
            .await
            .map_err(DspError::from)??;
        self.changed(pid, &next, self.did()).await;
        let message = messages::build(
            "ContractNegotiationEventMessage",
            json!({ "providerPid": provider_pid, "consumerPid": pid, "eventType": "ACCEPTED" }),
        );
        let url = format!(
            "{}/negotiations/{provider_pid}/events",
            current.counterparty_address
        );
        match self
            .send(&url, &current.counterparty, &message, Some(token))
            .await
        {
            Ok(_) => Ok(next),
            Err(error) => {
                self.terminate_locally(pid, Role::Consumer, error.to_string())
                    .await
            }
        }
    }

    /// Terminates, on either side, a negotiation that is not final, telling the counterparty
    /// why. A counterparty that cannot be told is recorded as a failed send; the negotiation is
    /// terminated here all the same.
    pub async fn terminate_by_operator(
        &self,
        pid: &str,
        reason: String,
    ) -> Result<Negotiation, StartError> {
        let current = self.own_negotiation(pid)?;
        let next = self
            .terminate_locally(pid, current.role, reason.clone())
            .await?;
        let (their_pid, provider_pid, consumer_pid) = match current.role {
            Role::Provider => (
                Some(current.consumer_pid.clone()).filter(|p| !p.is_empty()),
                pid.to_owned(),
                current.consumer_pid.clone(),
            ),
            Role::Consumer => (
                current.provider_pid.clone(),
                current.provider_pid.clone().unwrap_or_default(),
                pid.to_owned(),
            ),
        };
        if let Some(their_pid) = their_pid {
            let message = messages::build(
                "ContractNegotiationTerminationMessage",
                json!({ "providerPid": provider_pid, "consumerPid": consumer_pid, "code": "operator", "reason": [reason] }),
            );
            let url = format!(
                "{}/negotiations/{their_pid}/termination",
                current.counterparty_address
            );
            self.tell(pid, &url, &current.counterparty, &message).await;
        }
        Ok(next)
    }

    /// This connector's negotiation `pid`.
    fn own_negotiation(&self, pid: &str) -> Result<Negotiation, StartError> {
        self.store()
            .negotiations
            .get(pid)
            .map_err(DspError::from)?
            .ok_or_else(|| DspError::NotFound(format!("no negotiation `{pid}`")).into())
    }

    /// Terminates `pid` here (as `role`), with `reason`; refused when it is already final.
    async fn terminate_locally(
        &self,
        pid: &str,
        role: Role,
        reason: String,
    ) -> Result<Negotiation, StartError> {
        let next = self
            .store()
            .negotiations
            .update(pid, |mut n| {
                n.state = transition(n.state, role, Move::Terminate)?;
                n.reason = vec![reason];
                n.updated = now();
                Ok::<_, DspError>(n)
            })
            .await
            .map_err(DspError::from)??;
        self.changed(pid, &next, self.did()).await;
        Ok(next)
    }
}

/// `url` without a trailing `/`, if it is an http(s) URL or a peer-network address
/// (`p2p://<PeerId>/dsp/2025-1`); `field` names it in the error.
pub(super) fn http_base(url: &str, field: &str) -> Result<String, StartError> {
    let base = url.trim_end_matches('/');
    if base.starts_with("https://")
        || base.starts_with("http://")
        || crate::dsp_p2p::split(base).is_some()
    {
        Ok(base.to_owned())
    } else {
        Err(StartError::Invalid(format!(
            "`{field}` must be an http(s) URL or a p2p:// address, got `{base}`"
        )))
    }
}
