//! Audit events as the connector records them: every issuance, presentation check, policy
//! decision, negotiation step and authentication failure (see `docs/auditing.md`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use symbolon_audit::{AuditEvent, EventKind};

/// One event: what happened, when, who acted, on what, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// What happened, e.g. `negotiation.transition`, `policy.decision`, `auth.failed`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: EventKind,
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
    /// An event of `kind` stamped now.
    pub fn now(
        kind: EventKind,
        actor: impl Into<String>,
        subject: impl Into<String>,
        outcome: impl Into<String>,
        details: Value,
    ) -> Self {
        Event {
            kind,
            time: super::now(),
            actor: actor.into(),
            subject: subject.into(),
            outcome: outcome.into(),
            details,
        }
    }

    /// The event as the audit log stores it.
    pub fn to_audit(&self) -> AuditEvent {
        let mut event = AuditEvent::new(
            self.kind.as_str(),
            &self.actor,
            &self.subject,
            &self.outcome,
        );
        event.time = self.time.clone();
        if !self.details.is_null() {
            event = event.with_details(self.details.clone());
        }
        event
    }

    /// An event read back from the audit log; a type this build does not know is an error.
    pub fn from_audit(event: AuditEvent) -> Result<Self, symbolon_audit::UnknownEventKind> {
        Ok(Event {
            kind: event.kind.parse()?,
            time: event.time,
            actor: event.actor,
            subject: event.subject,
            outcome: event.outcome,
            details: event.details.map(Value::Object).unwrap_or(Value::Null),
        })
    }
}
