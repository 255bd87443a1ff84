//! How this connector makes its own moves on a negotiation (DSP 2025-1: the state changes once
//! the counterparty acknowledged the message): hold the process's slot ([`super::inflight`]),
//! check the move against the state machine, send the message, and store the new state only
//! when the counterparty acknowledged it. A send that fails leaves the state as it was; it is
//! recorded (`negotiation.send_failed`) and returned, so that an operator's move is reported
//! (502) and an automatic one is tried again ([`Negotiations::retrying`]).

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};
use symbolon_audit::EventKind;

use super::consumer::StartError;
use super::inflight::{Slot, SETTLE};
use super::state::{transition, Move};
use super::{DspError, Negotiations};
use crate::domain::Negotiation;
use crate::messenger::SendError;
use crate::protocol::messages::Message;
use crate::protocol::pid;

/// How long an automatic move waits before each attempt: a counterparty that cannot be
/// reached is tried three times; the negotiation then stays where it is (its operator can make
/// or end the move, and it is tried again when the connector restarts).
const ATTEMPTS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(1),
    Duration::from_secs(4),
];

impl Negotiations {
    /// Holds `pid`'s slot for one of this connector's own moves and checks `mv` (made in this
    /// connector's role) against the state the negotiation is in; returns the slot (held until
    /// dropped) and the negotiation.
    pub(super) async fn begin_move(
        &self,
        pid: &str,
        mv: Move,
    ) -> Result<(Slot<'_>, Negotiation), StartError> {
        let slot = self.cx.negotiation_moves().hold(pid, SETTLE).await?;
        let current = self.own_negotiation(pid)?;
        transition(current.state, current.role, mv).map_err(DspError::from)?;
        Ok((slot, current))
    }

    /// Holds `pid`'s slot for a message that arrived: waits (at most [`SETTLE`]) for a move of
    /// this connector's in flight on it to settle. `None` when it did not settle in time; the
    /// message is then checked against the state as it stands.
    pub(super) async fn settle(&self, pid: &str) -> Option<Slot<'_>> {
        match self.cx.negotiation_moves().hold(pid, SETTLE).await {
            Ok(slot) => Some(slot),
            Err(busy) => {
                tracing::warn!(%busy, "a message is applied while a move is in flight");
                None
            }
        }
    }

    /// Sends `message` about `pid` to the counterparty of `to`, at
    /// `{its address}/negotiations/{their pid}{tail}` (authenticated with `token` when it
    /// presents credentials); answers the acknowledgement. A failure is recorded and returned.
    pub(super) async fn deliver<M: Message>(
        &self,
        pid: &str,
        to: &Negotiation,
        tail: &str,
        message: &M,
        token: Option<String>,
    ) -> Result<Value, StartError> {
        let Some(their_pid) = to.their_pid() else {
            return Err(StartError::Invalid(format!(
                "negotiation `{pid}` has no counterparty process yet to tell"
            )));
        };
        let url = match pid::negotiation_url(&to.counterparty_address, their_pid, tail) {
            Ok(url) => url,
            Err(error) => {
                let reason = format!("the counterparty's process id is refused: {error}");
                self.send_failed(pid, M::TYPE, &reason).await;
                return Err(StartError::Invalid(reason));
            }
        };
        match self.send(&url, &to.counterparty, message, token).await {
            Ok(answer) => Ok(answer),
            Err(error) => {
                self.send_failed(pid, M::TYPE, &error.to_string()).await;
                Err(error.into())
            }
        }
    }

    /// Records that `message` about `pid` could not be delivered, and why.
    pub(super) async fn send_failed(&self, pid: &str, message: &str, reason: &str) {
        let event = self.cx.audit().event(
            EventKind::NegotiationSendFailed,
            pid,
            "error",
            json!({ "message": message, "reason": reason }),
        );
        if let Err(error) = self.cx.audit().record(event).await {
            tracing::error!(%error, pid, "cannot record a failed send");
        }
    }

    /// Makes an automatic move (`what`, for the log) with `attempt`, again after a while when
    /// the counterparty could not be reached (or another move was in flight); not again when it
    /// refused or the negotiation moved on. Every failed send is on record.
    pub(super) async fn retrying<F, Fut>(&self, pid: &str, what: &str, mut attempt: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Negotiation, StartError>>,
    {
        for delay in ATTEMPTS {
            tokio::time::sleep(delay).await;
            match attempt().await {
                Ok(_) => return,
                Err(StartError::Send(SendError::Refused { .. })) => {
                    tracing::info!(pid, what, "the counterparty refused the move");
                    return;
                }
                Err(StartError::Send(_) | StartError::Busy(_)) => continue,
                Err(error) => {
                    tracing::info!(%error, pid, what, "the move was not made");
                    return;
                }
            }
        }
        tracing::warn!(
            pid,
            what,
            "the counterparty could not be told; the negotiation stays where it is"
        );
    }

    /// This connector's negotiation `pid`.
    pub(super) fn own_negotiation(&self, pid: &str) -> Result<Negotiation, StartError> {
        self.cx
            .store()
            .negotiations
            .get(pid)?
            .ok_or_else(|| DspError::NotFound(format!("no negotiation `{pid}`")).into())
    }
}
