//! Credentials this connector holds (its wallet), kept for presenting later.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use symbolon_identity::{Input, Secured};

/// A credential held in the wallet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeldCredential {
    /// Its wallet key (a digest of the credential).
    pub key: String,
    /// Its id, when it has one.
    pub id: Option<String>,
    /// Its types other than VerifiableCredential.
    pub types: Vec<String>,
    /// Its issuer.
    pub issuer: String,
    /// `vc+jwt` or the Data Integrity cryptosuite.
    pub format: String,
    /// The credential: a compact JWS string, or the JSON document.
    #[schema(value_type = Object)]
    pub credential: Value,
    /// When it was stored (RFC 3339).
    pub stored_at: String,
}

impl HeldCredential {
    /// Whether `name` names this credential: its wallet key or its id.
    pub fn is_named(&self, name: &str) -> bool {
        self.key == name || self.id.as_deref() == Some(name)
    }

    /// A record for `input` (a compact JWS or a JSON document) whose verified content is
    /// `document`.
    pub fn new(input: &Input, document: &Value, format: &str) -> Self {
        let credential = match input {
            Input::Jwt(token) => Value::String(token.clone()),
            Input::Json(value) => value.clone(),
        };
        let key = hex::encode(
            Sha256::digest(credential.to_string().as_bytes())
                .get(..12)
                .unwrap_or_default(),
        );
        HeldCredential {
            key,
            id: document
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            types: symbolon_identity::credential::specific_types(document),
            issuer: symbolon_identity::credential::issuer_id(document)
                .unwrap_or_default()
                .to_owned(),
            format: format.to_owned(),
            credential,
            stored_at: super::now(),
        }
    }

    /// The credential in the form presentations embed.
    pub fn secured(&self) -> Secured {
        match &self.credential {
            Value::String(token) => Secured::Jwt(token.clone()),
            other => Secured::Json(other.clone()),
        }
    }

    /// The credential's JSON document: a JWS's payload (read, not verified: it was verified
    /// when stored), or the JSON document itself.
    pub fn document(&self) -> Option<Value> {
        match &self.credential {
            Value::String(token) => symbolon_identity::verify::peek_jwt_payload(token),
            other => Some(other.clone()),
        }
    }

    /// Whether it is of `kind` (e.g. `DataSpaceMembershipCredential`).
    pub fn is_a(&self, kind: &str) -> bool {
        self.types.iter().any(|t| t == kind)
    }
}
