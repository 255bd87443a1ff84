//! Transfer processes over the Dataspace Protocol 2025-1, as provider and as consumer.
//!
//! A message that arrives is checked against the state machine ([`state`]), applied and
//! stored with the audit event recording it (one transaction) before it is acknowledged. A
//! move this connector makes itself — the provider's automatic start after a valid request,
//! or an operator's start, suspension, completion or termination — is checked against the
//! state machine, sent, and stored only once the counterparty acknowledged it: a failed send
//! leaves the process where it was and is recorded (`transfer.send_failed`) and reported.
//!
//! The data plane is not part of this module: a provider's `TransferStartMessage` carries no
//! `dataAddress` yet, and a consumer keeps the one a provider sends.

mod access;
mod consumer;
mod inbound;
mod operator;
mod provider;
pub mod session;
pub mod state;

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_audit::EventKind;

pub use consumer::StartTransfer;
pub use operator::MoveError;

use self::state::{IllegalTransition, Move, Role};
use crate::context::Connector;
use crate::domain::{now, Transfer};
use crate::messenger::{Messenger as _, Method, Outbound, SendError};
use crate::negotiation::auth;
use crate::negotiation::DspError;
use crate::protocol::messages::{self, Message, TransferProcess};
use crate::protocol::pid;
use crate::store::{Opened, StoreError, TransferChange, TransferRecord, TransferUpdateError};

impl From<TransferUpdateError> for DspError {
    fn from(error: TransferUpdateError) -> Self {
        match error {
            TransferUpdateError::Illegal(e) => DspError::IllegalTransfer(e),
            TransferUpdateError::Missing(pid) => {
                DspError::NotFound(format!("no transfer process `{pid}`"))
            }
            TransferUpdateError::Store(e) => DspError::Store(e),
        }
    }
}

/// The transfer service of one connector, shared by the protocol service and the management
/// API.
#[derive(Debug, Clone)]
pub struct Transfers {
    cx: Connector,
}

impl Transfers {
    /// The transfer processes of `connector`.
    pub fn new(connector: Connector) -> Self {
        Transfers { cx: connector }
    }

    /// The connector.
    pub fn connector(&self) -> &Connector {
        &self.cx
    }

    fn did(&self) -> &str {
        self.cx.did()
    }

    /// The process this connector knows as `pid`, if `caller` is party to it. A stranger
    /// gets the same answer for a process that exists as for one that does not.
    pub async fn transfer_for(&self, pid: &str, caller: &str) -> Result<Transfer, DspError> {
        match self.stored(pid).await? {
            Some(t) if t.counterparty == caller => Ok(t),
            _ => Err(DspError::NotFound(format!(
                "no transfer process `{}` with this caller",
                pid.chars().take(100).collect::<String>()
            ))),
        }
    }

    /// `GET /transfers/:pid`, on either side.
    pub async fn process_for(&self, pid: &str, caller: &str) -> Result<TransferProcess, DspError> {
        Ok(self.transfer_for(pid, caller).await?.process())
    }

    /// The process stored under `pid`, read off the async runtime.
    async fn stored(&self, pid: &str) -> Result<Option<Transfer>, StoreError> {
        let key = pid.to_owned();
        self.cx
            .store()
            .blocking(move |s| s.transfers.get(&key))
            .await
    }

    /// The audit record of a change of `pid` caused by `cause` (a DID): written in the same
    /// transaction as the change.
    fn record(&self, pid: &str, cause: &str) -> TransferRecord {
        let (audit, pid, cause) = (self.cx.audit().clone(), pid.to_owned(), cause.to_owned());
        Box::new(move |transfer: &Transfer| {
            let mut event = audit.event(
                EventKind::TransferTransition,
                pid,
                transfer.state.as_str(),
                json!({
                    "role": transfer.role,
                    "agreement": transfer.agreement_id,
                    "offer": transfer.offer_id,
                    "format": transfer.format,
                    "counterparty": transfer.counterparty,
                    "provider_pid": transfer.provider_pid,
                    "consumer_pid": transfer.consumer_pid,
                    "code": transfer.code,
                    "reason": transfer.reason,
                }),
            );
            event.actor = cause;
            event.to_audit()
        })
    }

    /// Stores a new process under `pid` with its record, and announces it.
    async fn open(&self, pid: &str, transfer: Transfer, cause: &str) -> Result<Opened, DspError> {
        let (key, stored, record) = (pid.to_owned(), transfer.clone(), self.record(pid, cause));
        let opened = self
            .cx
            .store()
            .blocking(move |s| s.transfers.open(&key, &stored, record))
            .await?;
        if opened == Opened::Created {
            self.cx.announce_transfer(pid, transfer.state);
        }
        Ok(opened)
    }

    /// Changes `pid` with `change` (off the async runtime, committed with its audit record
    /// when a `cause` is given) and announces it.
    async fn update(
        &self,
        pid: &str,
        cause: Option<&str>,
        change: impl FnOnce(Transfer) -> Result<Transfer, IllegalTransition> + Send + 'static,
    ) -> Result<Transfer, DspError> {
        let (key, record) = (pid.to_owned(), cause.map(|cause| self.record(pid, cause)));
        let change: TransferChange = Box::new(change);
        let next = self
            .cx
            .store()
            .blocking(move |s| s.transfers.update(&key, change, record))
            .await?;
        self.cx.announce_transfer(pid, next.state);
        Ok(next)
    }

    /// Moves `pid` by `mv`, sent by `by` (DID `actor`), with `also` applied: checked against
    /// the state machine inside the transaction, stored, recorded and announced.
    async fn apply_move(
        &self,
        pid: &str,
        actor: &str,
        by: Role,
        mv: Move,
        also: impl FnOnce(&mut Transfer) + Send + 'static,
    ) -> Result<Transfer, DspError> {
        self.update(pid, Some(actor), move |mut t| {
            t.state = state::transition(Some(t.state), by, mv)?;
            t.updated = now();
            also(&mut t);
            Ok(t)
        })
        .await
    }

    /// Sends `message` to `url`, authenticated for `audience`; the answer on success.
    async fn send<M: Message>(
        &self,
        url: &str,
        audience: &str,
        message: &M,
    ) -> Result<Value, SendError> {
        let token = auth::bearer(self.cx.identity(), audience);
        let body = messages::to_json(message);
        self.cx
            .network()
            .send(Outbound {
                method: Method::Post,
                url,
                token: Some(&token),
                body: Some(&body),
            })
            .await
    }

    /// Records that `message` about `pid` was not delivered or was refused.
    async fn send_failed(&self, pid: &str, message: &str, error: &SendError) {
        let event = self.cx.audit().event(
            EventKind::TransferSendFailed,
            pid,
            "error",
            json!({ "message": message, "reason": error.to_string() }),
        );
        if let Err(error) = self.cx.audit().record(event).await {
            tracing::error!(%error, pid, "cannot record a failed send");
        }
    }

    /// Records that a transfer message (`message`: its path) from the authenticated `caller`
    /// about `subject` was refused with `status` (4xx) because of `reason`; the texts are
    /// bounded, since the caller chose them.
    pub async fn refused(
        &self,
        caller: &str,
        subject: &str,
        message: &str,
        status: u16,
        reason: &str,
    ) {
        let bounded = |text: &str, most: usize| text.chars().take(most).collect::<String>();
        let mut event = self.cx.audit().event(
            EventKind::TransferRefused,
            bounded(subject, 200),
            "refused",
            json!({
                "message": bounded(message, 200),
                "status": status,
                "reason": bounded(reason, 500),
            }),
        );
        event.actor = caller.to_owned();
        if let Err(error) = self.cx.audit().record(event).await {
            tracing::error!(%error, "cannot record a refused transfer message");
        }
    }

    /// Waits until the process `pid` satisfies `done`, or `timeout` passes; returns it as it
    /// then is.
    pub async fn wait_until(
        &self,
        pid: &str,
        timeout: Duration,
        done: impl Fn(&Transfer) -> bool,
    ) -> Result<Option<Transfer>, StoreError> {
        let changes = self.cx.watch_transfers();
        let store = self.cx.store();
        crate::watch::until(changes, pid, timeout, || store.transfers.get(pid), done).await
    }
}

/// The path segment of a move's endpoint (`/transfers/:pid/<segment>`).
fn endpoint(mv: Move) -> &'static str {
    match mv {
        Move::Request => "request",
        Move::Start => "start",
        Move::Suspend => "suspension",
        Move::Complete => "completion",
        Move::Terminate => "termination",
    }
}

/// The URL of `pid`'s endpoint for `mv` under `base` (a callback address or a protocol base).
fn url(base: &str, process: &str, mv: Move) -> String {
    format!(
        "{}/transfers/{}/{}",
        base.trim_end_matches('/'),
        pid::encoded(process),
        endpoint(mv)
    )
}

#[cfg(test)]
mod tests;
