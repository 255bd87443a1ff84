//! The composed libp2p behaviour and the swarm built from it.

use std::time::Duration;

use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    connection_limits, gossipsub, identify, identity, kad, mdns, noise, tcp, yamux, StreamProtocol,
    Swarm,
};
use sha2::Digest as _;

use crate::error::P2pError;
use crate::protocol::{self, Request, Response};

/// Application score of a peer that has not been authenticated: below the publish and gossip
/// thresholds (nothing is published or gossiped to it, it joins no mesh), above the graylist
/// threshold (its subscriptions are still read, so it gets messages once authenticated).
pub(crate) const UNAUTHENTICATED_SCORE: f64 = -60.0;

/// The behaviours of a Symbolon node.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub limits: connection_limits::Behaviour,
    pub identify: identify::Behaviour,
    pub kad: kad::Behaviour<kad::store::MemoryStore>,
    pub mdns: Toggle<mdns::tokio::Behaviour>,
    pub gossipsub: gossipsub::Behaviour,
    pub rr: request_response::json::Behaviour<Request, Response>,
    pub stream: libp2p_stream::Behaviour,
}

/// How many connections a node keeps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Established connections in all.
    pub connections: u32,
    /// Established connections to one peer (TCP and QUIC may both be up).
    pub per_peer: u32,
    /// Incoming connections still being set up (Noise handshake).
    pub pending_incoming: u32,
}

/// Builds the swarm for `key`.
pub(crate) fn build_swarm(
    key: identity::Keypair,
    use_mdns: bool,
    request_timeout: Duration,
    limits: Limits,
) -> Result<Swarm<Behaviour>, P2pError> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| P2pError::transport("setting up TCP with Noise and Yamux", e))?
        .with_quic()
        .with_behaviour(|key| behaviour(key, use_mdns, request_timeout, limits))
        .map_err(|e| P2pError::transport("building the network behaviour", e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    Ok(swarm)
}

fn behaviour(
    key: &identity::Keypair,
    use_mdns: bool,
    request_timeout: Duration,
    limits: Limits,
) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let peer_id = key.public().to_peer_id();
    let limits = connection_limits::Behaviour::new(
        connection_limits::ConnectionLimits::default()
            .with_max_established(Some(limits.connections))
            .with_max_established_per_peer(Some(limits.per_peer))
            .with_max_pending_incoming(Some(limits.pending_incoming)),
    );
    let identify = identify::Behaviour::new(identify::Config::new(
        protocol::IDENTIFY_VERSION.to_owned(),
        key.public(),
    ));

    let mut kad_config = kad::Config::new(StreamProtocol::new(protocol::KAD_PROTOCOL));
    kad_config.set_query_timeout(Duration::from_secs(30));
    // A data space is small: look for peers every minute rather than every five.
    kad_config.set_periodic_bootstrap_interval(Some(Duration::from_secs(60)));
    let mut kad =
        kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
    // Every connector serves the DHT, even with only private or loopback addresses.
    kad.set_mode(Some(kad::Mode::Server));

    let mdns = if use_mdns {
        Some(mdns::tokio::Behaviour::new(
            mdns::Config::default(),
            peer_id,
        )?)
    } else {
        None
    };

    let gossip_config = gossipsub::ConfigBuilder::default()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .max_transmit_size(protocol::MAX_ANNOUNCEMENT_BYTES)
        .heartbeat_initial_delay(Duration::from_millis(500))
        .message_id_fn(|message: &gossipsub::Message| {
            gossipsub::MessageId::from(sha2::Sha256::digest(&message.data).to_vec())
        })
        .build()?;
    let mut gossipsub = gossipsub::Behaviour::new(
        gossipsub::MessageAuthenticity::Signed(key.clone()),
        gossip_config,
    )?;
    let score = gossipsub::PeerScoreParams {
        app_specific_weight: 1.0,
        // All test and demo connectors share 127.0.0.1; co-location says nothing here.
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    };
    gossipsub.with_peer_score(score, gossipsub::PeerScoreThresholds::default())?;

    let codec = request_response::json::codec::Codec::default()
        .set_request_size_maximum(protocol::MAX_REQUEST_BYTES)
        .set_response_size_maximum(protocol::MAX_RESPONSE_BYTES);
    let rr = request_response::Behaviour::with_codec(
        codec,
        [(
            StreamProtocol::new(protocol::PROTOCOL_NAME),
            ProtocolSupport::Full,
        )],
        request_response::Config::default().with_request_timeout(request_timeout),
    );

    Ok(Behaviour {
        limits,
        identify,
        kad,
        mdns: Toggle::from(mdns),
        gossipsub,
        rr,
        stream: libp2p_stream::Behaviour::new(),
    })
}
