//! The connector on the peer network (`symbolon-p2p`): it joins with the membership credential
//! held in its wallet, checks peers against its installed trust list, announces its offers,
//! and records every peer outcome in the audit trail.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{json, Value};
use symbolon_identity::status_list::HttpStatusSource;
use symbolon_identity::{DidResolver, Identity, Verifier};
use symbolon_p2p::{Multiaddr, Node, NodeConfig, NodeHandle, P2pEvent};

use crate::datadir::DataDir;
use crate::negotiation::Negotiator;
use crate::store::offers::Offer;
use crate::store::{Event, Store};

/// How to join the peer network.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// Addresses to listen on (e.g. `/ip4/0.0.0.0/tcp/0`).
    pub listen: Vec<String>,
    /// Bootstrap peers (`…/p2p/<PeerId>`).
    pub bootstrap: Vec<String>,
    /// Whether to discover peers on the local network with mDNS.
    pub mdns: bool,
    /// How often every offer is announced again: peers forget announcements older than ten
    /// minutes, and peers that joined since the last announcement have not seen it.
    pub reannounce_every: Duration,
}

impl Default for PeerOptions {
    /// No listen address or bootstrap peer, mDNS on, offers announced again every
    /// [`REANNOUNCE_EVERY`].
    fn default() -> Self {
        PeerOptions {
            listen: Vec::new(),
            bootstrap: Vec::new(),
            mdns: true,
            reannounce_every: REANNOUNCE_EVERY,
        }
    }
}

/// How often offers are announced again by default: a third of the ten minutes after which
/// peers forget an announcement.
pub const REANNOUNCE_EVERY: Duration = Duration::from_secs(200);

/// The running node, once joined (empty when the connector is not on the peer network).
pub type PeerSlot = Arc<OnceLock<NodeHandle>>;

/// Why the connector cannot join.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// No trust list installed.
    #[error("the peer network needs a trust list: install one with `symbolon trust-list install`")]
    NoTrustList,
    /// No membership credential held.
    #[error(
        "the peer network needs a DataSpaceMembershipCredential in the wallet: store one with \
         `symbolon credential store`"
    )]
    NoMembership,
    /// A multiaddr is malformed.
    #[error("`{0}` is not a multiaddr: {1}")]
    BadAddress(String, String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The node failed to start.
    #[error("the peer network failed to start: {0}")]
    Start(String),
}

/// What joining needs.
pub struct JoinParts<'a> {
    /// The data directory (trust list).
    pub dir: &'a DataDir,
    /// The identity (an Ed25519 did:key: the PeerId is its key).
    pub identity: &'a Identity,
    /// The store (wallet, offers).
    pub store: &'a Store,
    /// The DID resolver.
    pub resolver: Arc<DidResolver>,
    /// The status list source.
    pub status_source: Arc<HttpStatusSource>,
    /// The negotiator (records events; its protocol URL is announced with each offer).
    pub negotiator: &'a Negotiator,
    /// Where to put the node.
    pub slot: &'a PeerSlot,
    /// This connector's own HTTP(S) endpoint on the loopback interface, which answers the
    /// protocol requests peers send over the network.
    pub local_url: &'a str,
}

/// Joins the peer network; returns the listen addresses (with `/p2p/<PeerId>`).
pub async fn join(
    parts: JoinParts<'_>,
    options: &PeerOptions,
) -> Result<Vec<Multiaddr>, JoinError> {
    let trust = crate::trust::installed(parts.dir).ok_or(JoinError::NoTrustList)?;
    let membership = parts
        .store
        .credentials
        .list()?
        .into_iter()
        .rev()
        .find(|c| c.types.iter().any(|t| t == "DataSpaceMembershipCredential"))
        .ok_or(JoinError::NoMembership)?;
    let parse = |text: &String| {
        text.parse::<Multiaddr>()
            .map_err(|e| JoinError::BadAddress(text.clone(), e.to_string()))
    };
    let verifier = Verifier::new(parts.resolver)
        .with_status_source(parts.status_source)
        .with_trust_list(trust.clone());
    let mut config = NodeConfig::new(
        parts.identity.key.clone(),
        trust.data_space.clone(),
        membership.secured(),
        verifier,
    );
    if !options.listen.is_empty() {
        config.listen = options.listen.iter().map(parse).collect::<Result<_, _>>()?;
    }
    config.bootstrap = options
        .bootstrap
        .iter()
        .map(parse)
        .collect::<Result<_, _>>()?;
    config.mdns = options.mdns;
    let node = Node::start(config)
        .await
        .map_err(|e| JoinError::Start(e.to_string()))?;
    record_events(node.clone(), parts.negotiator.clone());
    crate::dsp_p2p::serve(&node, parts.local_url.to_owned());
    for offer in parts.store.offers.list()? {
        announce(&node, parts.negotiator, &offer).await;
    }
    keep_announcing(
        node.clone(),
        parts.negotiator.clone(),
        parts.store.clone(),
        options.reannounce_every,
    );
    let addresses = node.listen_addrs();
    let _ = parts.slot.set(node);
    Ok(addresses)
}

/// What peers are told of an offer.
fn announcement(node: &NodeHandle, negotiator: &Negotiator, offer: &Offer) -> Value {
    json!({
        "id": offer.id,
        "title": offer.title,
        "description": offer.description,
        "kind": offer.kind,
        "action": offer.action,
        "provider_url": negotiator.dsp_url(),
        "provider_p2p": crate::dsp_p2p::dsp_address(&node.peer_id()),
    })
}

/// Announces every stored offer again every `every` until the node stops. Repeats are not
/// audited (the first announcement of each offer is); failures are logged.
fn keep_announcing(node: NodeHandle, negotiator: Negotiator, store: Store, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every.max(Duration::from_millis(100)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let offers = match store.offers.list() {
                Ok(offers) => offers,
                Err(error) => {
                    tracing::warn!(%error, "cannot list the offers to announce again");
                    continue;
                }
            };
            for offer in offers {
                match node
                    .announce(announcement(&node, &negotiator, &offer))
                    .await
                {
                    Ok(_) => {}
                    Err(symbolon_p2p::P2pError::Stopped) => return,
                    Err(error) => {
                        tracing::debug!(%error, offer = %offer.id, "the offer was not announced again")
                    }
                }
            }
        }
    });
}

/// Announces an offer to the data space.
pub async fn announce(node: &NodeHandle, negotiator: &Negotiator, offer: &Offer) {
    let outcome = node.announce(announcement(node, negotiator, offer)).await;
    let (result, details) = match &outcome {
        Ok(_) => ("ok", Value::Null),
        Err(error) => {
            tracing::warn!(%error, offer = %offer.id, "cannot announce the offer");
            ("failed", json!({ "reason": error.to_string() }))
        }
    };
    negotiator
        .record(Event::now(
            "peer.announced",
            negotiator.did(),
            &offer.id,
            result,
            details,
        ))
        .await;
}

/// Records every peer outcome in the audit trail.
fn record_events(node: NodeHandle, negotiator: Negotiator) {
    let mut events = node.events();
    tokio::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "peer events were not all recorded");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let details = serde_json::to_value(&event).unwrap_or(Value::Null);
            let (kind, subject, outcome) = match &event {
                P2pEvent::Listening { address } => ("peer.listening", address.clone(), "ok"),
                P2pEvent::PeerAuthenticated { did, .. } => {
                    ("peer.authenticated", did.clone(), "ok")
                }
                P2pEvent::PeerRefused { did, .. } => ("peer.authenticated", did.clone(), "refused"),
                P2pEvent::AnnouncementAccepted { offer_id, .. } => {
                    ("peer.announcement", offer_id.clone(), "accepted")
                }
                P2pEvent::AnnouncementDropped { from, .. } => {
                    ("peer.announcement", from.clone(), "dropped")
                }
                other => ("peer.connection", peer_of(other), "closed"),
            };
            negotiator
                .record(Event::now(
                    kind,
                    negotiator.did(),
                    subject,
                    outcome,
                    details,
                ))
                .await;
        }
    });
}

fn peer_of(event: &P2pEvent) -> String {
    serde_json::to_value(event)
        .ok()
        .and_then(|v| {
            v.get("did")
                .or_else(|| v.get("peer_id"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default()
}
