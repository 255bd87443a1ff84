//! The connector's audit trail: the one way anything writes an audit event. It appends events
//! to the store's tamper-evident log (an append returns once the entry is on disk), signs tree
//! heads with the connector's DID key, exports bundles for auditors, and witnesses partners'
//! tree heads.

mod documents;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use symbolon_audit::{AuditBundle, AuditEvent, DurableLog, EventKind, HeadError, SignedTreeHead};
use symbolon_identity::{DidResolver, Identity, VerifyError};

use crate::domain::Event;
use crate::store::StoreError;

pub use documents::add_web_documents;

/// Why the trail could not record or sign.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log refused or failed the append, or the signing of a head.
    #[error(transparent)]
    Log(#[from] symbolon_audit::StoreError),
    /// The store failed while reading.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking append did not finish (the runtime is shutting down).
    #[error("the audit append was interrupted: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
}

/// Why a partner's tree head was not witnessed.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The head is malformed.
    #[error("the tree head is malformed: {0}")]
    Head(#[from] HeadError),
    /// The head is for another log than the partner's.
    #[error("the tree head is for log `{log}`, not the partner `{partner}`")]
    OtherLog {
        /// The log the head names.
        log: String,
        /// The partner.
        partner: String,
    },
    /// The head's signature does not verify with the partner's DID.
    #[error("the tree head's signature does not verify: {0}")]
    Signature(#[from] VerifyError),
    /// Recording it failed.
    #[error(transparent)]
    Record(#[from] AuditError),
}

/// A bounded stand-in for a caller's document in an audit event: its SHA-256 over its JSON
/// text and its size, so that the trail proves what was seen without holding it.
pub fn digest(document: &Value) -> Value {
    use sha2::Digest as _;
    let text = document.to_string();
    serde_json::json!({
        "sha256": hex::encode(sha2::Sha256::digest(text.as_bytes())),
        "bytes": text.len(),
    })
}

/// The audit trail of one connector.
#[derive(Clone)]
pub struct AuditTrail {
    log: Arc<DurableLog>,
    signer: Identity,
}

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail")
            .field("log_id", &self.signer.did.as_str())
            .finish_non_exhaustive()
    }
}

impl AuditTrail {
    /// The trail kept in `log`, whose heads `signer` signs.
    pub fn new(log: Arc<DurableLog>, signer: Identity) -> Self {
        AuditTrail { log, signer }
    }

    /// The log itself (proofs, entries).
    pub fn log(&self) -> &Arc<DurableLog> {
        &self.log
    }

    /// Records `event`; returns its index once it is on disk. An action whose event cannot be
    /// recorded must fail: callers propagate the error.
    pub async fn record(&self, event: Event) -> Result<u64, AuditError> {
        let log = self.log.clone();
        let event = event.to_audit();
        Ok(tokio::task::spawn_blocking(move || log.append(&event)).await??)
    }

    /// Records `event` from blocking code.
    pub fn record_blocking(&self, event: &Event) -> Result<u64, AuditError> {
        Ok(self.log.append(&event.to_audit())?)
    }

    /// An event of `kind` by this connector, stamped now.
    pub fn event(
        &self,
        kind: EventKind,
        subject: impl Into<String>,
        outcome: impl Into<String>,
        details: Value,
    ) -> Event {
        Event::now(kind, self.signer.did.as_str(), subject, outcome, details)
    }

    /// Events `from..to` (clamped to the log), oldest first.
    pub fn events(&self, from: u64, to: u64) -> Result<Vec<Event>, StoreError> {
        let to = to.min(self.log.len());
        let mut out = Vec::new();
        let mut start = from;
        while start < to {
            let end = to.min(start.saturating_add(symbolon_audit::store::MAX_ENTRIES_PER_READ));
            for entry in self.log.entries(start, end)? {
                out.push(Event::from_audit(entry.event)?);
            }
            start = end;
        }
        Ok(out)
    }

    /// Signs a head over everything appended so far (unless the latest head covers it).
    /// Blocks.
    pub fn current_head(&self) -> Result<SignedTreeHead, AuditError> {
        if let Some(head) = self.log.head() {
            if head.head.tree_size == self.log.len() {
                return Ok(head);
            }
        }
        Ok(self.log.sign_head_with_kid(
            &self.signer.key,
            self.signer.did.as_str(),
            &self.signer.verification_method(),
        )?)
    }

    /// The current signed head as a compact JWS, signed off the async runtime.
    pub async fn head_jws(&self) -> Result<String, AuditError> {
        let trail = self.clone();
        Ok(tokio::task::spawn_blocking(move || trail.current_head())
            .await??
            .jws)
    }

    /// Records a partner's signed tree head (cross-witnessing), after checking its signature
    /// against the partner's DID.
    pub async fn witness(
        &self,
        partner: &str,
        head_jws: &str,
        resolver: &DidResolver,
    ) -> Result<u64, WitnessError> {
        let head = SignedTreeHead::decode(head_jws)?;
        if head.head.log_id != partner {
            return Err(WitnessError::OtherLog {
                log: head.head.log_id,
                partner: partner.to_owned(),
            });
        }
        symbolon_identity::jose::decode(head_jws)?
            .verify(head_jws, partner, resolver)
            .await?;
        let event = AuditEvent::witness(self.signer.did.as_str(), partner, head_jws);
        let log = self.log.clone();
        let appended = tokio::task::spawn_blocking(move || log.append(&event))
            .await
            .map_err(AuditError::from)?;
        Ok(appended.map_err(AuditError::from)?)
    }

    /// The log as a bundle an auditor verifies offline: every entry and signed head (a fresh
    /// head is signed first), this connector's DID document and `credentials` (its wallet).
    /// Blocks.
    pub fn export(&self, credentials: Vec<Value>) -> Result<AuditBundle, AuditError> {
        self.current_head()?;
        Ok(self
            .log
            .export(self.signer.did.as_str(), BTreeMap::new(), credentials)?)
    }
}
