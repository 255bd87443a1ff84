//! The connector's audit trail: the events repository's Merkle log, signed tree heads with the
//! connector's DID key, bundles for auditors, and cross-witnessing of partners' tree heads.

use std::collections::{BTreeMap, BTreeSet};

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

/// Adds to `bundle` the DID documents of the did:web issuers (and holders) of the credentials
/// and presentations it embeds, resolved now, so that an auditor can check their proofs
/// offline. An issuer that cannot be resolved is logged and left out; the verifier then reports
/// its credential as unverifiable.
pub async fn add_web_documents(
    bundle: &mut AuditBundle,
    resolver: &symbolon_identity::DidResolver,
) {
    for did in web_signers(bundle) {
        if bundle.did_documents.contains_key(&did) {
            continue;
        }
        let resolved = match symbolon_identity::Did::parse(&did) {
            Ok(parsed) => resolver.resolve(&parsed).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match resolved {
            Ok(document) => {
                bundle.did_documents.insert(did, document);
            }
            Err(reason) => {
                tracing::warn!(%did, %reason, "a did:web signer's document is not in the audit bundle")
            }
        }
    }
}

/// The did:web DIDs that signed the credentials and presentations a bundle embeds.
fn web_signers(bundle: &AuditBundle) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for entry in &bundle.entries {
        if let Some(details) = entry.get("event").and_then(|e| e.get("details")) {
            for member in ["credential", "presentation"] {
                if let Some(value) = details.get(member) {
                    collect_signers(value, &mut found, 0);
                }
            }
        }
    }
    for credential in &bundle.credentials {
        collect_signers(credential, &mut found, 0);
    }
    found.retain(|did| did.starts_with("did:web:"));
    found
}

/// Deepest nesting followed (a presentation's enveloped credentials sit three levels down).
const MAX_SIGNER_DEPTH: usize = 6;

fn collect_signers(value: &Value, found: &mut BTreeSet<String>, depth: usize) {
    if depth > MAX_SIGNER_DEPTH {
        return;
    }
    match value {
        Value::String(text) => {
            // A compact JWS, bare or enveloped as `data:application/vc+jwt,<token>`.
            let token = match text.split_once(',') {
                Some((head, token)) if head.starts_with("data:application/") => token,
                _ => text.as_str(),
            };
            if let Some(payload) = symbolon_identity::verify::peek_jwt_payload(token) {
                collect_signers(&payload, found, depth + 1);
            }
        }
        Value::Object(map) => {
            for member in ["issuer", "iss", "holder"] {
                match map.get(member) {
                    Some(Value::String(did)) => {
                        found.insert(did.clone());
                    }
                    Some(Value::Object(named)) => {
                        if let Some(did) = named.get("id").and_then(Value::as_str) {
                            found.insert(did.to_owned());
                        }
                    }
                    _ => {}
                }
            }
            for member in ["vp", "vc", "verifiableCredential", "id"] {
                if let Some(inner) = map.get(member) {
                    collect_signers(inner, found, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_signers(item, found, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_signers_are_found_in_credentials_and_presentations() {
        let header = "eyJhbGciOiJFZERTQSJ9";
        let jwt = |payload: Value| {
            use base64::Engine as _;
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(&payload).unwrap());
            format!("{header}.{body}.c2ln")
        };
        let inner = jwt(serde_json::json!({"issuer": "did:web:authority.example"}));
        let vp = jwt(serde_json::json!({
            "iss": "did:web:hospital.example",
            "vp": {"verifiableCredential": [{"id": format!("data:application/vc+jwt,{inner}")}]},
        }));
        let bundle = AuditBundle {
            format: symbolon_audit::BUNDLE_FORMAT.into(),
            log_id: "did:key:z6Mk".into(),
            entries: vec![serde_json::json!({"event": {"details": {"presentation": vp}}})],
            heads: Vec::new(),
            did_documents: BTreeMap::new(),
            credentials: vec![serde_json::json!({"issuer": {"id": "did:key:z6Mkx"}})],
        };
        let found: Vec<String> = web_signers(&bundle).into_iter().collect();
        assert_eq!(
            found,
            ["did:web:authority.example", "did:web:hospital.example"]
        );
    }
}
