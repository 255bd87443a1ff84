//! Status list changes told to the data space at once: when this connector, as issuer,
//! revokes, suspends or reinstates a credential, it tells every authenticated peer which of
//! its status lists changed; a peer that has that list cached, issued by that very peer,
//! forgets it, so that its next verification fetches the new list. A revocation therefore
//! takes effect across the peer network in the time of one message, whatever the status list
//! cache's lifetime (`serve --status-cache-seconds`); without the peer network it takes at
//! most that lifetime (or the list's own shorter `ttl`).
//!
//! The message is authenticated by the peer network (the sender is the peer whose
//! membership was verified), and acting on it only forgets what is cached: nothing is fetched
//! because of it, so no peer can make this connector call an address, and a peer can only
//! make it forget lists that peer issued itself.

use std::time::Duration;

use serde_json::{json, Value};

use crate::context::Connector;

/// The `kind` of the message on the peer network.
pub const KIND: &str = "status-list-updated";

/// Longest accepted list URL.
const MAX_URL: usize = 2048;

/// How long telling one peer may take.
const TELL_TIMEOUT: Duration = Duration::from_secs(5);

/// The message telling that the status list at `url` changed.
pub fn message(url: &str) -> Value {
    json!({ "kind": KIND, "url": url })
}

/// Whether a payload arriving over the peer network is this message.
pub fn is_message(payload: &Value) -> bool {
    payload.get("kind").and_then(Value::as_str) == Some(KIND)
}

/// Tells every authenticated peer, in the background, that the lists at `urls` changed;
/// does nothing when the connector is not on the peer network. Best effort: a peer that
/// cannot be told keeps its cache until it expires.
pub fn announce(connector: &Connector, urls: Vec<String>) {
    let Some(node) = connector.network().peers().node().cloned() else {
        return;
    };
    let peers: Vec<String> = node
        .peers()
        .into_iter()
        .filter(|p| p.authenticated)
        .map(|p| p.did)
        .collect();
    for peer in peers {
        for url in &urls {
            let (node, peer, body) = (node.clone(), peer.clone(), message(url));
            tokio::spawn(async move {
                match tokio::time::timeout(TELL_TIMEOUT, node.request(&peer, body)).await {
                    Ok(Ok(_)) => tracing::debug!(%peer, "told a peer that a status list changed"),
                    Ok(Err(error)) => {
                        tracing::info!(%error, %peer, "a peer was not told that a status list changed")
                    }
                    Err(_) => {
                        tracing::info!(%peer, "telling a peer that a status list changed timed out")
                    }
                }
            });
        }
    }
}

/// Acts on the message from the authenticated peer `from`: forgets the cached list at its
/// `url` if `from` issued it. Returns the status and body of the answer.
pub fn receive(connector: &Connector, from: &str, payload: &Value) -> (u16, Value) {
    let Some(url) = payload
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty() && u.len() <= MAX_URL)
    else {
        return (
            400,
            json!({ "message": format!("`url`: the changed status list's URL, at most {MAX_URL} bytes") }),
        );
    };
    let forgotten = connector
        .verification()
        .status_source
        .forget_if_issued_by(url, from);
    if forgotten {
        tracing::info!(issuer = %from, url, "a status list changed: its cached copy is forgotten");
    }
    (200, json!({ "forgotten": forgotten }))
}
