//! The operator's answers in a negotiation, from the management API and the CLI: the
//! approval step of an offer whose `decision` is `manual`, and every path of the protocol
//! besides.
//!
//! A provider's operator answers a request (or an acceptance) with a counter-offer
//! ([`Negotiations::counter_offer`]), an agreement ([`Negotiations::agree_by_operator`], only
//! when the policy's verdict kept on the negotiation permits it) or a termination. A consumer's
//! operator answers an offer with a counter-request ([`Negotiations::counter_request`]) or an
//! acceptance, and an agreement with its verification ([`Negotiations::verify_by_operator`]).
//! Each is checked against the state machine, sent, and stored only once the counterparty
//! acknowledged it; one that could not be delivered leaves the negotiation as it was and is
//! reported ([`StartError::Send`]).

use serde_json::Value;

use super::consumer::StartError;
use super::state::{transition, Move, Role};
use super::{terms, DspError, Negotiations};
use crate::catalog::CompiledOffer;
use crate::domain::Negotiation;
use crate::protocol::messages::{ContractOfferMessage, ContractRequestMessage, MessageOffer};

impl Negotiations {
    /// Agrees, as provider, to the request (or acceptance) of `pid`: only when the policy's
    /// verdict kept on it permits (a `manual` negotiation keeps it; see
    /// [`Negotiations::assess`]). The agreement carries the verdict's obligations and the
    /// duties the negotiated offer added; it is stored with the move to AGREED once the
    /// consumer acknowledged it.
    pub async fn agree_by_operator(&self, pid: &str) -> Result<Negotiation, StartError> {
        let current = self.provider_negotiation(pid)?;
        transition(current.state, Role::Provider, Move::Agree).map_err(DspError::from)?;
        let Some(verdict) = current.recommendation.clone() else {
            return Err(StartError::Conflict(if current.decision.is_manual() {
                format!("negotiation `{pid}` has no policy verdict yet; try again shortly")
            } else {
                format!(
                    "negotiation `{pid}` is decided by the policy on its own (its offer's \
                     decision is `auto`)"
                )
            }));
        };
        if !verdict.agree {
            return Err(StartError::Conflict(format!(
                "the policy does not permit an agreement: {}; offer other terms or terminate",
                verdict.reasons.join("; ")
            )));
        }
        let offer = self.catalog_offer(&current).await?;
        let agreement =
            self.agreement_for(pid, &current, &offer, verdict.obligations, verdict.grounds)?;
        self.send_agreement(pid, &agreement).await
    }

    /// Offers, as provider, other terms for `pid` (a `ContractOfferMessage` answering a
    /// request): `offer` (ODRL), or the policy's own offer when none is given. The offer must
    /// be one the policy permits ([`terms::within_policy`]: the policy's rules exactly, duties
    /// only added), else it is refused before anything is sent. OFFERED once the consumer
    /// acknowledged it; the verdict on the request is then dropped, since the consumer answers
    /// anew.
    pub async fn counter_offer(
        &self,
        pid: &str,
        offer: Option<Value>,
    ) -> Result<Negotiation, StartError> {
        let current = self.provider_negotiation(pid)?;
        let compiled = self.catalog_offer(&current).await?;
        let offer = match offer {
            None => compiled.targeted_odrl(),
            Some(odrl) => {
                let mut offer = parse_offer(odrl)?;
                offer.target.get_or_insert_with(|| current.offer_id.clone());
                offer
            }
        };
        terms::within_policy(&offer, &compiled).map_err(|why| {
            StartError::Invalid(format!(
                "field `offer`: not an offer the policy of `{}` permits: {why}",
                current.offer_id
            ))
        })?;
        let (_slot, current) = self.begin_move(pid, Move::Offer).await?;
        let message = ContractOfferMessage {
            provider_pid: pid.to_owned(),
            consumer_pid: current.consumer_pid.clone(),
            offer: offer.clone(),
            callback_address: Some(
                self.cx
                    .network()
                    .callback_for(&current.counterparty_address),
            ),
        };
        self.deliver(pid, &current, "/offers", &message, None)
            .await?;
        let did = self.did().to_owned();
        Ok(self
            .apply_move(pid, &did, Role::Provider, Move::Offer, move |n| {
                n.offer = offer.clone();
                n.recommendation = None;
                n.pending = None;
            })
            .await?)
    }

    /// Asks, as consumer, for other terms on `pid` (a `ContractRequestMessage` answering an
    /// offer): `offer` (ODRL; for the same dataset), or the provider's last offer when none
    /// is given, presenting this connector's held credentials and `purpose`. REQUESTED once
    /// the provider acknowledged it.
    pub async fn counter_request(
        &self,
        pid: &str,
        offer: Option<Value>,
        purpose: Option<String>,
    ) -> Result<Negotiation, StartError> {
        let current = self.own_negotiation(pid)?;
        if current.role != Role::Consumer {
            return Err(StartError::Invalid(format!(
                "negotiation `{pid}` is a provider's: only a consumer requests (the provider \
                 offers)"
            )));
        }
        let offer = match offer {
            None => current.offer.clone(),
            Some(odrl) => parse_offer(odrl)?,
        };
        let mut offer = offer;
        match offer.target.as_deref() {
            None => offer.target = Some(current.offer_id.clone()),
            Some(target) if target == current.offer_id => {}
            Some(other) => {
                return Err(StartError::Invalid(format!(
                    "field `offer`: `target` is `{other}`, but the negotiation is for `{}`",
                    current.offer_id
                )))
            }
        }
        transition(current.state, Role::Consumer, Move::Request).map_err(DspError::from)?;
        let token = self
            .presenting_token(
                &current.counterparty,
                &current.counterparty_address,
                purpose.as_deref(),
                &offer,
            )
            .await?;
        let (_slot, current) = self.begin_move(pid, Move::Request).await?;
        let message = ContractRequestMessage {
            consumer_pid: pid.to_owned(),
            provider_pid: current.provider_pid.clone(),
            offer: offer.clone(),
            callback_address: None,
        };
        self.deliver(pid, &current, "/request", &message, Some(token))
            .await?;
        let did = self.did().to_owned();
        Ok(self
            .apply_move(pid, &did, Role::Consumer, Move::Request, move |n| {
                n.offer = offer.clone();
                n.purpose = purpose.clone();
            })
            .await?)
    }

    /// Verifies, as consumer, the agreement received on `pid` (AGREED): tells the provider and
    /// moves to VERIFIED once it acknowledged. A `manual` negotiation waits for this; an
    /// `auto` one verifies on its own, and this makes the move if that could not.
    pub async fn verify_by_operator(&self, pid: &str) -> Result<Negotiation, StartError> {
        let current = self.own_negotiation(pid)?;
        if current.role != Role::Consumer {
            return Err(StartError::Invalid(format!(
                "negotiation `{pid}` is a provider's: only a consumer verifies an agreement"
            )));
        }
        self.send_verification(pid).await
    }

    /// This connector's negotiation `pid`, which must be a provider's.
    fn provider_negotiation(&self, pid: &str) -> Result<Negotiation, StartError> {
        let current = self.own_negotiation(pid)?;
        if current.role != Role::Provider {
            return Err(StartError::Invalid(format!(
                "negotiation `{pid}` is a consumer's: only its provider offers or agrees"
            )));
        }
        Ok(current)
    }

    /// The offer of `negotiation` in this catalog, with its policy compiled.
    async fn catalog_offer(
        &self,
        negotiation: &Negotiation,
    ) -> Result<std::sync::Arc<CompiledOffer>, StartError> {
        let stored = self.stored_offer(&negotiation.offer_id).await?;
        let Some(offer) = stored else {
            return Err(StartError::Conflict(format!(
                "offer `{}` is no longer in this catalog; terminate the negotiation",
                negotiation.offer_id
            )));
        };
        Ok(self.cx.offers().compiled(&offer).map_err(DspError::from)?)
    }
}

/// An ODRL offer an operator gave (`offer` in the request).
fn parse_offer(odrl: Value) -> Result<MessageOffer, StartError> {
    serde_json::from_value(odrl).map_err(|e| {
        StartError::Invalid(format!(
            "field `offer`: not an ODRL offer (`@id`, `@type` \"Offer\", rules): {e}"
        ))
    })
}
