//! Announcements: the node's own (signed, published on the data space's topic and sent to
//! peers as they authenticate) and the peers' (arriving by gossip or in a catalog request),
//! whose signatures are checked in batches off the swarm task.

use libp2p::gossipsub::{self, MessageAcceptance, MessageId};
use libp2p::request_response::ResponseChannel;
use libp2p::PeerId;
use serde_json::Value;
use symbolon_identity::Did;

use super::{EventLoop, Internal, Outbound};
use crate::announce::{self, sign_announcement, Announcement, Dropped};
use crate::auth::did_of_peer;
use crate::error::P2pError;
use crate::peers::P2pEvent;
use crate::protocol::{Request, Response};

/// Most batches of announcements checked at once; a batch beyond them is dropped unchecked.
pub(super) const MAX_CHECKING: usize = 32;
/// Most announcements accepted in one catalog message.
const MAX_CATALOG_BATCH: usize = 1000;

/// Where a batch of announcements came from, and so how to answer it.
enum Origin {
    /// One gossipsub message, awaiting its validation result.
    Gossip { message_id: MessageId },
    /// A peer's catalog request, awaiting its acknowledgement.
    Catalog { channel: ResponseChannel<Response> },
}

/// A batch of announcements, checked off the swarm task.
pub(super) struct Checked {
    /// The peer the batch arrived from.
    from: PeerId,
    origin: Origin,
    /// One result per announcement, in order.
    results: Vec<Result<Announcement, Dropped>>,
}

impl EventLoop {
    /// Signs `offer`, publishes it and keeps it for peers that authenticate later.
    pub(super) fn announce(&mut self, offer: Value) -> Result<Announcement, P2pError> {
        let sequence = self.next_sequence();
        let mut announcement = announce::signed(
            &self.settings.identity.key,
            &self.settings.data_space,
            &offer,
            sequence,
        )?;
        announcement.received_from = self.shared.peer_id.to_base58();
        self.own_offers.insert(announcement.offer_id.clone(), offer);
        self.publish(announcement.token.clone().into_bytes())?;
        Ok(announcement)
    }

    /// The next sequence number of the node's announcements.
    fn next_sequence(&mut self) -> u64 {
        self.sequence = self.sequence.saturating_add(1);
        self.sequence
    }

    /// Publishes a signed announcement on the data space's topic.
    pub(super) fn publish(&mut self, data: Vec<u8>) -> Result<(), P2pError> {
        let topic = self.topic.clone();
        match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(_) | Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => Ok(()),
            Err(gossipsub::PublishError::Duplicate) => Ok(()),
            Err(e) => Err(P2pError::request_from("publishing an announcement", e)),
        }
    }

    /// Sends `peer` the node's current offers, freshly signed — none when it has none: sent
    /// once this node has authenticated `peer`, it also tells `peer` so (see [`on_catalog`]).
    ///
    /// [`on_catalog`]: Self::on_catalog
    pub(super) fn send_catalog(&mut self, peer: PeerId) {
        let offers: Vec<Value> = self.own_offers.values().cloned().collect();
        let mut announcements = Vec::with_capacity(offers.len());
        for offer in offers {
            let sequence = self.next_sequence();
            match sign_announcement(
                &self.settings.identity.key,
                &self.settings.data_space,
                &offer,
                sequence,
            ) {
                Ok(token) => announcements.push(token),
                Err(error) => tracing::warn!(%error, "an own offer cannot be signed"),
            }
        }
        let id = self
            .swarm
            .behaviour_mut()
            .rr
            .send_request(&peer, Request::Catalog { announcements });
        self.outbound.insert(id, Outbound::Catalog);
    }

    /// Takes a gossipsub message forwarded by `from` to be checked; its validation result is
    /// reported once the check is done.
    pub(super) fn on_gossip(
        &mut self,
        from: PeerId,
        message_id: MessageId,
        message: gossipsub::Message,
    ) {
        match self.author_and_token(from, message) {
            Ok((author, token)) => {
                self.check_batch(from, author, vec![token], Origin::Gossip { message_id });
            }
            Err((reason, acceptance)) => {
                self.dropped(None, from, reason.to_owned());
                self.validate(&message_id, from, acceptance);
            }
        }
    }

    /// The gossipsub message's author and text, or why it is dropped unchecked.
    fn author_and_token(
        &self,
        from: PeerId,
        message: gossipsub::Message,
    ) -> Result<(Did, String), (&'static str, MessageAcceptance)> {
        if !self.shared.view().peers.is_authenticated(&from) {
            let reason = "forwarded by a peer that is not authenticated";
            return Err((reason, MessageAcceptance::Ignore));
        }
        let author = match message.source.as_ref().map(did_of_peer) {
            Some(Ok(did)) => did,
            _ => {
                return Err((
                    "the message has no Ed25519 author",
                    MessageAcceptance::Reject,
                ))
            }
        };
        let token = String::from_utf8(message.data)
            .map_err(|_| ("not UTF-8", MessageAcceptance::Reject))?;
        Ok((author, token))
    }

    /// Takes the announcements of an authenticated peer's catalog request to be checked; the
    /// request is acknowledged once the check is done.
    pub(super) fn on_catalog(
        &mut self,
        peer: PeerId,
        announcements: Vec<String>,
        channel: ResponseChannel<Response>,
    ) {
        let Ok(author) = did_of_peer(&peer) else {
            return;
        };
        // The first catalog of a peer comes once it has authenticated this node (requests of a
        // peer are served only once this node has authenticated it too): from now on the peer
        // takes this node's announcements. One this node gossiped in between — after it had
        // authenticated the peer and sent its catalog, before the peer had authenticated it —
        // was dropped by the peer; answering with the current catalog, once, closes that gap.
        if self.catalog_answered.insert(peer) && !self.own_offers.is_empty() {
            self.send_catalog(peer);
        }
        let tokens = announcements.into_iter().take(MAX_CATALOG_BATCH).collect();
        self.check_batch(peer, author, tokens, Origin::Catalog { channel });
    }

    /// Checks announcements by `author` that arrived from `from` on a blocking thread (shape,
    /// author binding, membership and signature); the results come back as
    /// [`Internal::Checked`]. When [`MAX_CHECKING`] batches are being checked already, the
    /// batch is dropped.
    fn check_batch(&mut self, from: PeerId, author: Did, tokens: Vec<String>, origin: Origin) {
        let Ok(permit) = self.checking.clone().try_acquire_owned() else {
            let reason = "the connector is busy checking announcements";
            self.dropped(None, from, reason.to_owned());
            match origin {
                Origin::Gossip { message_id } => {
                    self.validate(&message_id, from, MessageAcceptance::Ignore);
                }
                Origin::Catalog { channel } => self.answer_error(channel, reason),
            }
            return;
        };
        let shared = self.shared.clone();
        let resolver = self.resolver.clone();
        let data_space = self.settings.data_space.clone();
        let tx = self.internal_tx.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let is_member = |did: &str| shared.view().peers.did_is_authenticated(did);
            let results = tokens
                .iter()
                .map(|token| {
                    let check = announce::check(token, &author, &data_space, is_member, &resolver);
                    runtime.block_on(check)
                })
                .collect();
            // INVARIANT: the permit is held until the results are queued, so that at most
            // MAX_CHECKING batches are being checked at once (the queue itself is bounded).
            let _ = tx.blocking_send(Internal::Checked(Checked {
                from,
                origin,
                results,
            }));
            drop(permit);
        });
    }

    /// Keeps the announcements of a checked batch and answers the batch.
    pub(super) fn on_checked(&mut self, checked: Checked) {
        let Checked {
            from,
            origin,
            results,
        } = checked;
        let mut acceptance = MessageAcceptance::Accept;
        for result in results {
            acceptance = match self.keep(result, from) {
                Ok(()) => MessageAcceptance::Accept,
                Err(false) => MessageAcceptance::Ignore,
                Err(true) => MessageAcceptance::Reject,
            };
        }
        match origin {
            // INVARIANT: a gossip batch holds exactly one announcement.
            Origin::Gossip { message_id } => self.validate(&message_id, from, acceptance),
            Origin::Catalog { channel } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .rr
                    .send_response(channel, Response::Ack);
            }
        }
    }

    /// Stores a checked announcement that arrived from `from` in the federated catalog, and
    /// reports the outcome. The error says whether the sender misbehaved.
    fn keep(&mut self, checked: Result<Announcement, Dropped>, from: PeerId) -> Result<(), bool> {
        let result = checked.and_then(|mut announcement| {
            let mut view = self.shared.view();
            // The signer may have been refused while the batch was being checked.
            if !view.peers.did_is_authenticated(&announcement.issuer) {
                return Err(Dropped::not_member(announcement.issuer));
            }
            announcement.received_from = from.to_base58();
            let (issuer, offer_id) = (announcement.issuer.clone(), announcement.offer_id.clone());
            view.catalog
                .accept(
                    announcement,
                    self.settings.announcement_max_age,
                    chrono::Utc::now(),
                )
                .map(|()| (issuer, offer_id))
        });
        match result {
            Ok((issuer, offer_id)) => {
                self.shared.emit(P2pEvent::AnnouncementAccepted {
                    issuer,
                    offer_id,
                    from: from.to_base58(),
                });
                Ok(())
            }
            Err(Dropped {
                reason,
                issuer,
                reject,
            }) => {
                tracing::debug!(%from, %reason, "announcement dropped");
                self.dropped(issuer, from, reason);
                Err(reject)
            }
        }
    }

    /// Reports an announcement that was not kept.
    fn dropped(&self, issuer: Option<String>, from: PeerId, reason: String) {
        self.shared.emit(P2pEvent::AnnouncementDropped {
            issuer,
            from: from.to_base58(),
            reason,
        });
    }

    /// Reports a gossipsub message's validation result, so that it is forwarded or not.
    fn validate(&mut self, message_id: &MessageId, from: PeerId, acceptance: MessageAcceptance) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(message_id, &from, acceptance);
    }
}
