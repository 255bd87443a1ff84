//! The wallet: credentials issued to this connector's DID, kept for presenting later.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use symbolon_identity::{Input, Secured};

use crate::datadir::{DataDir, DataDirError};

const WALLET_DIR: &str = "wallet";

/// A credential held in the wallet.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldCredential {
    /// Its id, when it has one.
    pub id: Option<String>,
    /// Its types other than VerifiableCredential.
    pub types: Vec<String>,
    /// Its issuer.
    pub issuer: String,
    /// `vc+jwt` or the Data Integrity cryptosuite.
    pub format: String,
    /// The credential: a compact JWS string, or the JSON document.
    pub credential: Value,
    /// When it was stored.
    pub stored_at: String,
}

impl HeldCredential {
    /// The credential in the form presentations embed.
    pub fn secured(&self) -> Secured {
        match &self.credential {
            Value::String(token) => Secured::Jwt(token.clone()),
            other => Secured::Json(other.clone()),
        }
    }
}

/// Stores a verified credential; returns its wallet key.
pub fn store(
    dir: &DataDir,
    input: &Input,
    document: &Value,
    format: &str,
) -> Result<String, DataDirError> {
    let credential = match input {
        Input::Jwt(token) => Value::String(token.clone()),
        Input::Json(value) => value.clone(),
    };
    let key = hex::encode(
        Sha256::digest(credential.to_string().as_bytes())
            .get(..12)
            .unwrap_or_default(),
    );
    let held = HeldCredential {
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
    };
    dir.write_json(&format!("{WALLET_DIR}/{key}.json"), &held)?;
    Ok(key)
}

/// Every held credential, in a stable order.
pub fn list(dir: &DataDir) -> Result<Vec<HeldCredential>, DataDirError> {
    let folder = dir.path(WALLET_DIR);
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(DataDirError::Io {
                path: folder.display().to_string(),
                source,
            })
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut held = Vec::new();
    for name in names {
        if let Some(credential) =
            dir.read_json::<HeldCredential>(&format!("{WALLET_DIR}/{name}"))?
        {
            held.push(credential);
        }
    }
    held.sort_by(|a, b| a.stored_at.cmp(&b.stored_at));
    Ok(held)
}
