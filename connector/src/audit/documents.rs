//! The DID documents an audit bundle carries, so that an auditor checks did:web signatures
//! offline. They are captured when what needs them is written — an event embedding a
//! credential or presentation a did:web DID signed, a held credential — and stored with it;
//! an export reads them from the store and never resolves anything. A document that could not
//! be captured is missing from the bundle, and the offline verifier names it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use symbolon_audit::AuditBundle;
use symbolon_identity::{Did, DidResolver};

use crate::store::{DidDocumentRepository, StoreError};

/// Largest DID document captured (JSON bytes); a larger one is left out.
pub const MAX_CAPTURED_BYTES: usize = 64 * 1024;

/// Most DID documents captured for one event or credential.
pub const MAX_CAPTURED: usize = 8;

/// Longest a capture waits for resolution, for all its DIDs together. A signature that was
/// just checked left its signer's document in the resolver's cache, which answers at once.
pub const CAPTURE_DEADLINE: Duration = Duration::from_secs(2);

/// The documents of `dids` (at most [`MAX_CAPTURED`]) that resolve within
/// [`CAPTURE_DEADLINE`] and fit [`MAX_CAPTURED_BYTES`]; the others are logged and left out.
pub async fn capture(resolver: &DidResolver, dids: &BTreeSet<String>) -> BTreeMap<String, Value> {
    let deadline = tokio::time::Instant::now() + CAPTURE_DEADLINE;
    let mut captured = BTreeMap::new();
    for did in dids.iter().take(MAX_CAPTURED) {
        let Ok(parsed) = Did::parse(did) else {
            continue;
        };
        let document = match tokio::time::timeout_at(deadline, resolver.resolve(&parsed)).await {
            Ok(Ok(document)) => document,
            Ok(Err(error)) => {
                tracing::warn!(%did, %error, "a did:web signer's document cannot be captured for the audit trail");
                continue;
            }
            Err(_) => {
                tracing::warn!(%did, "a did:web signer's document was not resolved in time for the audit trail");
                continue;
            }
        };
        let size = serde_json::to_vec(&document).map_or(usize::MAX, |bytes| bytes.len());
        if size > MAX_CAPTURED_BYTES {
            tracing::warn!(%did, size, "a did:web signer's document is too large to keep in the audit trail");
            continue;
        }
        captured.insert(did.clone(), document);
    }
    if dids.len() > MAX_CAPTURED {
        tracing::warn!(
            signers = dids.len(),
            "more did:web signers than the audit trail keeps documents for"
        );
    }
    captured
}

/// Adds to `bundle` the stored documents of the did:web signers of what it embeds; returns
/// the signers that have none stored (the verifier will report what they signed as
/// unverifiable).
pub fn add_stored_documents(
    bundle: &mut AuditBundle,
    stored: &dyn DidDocumentRepository,
) -> Result<BTreeSet<String>, StoreError> {
    let mut wanted = symbolon_audit::signers::bundle_web_signers(bundle);
    wanted.retain(|did| !bundle.did_documents.contains_key(did));
    let found = stored.get(&wanted)?;
    let missing: BTreeSet<String> = wanted
        .into_iter()
        .filter(|did| !found.contains_key(did))
        .collect();
    bundle.did_documents.extend(found);
    if !missing.is_empty() {
        tracing::warn!(
            ?missing,
            "the audit bundle lacks the DID documents of some did:web signers"
        );
    }
    Ok(missing)
}
