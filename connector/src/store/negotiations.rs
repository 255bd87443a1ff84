//! Contract negotiations, as provider and as consumer, keyed by this connector's process id.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec::Records;
use super::StoreError;
use crate::negotiation::state::{NegotiationState, Role};

/// A contract negotiation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Negotiation {
    /// Whether this connector is the provider or the consumer.
    pub role: Role,
    /// The provider's process id.
    pub provider_pid: Option<String>,
    /// The consumer's process id.
    pub consumer_pid: String,
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
    pub offer: Value,
    /// The agreement's id, once agreed.
    pub agreement_id: Option<String>,
    /// Why it was terminated.
    #[serde(default)]
    pub reason: Vec<String>,
    /// The purpose the consumer stated.
    pub purpose: Option<String>,
    /// When it started (RFC 3339).
    pub created: String,
    /// When it last changed (RFC 3339).
    pub updated: String,
}

impl Negotiation {
    /// This connector's process id for it.
    pub fn own_pid(&self) -> Option<&str> {
        match self.role {
            Role::Provider => self.provider_pid.as_deref(),
            Role::Consumer => Some(&self.consumer_pid),
        }
    }
}

/// The negotiations repository. Updates are serialised so that two messages about one
/// negotiation cannot both act on the same old state.
#[derive(Clone)]
pub struct Negotiations {
    records: Records<Negotiation>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Negotiations {
    pub(crate) fn new(tree: sled::Tree, db: sled::Db) -> Self {
        Negotiations {
            records: Records::new("negotiations", tree, db),
            writer: Arc::default(),
        }
    }

    /// Stores a new negotiation under `pid` (flushed).
    pub async fn create(&self, pid: &str, negotiation: &Negotiation) -> Result<bool, StoreError> {
        let _guard = self.writer.lock().await;
        self.records.insert_new(pid, negotiation).await
    }

    /// The negotiation this connector knows as `pid`.
    pub fn get(&self, pid: &str) -> Result<Option<Negotiation>, StoreError> {
        self.records.get(pid)
    }

    /// Every negotiation.
    pub fn list(&self) -> Result<Vec<Negotiation>, StoreError> {
        self.records.list()
    }

    /// Reads, changes and writes back (flushed) the negotiation `pid` as one step. `change`
    /// returns the new record or the caller's error; nothing is written on error.
    pub async fn update<E>(
        &self,
        pid: &str,
        change: impl FnOnce(Negotiation) -> Result<Negotiation, E>,
    ) -> Result<Result<Negotiation, E>, StoreError> {
        let _guard = self.writer.lock().await;
        let Some(current) = self.records.get(pid)? else {
            return Err(StoreError::Corrupt {
                tree: "negotiations",
                key: pid.to_owned(),
                reason: "no such negotiation".into(),
            });
        };
        match change(current) {
            Ok(next) => {
                self.records.put(pid, &next).await?;
                Ok(Ok(next))
            }
            Err(error) => Ok(Err(error)),
        }
    }

    /// The underlying tree (for tests and tools).
    pub fn tree(&self) -> &sled::Tree {
        self.records.tree()
    }
}
