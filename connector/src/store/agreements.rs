//! Contract agreements, stored by both provider and consumer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::codec::Records;
use super::StoreError;

/// A contract agreement.
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
    /// The policy text in force.
    pub policy: String,
    /// The action granted.
    pub action: String,
    /// The obligations to enforce: `[{policy, name, params}]`.
    #[schema(value_type = Object)]
    pub obligations: Value,
    /// The agreement as the Dataspace Protocol carries it (ODRL `Agreement`).
    #[schema(value_type = Object)]
    pub odrl: Value,
    /// The provider's compact JWS over `odrl`.
    pub signature: String,
    /// When it was agreed (RFC 3339).
    pub timestamp: String,
}

/// The agreements repository.
#[derive(Clone)]
pub struct Agreements(Records<Agreement>);

impl Agreements {
    pub(crate) fn new(tree: sled::Tree, db: sled::Db) -> Self {
        Agreements(Records::new("agreements", tree, db))
    }

    /// Stores an agreement (flushed).
    pub async fn put(&self, agreement: &Agreement) -> Result<(), StoreError> {
        self.0.put(&agreement.id, agreement).await
    }

    /// The agreement with `id`.
    pub fn get(&self, id: &str) -> Result<Option<Agreement>, StoreError> {
        self.0.get(id)
    }

    /// Every agreement.
    pub fn list(&self) -> Result<Vec<Agreement>, StoreError> {
        self.0.list()
    }
}
