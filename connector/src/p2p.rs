//! The connector on the peer network (`symbolon-p2p`): it joins with the membership credential
//! held in its wallet, checks peers against its installed trust list (and the new ones it
//! installs, `crate::trust::distribution`), announces its offers, and records every peer
//! outcome in the audit trail.

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_audit::EventKind;
use symbolon_p2p::{Multiaddr, Node, NodeConfig, NodeHandle, P2pEvent};

use crate::audit::AuditError;
use crate::context::Connector;
use crate::domain::Offer;
use crate::protocol::{peer, ProtocolService};

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
    #[error("`{address}` is not a multiaddr: {source}")]
    BadAddress {
        /// The address as given.
        address: String,
        /// Why.
        #[source]
        source: symbolon_p2p::multiaddr::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// An announcement could not be recorded.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The node failed to start.
    #[error("the peer network failed to start: {0}")]
    Start(#[source] symbolon_p2p::P2pError),
    /// The connector joined already.
    #[error("the connector is on the peer network already")]
    AlreadyJoined,
    /// The connector's DID is no did:key, so no peer id can stand for it.
    #[error(
        "the peer network identifies a peer by its did:key, and this connector's DID is `{0}`: \
         serve it over HTTPS only, or initialise a did:key connector for the peer network"
    )]
    NotDidKey(String),
}

/// Joins the peer network; returns the listen addresses (with `/p2p/<PeerId>`). Protocol
/// requests from peers are answered by the connector's [`ProtocolService`].
pub async fn join(
    connector: &Connector,
    options: &PeerOptions,
) -> Result<Vec<Multiaddr>, JoinError> {
    if connector.identity().did.method() != "key" {
        return Err(JoinError::NotDidKey(connector.did().to_owned()));
    }
    let (verifier, trust) = connector
        .verification()
        .trusted_verifier()
        .ok_or(JoinError::NoTrustList)?;
    let membership = connector
        .store()
        .credentials
        .list()?
        .into_iter()
        .rev()
        .find(|c| c.is_a("DataSpaceMembershipCredential"))
        .ok_or(JoinError::NoMembership)?;
    let parse = |text: &String| {
        text.parse::<Multiaddr>()
            .map_err(|source| JoinError::BadAddress {
                address: text.clone(),
                source,
            })
    };
    let mut config = NodeConfig::new(
        connector.identity().key.clone(),
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
    let node = Node::start(config).await.map_err(JoinError::Start)?;
    if connector
        .network()
        .peers()
        .slot()
        .set(node.clone())
        .is_err()
    {
        return Err(JoinError::AlreadyJoined);
    }
    record_events(node.clone(), connector.clone());
    crate::trust::distribution::catch_up(&node, connector);
    peer::serve(&node, ProtocolService::new(connector.clone()));
    crate::session::links::serve(&node, connector.clone());
    let offers = connector.store().blocking(|s| s.offers.list()).await?;
    for offer in offers {
        announce(connector, &offer).await?;
    }
    keep_announcing(node.clone(), connector.clone(), options.reannounce_every);
    Ok(node.listen_addrs())
}

/// What peers are told of an offer: its id, title, kind and where to negotiate it, and for a
/// health offer its HealthDCAT-AP description and whether it needs a data permit (what its
/// catalog entry publishes), so that peers' consoles show the health metadata.
fn announcement(node: &NodeHandle, connector: &Connector, offer: &Offer) -> Value {
    let mut announced = json!({
        "id": offer.id,
        "title": offer.title,
        "description": offer.description,
        "kind": offer.kind,
        "action": offer.action,
        "provider_url": connector.network().dsp_url(),
        "provider_p2p": peer::dsp_address(&node.peer_id()),
    });
    if let Some(health) = &offer.health {
        announced["health"] = json!({
            "requires_permit": health.requires_permit,
            "dcat": health.dcat,
        });
    }
    announced
}

/// Announces every stored offer again every `every` until the node stops. Repeats are not
/// audited (the first announcement of each offer is); failures are logged.
fn keep_announcing(node: NodeHandle, connector: Connector, every: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every.max(Duration::from_millis(100)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let offers = match connector.store().blocking(|s| s.offers.list()).await {
                Ok(offers) => offers,
                Err(error) => {
                    tracing::warn!(%error, "cannot list the offers to announce again");
                    continue;
                }
            };
            for offer in offers {
                match node.announce(announcement(&node, &connector, &offer)).await {
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

/// Announces an offer to the data space (when the connector is on the peer network) and
/// records the outcome.
pub async fn announce(connector: &Connector, offer: &Offer) -> Result<(), AuditError> {
    let Some(node) = connector.network().peers().node() else {
        return Ok(());
    };
    let outcome = node.announce(announcement(node, connector, offer)).await;
    let (result, details) = match &outcome {
        Ok(_) => ("ok", Value::Null),
        Err(error) => {
            tracing::warn!(%error, offer = %offer.id, "cannot announce the offer");
            ("failed", json!({ "reason": error.to_string() }))
        }
    };
    let audit = connector.audit();
    audit
        .record(audit.event(EventKind::PeerAnnounced, &offer.id, result, details))
        .await?;
    Ok(())
}

/// Records every peer outcome in the audit trail.
fn record_events(node: NodeHandle, connector: Connector) {
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
                P2pEvent::Listening { address } => {
                    (EventKind::PeerListening, address.clone(), "ok")
                }
                P2pEvent::PeerAuthenticated { did, .. } => {
                    (EventKind::PeerAuthenticated, did.clone(), "ok")
                }
                P2pEvent::PeerRefused { did, .. } => {
                    (EventKind::PeerAuthenticated, did.clone(), "refused")
                }
                P2pEvent::AnnouncementAccepted { offer_id, .. } => {
                    (EventKind::PeerAnnouncement, offer_id.clone(), "accepted")
                }
                P2pEvent::AnnouncementDropped { from, .. } => {
                    (EventKind::PeerAnnouncement, from.clone(), "dropped")
                }
                other => (EventKind::PeerConnection, peer_of(other), "closed"),
            };
            let audit = connector.audit();
            if let Err(error) = audit
                .record(audit.event(kind, subject, outcome, details))
                .await
            {
                // Nothing here waits on the event: the peer network goes on, the gap is logged.
                tracing::error!(%error, %kind, "cannot record a peer event");
            }
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
