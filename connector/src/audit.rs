//! The connector's audit trail: the events repository's Merkle log, signed tree heads with the
//! connector's DID key, bundles for auditors, and cross-witnessing of partners' tree heads.

use std::collections::BTreeMap;

use serde_json::Value;
use symbolon_audit::{AuditBundle, AuditEvent, SignedTreeHead};
use symbolon_identity::Identity;

use crate::store::{Store, StoreError};

/// Signs a head over everything appended so far (unless the latest head already covers it).
pub fn current_head(store: &Store, identity: &Identity) -> Result<SignedTreeHead, StoreError> {
    let log = store.events.log();
    if let Some(head) = log.head() {
        if head.head.tree_size == log.len() {
            return Ok(head);
        }
    }
    log.sign_head_with_kid(
        &identity.key,
        identity.did.as_str(),
        &identity.verification_method(),
    )
    .map_err(|e| StoreError::Audit(e.to_string()))
}

/// Records a partner's signed tree head in this connector's log (cross-witnessing): the
/// head's signature is checked against the partner's DID first.
pub async fn witness(
    store: &Store,
    identity: &Identity,
    partner: &str,
    head_jws: &str,
    resolver: &symbolon_identity::DidResolver,
) -> Result<u64, String> {
    let head = SignedTreeHead::decode(head_jws).map_err(|e| e.to_string())?;
    if head.head.log_id != partner {
        return Err(format!(
            "the tree head is for log `{}`, not the partner `{partner}`",
            head.head.log_id
        ));
    }
    let decoded = symbolon_identity::jose::decode(head_jws).map_err(|e| e.to_string())?;
    decoded
        .verify(head_jws, partner, resolver)
        .await
        .map_err(|e| e.to_string())?;
    let event = AuditEvent::witness(identity.did.as_str(), partner, head_jws);
    let log = store.events.log().clone();
    tokio::task::spawn_blocking(move || log.append(&event))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// Exports the log as a bundle an auditor verifies offline: every entry and signed head (a
/// fresh head is signed first), this connector's DID document and its held credentials.
pub fn export(store: &Store, identity: &Identity) -> Result<AuditBundle, StoreError> {
    current_head(store, identity)?;
    let credentials: Vec<Value> = store
        .credentials
        .list()?
        .into_iter()
        .map(|c| c.credential)
        .collect();
    store
        .events
        .log()
        .export(identity.did.as_str(), BTreeMap::new(), credentials)
        .map_err(|e| StoreError::Audit(e.to_string()))
}
