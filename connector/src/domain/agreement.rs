//! Contract agreements: one shape on the provider's side and the consumer's.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A contract agreement, as both parties keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Agreement {
    /// The agreement's id (`urn:uuid:…`).
    pub id: String,
    /// The offer it is for.
    pub offer_id: String,
    /// The provider (assigner) DID.
    pub provider: String,
    /// The consumer (assignee) DID.
    pub assignee: String,
    /// The provider's negotiation id.
    pub provider_pid: String,
    /// The consumer's negotiation id.
    pub consumer_pid: String,
    /// The action granted (the ODRL permission's action, without the profile prefix).
    pub action: String,
    /// The obligations to enforce, read from the agreement's duties.
    pub obligations: Vec<Obligation>,
    /// The provider's policy text in force (only the provider knows it; `null` on the
    /// consumer's side).
    pub policy: Option<String>,
    /// The agreement as the Dataspace Protocol carries it (ODRL `Agreement`).
    #[schema(value_type = Object)]
    pub odrl: Value,
    /// The provider's compact JWS over `odrl`; `None` from a provider that does not sign
    /// agreements (the Dataspace Protocol does not require it; recorded as unsigned).
    #[serde(default)]
    pub signature: Option<String>,
    /// When it was agreed (RFC 3339).
    pub timestamp: String,
    /// The consumer's credentials the provider's decision rested on (their documents, as
    /// verified; provider side only): while one of them no longer stands — revoked,
    /// suspended, expired, or its issuer no longer trusted — the agreement's data is not
    /// served.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub grounds: Vec<Value>,
    /// When and why the provider withdrew the agreement (`None`: it is in force). A withdrawn
    /// agreement admits no transfer, no pull and no MPC session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
}

/// A provider's withdrawal of an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Withdrawal {
    /// When (RFC 3339).
    pub at: String,
    /// Why, in the operator's words.
    pub reason: String,
}

impl Agreement {
    /// Why nothing may be done under the agreement any more, if it was withdrawn.
    pub fn withdrawn_reason(&self) -> Option<String> {
        self.withdrawn.as_ref().map(|w| {
            format!(
                "agreement `{}` was withdrawn by its provider at {}: {}",
                self.id, w.at, w.reason
            )
        })
    }
}

/// An obligation an agreement imposes, with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Obligation {
    /// Its name in the policy language (e.g. `delete_after`).
    pub name: String,
    /// Its parameters.
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    /// The policy that attached it (known to the provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

impl Obligation {
    /// The obligations of a policy decision.
    pub fn from_decision(decision: &symbolon_policy::Decision) -> Vec<Obligation> {
        decision
            .obligations
            .iter()
            .map(|o| Obligation {
                name: o.name.to_string(),
                params: o
                    .params
                    .iter()
                    .map(|(k, v)| (k.to_string(), symbolon_policy::explain::value_json(v)))
                    .collect(),
                policy: Some(o.policy.to_string()),
            })
            .collect()
    }
}
