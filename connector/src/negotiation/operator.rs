//! Moves a connector's operator makes through the management API, besides starting a
//! negotiation: a provider offers a contract to a consumer, a consumer accepts an offer it
//! received, and either side terminates a negotiation that is still open (the answers of a
//! `manual` negotiation are in [`super::manual`]). Each is stored only once the counterparty
//! acknowledged it; one that could not be delivered leaves the negotiation as it was and is
//! reported.

use symbolon_identity::net::AddressPolicy;

use super::consumer::StartError;
use super::state::{Move, NegotiationState, Role};
use super::{DspError, Negotiations};
use crate::domain::{new_urn, now, Negotiation};
use crate::protocol::messages::{
    self, ContractNegotiation, ContractNegotiationEventMessage, ContractOfferMessage, EventType,
    Message as _,
};
use crate::protocol::peer;

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

impl Negotiations {
    /// Offers the contract of one of this connector's offers to a consumer (a provider-initiated
    /// negotiation). Returns the negotiation as stored: OFFERED, with the consumer's process id,
    /// or TERMINATED when the consumer could not be reached or refused the offer. The consumer
    /// then accepts (this connector verifies its presentation against the offer's policy and
    /// agrees or terminates, or, for a `manual` offer, its operator answers) or terminates.
    ///
    /// As with a consumer's first request, the process is stored before the offer is sent (its
    /// slot held until the answer is in, so that the consumer's first message finds it), and an
    /// offer that fails ends it here: there is no process at the consumer to keep in step with,
    /// and offering again is a new negotiation. The failed send is on record.
    pub async fn offer_contract(&self, request: OfferContract) -> Result<Negotiation, StartError> {
        let base = protocol_base(
            &request.consumer_url,
            "consumer_url",
            self.cx.network().policy(),
        )?;
        let stored = self.stored_offer(&request.offer_id).await?;
        let Some(offer) = stored else {
            return Err(StartError::Invalid(format!(
                "no offer `{}` in this connector's catalog",
                request.offer_id
            )));
        };
        let odrl = self
            .cx
            .offers()
            .compiled(&offer)
            .map_err(DspError::from)?
            .targeted_odrl();
        let consumer_did = match request.consumer_did.clone() {
            Some(did) => did,
            None => self.participant_did(&base).await?,
        };
        let provider_pid = new_urn();
        let negotiation = Negotiation {
            role: Role::Provider,
            provider_pid: Some(provider_pid.clone()),
            consumer_pid: None,
            state: NegotiationState::Offered,
            offer_id: offer.id.clone(),
            counterparty: consumer_did.clone(),
            counterparty_address: base.clone(),
            offer: odrl.clone(),
            agreement_id: None,
            reason: Vec::new(),
            purpose: None,
            pending: None,
            decision: offer.decision,
            recommendation: None,
            created: now(),
            updated: now(),
        };
        let _slot = self
            .cx
            .negotiation_moves()
            .hold(&provider_pid, super::inflight::SETTLE)
            .await?;
        self.open(&provider_pid, negotiation, self.did()).await?;
        let message = ContractOfferMessage {
            provider_pid: provider_pid.clone(),
            consumer_pid: None,
            offer: odrl,
            callback_address: Some(self.cx.network().callback_for(&base)),
        };
        let url = format!("{base}/negotiations/offers");
        let consumer_pid = match self.send(&url, &consumer_did, &message, None).await {
            Ok(answer) => messages::parse_members::<ContractNegotiation>(&answer)
                .map(|a| a.consumer_pid)
                .map_err(|e| format!("the consumer's answer is unusable: {}", e.reason)),
            Err(error) => {
                let reason = error.to_string();
                self.send_failed(&provider_pid, ContractOfferMessage::TYPE, &reason)
                    .await;
                Err(reason)
            }
        };
        match consumer_pid {
            Ok(consumer_pid) => Ok(self
                .update(&provider_pid, None, move |mut n| {
                    n.consumer_pid = Some(consumer_pid);
                    Ok(n)
                })
                .await?),
            Err(reason) => Ok(self
                .terminate_here(&provider_pid, Role::Provider, vec![reason])
                .await?),
        }
    }

    /// Accepts, as consumer, an offer a provider made (the negotiation is OFFERED): tells the
    /// provider, presenting this connector's held credentials and `purpose` for its policy, and
    /// moves to ACCEPTED once it acknowledged. A provider that cannot be reached or refuses
    /// leaves the negotiation OFFERED ([`StartError::Send`]); the operator may accept again.
    pub async fn accept_offer(
        &self,
        pid: &str,
        purpose: Option<String>,
    ) -> Result<Negotiation, StartError> {
        let current = self.own_negotiation(pid)?;
        if current.role != Role::Consumer {
            return Err(StartError::Invalid(format!(
                "negotiation `{pid}` is a provider's: only a consumer accepts an offer"
            )));
        }
        let token = self
            .presenting_token(
                &current.counterparty,
                &current.counterparty_address,
                purpose.as_deref(),
                &current.offer,
            )
            .await?;
        let (_slot, current) = self.begin_move(pid, Move::Accept).await?;
        let message = ContractNegotiationEventMessage {
            provider_pid: current.provider_pid.clone().unwrap_or_default(),
            consumer_pid: pid.to_owned(),
            event_type: EventType::Accepted,
            tree_head: None,
        };
        self.deliver(pid, &current, "/events", &message, Some(token))
            .await?;
        let did = self.did().to_owned();
        Ok(self
            .apply_move(pid, &did, Role::Consumer, Move::Accept, move |n| {
                n.purpose = purpose.clone();
            })
            .await?)
    }

    /// Terminates, on either side, a negotiation that is not final, telling the counterparty
    /// why; TERMINATED once it acknowledged. A counterparty that cannot be told (or refuses)
    /// leaves the negotiation as it was ([`StartError::Send`]), unless `force` is given: then
    /// the failed send is on record and the negotiation is terminated here all the same (the
    /// operator's way out of a negotiation whose counterparty has gone).
    pub async fn terminate_by_operator(
        &self,
        pid: &str,
        reason: String,
        force: bool,
    ) -> Result<Negotiation, StartError> {
        self.terminate_own(pid, "operator", vec![reason], force)
            .await
    }
}

/// `url` without a trailing `/`, if it is a peer-network address (`p2p://<PeerId>/…`) or an
/// http(s) URL `policy` allows, without query or fragment; `field` names it in the error.
pub(super) fn protocol_base(
    url: &str,
    field: &str,
    policy: AddressPolicy,
) -> Result<String, StartError> {
    let base = url.trim_end_matches('/');
    if base.starts_with(peer::P2P_SCHEME) {
        return match peer::split(base) {
            Some(_) => Ok(base.to_owned()),
            None => Err(StartError::Invalid(format!(
                "`{field}`: `{base}` names no peer"
            ))),
        };
    }
    let parsed = policy
        .check_url(base)
        .map_err(|e| StartError::Invalid(format!("`{field}`: {e}")))?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(StartError::Invalid(format!(
            "`{field}` must not have a query or a fragment"
        )));
    }
    Ok(base.to_owned())
}
