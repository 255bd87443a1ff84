//! Session streams: raw, ordered byte streams between authenticated peers on one libp2p
//! stream protocol ([`SESSION_PROTOCOL`]), for protocols that move a lot of data between a
//! fixed set of peers (the MPC engine's shares). They ride the peer's existing connection
//! (Noise-encrypted, Yamux-multiplexed), so the bytes are authenticated to the PeerId the
//! handshake proved.
//!
//! A stream is opened only to a peer whose membership presentation verified, and an incoming
//! stream is handed to the application only from such a peer; any other is dropped at once
//! and reported as [`P2pEvent::StreamRefused`]. What flows on a stream is the application's
//! business: it binds the stream to its own session (see the connector's MPC transport).

use std::sync::Arc;

use libp2p::futures::StreamExt as _;
use libp2p::{PeerId, Stream, StreamProtocol};
use tokio::sync::mpsc;

use crate::auth::did_of_peer;
use crate::error::P2pError;
use crate::node::Shared;
use crate::peers::{Auth, P2pEvent};

/// The stream protocol of session streams.
pub const SESSION_PROTOCOL: &str = "/symbolon/session/1";

/// Incoming session streams waiting for the application; more are dropped.
pub(crate) const INCOMING_STREAMS: usize = 64;

/// A session stream with an authenticated peer.
pub struct SessionStream {
    /// The peer's PeerId.
    pub peer_id: PeerId,
    /// The peer's DID (derived from its PeerId).
    pub did: String,
    /// The stream (`futures::AsyncRead + AsyncWrite`).
    pub stream: Stream,
}

impl std::fmt::Debug for SessionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStream")
            .field("peer_id", &self.peer_id)
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

pub(crate) fn protocol() -> StreamProtocol {
    StreamProtocol::new(SESSION_PROTOCOL)
}

/// Whether `peer` is authenticated; if not, why (as [`P2pError::NotAuthenticated`]).
pub(crate) fn authenticated(shared: &Shared, peer: &PeerId) -> Result<String, P2pError> {
    let view = shared.view();
    let state = view
        .peers
        .peers
        .get(peer)
        .map(|p| (p.auth(), p.did.clone()));
    let (reason, did) = match state {
        Some((Auth::Authenticated, did)) => return Ok(did),
        Some((Auth::Refused(reason), did)) => (reason, did),
        Some((Auth::Pending, did)) => ("authentication pending".into(), did),
        Some((Auth::Unreachable, did)) => ("unreachable".into(), did),
        None => ("unknown peer".into(), peer.to_base58()),
    };
    Err(P2pError::NotAuthenticated { peer: did, reason })
}

/// Accepts incoming session streams for the node's lifetime: those of authenticated peers go
/// to `to_app` (dropped when it is full or nobody took it), the others are dropped and
/// reported.
pub(crate) fn accept(
    mut control: libp2p_stream::Control,
    shared: Arc<Shared>,
    to_app: mpsc::Sender<SessionStream>,
) -> Result<(), P2pError> {
    let mut incoming = control
        .accept(protocol())
        .map_err(|e| P2pError::transport("registering the session stream protocol", e))?;
    tokio::spawn(async move {
        while let Some((peer_id, stream)) = incoming.next().await {
            match authenticated(&shared, &peer_id) {
                Ok(did) => {
                    let taken = shared
                        .streams_taken
                        .load(std::sync::atomic::Ordering::SeqCst);
                    let refused = if !taken {
                        Some("nothing here accepts session streams")
                    } else if to_app
                        .try_send(SessionStream {
                            peer_id,
                            did: did.clone(),
                            stream,
                        })
                        .is_err()
                    {
                        Some("too many session streams waiting")
                    } else {
                        None
                    };
                    if let Some(reason) = refused {
                        shared.emit(P2pEvent::StreamRefused {
                            peer_id: peer_id.to_base58(),
                            did,
                            reason: reason.into(),
                        });
                    }
                }
                Err(error) => {
                    let did = did_of_peer(&peer_id)
                        .map(|d| d.to_string())
                        .unwrap_or_else(|_| peer_id.to_base58());
                    shared.emit(P2pEvent::StreamRefused {
                        peer_id: peer_id.to_base58(),
                        did,
                        reason: error.to_string(),
                    });
                }
            }
        }
    });
    Ok(())
}

/// Opens a session stream to an authenticated peer.
pub(crate) async fn open(
    mut control: libp2p_stream::Control,
    shared: &Shared,
    peer: PeerId,
) -> Result<SessionStream, P2pError> {
    let did = authenticated(shared, &peer)?;
    let stream = control
        .open_stream(peer, protocol())
        .await
        .map_err(|e| P2pError::Request {
            context: format!("opening a session stream to `{did}`"),
            source: Some(Box::new(e)),
        })?;
    Ok(SessionStream {
        peer_id: peer,
        did,
        stream,
    })
}
