//! The event record: every issuance, presentation check, policy decision, negotiation step and
//! authentication failure, appended to the tamper-evident audit log (`symbolon-audit`) kept in
//! the store. An append returns once the entry is on disk.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use symbolon_audit::{AuditEvent, DurableLog};

use super::StoreError;

/// One event: a JSON object with a type, time, actor DID, subject and outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// What happened, e.g. `negotiation.transition`, `policy.decision`, `auth.failed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When (RFC 3339).
    pub time: String,
    /// Who acted (a DID).
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

    fn to_audit(&self) -> AuditEvent {
        let mut event = AuditEvent::new(&self.kind, &self.actor, &self.subject, &self.outcome);
        event.time = self.time.clone();
        if !self.details.is_null() {
            event = event.with_details(self.details.clone());
        }
        event
    }

    fn from_audit(event: AuditEvent) -> Self {
        Event {
            kind: event.kind,
            time: event.time,
            actor: event.actor,
            subject: event.subject,
            outcome: event.outcome,
            details: event.details.map(Value::Object).unwrap_or(Value::Null),
        }
    }
}

/// The events repository: the audit log.
#[derive(Clone)]
pub struct Events {
    log: Arc<DurableLog>,
}

impl Events {
    pub(crate) fn open(tree: sled::Tree) -> Result<Self, StoreError> {
        let log = DurableLog::open(tree).map_err(|e| StoreError::Audit(e.to_string()))?;
        Ok(Events { log: Arc::new(log) })
    }

    /// The audit log itself (heads, proofs, export).
    pub fn log(&self) -> &Arc<DurableLog> {
        &self.log
    }

    /// Appends an event; returns its index once it is on disk.
    pub async fn append(&self, event: &Event) -> Result<u64, StoreError> {
        let log = self.log.clone();
        let event = event.to_audit();
        tokio::task::spawn_blocking(move || log.append(&event))
            .await
            .map_err(|e| StoreError::Audit(e.to_string()))?
            .map_err(|e| StoreError::Audit(e.to_string()))
    }

    /// Appends an event from blocking code.
    pub fn append_blocking(&self, event: &Event) -> Result<u64, StoreError> {
        self.log
            .append(&event.to_audit())
            .map_err(|e| StoreError::Audit(e.to_string()))
    }

    /// Events `from..to` (clamped to the log), oldest first.
    pub fn range(&self, from: u64, to: u64) -> Result<Vec<Event>, StoreError> {
        let to = to.min(self.log.len());
        let mut out = Vec::new();
        let mut start = from;
        while start < to {
            let end = to.min(start.saturating_add(symbolon_audit::store::MAX_ENTRIES_PER_READ));
            let entries = self
                .log
                .entries(start, end)
                .map_err(|e| StoreError::Audit(e.to_string()))?;
            out.extend(
                entries
                    .into_iter()
                    .map(|entry| Event::from_audit(entry.event)),
            );
            start = end;
        }
        Ok(out)
    }

    /// Every event, oldest first.
    pub fn list(&self) -> Result<Vec<Event>, StoreError> {
        self.range(0, u64::MAX)
    }
}
