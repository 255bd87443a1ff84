//! The connector's audit trail: the one way anything writes an audit event. It appends events
//! to the store's tamper-evident log (an append returns once the entry is on disk), keeps what
//! callers control within bounds ([`bounds`]), captures the DID documents an auditor needs
//! with the events that need them ([`documents`]), signs tree heads with the connector's DID
//! key, exports bundles for auditors (without any network call), and witnesses partners' tree
//! heads.

pub mod bounds;
pub mod documents;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;
use symbolon_audit::{AuditBundle, AuditEvent, DurableLog, EventKind, HeadError, SignedTreeHead};
use symbolon_identity::{DidResolver, Identity, VerifyError};

use crate::domain::Event;
use crate::store::{DidDocumentRepository, StoreError};

pub use bounds::digest;

/// Largest partner tree head (compact JWS) recorded.
pub const MAX_HEAD_JWS_BYTES: usize = 8 * 1024;

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
    /// The head is larger than any tree head.
    #[error("the tree head is {0} bytes; at most {MAX_HEAD_JWS_BYTES} are accepted")]
    TooLarge(usize),
    /// Recording it failed.
    #[error(transparent)]
    Record(#[from] AuditError),
}

/// The audit trail of one connector.
#[derive(Clone)]
pub struct AuditTrail {
    log: Arc<DurableLog>,
    documents: Arc<dyn DidDocumentRepository>,
    resolver: Arc<DidResolver>,
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
    /// The trail kept in `log`, with the DID documents its events need in `documents`
    /// (resolved with `resolver` when an event is recorded), whose heads `signer` signs.
    pub fn new(
        log: Arc<DurableLog>,
        documents: Arc<dyn DidDocumentRepository>,
        resolver: Arc<DidResolver>,
        signer: Identity,
    ) -> Self {
        AuditTrail {
            log,
            documents,
            resolver,
            signer,
        }
    }

    /// The log itself (proofs, entries).
    pub fn log(&self) -> &Arc<DurableLog> {
        &self.log
    }

    /// Records `event`; returns its index once it is on disk. An action whose event cannot be
    /// recorded must fail: callers propagate the error. When the event embeds a credential or
    /// presentation signed by did:web DIDs, their documents are captured (resolved now, from
    /// the resolver's cache when the signature was just checked) and stored in the same
    /// transaction.
    pub async fn record(&self, event: Event) -> Result<u64, AuditError> {
        let event = event.to_audit();
        let signers = event
            .details
            .as_ref()
            .map(symbolon_audit::signers::web_signers_of_details)
            .unwrap_or_default();
        if signers.is_empty() {
            let log = self.log.clone();
            return Ok(tokio::task::spawn_blocking(move || log.append(&event)).await??);
        }
        let captured = documents::capture(&self.resolver, &signers).await;
        let store = self.documents.clone();
        tokio::task::spawn_blocking(move || store.append_with(&event, &captured))
            .await?
            .map_err(AuditError::from_store)
    }

    /// Captures and stores the documents of the did:web DIDs that signed `document` (a
    /// credential this connector holds, exported with the trail).
    pub async fn capture_documents(&self, document: &Value) -> Result<(), AuditError> {
        let signers: BTreeSet<String> = symbolon_audit::signers::web_signers(document);
        if signers.is_empty() {
            return Ok(());
        }
        let captured = documents::capture(&self.resolver, &signers).await;
        let store = self.documents.clone();
        tokio::task::spawn_blocking(move || store.put(&captured))
            .await?
            .map_err(AuditError::from_store)
    }

    /// An event of `kind` by this connector, stamped now; its subject and details are kept
    /// within [`bounds`].
    pub fn event(
        &self,
        kind: EventKind,
        subject: impl Into<String>,
        outcome: impl Into<String>,
        details: Value,
    ) -> Event {
        let subject = bounds::text(&subject.into());
        let details = if details.is_null() {
            details
        } else {
            bounds::details(&details)
        };
        Event::now(kind, self.signer.did.as_str(), subject, outcome, details)
    }

    /// Like [`event`](Self::event), with `document` recorded whole under `member` (e.g. the
    /// `credential` an issuance produced, for an auditor to check offline). Only for what this
    /// connector itself produced or an operator handed it, never for a caller's input: the
    /// log refuses an entry over its size limit, and the action then fails.
    pub fn event_with_document(
        &self,
        kind: EventKind,
        subject: impl Into<String>,
        outcome: impl Into<String>,
        member: &str,
        document: Value,
    ) -> Event {
        let mut event = self.event(kind, subject, outcome, Value::Null);
        event.details = serde_json::json!({ member: document });
        event
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
        if head_jws.len() > MAX_HEAD_JWS_BYTES {
            return Err(WitnessError::TooLarge(head_jws.len()));
        }
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
    /// head is signed first), this connector's DID document, `credentials` (its wallet) and
    /// the stored DID documents of the did:web DIDs that signed what the bundle embeds. Makes
    /// no network call: a document that was never captured is left out, and the verifier
    /// names it. Blocks.
    pub fn export(&self, credentials: Vec<Value>) -> Result<AuditBundle, AuditError> {
        self.current_head()?;
        let mut bundle = self
            .log
            .export(self.signer.did.as_str(), BTreeMap::new(), credentials)?;
        documents::add_stored_documents(&mut bundle, self.documents.as_ref())?;
        // A did:web log's own document (its keys; the services it publishes are left out), so
        // that its heads verify offline: the log adds a did:key or did:jwk one itself.
        if self.signer.did.method() == "web" {
            bundle
                .did_documents
                .entry(self.signer.did.as_str().to_owned())
                .or_insert_with(|| self.signer.did_document(&[]));
        }
        Ok(bundle)
    }
}

impl AuditError {
    /// The store's error, as the trail reports it (the log's own errors stay the log's).
    fn from_store(error: StoreError) -> Self {
        match error {
            StoreError::Audit(error) => AuditError::Log(error),
            other => AuditError::Store(other),
        }
    }
}
