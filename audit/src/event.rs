//! Audit events and the log entries that carry them.
//!
//! An [`AuditEvent`] says what happened (`type`), when (`time`, RFC 3339), who did it (`actor`,
//! a DID), to what (`subject`) and how it ended (`outcome`), with optional `details`. The log
//! wraps each event in an [`Entry`] that adds its position (`index`) and the leaf hash of the
//! entry before it (`prev`, a hash chain); the Merkle leaf is the RFC 8785 canonical JSON of
//! the entry.

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::merkle::{leaf_hash, Hash};

/// Largest canonical entry accepted (1 MiB).
pub const MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// One audited event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// What happened, e.g. `policy.decision` (see [`EventKind`](crate::EventKind)).
    #[serde(rename = "type")]
    pub kind: String,
    /// When, in RFC 3339.
    pub time: String,
    /// Who acted: a DID.
    pub actor: String,
    /// What was acted on: a credential id, an offer, a negotiation id, a peer DID.
    pub subject: String,
    /// How it ended: `permit`, `deny`, `ok`, `refused`, …
    pub outcome: String,
    /// Anything else worth keeping, e.g. `credential` or `presentation` (checked offline by
    /// an auditor), `reason`, `policies`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

/// Why an event is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// A field is empty or badly formed.
    #[error("the event's `{field}` is not valid: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The canonical entry is larger than [`MAX_ENTRY_BYTES`].
    #[error("the entry is {size} bytes; at most {MAX_ENTRY_BYTES} are accepted")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// The actor is not a DID.
    #[error("the event's `actor` is not valid: {0}")]
    InvalidActor(#[source] symbolon_identity::DidError),
    /// The event could not be serialised as canonical JSON.
    #[error("the event cannot be written as canonical JSON: {0}")]
    Canonical(#[source] serde_json::Error),
}

impl AuditEvent {
    /// An event happening now.
    pub fn new(kind: &str, actor: &str, subject: &str, outcome: &str) -> Self {
        AuditEvent {
            kind: kind.to_owned(),
            time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            actor: actor.to_owned(),
            subject: subject.to_owned(),
            outcome: outcome.to_owned(),
            details: None,
        }
    }

    /// Adds `details` (a JSON object; any other value is stored under `value`).
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(match details {
            Value::Object(map) => map,
            other => Map::from_iter([("value".to_owned(), other)]),
        });
        self
    }

    /// The event recording a peer's signed tree head: `actor` witnessed `head_jws`, the
    /// head of the log `peer_log_id`.
    pub fn witness(actor: &str, peer_log_id: &str, head_jws: &str) -> Self {
        AuditEvent::new(
            crate::EventKind::WitnessTreeHead.as_str(),
            actor,
            peer_log_id,
            "ok",
        )
        .with_details(serde_json::json!({ "head": head_jws }))
    }

    /// Checks the fields: a type, an RFC 3339 time, a DID actor.
    pub fn validate(&self) -> Result<(), EventError> {
        let invalid = |field, reason: &str| EventError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        if self.kind.is_empty() {
            return Err(invalid("type", "it is empty"));
        }
        if chrono::DateTime::parse_from_rfc3339(&self.time).is_err() {
            return Err(invalid("time", "it is not an RFC 3339 time"));
        }
        symbolon_identity::Did::parse(&self.actor).map_err(EventError::InvalidActor)?;
        Ok(())
    }
}

/// One log entry: the event, its index, and the leaf hash of the entry before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The position in the log, from 0.
    pub index: u64,
    /// The leaf hash of entry `index - 1` (hex); 64 zeros for entry 0.
    pub prev: String,
    /// The event.
    pub event: AuditEvent,
}

/// The `prev` of entry 0.
pub const GENESIS_PREV: Hash = [0u8; 32];

impl Entry {
    /// Wraps `event` as entry `index` following the leaf hash `prev`.
    pub fn new(index: u64, prev: &Hash, event: AuditEvent) -> Self {
        Entry {
            index,
            prev: hex::encode(prev),
            event,
        }
    }

    /// The RFC 8785 canonical JSON of the entry: the Merkle leaf.
    pub fn canonical(&self) -> Result<Vec<u8>, EventError> {
        let bytes = serde_json_canonicalizer::to_vec(self).map_err(EventError::Canonical)?;
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(EventError::TooLarge { size: bytes.len() });
        }
        Ok(bytes)
    }

    /// The `prev` hash, if it is 64 hex digits.
    pub fn prev_hash(&self) -> Option<Hash> {
        decode_hash(&self.prev)
    }
}

/// Canonical bytes and leaf hash of a JSON value as stored (RFC 8785).
pub fn canonical_value(value: &Value) -> Result<(Vec<u8>, Hash), EventError> {
    let bytes = serde_json_canonicalizer::to_vec(value).map_err(EventError::Canonical)?;
    let hash = leaf_hash(&bytes);
    Ok((bytes, hash))
}

/// Decodes 64 hex digits.
pub fn decode_hash(text: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_entry_is_sorted_and_compact() {
        let event = AuditEvent {
            kind: "policy.decision".into(),
            time: "2025-01-01T00:00:00Z".into(),
            actor: "did:key:z6Mk".into(),
            subject: "offer-1".into(),
            outcome: "permit".into(),
            details: None,
        }
        .with_details(serde_json::json!({"b": 1, "a": [1.0, "x"]}));
        let entry = Entry::new(3, &[0u8; 32], event);
        let text = String::from_utf8(entry.canonical().unwrap()).unwrap();
        assert!(
            text.starts_with(r#"{"event":{"actor":"did:key:z6Mk","details":{"a":[1,"x"],"b":1}"#)
        );
        assert!(text.ends_with(&format!(r#""index":3,"prev":"{}"}}"#, "0".repeat(64))));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(canonical_value(&value).unwrap().0, text.as_bytes());
    }

    #[test]
    fn validation_names_the_field() {
        let mut event = AuditEvent::new("auth.failed", "not-a-did", "x", "refused");
        assert!(matches!(event.validate(), Err(EventError::InvalidActor(_))));
        event.actor = "did:key:z6Mkabc".into();
        event.time = "yesterday".into();
        assert!(matches!(
            event.validate(),
            Err(EventError::Invalid { field: "time", .. })
        ));
    }
}
