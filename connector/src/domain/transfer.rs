//! Transfer processes, as provider and as consumer, keyed by this connector's process id.

use serde::{Deserialize, Serialize};

use crate::protocol::messages::{DataAddress, TransferProcess};
use crate::transfer::state::{Role, TransferState};

/// A transfer process: a dataset delivered under an agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transfer {
    /// Whether this connector is the provider or the consumer.
    pub role: Role,
    /// The provider's process id (`null` until a consumer learns it).
    pub provider_pid: Option<String>,
    /// The consumer's process id.
    pub consumer_pid: String,
    /// The current state.
    pub state: TransferState,
    /// The agreement the transfer is made under.
    pub agreement_id: String,
    /// The offer (dataset) of the agreement.
    pub offer_id: String,
    /// The format requested (one of the dataset's distributions).
    pub format: String,
    /// The other party's DID.
    pub counterparty: String,
    /// Where to send messages to the other party: the consumer's callback address (provider
    /// side) or the provider's protocol base URL (consumer side).
    pub counterparty_address: String,
    /// The data address the provider sent with its last start (consumer side; only while
    /// STARTED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_address: Option<DataAddress>,
    /// The access the provider's data plane gives to it while STARTED (provider side): the
    /// tokens' digests, never the tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<DataAccess>,
    /// How many pulls the provider's data plane served for it, over every token (provider
    /// side).
    #[serde(default)]
    pub pulls: u64,
    /// The code of the last suspension or termination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The reasons of the last suspension or termination.
    #[serde(default)]
    pub reason: Vec<String>,
    /// When it was requested (RFC 3339).
    pub created: String,
    /// When it last changed (RFC 3339).
    pub updated: String,
}

/// The access a provider's data plane gives to a started transfer: the SHA-256 digests of the
/// access and refresh tokens it sent to the consumer, and when the access token expires. A new
/// start (a resume) or a refresh replaces it; a suspension, completion or termination removes
/// it.
#[derive(Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DataAccess {
    /// A short id of the access token (the first 16 hex digits of its digest), for the audit
    /// trail.
    pub token_id: String,
    /// The access token's SHA-256, hex.
    pub token_digest: String,
    /// The refresh token's SHA-256, hex.
    pub refresh_digest: String,
    /// When the access token expires (Unix seconds).
    pub expires_at: i64,
    /// Issued with a start the consumer has not acknowledged yet: a pull that arrives before
    /// the provider stored STARTED waits for it (briefly) instead of being refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
}

impl std::fmt::Debug for DataAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataAccess")
            .field("token_id", &self.token_id)
            .field("expires_at", &self.expires_at)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl Transfer {
    /// This connector's process id for it, once known.
    pub fn own_pid(&self) -> Option<&str> {
        match self.role {
            Role::Provider => self.provider_pid.as_deref(),
            Role::Consumer => Some(&self.consumer_pid),
        }
    }

    /// The counterparty's process id for it, once known.
    pub fn their_pid(&self) -> Option<&str> {
        match self.role {
            Role::Provider => Some(&self.consumer_pid),
            Role::Consumer => self.provider_pid.as_deref(),
        }
    }

    /// The role of the counterparty.
    pub fn their_role(&self) -> Role {
        match self.role {
            Role::Provider => Role::Consumer,
            Role::Consumer => Role::Provider,
        }
    }

    /// Forgets the access to its data on both sides (a completion or termination): the
    /// provider's token digests and the consumer's data address.
    pub fn close_access(&mut self) {
        self.access = None;
        self.data_address = None;
    }

    /// The `TransferProcess` acknowledging or describing it.
    pub fn process(&self) -> TransferProcess {
        TransferProcess {
            provider_pid: self.provider_pid.clone().unwrap_or_default(),
            consumer_pid: self.consumer_pid.clone(),
            state: self.state,
        }
    }
}
