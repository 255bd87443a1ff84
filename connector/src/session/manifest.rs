//! The session manifest: a JWS by the analyst naming the session, the program with its version,
//! hash and parameters, the engine, every party with its roles and agreement, the recipients of
//! the result, the deadlines, the purpose, the smallest group any released figure may describe,
//! and a nonce. Parties countersign its digest (the SHA-256 of the compact JWS): the engine
//! starts only when every party countersigned the same digest, so nobody can be swapped in.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};
use symbolon_identity::{jose, DidResolver, Identity, VerifyError};

/// The JWS `typ` of a manifest.
pub const MANIFEST_TYP: &str = "symbolon-mpc-manifest+jwt";
/// The JWS `typ` of a countersignature.
pub const COUNTERSIGNATURE_TYP: &str = "symbolon-mpc-countersignature+jwt";
/// Most parties a manifest may name.
pub const MAX_PARTIES: usize = 64;
/// Most bytes of a manifest JWS.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

/// The program a session runs: one of the fixed, versioned library's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// Its id (e.g. `mean`, `grouped-statistics`).
    pub id: String,
    /// Its version.
    pub version: String,
    /// The SHA-256 (hex) of its definition.
    pub hash: String,
    /// Its parameters.
    #[serde(default)]
    pub params: Map<String, Value>,
}

/// What a party does in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyRole {
    /// Provides an input.
    Input,
    /// Computes on shares.
    Compute,
    /// Receives the result.
    Output,
}

/// One party of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Party {
    /// Its DID.
    pub did: String,
    /// Its libp2p PeerId (its DID's key).
    pub peer_id: String,
    /// What it does.
    pub roles: Vec<PartyRole>,
    /// The agreement under which it takes part (an input party's with the analyst).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
}

/// The engine and its security model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Engine {
    /// The engine (`symbolon-mpc`).
    pub name: String,
    /// The threshold of its secret sharing.
    pub threshold: u32,
    /// Its security model (`semi-honest`).
    pub security: String,
}

/// A session manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The analyst who signs it (its DID).
    pub iss: String,
    /// The session's id (`urn:uuid:…`).
    pub session_id: String,
    /// The program.
    pub program: Program,
    /// The engine.
    pub engine: Engine,
    /// Every party.
    pub parties: Vec<Party>,
    /// Who receives the result (DIDs).
    pub recipients: Vec<String>,
    /// The smallest group any released figure may describe.
    pub min_group_size: u64,
    /// The purpose of the computation.
    pub purpose: String,
    /// Until when parties may join (RFC 3339).
    pub join_deadline: String,
    /// How long a round may take (milliseconds).
    pub round_timeout_ms: u64,
    /// When the session expires (RFC 3339).
    pub expires: String,
    /// A fresh nonce.
    pub nonce: String,
}

/// Why a manifest or a countersignature is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// It is larger than [`MAX_MANIFEST_BYTES`].
    #[error("the manifest is larger than {MAX_MANIFEST_BYTES} bytes")]
    TooLarge,
    /// Not a JWS of the expected type, or its payload is no manifest.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The signature does not verify for the DID it names.
    #[error("the signature does not verify: {0}")]
    Signature(#[source] VerifyError),
}

impl Manifest {
    /// Signs the manifest as `analyst` (whose DID becomes `iss`); returns the compact JWS.
    pub fn sign(mut self, analyst: &Identity) -> String {
        self.iss = analyst.did.as_str().to_owned();
        let payload = serde_json::to_value(&self).unwrap_or(Value::Null);
        jose::sign(
            &analyst.key,
            &analyst.verification_method(),
            MANIFEST_TYP,
            &payload,
        )
    }

    /// Reads and verifies a signed manifest: its type, shape, bounds and the signature of
    /// the DID it names as `iss`.
    pub async fn verify(token: &str, resolver: &DidResolver) -> Result<Manifest, ManifestError> {
        if token.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge);
        }
        let decoded = jose::decode(token).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        if decoded.header.get("typ").and_then(Value::as_str) != Some(MANIFEST_TYP) {
            return Err(ManifestError::Malformed(format!(
                "the JWS `typ` is not `{MANIFEST_TYP}`"
            )));
        }
        let manifest: Manifest = serde_json::from_value(decoded.payload.clone())
            .map_err(|e| ManifestError::Malformed(e.to_string()))?;
        if manifest.parties.is_empty() || manifest.parties.len() > MAX_PARTIES {
            return Err(ManifestError::Malformed(format!(
                "a manifest names 1 to {MAX_PARTIES} parties"
            )));
        }
        decoded
            .verify(token, &manifest.iss, resolver)
            .await
            .map_err(ManifestError::Signature)?;
        Ok(manifest)
    }

    /// The party `did`, if the manifest names it.
    pub fn party(&self, did: &str) -> Option<&Party> {
        self.parties.iter().find(|p| p.did == did)
    }
}

/// The digest parties countersign: the SHA-256 (hex) of the compact JWS.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// A party's countersignature of the manifest `digest` of session `session_id`.
pub fn countersign(party: &Identity, session_id: &str, digest: &str) -> String {
    let payload = json!({
        "iss": party.did.as_str(),
        "session_id": session_id,
        "manifest_digest": digest,
        "iat": chrono::Utc::now().timestamp(),
    });
    jose::sign(
        &party.key,
        &party.verification_method(),
        COUNTERSIGNATURE_TYP,
        &payload,
    )
}

/// Checks that `token` is `party`'s countersignature of `digest` for `session_id`.
pub async fn verify_countersignature(
    token: &str,
    party: &str,
    session_id: &str,
    digest: &str,
    resolver: &DidResolver,
) -> Result<(), ManifestError> {
    let decoded = jose::decode(token).map_err(|e| ManifestError::Malformed(e.to_string()))?;
    if decoded.header.get("typ").and_then(Value::as_str) != Some(COUNTERSIGNATURE_TYP) {
        return Err(ManifestError::Malformed(format!(
            "the JWS `typ` is not `{COUNTERSIGNATURE_TYP}`"
        )));
    }
    let claim = |name: &str| decoded.payload.get(name).and_then(Value::as_str);
    if claim("iss") != Some(party)
        || claim("session_id") != Some(session_id)
        || claim("manifest_digest") != Some(digest)
    {
        return Err(ManifestError::Malformed(
            "the countersignature is of another party, session or manifest".into(),
        ));
    }
    decoded
        .verify(token, party, resolver)
        .await
        .map(drop)
        .map_err(ManifestError::Signature)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use symbolon_identity::KeyAlgorithm;

    /// A salary session manifest by `analyst` over `holders`' agreements, unsigned.
    pub(crate) fn salary(analyst: &Identity, holders: &[(&Identity, &str)]) -> Manifest {
        let peer = |did: &str| symbolon_p2p::peer_of_did(did).unwrap().to_base58();
        let mut parties: Vec<Party> = holders
            .iter()
            .map(|(holder, agreement)| Party {
                did: holder.did.as_str().to_owned(),
                peer_id: peer(holder.did.as_str()),
                roles: vec![PartyRole::Input, PartyRole::Compute],
                agreement: Some((*agreement).to_owned()),
            })
            .collect();
        // The engine needs three parties for an honest majority.
        let other = Identity::generate(symbolon_identity::KeyAlgorithm::Ed25519);
        parties.push(Party {
            did: other.did.as_str().to_owned(),
            peer_id: peer(other.did.as_str()),
            roles: vec![PartyRole::Input, PartyRole::Compute],
            agreement: Some("urn:uuid:other-holder".into()),
        });
        parties.push(Party {
            did: analyst.did.as_str().to_owned(),
            peer_id: peer(analyst.did.as_str()),
            roles: vec![PartyRole::Compute, PartyRole::Output],
            agreement: None,
        });
        let spec = symbolon_mpc::programs::find("mean", "2").unwrap();
        let params = serde_json::json!({"column": "salary", "min": 0, "max": 100_000});
        Manifest {
            iss: analyst.did.as_str().to_owned(),
            session_id: "urn:uuid:session-1".into(),
            program: Program {
                id: "mean".into(),
                version: "2".into(),
                hash: spec.hash(),
                params: params.as_object().unwrap().clone(),
            },
            engine: Engine {
                name: "symbolon-mpc".into(),
                threshold: 1,
                security: "semi-honest".into(),
            },
            parties,
            recipients: vec![analyst.did.as_str().to_owned()],
            min_group_size: 4,
            purpose: "official-statistics".into(),
            join_deadline: "2099-01-01T00:00:00Z".into(),
            round_timeout_ms: 5000,
            expires: "2099-01-02T00:00:00Z".into(),
            nonce: "n-1".into(),
        }
    }

    #[tokio::test]
    async fn a_signed_manifest_verifies_and_a_tampered_one_does_not() {
        let (analyst, holder) = (
            Identity::generate(KeyAlgorithm::Ed25519),
            Identity::generate(KeyAlgorithm::Ed25519),
        );
        let resolver = DidResolver::offline();
        let token = salary(&analyst, &[(&holder, "urn:uuid:a")]).sign(&analyst);
        let read = Manifest::verify(&token, &resolver).await.unwrap();
        assert_eq!(read.iss, analyst.did.as_str());
        assert!(read.party(holder.did.as_str()).is_some());

        // A payload changed after signing.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload = read.clone();
        payload.min_group_size = 1;
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&payload).unwrap(),
        );
        assert!(matches!(
            Manifest::verify(&parts.join("."), &resolver).await,
            Err(ManifestError::Signature(_))
        ));
        // Another type, garbage, too large, no parties.
        let other = jose::sign(
            &analyst.key,
            &analyst.verification_method(),
            "JWT",
            &json!({}),
        );
        assert!(matches!(
            Manifest::verify(&other, &resolver).await,
            Err(ManifestError::Malformed(_))
        ));
        assert!(matches!(
            Manifest::verify("a.b", &resolver).await,
            Err(ManifestError::Malformed(_))
        ));
        let huge = "x".repeat(MAX_MANIFEST_BYTES + 1);
        assert!(matches!(
            Manifest::verify(&huge, &resolver).await,
            Err(ManifestError::TooLarge)
        ));
        let mut empty = salary(&analyst, &[]);
        empty.parties.clear();
        assert!(matches!(
            Manifest::verify(&empty.sign(&analyst), &resolver).await,
            Err(ManifestError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn a_countersignature_binds_party_session_and_digest() {
        let (analyst, holder) = (
            Identity::generate(KeyAlgorithm::Ed25519),
            Identity::generate(KeyAlgorithm::Ed25519),
        );
        let resolver = DidResolver::offline();
        let token = salary(&analyst, &[(&holder, "urn:uuid:a")]).sign(&analyst);
        let digest = digest(&token);
        let signed = countersign(&holder, "urn:uuid:session-1", &digest);
        let did = holder.did.as_str();
        verify_countersignature(&signed, did, "urn:uuid:session-1", &digest, &resolver)
            .await
            .unwrap();
        for (party, session, of) in [
            (analyst.did.as_str(), "urn:uuid:session-1", digest.as_str()),
            (did, "urn:uuid:session-2", digest.as_str()),
            (did, "urn:uuid:session-1", "00"),
        ] {
            assert!(
                verify_countersignature(&signed, party, session, of, &resolver)
                    .await
                    .is_err()
            );
        }
        // Signed by someone else in the holder's name.
        let claims = json!({"iss": did, "session_id": "urn:uuid:session-1",
                            "manifest_digest": digest, "iat": 0});
        let forged = jose::sign(
            &analyst.key,
            &holder.verification_method(),
            COUNTERSIGNATURE_TYP,
            &claims,
        );
        assert!(matches!(
            verify_countersignature(&forged, did, "urn:uuid:session-1", &digest, &resolver).await,
            Err(ManifestError::Signature(_))
        ));
    }
}
