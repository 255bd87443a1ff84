//! The keystore: one file, `identity.key`, in the connector's data directory.
//!
//! The file is created with mode 0600. When a passphrase is given (the CLI reads it from
//! `SYMBOLON_PASSPHRASE`), the secret is sealed with XChaCha20-Poly1305 under a key derived by
//! Argon2id from the passphrase and a random salt; the DID and algorithm are bound to the
//! ciphertext as associated data, so a swapped header is detected.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::did::Did;
use crate::error::{DidError, KeyError};
use crate::keys::{KeyAlgorithm, KeyPair};

/// The keystore's file name inside the data directory.
pub const KEYSTORE_FILE: &str = "identity.key";
/// The environment variable holding the keystore passphrase.
pub const PASSPHRASE_ENV: &str = "SYMBOLON_PASSPHRASE";

const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct KeystoreFile {
    version: u32,
    algorithm: KeyAlgorithm,
    did: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encryption: Option<Encryption>,
    /// The secret (plain) or the ciphertext (encrypted), base64.
    secret: String,
}

#[derive(Serialize, Deserialize)]
struct Encryption {
    kdf: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
    cipher: String,
    nonce: String,
}

/// A loaded identity: the key and the DID it controls.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The signing key.
    pub key: KeyPair,
    /// The connector's DID (did:key of the key).
    pub did: Did,
}

impl Identity {
    /// A fresh identity with a did:key.
    pub fn generate(algorithm: KeyAlgorithm) -> Self {
        Self::from_key(KeyPair::generate(algorithm))
    }

    /// The identity of `key` with its did:key.
    pub fn from_key(key: KeyPair) -> Self {
        let did = Did::key(&key.public_key());
        Identity { key, did }
    }

    /// An identity whose DID is the did:web `did`, controlled by `key`: the DID document the
    /// connector serves ([`Identity::did_document`]) binds them.
    pub fn with_web_did(key: KeyPair, did: &str) -> Result<Self, DidError> {
        let did = Did::parse(did)?;
        if did.method() != "web" {
            return Err(DidError::InvalidDid {
                did: did.to_string(),
                reason: "not a did:web DID".into(),
            });
        }
        crate::did::did_web_url(&did)?;
        Ok(Identity { key, did })
    }

    /// The verification method used for signatures (`did:key:z…#z…`, `did:web:…#key-1`).
    pub fn verification_method(&self) -> String {
        self.did.default_method()
    }

    /// The DID document of this identity with `services` (each an object with `id`, `type`
    /// and `serviceEndpoint`): its key as the one verification method, in every relationship.
    pub fn did_document(&self, services: &[serde_json::Value]) -> serde_json::Value {
        let method = self.verification_method();
        serde_json::json!({
            "@context": [
                "https://www.w3.org/ns/did/v1",
                "https://w3id.org/security/suites/jws-2020/v1"
            ],
            "id": self.did.as_str(),
            "verificationMethod": [{
                "id": method, "type": "JsonWebKey2020", "controller": self.did.as_str(),
                "publicKeyJwk": self.key.public_key().jwk(),
            }],
            "authentication": [method],
            "assertionMethod": [method],
            "capabilityInvocation": [method],
            "capabilityDelegation": [method],
            "service": services,
        })
    }
}

/// The keystore path inside a data directory.
pub fn keystore_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYSTORE_FILE)
}

/// Writes a new keystore; refuses to overwrite one that exists.
pub fn create(
    data_dir: &Path,
    identity: &Identity,
    passphrase: Option<&str>,
) -> Result<PathBuf, KeyError> {
    let path = keystore_path(data_dir);
    let shown = path.display().to_string();
    if path.exists() {
        return Err(KeyError::AlreadyExists(shown));
    }
    let io = |source| KeyError::Io {
        path: shown.clone(),
        source,
    };
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let secret = identity.key.secret_bytes();
    let file = match passphrase {
        None => KeystoreFile {
            version: FORMAT_VERSION,
            algorithm: identity.key.algorithm(),
            did: identity.did.to_string(),
            encryption: None,
            secret: B64.encode(secret.as_slice()),
        },
        Some(passphrase) => seal(identity, passphrase, &secret)?,
    };
    let json =
        Zeroizing::new(
            serde_json::to_vec_pretty(&file).map_err(|source| KeyError::Serialize {
                path: shown.clone(),
                source,
            })?,
        );
    write_private_file(&path, &json).map_err(io)?;
    Ok(path)
}

/// Loads the keystore of a data directory, unsealing it with `passphrase`; a passphrase for
/// a keystore that is not sealed is refused ([`KeyError::PassphraseNotNeeded`]).
pub fn load(data_dir: &Path, passphrase: Option<&str>) -> Result<Identity, KeyError> {
    let path = keystore_path(data_dir);
    let shown = path.display().to_string();
    let bytes = Zeroizing::new(std::fs::read(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            KeyError::NotFound(shown.clone())
        } else {
            KeyError::Io {
                path: shown.clone(),
                source,
            }
        }
    })?);
    let malformed = |reason: &str| KeyError::Malformed {
        path: shown.clone(),
        reason: reason.to_owned(),
    };
    let file: KeystoreFile =
        serde_json::from_slice(&bytes).map_err(|_| malformed("not a keystore JSON document"))?;
    if file.version != FORMAT_VERSION {
        return Err(malformed("unsupported keystore version"));
    }
    let stored = Zeroizing::new(
        B64.decode(&file.secret)
            .map_err(|_| malformed("secret is not base64"))?,
    );
    let secret = match &file.encryption {
        None if passphrase.is_some() => return Err(KeyError::PassphraseNotNeeded(shown)),
        None => stored,
        Some(encryption) => {
            let passphrase =
                passphrase.ok_or_else(|| KeyError::PassphraseRequired(shown.clone()))?;
            open(&file, encryption, passphrase, &stored).map_err(|e| match e {
                KeyError::WrongPassphrase(_) => KeyError::WrongPassphrase(shown.clone()),
                other => other,
            })?
        }
    };
    let key = KeyPair::from_secret_bytes(file.algorithm, &secret)?;
    if file.did.starts_with("did:web:") {
        // A did:web DID names its key in the document the connector serves, not in itself.
        return Identity::with_web_did(key, &file.did)
            .map_err(|_| malformed("the stored did:web DID is not valid"));
    }
    let did = Did::key(&key.public_key());
    if did.as_str() != file.did {
        return Err(malformed("the stored DID does not match the key"));
    }
    Ok(Identity { key, did })
}

fn derive_key(
    passphrase: &str,
    salt: &[u8],
    memory: u32,
    iterations: u32,
    parallelism: u32,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let params = argon2::Params::new(memory, iterations, parallelism, Some(32))
        .map_err(|_| KeyError::Kdf)?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
        .map_err(|_| KeyError::Kdf)?;
    Ok(key)
}

fn associated_data(algorithm: KeyAlgorithm, did: &str) -> Vec<u8> {
    format!(
        "symbolon-keystore-v{FORMAT_VERSION}|{}|{did}",
        algorithm.name()
    )
    .into_bytes()
}

fn seal(identity: &Identity, passphrase: &str, secret: &[u8]) -> Result<KeystoreFile, KeyError> {
    let (memory_kib, iterations, parallelism) = (19 * 1024, 2, 1);
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let key = derive_key(passphrase, &salt, memory_kib, iterations, parallelism)?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let aad = associated_data(identity.key.algorithm(), identity.did.as_str());
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: secret,
                aad: &aad,
            },
        )
        .map_err(|_| KeyError::Kdf)?;
    Ok(KeystoreFile {
        version: FORMAT_VERSION,
        algorithm: identity.key.algorithm(),
        did: identity.did.to_string(),
        encryption: Some(Encryption {
            kdf: "argon2id".into(),
            memory_kib,
            iterations,
            parallelism,
            salt: B64.encode(salt),
            cipher: "xchacha20poly1305".into(),
            nonce: B64.encode(nonce),
        }),
        secret: B64.encode(ciphertext),
    })
}

fn open(
    file: &KeystoreFile,
    encryption: &Encryption,
    passphrase: &str,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let bad = || KeyError::WrongPassphrase(String::new());
    if encryption.kdf != "argon2id" || encryption.cipher != "xchacha20poly1305" {
        return Err(bad());
    }
    // INVARIANT: bounded KDF cost, so that an altered file cannot make loading take forever.
    if encryption.memory_kib > 1024 * 1024
        || encryption.iterations > 64
        || encryption.parallelism > 16
    {
        return Err(bad());
    }
    let salt = B64.decode(&encryption.salt).map_err(|_| bad())?;
    let nonce = B64.decode(&encryption.nonce).map_err(|_| bad())?;
    if nonce.len() != 24 {
        return Err(bad());
    }
    let key = derive_key(
        passphrase,
        &salt,
        encryption.memory_kib,
        encryption.iterations,
        encryption.parallelism,
    )?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let aad = associated_data(file.algorithm, &file.did);
    cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| bad())
}

/// Writes a file readable and writable by its owner only (mode 0600), atomically.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keystore_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity::generate(KeyAlgorithm::Ed25519);
        let path = create(dir.path(), &identity, None).unwrap();
        assert!(path.file_name().unwrap().to_str().unwrap().contains("key"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let loaded = load(dir.path(), None).unwrap();
        assert_eq!(loaded.did, identity.did);
        assert!(matches!(
            load(dir.path(), Some("pw")),
            Err(KeyError::PassphraseNotNeeded(_))
        ));
        assert!(matches!(
            create(dir.path(), &identity, None),
            Err(KeyError::AlreadyExists(_))
        ));
    }

    #[test]
    fn encrypted_keystore_needs_the_right_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity::generate(KeyAlgorithm::P256);
        create(dir.path(), &identity, Some("correct horse")).unwrap();
        let text = std::fs::read_to_string(keystore_path(dir.path())).unwrap();
        assert!(!text.contains(&B64.encode(identity.key.secret_bytes().as_slice())));
        assert!(matches!(
            load(dir.path(), None),
            Err(KeyError::PassphraseRequired(_))
        ));
        assert!(matches!(
            load(dir.path(), Some("wrong")),
            Err(KeyError::WrongPassphrase(_))
        ));
        assert_eq!(
            load(dir.path(), Some("correct horse")).unwrap().did,
            identity.did
        );
    }

    #[test]
    fn tampered_keystore_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let identity = Identity::generate(KeyAlgorithm::Ed25519);
        create(dir.path(), &identity, Some("pw")).unwrap();
        let path = keystore_path(dir.path());
        let other = Identity::generate(KeyAlgorithm::Ed25519);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace(identity.did.as_str(), other.did.as_str());
        std::fs::write(&path, text).unwrap();
        assert!(matches!(
            load(dir.path(), Some("pw")),
            Err(KeyError::WrongPassphrase(_))
        ));
        std::fs::write(&path, "{not json").unwrap();
        let err = load(dir.path(), None).unwrap_err().to_string();
        assert!(err.contains("malformed"), "{err}");
    }
}
