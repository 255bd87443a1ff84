//! The issuer's side of revocation: which status index each issued credential holds, the
//! revocation and suspension lists, and their publication as signed status list credentials.

use std::collections::BTreeMap;

use rand::Rng as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use symbolon_identity::status_list::{self, StatusList, StatusPurpose, MIN_BITS};
use symbolon_identity::{Identity, Secured};

use crate::datadir::{DataDir, DataDirError};

const REGISTRY_FILE: &str = "issued.json";
const LOCK_FILE: &str = ".issuer.lock";

/// One credential this connector issued with a status entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssuedCredential {
    /// Its status index (the same in both lists).
    pub index: u64,
    /// The status list base URL it points at.
    pub status_base: String,
    /// Its types.
    pub types: Vec<String>,
    /// Its subject.
    pub subject: String,
    /// Whether it is revoked.
    #[serde(default)]
    pub revoked: bool,
    /// Whether it is suspended.
    #[serde(default)]
    pub suspended: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Registry {
    credentials: BTreeMap<String, IssuedCredential>,
}

/// An error while managing status.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The data directory failed.
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    /// No issued credential has this id.
    #[error("no credential `{0}` was issued by this connector with a status entry")]
    UnknownCredential(String),
    /// The list is full.
    #[error("the status list has no free index left")]
    Full,
    /// A stored list is malformed.
    #[error("stored status list: {0}")]
    List(#[from] status_list::StatusListError),
}

/// The issuer's status registry in a data directory.
#[derive(Debug, Clone)]
pub struct StatusRegistry {
    dir: DataDir,
    public_url: String,
}

/// The path a status list is served at, relative to the connector's base URL.
pub fn list_url(base: &str, purpose: StatusPurpose) -> String {
    format!("{}/status/{}", base.trim_end_matches('/'), purpose.as_str())
}

impl StatusRegistry {
    /// Where this registry publishes its list for `purpose`.
    pub fn url_of(&self, purpose: StatusPurpose) -> String {
        list_url(&self.public_url, purpose)
    }

    /// The registry of `dir`, whose status lists are published under `public_url`.
    pub fn new(dir: DataDir, public_url: &str) -> Self {
        StatusRegistry {
            dir,
            public_url: public_url.to_owned(),
        }
    }

    /// The base URL the status lists are published under.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    fn lock(&self) -> Result<std::fs::File, StatusError> {
        let path = self.dir.path(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| DataDirError::Io {
                path: path.display().to_string(),
                source,
            })?;
        file.lock().map_err(|source| DataDirError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(file)
    }

    fn registry(&self) -> Result<Registry, StatusError> {
        Ok(self.dir.read_json(REGISTRY_FILE)?.unwrap_or_default())
    }

    /// Adds revocation and suspension entries to `credential` at a fresh random index, and
    /// records it. Call before signing.
    pub fn assign(&self, credential: &mut Value, status_base: &str) -> Result<u64, StatusError> {
        let _guard = self.lock()?;
        let mut registry = self.registry()?;
        let used: std::collections::HashSet<u64> =
            registry.credentials.values().map(|c| c.index).collect();
        if used.len() >= MIN_BITS {
            return Err(StatusError::Full);
        }
        // A random index, so that neighbouring indices say nothing about issuance order.
        let mut rng = rand::rngs::OsRng;
        let index = loop {
            let candidate = rng.gen_range(0..MIN_BITS as u64);
            if !used.contains(&candidate) {
                break candidate;
            }
        };
        let entries = vec![
            status_list::entry(
                &list_url(status_base, StatusPurpose::Revocation),
                StatusPurpose::Revocation,
                index,
            ),
            status_list::entry(
                &list_url(status_base, StatusPurpose::Suspension),
                StatusPurpose::Suspension,
                index,
            ),
        ];
        let id = credential
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("urn:uuid:{}", uuid::Uuid::new_v4()));
        if let Some(object) = credential.as_object_mut() {
            object.insert("id".into(), id.clone().into());
            object.insert("credentialStatus".into(), Value::Array(entries));
        }
        registry.credentials.insert(
            id,
            IssuedCredential {
                index,
                status_base: status_base.to_owned(),
                types: symbolon_identity::credential::specific_types(credential),
                subject: symbolon_identity::credential::subject_ids(credential).join(","),
                revoked: false,
                suspended: false,
            },
        );
        self.dir.write_json(REGISTRY_FILE, &registry)?;
        Ok(index)
    }

    /// Sets the `purpose` bit of credential `id`; returns the credential's record.
    pub fn set(
        &self,
        id: &str,
        purpose: StatusPurpose,
        value: bool,
    ) -> Result<IssuedCredential, StatusError> {
        let _guard = self.lock()?;
        let mut registry = self.registry()?;
        let record = registry
            .credentials
            .get_mut(id)
            .ok_or_else(|| StatusError::UnknownCredential(id.to_owned()))?;
        match purpose {
            StatusPurpose::Revocation => record.revoked = value,
            StatusPurpose::Suspension => record.suspended = value,
        }
        let index = record.index;
        let record = record.clone();
        let mut list = self.list(purpose)?;
        list.set(index, value)?;
        self.dir.write_bytes(&list_file(purpose), list.as_bytes())?;
        self.dir.write_json(REGISTRY_FILE, &registry)?;
        Ok(record)
    }

    /// The current list for `purpose`.
    pub fn list(&self, purpose: StatusPurpose) -> Result<StatusList, StatusError> {
        let path = self.dir.path(&list_file(purpose));
        match std::fs::read(&path) {
            Ok(bytes) => Ok(StatusList::from_bytes(bytes)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StatusList::new()),
            Err(source) => Err(DataDirError::Io {
                path: path.display().to_string(),
                source,
            }
            .into()),
        }
    }

    /// The signed status list credential for `purpose`, published at `url`.
    pub fn publish(
        &self,
        identity: &Identity,
        purpose: StatusPurpose,
        url: &str,
    ) -> Result<String, StatusError> {
        let list = self.list(purpose)?;
        let credential = list.credential(&identity.did, url, purpose);
        let token = symbolon_identity::jose::sign(
            &identity.key,
            &identity.verification_method(),
            "vc+jwt",
            &credential,
        );
        Ok(Secured::Jwt(token).to_text())
    }

    /// The unsigned status list credential for `purpose`, published at `url` (for a caller that
    /// secures it otherwise, e.g. with Data Integrity).
    pub fn unsigned(
        &self,
        identity: &Identity,
        purpose: StatusPurpose,
        url: &str,
    ) -> Result<serde_json::Value, StatusError> {
        Ok(self.list(purpose)?.credential(&identity.did, url, purpose))
    }

    /// Every credential issued with a status entry.
    pub fn issued(&self) -> Result<BTreeMap<String, IssuedCredential>, StatusError> {
        Ok(self.registry()?.credentials)
    }
}

fn list_file(purpose: StatusPurpose) -> String {
    format!("status/{}.bits", purpose.as_str())
}
