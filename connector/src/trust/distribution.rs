//! Trust lists distributed over the peer network: a new list installed here is told to every
//! authenticated peer (`{"kind": "trust-list-updated", "credential": JWT}` on the request
//! channel), and each peer installs it after verifying it ([`super::decision`]), then tells
//! its own peers. Any member may forward a list: its signature, not its sender, is what
//! counts. When a peer authenticates, it is told the installed list once, so that a connector
//! that was offline catches up.
//!
//! The flood ends: a peer that has the list already answers `unchanged` and tells nobody.
//! Nothing is fetched because of a message but the anchor's DID document (a list claiming
//! any other signer is refused before anything is verified), and refusals reach the audit
//! trail at most once per peer and reason an hour ([`super::refusals`]).

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_audit::EventKind;
use symbolon_p2p::{NodeHandle, P2pEvent};

use super::decision::{self, Refusal, Verdict};
use super::pending::PendingTrustList;
use super::updates::{self, Source};
use super::verify_trust_list_credential;
use crate::context::Connector;

/// The `kind` of the message on the peer network.
pub const KIND: &str = "trust-list-updated";

/// How long telling one peer may take.
const TELL_TIMEOUT: Duration = Duration::from_secs(5);

/// The message carrying the trust list credential `credential`.
pub fn message(credential: &str) -> Value {
    json!({ "kind": KIND, "credential": credential })
}

/// Whether a payload arriving over the peer network is this message.
pub fn is_message(payload: &Value) -> bool {
    payload.get("kind").and_then(Value::as_str) == Some(KIND)
}

/// Acts on the message from the authenticated peer `from`; returns the status and body of the
/// answer: 200 `installed` or `unchanged`, 202 `pending` (kept for approval), 409 `stale` or
/// no list installed here, 422 refused (`outcome` names why), 400 unreadable.
pub async fn receive(connector: &Connector, from: &str, payload: &Value) -> (u16, Value) {
    let token = match decision::credential_of(payload) {
        Ok(token) => token,
        Err(error) => return (400, json!({ "message": error.to_string() })),
    };
    let Some(installed) = connector.verification().trust.installed() else {
        return (
            409,
            json!({ "outcome": "ignored", "message": "no trust list is installed here" }),
        );
    };
    if let Err(refusal) = decision::precheck(&installed, token) {
        let why = "it is not signed by the installed list's anchor".to_owned();
        return refuse(connector, from, refusal, why).await;
    }
    let received = match verify_trust_list_credential(
        token,
        connector.verification().resolver.clone(),
    )
    .await
    {
        Ok(received) => received,
        Err(error) => return refuse(connector, from, Refusal::Invalid, error.to_string()).await,
    };
    let updates = connector.trust_updates();
    let _one_at_a_time = updates.lock().await;
    // The installed list may have changed while this one was verified.
    let Some(installed) = connector.verification().trust.installed() else {
        return (409, json!({ "outcome": "ignored" }));
    };
    let mut verdict = decision::decide(&installed, &received);
    let pending = updates.pending().filter(|_| updates.approval_required());
    if let (Verdict::Newer, Some(pending)) = (verdict, &pending) {
        verdict = decision::decide(&pending.list, &received);
    }
    match verdict {
        Verdict::Unchanged => {
            tracing::debug!(peer = %from, "a peer told the trust list this connector has");
            (200, json!({ "outcome": "unchanged" }))
        }
        Verdict::Refused(refusal) => {
            let why = format!("it is {} against the list here", refusal.as_str());
            refuse(connector, from, refusal, why).await
        }
        Verdict::Newer if updates.approval_required() => {
            let pending = PendingTrustList {
                list: received,
                from: from.to_owned(),
                received_at: chrono::Utc::now(),
            };
            if let Err(error) = updates.keep(pending.clone()).await {
                tracing::error!(%error, "cannot keep a trust list for approval");
                return (
                    500,
                    json!({ "message": "the trust list could not be kept" }),
                );
            }
            tracing::info!(peer = %from, "a new trust list waits for the operator's approval");
            let details = updates::details(&pending.list, Source::Peer(from));
            if let Err(error) = updates::record(connector, &pending.list, "pending", details).await
            {
                tracing::error!(%error, "cannot record a pending trust list");
            }
            (202, json!({ "outcome": "pending" }))
        }
        Verdict::Newer => {
            match updates::install(connector, received, "installed", Source::Peer(from)).await {
                Ok(()) => (200, json!({ "outcome": "installed" })),
                Err(updates::UpdateError::OtherDataSpace { .. }) => {
                    let why = "it governs another data space".to_owned();
                    refuse(connector, from, Refusal::OtherDataSpace, why).await
                }
                Err(error) => {
                    tracing::error!(%error, "a trust list from a peer was not fully installed");
                    (
                        500,
                        json!({ "message": "the trust list could not be installed" }),
                    )
                }
            }
        }
    }
}

/// Answers a refusal; records it as a `trust_list.update` event once per peer and reason an
/// hour, else logs it at debug level.
async fn refuse(connector: &Connector, from: &str, refusal: Refusal, why: String) -> (u16, Value) {
    let status = if refusal == Refusal::Stale { 409 } else { 422 };
    let answer = json!({
        "outcome": refusal.as_str(),
        "message": format!("the trust list was refused: {why}"),
    });
    if !connector.trust_updates().should_record(from, refusal) {
        tracing::debug!(peer = %from, reason = refusal.as_str(), "a peer's trust list was refused");
        return (status, answer);
    }
    tracing::info!(peer = %from, reason = refusal.as_str(), %why, "a peer's trust list was refused");
    let audit = connector.audit();
    let details = json!({ "source": "peer", "from": from, "reason": refusal.as_str(), "why": why });
    if let Err(error) = audit
        .record(audit.event(EventKind::TrustListUpdate, from, "refused", details))
        .await
    {
        tracing::error!(%error, "cannot record a refused trust list");
    }
    (status, answer)
}

/// Tells every authenticated peer but `except`, in the background, the trust list
/// `credential`; does nothing when the connector is not on the peer network. Best effort: a
/// peer that cannot be told is told when it next authenticates.
pub fn announce(connector: &Connector, credential: &str, except: Option<String>) {
    let Some(node) = connector.network().peers().node().cloned() else {
        return;
    };
    for peer in node.peers() {
        if peer.authenticated && Some(&peer.did) != except.as_ref() {
            tell(&node, peer.did, credential.to_owned());
        }
    }
}

/// Tells `peer` the trust list `credential`, in the background, within [`TELL_TIMEOUT`].
fn tell(node: &NodeHandle, peer: String, credential: String) {
    let node = node.clone();
    tokio::spawn(async move {
        let request = node.request(&peer, message(&credential));
        match tokio::time::timeout(TELL_TIMEOUT, request).await {
            Ok(Ok(answer)) => {
                let outcome = answer.pointer("/body/outcome").cloned().unwrap_or_default();
                tracing::debug!(%peer, %outcome, "told a peer the trust list");
            }
            Ok(Err(error)) => tracing::info!(%error, %peer, "a peer was not told the trust list"),
            Err(_) => tracing::info!(%peer, "telling a peer the trust list timed out"),
        }
    });
}

/// Tells each peer the installed trust list once it authenticates (and the peers that are
/// authenticated already, now), until the node stops.
pub fn catch_up(node: &NodeHandle, connector: &Connector) {
    let mut events = node.events();
    let tell_installed = |node: &NodeHandle, connector: &Connector, peer: String| {
        if let Some(installed) = connector.verification().trust.installed() {
            tell(node, peer, installed.credential.clone());
        }
    };
    for peer in node.peers().into_iter().filter(|p| p.authenticated) {
        tell_installed(node, connector, peer.did);
    }
    let (node, connector) = (node.clone(), connector.downgrade());
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(P2pEvent::PeerAuthenticated { did, .. }) => {
                    let Some(connector) = connector.upgrade() else {
                        return;
                    };
                    tell_installed(&node, &connector, did);
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(
                        missed,
                        "peer events missed: some peers are not told the trust list"
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}
