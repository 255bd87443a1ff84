//! The event record: every negotiation transition, policy decision and authentication failure.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StoreError;

/// One event: a JSON object with a type, time, actor DID, subject and outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// What happened, e.g. `negotiation.transition`, `policy.decision`, `auth.failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When (RFC 3339).
    pub time: String,
    /// Who acted (a DID, when known).
    pub actor: String,
    /// What it was about (a process id, an offer id, ...).
    pub subject: String,
    /// How it ended (`ok`, `permit`, `deny`, `refused`, a state name, ...).
    pub outcome: String,
    /// Anything else worth keeping.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    #[schema(value_type = Object)]
    pub details: Value,
}

impl Event {
    /// An event stamped now.
    pub fn now(
        kind: &str,
        actor: impl Into<String>,
        subject: impl Into<String>,
        outcome: impl Into<String>,
        details: Value,
    ) -> Self {
        Event {
            kind: kind.to_owned(),
            time: symbolon_identity::credential::format_time(chrono::Utc::now()),
            actor: actor.into(),
            subject: subject.into(),
            outcome: outcome.into(),
            details,
        }
    }
}

/// The events repository: an append-only sequence.
#[derive(Clone)]
pub struct Events {
    tree: sled::Tree,
    db: sled::Db,
}

impl Events {
    pub(crate) fn new(tree: sled::Tree, db: sled::Db) -> Self {
        Events { tree, db }
    }

    /// Appends an event (flushed); returns its sequence number.
    pub async fn append(&self, event: &Event) -> Result<u64, StoreError> {
        let sequence = self.db.generate_id()?;
        let bytes = serde_json::to_vec(event).map_err(|e| StoreError::Corrupt {
            tree: "events",
            key: sequence.to_string(),
            reason: e.to_string(),
        })?;
        self.tree.insert(sequence.to_be_bytes(), bytes)?;
        self.db.flush_async().await?;
        Ok(sequence)
    }

    /// Every event, oldest first.
    pub fn list(&self) -> Result<Vec<Event>, StoreError> {
        self.tree
            .iter()
            .map(|entry| {
                let (key, bytes) = entry?;
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                    tree: "events",
                    key: format!("{key:?}"),
                    reason: e.to_string(),
                })
            })
            .collect()
    }
}
