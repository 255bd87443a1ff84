//! The identity binding (PeerId ⇔ did:key) and the authentication exchange.

use libp2p::multihash::Multihash;
use libp2p::PeerId;
use serde_json::Value;
use symbolon_identity::did::offline_public_key;
use symbolon_identity::keystore::Identity;
use symbolon_identity::{
    create_presentation, Did, Expectations, Format, Input, IssueError, KeyPair, Outcome, Secured,
    Verifier, VerifyError,
};

use crate::error::P2pError;

/// The credential type a peer must present.
pub(crate) const MEMBERSHIP_TYPE: &str = "DataSpaceMembershipCredential";

/// Multihash code of the identity hash, which inlines Ed25519 public keys in PeerIds.
const IDENTITY_HASH: u64 = 0x00;

/// The did:key of a PeerId, derived from the public key the PeerId inlines.
///
/// Only Ed25519 PeerIds carry their key; any other PeerId is refused.
pub fn did_of_peer(peer: &PeerId) -> Result<Did, P2pError> {
    let bad = || P2pError::BadPeer(peer.to_base58());
    let hash: &Multihash<64> = peer.as_ref();
    if hash.code() != IDENTITY_HASH {
        return Err(bad());
    }
    let public = libp2p::identity::PublicKey::try_decode_protobuf(hash.digest())
        .map_err(|_| bad())?
        .try_into_ed25519()
        .map_err(|_| bad())?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&public.to_bytes()).map_err(|_| bad())?;
    Ok(Did::key(&symbolon_identity::PublicKey::Ed25519(key)))
}

/// The PeerId of an Ed25519 did:key DID.
pub fn peer_of_did(did: &str) -> Result<PeerId, P2pError> {
    let bad = || P2pError::BadPeer(did.chars().take(200).collect());
    let did = Did::parse(did).map_err(|_| bad())?;
    if did.method() != "key" {
        return Err(bad());
    }
    offline_public_key(&did)
        .map_err(|_| bad())?
        .peer_id()
        .map_err(|_| bad())
}

/// The libp2p keypair of a connector's Ed25519 key (the same secret, so the PeerId and the
/// did:key name one key).
pub(crate) fn libp2p_keypair(key: &KeyPair) -> Result<libp2p::identity::Keypair, P2pError> {
    key.libp2p_keypair().map_err(|e| P2pError::Config {
        reason: "the key has no libp2p identity".into(),
        source: Some(e.into()),
    })
}

/// Parses a peer reference: a PeerId, or a did:key DID.
pub(crate) fn parse_peer(text: &str) -> Result<PeerId, P2pError> {
    if text.starts_with("did:") {
        peer_of_did(text)
    } else {
        text.parse()
            .map_err(|_| P2pError::BadPeer(text.chars().take(200).collect()))
    }
}

/// A fresh random nonce (128 bits, hex).
pub(crate) fn fresh_nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Why one side of the authentication exchange failed. Its text is the reason a refused peer
/// is recorded and answered with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandshakeError {
    /// The node could not present its own membership credential.
    #[error(transparent)]
    Present(#[from] IssueError),
    /// The peer's key is not an Ed25519 key, so it names no did:key.
    #[error(transparent)]
    Peer(#[from] P2pError),
    /// The peer's presentation cannot be read.
    #[error("presentation: {0}")]
    Presentation(#[source] VerifyError),
    /// The presentation was made by another DID than the peer's.
    #[error("holder `{holder}` is not the DID of the peer's key `{peer}`")]
    WrongHolder {
        /// The presentation's holder.
        holder: String,
        /// The DID of the peer's PeerId.
        peer: Did,
    },
    /// A credential's issuer is not trusted.
    #[error("credentials: {0}")]
    Untrusted(String),
    /// The presentation does not verify, for the verifier's reason.
    #[error("{0}")]
    Rejected(String),
    /// No verified membership credential is for this data space.
    #[error("no valid {} for data space `{data_space}`", MEMBERSHIP_TYPE)]
    NoMembership {
        /// The node's data space.
        data_space: String,
    },
}

/// Presents `membership` bound to `nonce` and to the challenger's DID.
pub(crate) async fn present(
    identity: &Identity,
    membership: &Secured,
    nonce: &str,
    challenger: &Did,
) -> Result<String, HandshakeError> {
    let presentation = create_presentation(
        identity,
        std::slice::from_ref(membership),
        Format::Jwt,
        nonce,
        challenger.as_str(),
    )
    .await?;
    Ok(presentation.to_text())
}

/// What a peer proved.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    /// The roles of its membership credential.
    pub roles: Vec<String>,
}

/// Verifies a peer's presentation: bound to `nonce` and to `own` DID, presented by `peer` (the
/// DID of its authenticated PeerId), carrying a valid, trusted, unrevoked membership credential
/// for `data_space`.
pub(crate) async fn verify_peer(
    verifier: &Verifier,
    presentation: &str,
    nonce: &str,
    own: &Did,
    peer: &Did,
    data_space: &str,
) -> Result<Verified, HandshakeError> {
    let input = Input::parse(presentation).map_err(HandshakeError::Presentation)?;
    let expected = Expectations {
        challenge: nonce.to_owned(),
        audience: own.as_str().to_owned(),
    };
    let report = verifier.verify_presentation(&input, &expected).await;
    if let Some(holder) = &report.signer {
        if holder != peer.as_str() {
            return Err(HandshakeError::WrongHolder {
                holder: holder.clone(),
                peer: peer.clone(),
            });
        }
    }
    if !report.verified {
        // An untrusted issuer is the telling reason even when its status list could not be
        // checked either (an outsider's list is not where the verifier looks).
        let untrusted = report
            .credentials
            .iter()
            .flat_map(|c| c.checks.iter())
            .find(|c| c.check == "trust" && c.outcome == Outcome::Failed)
            .and_then(|c| c.reason.clone());
        return Err(match untrusted {
            Some(reason) => HandshakeError::Untrusted(reason),
            None => HandshakeError::Rejected(
                report
                    .error
                    .unwrap_or_else(|| "the presentation does not verify".to_owned()),
            ),
        });
    }
    let membership = report
        .credentials
        .iter()
        .filter(|c| c.verified && c.types.iter().any(|t| t == MEMBERSHIP_TYPE))
        .filter_map(|c| c.document.as_ref())
        .find(|document| {
            document
                .pointer("/credentialSubject/dataSpaceId")
                .and_then(Value::as_str)
                == Some(data_space)
        })
        .ok_or_else(|| HandshakeError::NoMembership {
            data_space: data_space.to_owned(),
        })?;
    let roles = match membership.pointer("/credentialSubject/role") {
        Some(Value::String(role)) => vec![role.clone()],
        Some(Value::Array(roles)) => roles
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    Ok(Verified { roles })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use symbolon_identity::KeyAlgorithm;

    #[test]
    fn peer_id_and_did_prove_each_other() {
        let key = KeyPair::generate(KeyAlgorithm::Ed25519);
        let did = Did::key(&key.public_key());
        let peer = libp2p_keypair(&key).unwrap().public().to_peer_id();
        assert_eq!(did_of_peer(&peer).unwrap(), did);
        assert_eq!(peer_of_did(did.as_str()).unwrap(), peer);
        assert_eq!(parse_peer(&peer.to_base58()).unwrap(), peer);
        assert_eq!(parse_peer(did.as_str()).unwrap(), peer);
    }

    #[test]
    fn handshake_errors_keep_their_reasons_and_sources() {
        use std::error::Error as _;
        let unreadable = Input::parse("{ not json").unwrap_err();
        let error = HandshakeError::Presentation(unreadable.clone());
        assert_eq!(error.to_string(), format!("presentation: {unreadable}"));
        assert!(error.source().is_some());
        let error = HandshakeError::NoMembership {
            data_space: "ds".into(),
        };
        assert_eq!(
            error.to_string(),
            "no valid DataSpaceMembershipCredential for data space `ds`"
        );
        let peer = Did::key(&KeyPair::generate(KeyAlgorithm::Ed25519).public_key());
        let error = HandshakeError::WrongHolder {
            holder: "did:key:zother".into(),
            peer: peer.clone(),
        };
        assert_eq!(
            error.to_string(),
            format!("holder `did:key:zother` is not the DID of the peer's key `{peer}`")
        );
        let bad = HandshakeError::from(did_of_peer(&PeerId::random()).unwrap_err());
        assert!(bad.to_string().contains("neither a PeerId nor"), "{bad}");
    }

    #[test]
    fn other_references_are_refused() {
        assert!(parse_peer("did:web:example.org").is_err());
        assert!(parse_peer("nonsense").is_err());
        let p256 = KeyPair::generate(KeyAlgorithm::P256);
        assert!(peer_of_did(Did::key(&p256.public_key()).as_str()).is_err());
        assert!(libp2p_keypair(&p256).is_err());
        let secp = libp2p::identity::Keypair::generate_ed25519();
        assert!(did_of_peer(&secp.public().to_peer_id()).is_ok());
        assert!(did_of_peer(&PeerId::random()).is_err());
    }
}
