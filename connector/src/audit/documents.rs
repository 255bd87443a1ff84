//! The DID documents an audit bundle carries, so that an auditor checks its did:web
//! signatures offline.

use std::collections::BTreeSet;

use serde_json::Value;
use symbolon_audit::AuditBundle;

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
    use std::collections::BTreeMap;

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
