//! This connector's own moves on a process, on either side: the provider's automatic start,
//! and the operator's start (a provider's first start, or a restart after a suspension by
//! either side), suspension, completion and termination through the management API.
//!
//! Each move is checked against the state machine, sent, and stored only once the
//! counterparty acknowledged it. A move that could not be delivered, or that the counterparty
//! refused, leaves the process where it was; it is recorded and reported. Only a termination
//! may be forced: the process is then terminated here all the same.

use super::state::{transition, IllegalTransition, Move, Role};
use super::{url, Transfers};
use crate::dataplane::{DataPlane, HTTP_PULL};
use crate::domain::{DataAccess, Transfer};
use crate::messenger::SendError;
use crate::negotiation::DspError;
use crate::protocol::messages::transfer::reasons;
use crate::protocol::messages::{
    Message, TransferCompletionMessage, TransferStartMessage, TransferSuspensionMessage,
    TransferTerminationMessage,
};
use crate::session::MPC_SESSION_FORMAT;

/// Why this connector's move on a process was not made.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// No such process or agreement here (404).
    #[error("{0}")]
    NotFound(String),
    /// The request is unusable (400).
    #[error("{0}")]
    Invalid(String),
    /// The process's state does not allow the move (409).
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// The counterparty could not be told, or refused: the process is unchanged (502).
    #[error("the process is unchanged: {0}")]
    Send(#[from] SendError),
    /// An MPC session this holder does not join (its admission refused the manifest; the
    /// process is terminated with the refusal's code).
    #[error(transparent)]
    Refused(crate::session::admission::Refusal),
    /// Something failed here (500).
    #[error(transparent)]
    Internal(DspError),
}

impl From<DspError> for MoveError {
    fn from(error: DspError) -> Self {
        match error {
            DspError::NotFound(m) => MoveError::NotFound(m),
            DspError::IllegalTransfer(e) => MoveError::Illegal(e),
            DspError::BadRequest(m) => MoveError::Invalid(m),
            other => MoveError::Internal(other),
        }
    }
}

impl From<crate::store::StoreError> for MoveError {
    fn from(error: crate::store::StoreError) -> Self {
        MoveError::Internal(error.into())
    }
}

impl Transfers {
    /// Starts `pid`: a provider's first start of a REQUESTED process, or a restart of a
    /// SUSPENDED one by either side.
    pub async fn start(&self, pid: &str) -> Result<Transfer, MoveError> {
        self.own_move(pid, Move::Start, None, Vec::new()).await
    }

    /// Suspends a STARTED process, telling the counterparty why.
    pub async fn suspend(&self, pid: &str, reason: Option<String>) -> Result<Transfer, MoveError> {
        self.own_move(pid, Move::Suspend, None, reason.into_iter().collect())
            .await
    }

    /// Completes a STARTED process.
    pub async fn complete(&self, pid: &str) -> Result<Transfer, MoveError> {
        self.own_move(pid, Move::Complete, None, Vec::new()).await
    }

    /// Terminates a process that is not final, telling the counterparty why. With `force`, a
    /// counterparty that cannot be told (or refuses) does not stop it: the failed send is
    /// recorded and the process is terminated here all the same.
    pub async fn terminate(
        &self,
        pid: &str,
        reason: String,
        force: bool,
    ) -> Result<Transfer, MoveError> {
        self.terminate_with(pid, "operator", reason, force).await
    }

    /// Terminates a process with `code` (e.g. an MPC session's `mpc:party-dropped`), like
    /// [`Transfers::terminate`].
    pub async fn terminate_with(
        &self,
        pid: &str,
        code: &str,
        reason: String,
        force: bool,
    ) -> Result<Transfer, MoveError> {
        let code = Some(code.to_owned());
        match self
            .own_move(pid, Move::Terminate, code.clone(), vec![reason.clone()])
            .await
        {
            Err(MoveError::Send(_)) if force => {
                let current = self.own_transfer(pid).await?;
                let did = self.did().to_owned();
                Ok(self
                    .apply_move(pid, &did, current.role, Move::Terminate, move |t| {
                        t.code = code;
                        t.reason = vec![reason];
                        t.close_access();
                    })
                    .await?)
            }
            other => other,
        }
    }

    /// Makes `mv` on `pid` as this connector's role: checks it, tells the counterparty and,
    /// once acknowledged, stores it with its record.
    pub(super) async fn own_move(
        &self,
        pid: &str,
        mv: Move,
        code: Option<String>,
        reason: Vec<String>,
    ) -> Result<Transfer, MoveError> {
        let current = self.own_transfer(pid).await?;
        transition(Some(current.state), current.role, mv)?;
        let Some(their_pid) = current.their_pid().map(str::to_owned) else {
            return Err(MoveError::Invalid(format!(
                "transfer `{pid}` has no provider process yet to tell"
            )));
        };
        let to = url(&current.counterparty_address, &their_pid, mv);
        let (provider_pid, consumer_pid) = (
            current.provider_pid.clone().unwrap_or_default(),
            current.consumer_pid.clone(),
        );
        let audience = current.counterparty.as_str();
        // A provider starting (or resuming) a pull transfer gives the consumer new tokens.
        let issued =
            (mv == Move::Start && current.role == Role::Provider && current.format == HTTP_PULL)
                .then(|| DataPlane::of(&self.cx).issue(pid));
        if let Some((issued, _)) = &issued {
            // Stored before it is sent: a consumer that pulls the moment it has the address
            // finds its token (and waits for STARTED), even before the acknowledgement.
            let pending = DataAccess {
                pending: true,
                ..issued.access.clone()
            };
            self.update(pid, None, move |mut t| {
                t.access = Some(pending);
                Ok(t)
            })
            .await?;
        }
        // A holder starts an MPC session only once it admitted it, with its countersignature.
        let session = if mv == Move::Start
            && current.role == Role::Provider
            && current.format == MPC_SESSION_FORMAT
        {
            match self.admit_session(pid, &current).await {
                Ok(admitted) => Some(admitted),
                Err(MoveError::Refused(refusal)) => {
                    let terminated = Box::pin(self.own_move(
                        pid,
                        Move::Terminate,
                        Some(refusal.code.to_owned()),
                        vec![refusal.reason.clone()],
                    ))
                    .await;
                    if let Err(error) = terminated {
                        tracing::warn!(%error, pid, "a refused session could not be terminated");
                    }
                    return Err(MoveError::Refused(refusal));
                }
                Err(other) => return Err(other),
            }
        } else {
            None
        };
        let sent = match mv {
            Move::Start => {
                let data_address = issued
                    .as_ref()
                    .map(|(_, address)| address.clone())
                    .or(session.as_ref().map(|(address, _)| address.clone()));
                let message = TransferStartMessage {
                    provider_pid,
                    consumer_pid,
                    data_address,
                };
                self.tell(pid, &to, audience, &message).await
            }
            Move::Suspend => {
                let message = TransferSuspensionMessage {
                    provider_pid,
                    consumer_pid,
                    code: code.clone(),
                    reason: reasons(&reason),
                };
                self.tell(pid, &to, audience, &message).await
            }
            Move::Complete => {
                let message = TransferCompletionMessage {
                    provider_pid,
                    consumer_pid,
                };
                self.tell(pid, &to, audience, &message).await
            }
            Move::Terminate => {
                let message = TransferTerminationMessage {
                    provider_pid,
                    consumer_pid,
                    code: code.clone(),
                    reason: reasons(&reason),
                };
                self.tell(pid, &to, audience, &message).await
            }
            Move::Request => {
                return Err(MoveError::Invalid(
                    "a transfer is requested with `POST /api/v1/transfers`".into(),
                ))
            }
        };
        sent?;
        let did = self.did().to_owned();
        let keeps_reason = matches!(mv, Move::Suspend | Move::Terminate);
        let access = issued.as_ref().map(|(issued, _)| issued.access.clone());
        let next = self
            .apply_move(pid, &did, current.role, mv, move |t| {
                if keeps_reason {
                    t.code = code;
                    t.reason = reason;
                }
                if access.is_some() {
                    t.access = access;
                }
                if t.state.is_final() {
                    t.close_access();
                }
            })
            .await?;
        if let Some((_, part)) = session {
            crate::session::start::join_as_holder(&self.cx, pid, part).await;
        }
        if let (Some((issued, _)), Some(own)) = (&issued, next.own_pid()) {
            DataPlane::of(&self.cx)
                .record_issued(own, &next, &issued.access, "start")
                .await;
        }
        Ok(next)
    }

    /// Sends `message` about `pid`; a failure is recorded and returned.
    async fn tell<M: Message>(
        &self,
        pid: &str,
        to: &str,
        audience: &str,
        message: &M,
    ) -> Result<(), SendError> {
        match self.send(to, audience, message).await {
            Ok(_) => Ok(()),
            Err(error) => {
                self.send_failed(pid, M::TYPE, &error).await;
                Err(error)
            }
        }
    }

    /// This connector's process `pid`.
    pub(crate) async fn own_transfer(&self, pid: &str) -> Result<Transfer, MoveError> {
        self.stored(pid)
            .await?
            .ok_or_else(|| MoveError::NotFound(format!("no transfer process `{pid}`")))
    }
}
