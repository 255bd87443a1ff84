//! Contract negotiations, as provider and as consumer, keyed by this connector's process id.

use serde::{Deserialize, Serialize};

use super::{Decision, Obligation};
use crate::negotiation::state::{NegotiationState, Role};
use crate::protocol::messages::MessageOffer;

/// A contract negotiation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Negotiation {
    /// Whether this connector is the provider or the consumer.
    pub role: Role,
    /// The provider's process id (`null` until a consumer learns it).
    pub provider_pid: Option<String>,
    /// The consumer's process id (`null` until a provider that offered learns it).
    pub consumer_pid: Option<String>,
    /// The current state.
    pub state: NegotiationState,
    /// The offer negotiated.
    pub offer_id: String,
    /// The other party's DID.
    pub counterparty: String,
    /// Where to send messages to the other party: the consumer's callback address (provider
    /// side) or the provider's protocol base URL (consumer side).
    pub counterparty_address: String,
    /// The offer as last exchanged (ODRL).
    #[schema(value_type = Object)]
    pub offer: MessageOffer,
    /// The agreement's id, once agreed.
    pub agreement_id: Option<String>,
    /// Why it was terminated.
    #[serde(default)]
    pub reason: Vec<String>,
    /// The purpose the consumer stated.
    pub purpose: Option<String>,
    /// What the provider's decision needs, kept from the consumer's request until the decision
    /// is made (so that a restart resumes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Object)]
    pub pending: Option<PendingDecision>,
    /// Who answers it on this side: `auto`, or `manual` (the operator). A provider takes it
    /// from the offer, a consumer from the operator who started it.
    #[serde(default)]
    pub decision: Decision,
    /// The provider's policy verdict on the consumer's last request or acceptance, kept for
    /// the operator of a `manual` negotiation to answer by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<Recommendation>,
    /// When it started (RFC 3339).
    pub created: String,
    /// When it last changed (RFC 3339).
    pub updated: String,
}

/// What a provider's decision reads from the consumer's request: its presentation, bound to
/// the token id, and the purpose it stated.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingDecision {
    /// The id of the token that carried the presentation (the presentation's nonce).
    pub jti: String,
    /// The presentation (`vp+jwt`), if the consumer sent one.
    pub presentation: Option<String>,
    /// The access token to the consumer's Credential Service its token carried (Decentralized
    /// Claims Protocol), when it sent no presentation: the decision queries its credentials
    /// with it. It lets this provider only, for two minutes, read what the consumer granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The Credential Service a did:key caller named in its signed token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_service: Option<String>,
    /// Why the offer the consumer asked for in a counter-request is not one the policy
    /// permits, if it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_refused: Option<String>,
}

/// A provider's policy verdict on a request, kept as a recommendation for its operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recommendation {
    /// Whether the policy permits an agreement.
    pub agree: bool,
    /// The obligations an agreement would carry (when it permits).
    #[serde(default)]
    pub obligations: Vec<Obligation>,
    /// The verified credentials the verdict read (when it permits): an agreement made on it
    /// rests on them (see [`crate::domain::Agreement::grounds`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub grounds: Vec<serde_json::Value>,
    /// Why it refuses (when it does not permit).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// When the verdict was reached (RFC 3339).
    pub decided: String,
}

impl std::fmt::Debug for PendingDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingDecision")
            .field("jti", &self.jti)
            .field("presentation", &self.presentation.as_ref().map(|_| ".."))
            .field("access_token", &self.access_token.as_ref().map(|_| ".."))
            .field("credential_service", &self.credential_service)
            .field("offer_refused", &self.offer_refused)
            .finish()
    }
}

impl Negotiation {
    /// This connector's process id for it.
    pub fn own_pid(&self) -> Option<&str> {
        match self.role {
            Role::Provider => self.provider_pid.as_deref(),
            Role::Consumer => self.consumer_pid.as_deref(),
        }
    }

    /// The counterparty's process id for it, once known.
    pub fn their_pid(&self) -> Option<&str> {
        match self.role {
            Role::Provider => self.consumer_pid.as_deref(),
            Role::Consumer => self.provider_pid.as_deref(),
        }
    }

    /// Whether the provider owes a decision on it (a request or an acceptance it has not
    /// answered yet): the connector's own in `auto` mode, an assessment for the operator in
    /// `manual` mode (until its verdict is kept).
    pub fn awaits_decision(&self) -> bool {
        self.role == Role::Provider
            && matches!(
                self.state,
                NegotiationState::Requested | NegotiationState::Accepted
            )
            && (!self.decision.is_manual() || self.recommendation.is_none())
    }
}
