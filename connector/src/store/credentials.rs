//! Credentials this connector holds (its wallet), kept for presenting later.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use symbolon_identity::Secured;

use super::codec::Records;
use super::StoreError;

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
    /// A record for `credential` (a compact JWS string or a JSON document) whose verified
    /// content is `document`.
    pub fn new(credential: Value, document: &Value, format: &str) -> Self {
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
            stored_at: symbolon_identity::credential::format_time(chrono::Utc::now()),
        }
    }

    /// The credential in the form presentations embed.
    pub fn secured(&self) -> Secured {
        match &self.credential {
            Value::String(token) => Secured::Jwt(token.clone()),
            other => Secured::Json(other.clone()),
        }
    }
}

/// The held-credentials repository.
#[derive(Clone)]
pub struct HeldCredentials(Records<HeldCredential>);

impl HeldCredentials {
    pub(crate) fn new(tree: sled::Tree, db: sled::Db) -> Self {
        HeldCredentials(Records::new("credentials", tree, db))
    }

    /// Stores a credential (flushed); storing the same one twice keeps one copy.
    pub async fn put(&self, credential: &HeldCredential) -> Result<(), StoreError> {
        self.0.put(&credential.key, credential).await
    }

    /// Every held credential, oldest first.
    pub fn list(&self) -> Result<Vec<HeldCredential>, StoreError> {
        let mut held = self.0.list()?;
        held.sort_by(|a, b| a.stored_at.cmp(&b.stored_at));
        Ok(held)
    }
}
