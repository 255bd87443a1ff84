//! The counterparty's messages on a process, on either side: a start (the provider's, or a
//! restart after a suspension), a suspension, a completion or a termination. Each is checked
//! against the state machine for the sender's role, stored with its record and acknowledged
//! with the `TransferProcess`.

use super::state::Move;
use super::Transfers;
use crate::domain::Transfer;
use crate::negotiation::auth::Caller;
use crate::negotiation::DspError;
use crate::protocol::messages::transfer::reason_texts;
use crate::protocol::messages::{
    TransferCompletionMessage, TransferProcess, TransferStartMessage, TransferSuspensionMessage,
    TransferTerminationMessage,
};
use crate::protocol::pid;
use crate::transfer::state::Role;

impl Transfers {
    /// `POST /transfers/:pid/start`: the provider started (consumer side; the data address it
    /// sends is kept), or the consumer restarts a suspended process (provider side).
    pub async fn received_start(
        &self,
        pid: &str,
        caller: Caller,
        message: TransferStartMessage,
    ) -> Result<TransferProcess, DspError> {
        let address = message.data_address;
        self.received(
            pid,
            &caller,
            Move::Start,
            (&message.provider_pid, &message.consumer_pid),
            move |t| {
                if t.role == Role::Consumer {
                    t.data_address = address;
                }
            },
        )
        .await
    }

    /// `POST /transfers/:pid/suspension`.
    pub async fn received_suspension(
        &self,
        pid: &str,
        caller: Caller,
        message: TransferSuspensionMessage,
    ) -> Result<TransferProcess, DspError> {
        let (code, reason) = (message.code, reason_texts(message.reason));
        self.received(
            pid,
            &caller,
            Move::Suspend,
            (&message.provider_pid, &message.consumer_pid),
            move |t| {
                // The consumer keeps its data address: after a restart its refresh token gets
                // new tokens (a provider's restart sends a new address).
                t.code = code;
                t.reason = reason;
            },
        )
        .await
    }

    /// `POST /transfers/:pid/completion`.
    pub async fn received_completion(
        &self,
        pid: &str,
        caller: Caller,
        message: TransferCompletionMessage,
    ) -> Result<TransferProcess, DspError> {
        self.received(
            pid,
            &caller,
            Move::Complete,
            (&message.provider_pid, &message.consumer_pid),
            Transfer::close_access,
        )
        .await
    }

    /// `POST /transfers/:pid/termination`.
    pub async fn received_termination(
        &self,
        pid: &str,
        caller: Caller,
        message: TransferTerminationMessage,
    ) -> Result<TransferProcess, DspError> {
        let (code, reason) = (message.code, reason_texts(message.reason));
        self.received(
            pid,
            &caller,
            Move::Terminate,
            (&message.provider_pid, &message.consumer_pid),
            move |t| {
                t.code = code;
                t.reason = reason;
                t.close_access();
            },
        )
        .await
    }

    /// Applies the counterparty's `mv` to `pid`, after checking that the message names this
    /// process by both ids (a consumer learns the provider's id from the first message that
    /// names it).
    async fn received(
        &self,
        pid: &str,
        caller: &Caller,
        mv: Move,
        (provider_pid, consumer_pid): (&str, &str),
        also: impl FnOnce(&mut Transfer) + Send + 'static,
    ) -> Result<TransferProcess, DspError> {
        let current = self.transfer_for(pid, &caller.did).await?;
        let mismatch = |field: &str, found: &str, expected: &str| {
            DspError::BadRequest(format!(
                "{}: field `{field}` is `{}`, but this process is paired with `{expected}`",
                mv.message(),
                found.chars().take(100).collect::<String>()
            ))
        };
        if consumer_pid != current.consumer_pid {
            return Err(mismatch("consumerPid", consumer_pid, &current.consumer_pid));
        }
        let learned = match current.provider_pid.as_deref() {
            Some(known) if known != provider_pid => {
                return Err(mismatch("providerPid", provider_pid, known))
            }
            Some(_) => None,
            None => {
                pid::check(provider_pid).map_err(|e| {
                    DspError::BadRequest(format!("{}: field `providerPid`: {e}", mv.message()))
                })?;
                Some(provider_pid.to_owned())
            }
        };
        let next = self
            .apply_move(pid, &caller.did, current.their_role(), mv, move |t| {
                if t.provider_pid.is_none() {
                    t.provider_pid = learned;
                }
                also(t);
            })
            .await?;
        Ok(next.process())
    }
}
