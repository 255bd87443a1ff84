//! Watching a response in flight: it is stopped the moment its transfer process leaves
//! STARTED, and — checked every [`STANDING_INTERVAL`] — when a credential its agreement rests
//! on stops standing. The watch ends with the response.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use super::body::Stop;
use crate::context::Connector;
use crate::transfer::state::TransferState;

/// How often the credentials of a response in flight are checked again.
pub const STANDING_INTERVAL: Duration = Duration::from_secs(5);

/// Why one of `grounds` no longer stands, if one does not: the first, in order.
pub async fn first_fallen(connector: &Connector, grounds: &[Value]) -> Option<String> {
    if grounds.is_empty() {
        return None;
    }
    let verifier = connector.verification().verifier();
    for credential in grounds {
        if let Err(error) = verifier.check_standing(credential).await {
            let types = symbolon_identity::credential::specific_types(credential).join("/");
            return Some(format!(
                "the {} the agreement rests on no longer stands: {error}",
                if types.is_empty() {
                    "credential".into()
                } else {
                    types
                }
            ));
        }
    }
    None
}

/// Starts watching process `pid` for a response resting on `grounds`; returns the stop the
/// response checks.
pub fn spawn(connector: &Connector, pid: String, grounds: Vec<Value>) -> Arc<Stop> {
    let stop = Arc::new(Stop::default());
    let watched = Arc::downgrade(&stop);
    let mut changes = connector.watch_transfers();
    let connector = connector.downgrade();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(STANDING_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        // A change between the request's check and this subscription is seen here.
        let mut reason = state_reason(&connector, &pid).await;
        loop {
            if let Some(reason) = reason.take() {
                if let Some(stop) = watched.upgrade() {
                    stop.stop(reason);
                }
                return;
            }
            if watched.strong_count() == 0 {
                return;
            }
            reason = tokio::select! {
                change = changes.recv() => match change {
                    Ok((changed, state)) if changed == pid && state != TransferState::Started => {
                        Some(format!("the transfer is {state}"))
                    }
                    Ok(_) => None,
                    Err(RecvError::Lagged(_)) => state_reason(&connector, &pid).await,
                    Err(RecvError::Closed) => return,
                },
                _ = ticks.tick() => match connector.upgrade() {
                    Some(cx) => first_fallen(&cx, &grounds).await,
                    None => return,
                },
            };
        }
    });
    stop
}

/// Why process `pid` may not be served, judged by its stored state.
async fn state_reason(connector: &crate::context::WeakConnector, pid: &str) -> Option<String> {
    let cx = connector.upgrade()?;
    let key = pid.to_owned();
    match cx.store().blocking(move |s| s.transfers.get(&key)).await {
        Ok(Some(t)) if t.state == TransferState::Started => None,
        Ok(Some(t)) => Some(format!("the transfer is {}", t.state)),
        Ok(None) => Some("the transfer is no longer kept here".into()),
        Err(error) => Some(format!("the transfer's state cannot be read: {error}")),
    }
}
