//! Who signed the credentials and presentations an event or a bundle embeds: the DIDs whose
//! documents an offline check needs. Read from the documents themselves (`issuer`, `iss`,
//! `holder`, also inside compact JWS tokens and enveloped credentials), without verifying
//! anything.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use symbolon_identity::verify::peek_jwt_payload;

use crate::bundle::AuditBundle;

/// The members of an event's details that hold a credential or a presentation checked
/// offline.
pub const EMBEDDED: [&str; 2] = ["credential", "presentation"];

/// Deepest nesting followed (a presentation's enveloped credentials sit three levels down).
const MAX_DEPTH: usize = 6;

/// Most signers collected from one document.
const MAX_SIGNERS: usize = 64;

/// The DIDs that signed `document` (a credential or presentation, as JSON or a compact JWS)
/// and what it embeds.
pub fn signers(document: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect(document, &mut found, 0);
    found
}

/// The did:web DIDs among [`signers`] of `document`: those whose documents cannot be derived
/// from the DID itself.
pub fn web_signers(document: &Value) -> BTreeSet<String> {
    let mut found = signers(document);
    found.retain(|did| is_web(did));
    found
}

/// The did:web signers of the credentials and presentations an event's `details` embed.
pub fn web_signers_of_details(details: &Map<String, Value>) -> BTreeSet<String> {
    EMBEDDED
        .iter()
        .filter_map(|member| details.get(*member))
        .flat_map(web_signers)
        .collect()
}

/// The did:web signers of everything a bundle embeds: the entries' credentials and
/// presentations, and the bundle's credentials.
pub fn bundle_web_signers(bundle: &AuditBundle) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for entry in &bundle.entries {
        if let Some(details) = entry
            .get("event")
            .and_then(|e| e.get("details"))
            .and_then(Value::as_object)
        {
            found.extend(web_signers_of_details(details));
        }
    }
    for credential in &bundle.credentials {
        found.extend(web_signers(credential));
    }
    found
}

/// Whether `did` is a did:web DID.
pub fn is_web(did: &str) -> bool {
    did.starts_with("did:web:")
}

fn collect(value: &Value, found: &mut BTreeSet<String>, depth: usize) {
    if depth > MAX_DEPTH || found.len() >= MAX_SIGNERS {
        return;
    }
    match value {
        Value::String(text) => {
            // A compact JWS, bare or enveloped as `data:application/vc+jwt,<token>`.
            let token = match text.split_once(',') {
                Some((head, token)) if head.starts_with("data:application/") => token,
                _ => text.as_str(),
            };
            if let Some(payload) = peek_jwt_payload(token) {
                collect(&payload, found, depth + 1);
            }
        }
        Value::Object(map) => {
            for member in ["issuer", "iss", "holder"] {
                let did = match map.get(member) {
                    Some(Value::String(did)) => Some(did.as_str()),
                    Some(Value::Object(named)) => named.get("id").and_then(Value::as_str),
                    _ => None,
                };
                if let Some(did) = did.filter(|did| did.starts_with("did:")) {
                    found.insert(did.to_owned());
                }
            }
            for member in ["vp", "vc", "verifiableCredential", "id"] {
                if let Some(inner) = map.get(member) {
                    collect(inner, found, depth + 1);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, found, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn jwt(payload: &Value) -> String {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(payload).unwrap_or_default());
        format!("eyJhbGciOiJFZERTQSJ9.{body}.c2ln")
    }

    #[test]
    fn web_signers_are_found_in_credentials_and_presentations() {
        let inner = jwt(&json!({"issuer": "did:web:authority.example"}));
        let vp = jwt(&json!({
            "iss": "did:web:hospital.example",
            "vp": {"verifiableCredential": [{"id": format!("data:application/vc+jwt,{inner}")}]},
        }));
        let bundle = AuditBundle {
            format: crate::BUNDLE_FORMAT.into(),
            log_id: "did:key:z6Mk".into(),
            entries: vec![json!({"event": {"details": {"presentation": vp}}})],
            heads: Vec::new(),
            did_documents: BTreeMap::new(),
            credentials: vec![json!({"issuer": {"id": "did:key:z6Mkx"}})],
        };
        let found: Vec<String> = bundle_web_signers(&bundle).into_iter().collect();
        assert_eq!(
            found,
            ["did:web:authority.example", "did:web:hospital.example"]
        );
        assert_eq!(
            signers(&json!({"issuer": {"id": "did:key:z6Mkx"}}))
                .into_iter()
                .collect::<Vec<_>>(),
            ["did:key:z6Mkx"]
        );
    }
}
