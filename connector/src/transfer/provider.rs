//! The provider's side: a consumer's request under an agreement it holds opens a process,
//! which the provider then starts on its own (automatic start) — or, for an offer its operator
//! decides (`decision: manual`), leaves REQUESTED for the operator to start — telling the
//! consumer with a `TransferStartMessage`. A repeated request with the same `consumerPid` finds the process it
//! opened. On start, requested processes that were never started are taken up again.

use std::time::Duration;

use super::state::{transition, Move, Role, TransferState};
use super::{url, Transfers};
use crate::catalog;
use crate::dataplane::{DataPlane, HTTP_PULL};
use crate::domain::{new_urn, now, Decision, Transfer};
use crate::messenger::SendError;
use crate::negotiation::auth::Caller;
use crate::negotiation::state::NegotiationState;
use crate::negotiation::DspError;
use crate::protocol::messages::{
    Message as _, TransferProcess, TransferRequestMessage, TransferStartMessage,
};
use crate::protocol::peer::check_callback;
use crate::protocol::pid;
use crate::session::MPC_SESSION_FORMAT;
use crate::store::{Opened, StoreError};

/// How long the provider waits before each attempt to deliver its start: a consumer that
/// cannot be reached is tried three times, then the process stays REQUESTED (the operator can
/// start it, and it is tried again when the connector restarts).
const START_ATTEMPTS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(1),
    Duration::from_secs(4),
];

impl Transfers {
    /// `POST /transfers/request`: a consumer asks for the dataset of an agreement it holds.
    /// Answers the `TransferProcess` (201), REQUESTED; the start follows asynchronously. A
    /// repeated request (same caller, same `consumerPid`) answers the process it opened.
    pub async fn provider_request(
        &self,
        caller: Caller,
        message: TransferRequestMessage,
    ) -> Result<TransferProcess, DspError> {
        const TYPE: &str = TransferRequestMessage::TYPE;
        let bad = |reason: String| DspError::BadRequest(format!("{TYPE}: {reason}"));
        pid::check(&message.consumer_pid).map_err(|e| bad(format!("field `consumerPid`: {e}")))?;
        let policy = self.cx.network().policy();
        check_callback(&message.callback_address, &caller.did, policy).map_err(|source| {
            DspError::Callback {
                message: TYPE,
                source,
            }
        })?;
        let (checker, caller_did, checked) = (self.clone(), caller.did.clone(), message.clone());
        if message.format == MPC_SESSION_FORMAT
            && message
                .data_address
                .as_ref()
                .and_then(|a| a.property("manifest"))
                .is_none()
        {
            return Err(bad(
                "an `MpcSession-PUSH` request carries the session manifest in its \
                 `dataAddress` (property `manifest`)"
                    .into(),
            ));
        }
        let (offer_id, decision) = self
            .cx
            .store()
            .blocking(move |_| checker.check_agreement(&caller_did, &checked))
            .await?;
        let provider_pid = new_urn();
        let transfer = Transfer {
            role: Role::Provider,
            provider_pid: Some(provider_pid.clone()),
            consumer_pid: message.consumer_pid.clone(),
            state: transition(None, Role::Consumer, Move::Request)?,
            agreement_id: message.agreement_id.clone(),
            offer_id,
            format: message.format.clone(),
            counterparty: caller.did.clone(),
            counterparty_address: message.callback_address.trim_end_matches('/').to_owned(),
            access: None,
            pulls: 0,
            // An MPC session's request carries its manifest; the holder decides on it.
            data_address: (message.format == MPC_SESSION_FORMAT)
                .then(|| message.data_address.clone())
                .flatten(),
            code: None,
            reason: Vec::new(),
            created: now(),
            updated: now(),
        };
        match self
            .open(&provider_pid, transfer.clone(), &caller.did)
            .await?
        {
            Opened::Created => {
                // An offer decided by the operator is started by the operator too.
                if !decision.is_manual() {
                    self.start_later(&provider_pid);
                }
                Ok(transfer.process())
            }
            Opened::Existing(existing) => {
                if existing.agreement_id != message.agreement_id
                    || existing.format != message.format
                {
                    return Err(bad(format!(
                        "`consumerPid` `{}` already names a transfer of another agreement or format",
                        message.consumer_pid
                    )));
                }
                // The consumer asks again: it has not seen the start. Tell it again.
                if let (Some(pid), TransferState::Requested | TransferState::Started) =
                    (existing.provider_pid.clone(), existing.state)
                {
                    let service = self.clone();
                    tokio::spawn(async move { service.repeat_start(&pid).await });
                }
                Ok(existing.process())
            }
            Opened::Taken => Err(DspError::BadRequest(format!(
                "process id `{provider_pid}` is taken"
            ))),
        }
    }

    /// Checks that `message` names an agreement this provider made with `caller`, whose
    /// negotiation is FINALIZED, for a dataset still offered in the requested format; returns
    /// the offer's id and who decides on it. An unknown agreement and another consumer's get
    /// the same answer.
    fn check_agreement(
        &self,
        caller: &str,
        message: &TransferRequestMessage,
    ) -> Result<(String, Decision), DspError> {
        const TYPE: &str = TransferRequestMessage::TYPE;
        let store = self.cx.store();
        let agreement = store
            .agreements
            .get(&message.agreement_id)?
            .filter(|a| a.provider == self.did() && a.assignee == caller)
            .ok_or_else(|| {
                DspError::BadRequest(format!(
                    "{TYPE}: `agreementId` `{}` names no agreement this provider made with the \
                     caller",
                    message.agreement_id.chars().take(100).collect::<String>()
                ))
            })?;
        // An MPC session's request is refused at admission instead, with its `mpc:` code.
        if let Some(reason) = agreement
            .withdrawn_reason()
            .filter(|_| message.format != MPC_SESSION_FORMAT)
        {
            return Err(DspError::BadRequest(format!("{TYPE}: {reason}")));
        }
        let negotiation = store.negotiations.get(&agreement.provider_pid)?;
        let state = negotiation.map(|n| n.state);
        if state != Some(NegotiationState::Finalized) {
            return Err(DspError::BadRequest(format!(
                "{TYPE}: the negotiation of agreement `{}` is {}, not FINALIZED",
                agreement.id,
                state.map_or("unknown", NegotiationState::as_str)
            )));
        }
        let offer = store.offers.get(&agreement.offer_id)?.ok_or_else(|| {
            DspError::BadRequest(format!(
                "{TYPE}: the dataset `{}` of the agreement is no longer offered",
                agreement.offer_id
            ))
        })?;
        // A permit for anonymised statistics only (EHDS Art. 69) admits no record-level
        // transfer; an MPC session releases aggregates through disclosure control.
        if message.format != MPC_SESSION_FORMAT {
            if let Some(reason) =
                crate::decision::claims::permit::statistics_only(&agreement.grounds, &offer.id)
            {
                return Err(DspError::BadRequest(format!("{TYPE}: {reason}")));
            }
        }
        let formats = catalog::formats(&offer);
        if !formats.contains(&message.format.as_str()) {
            return Err(DspError::BadRequest(format!(
                "{TYPE}: field `format`: `{}` is not a format of dataset `{}` (it has: {})",
                message.format.chars().take(100).collect::<String>(),
                offer.id,
                formats.join(", ")
            )));
        }
        Ok((offer.id, offer.decision))
    }

    /// Starts `pid` in a task of its own.
    fn start_later(&self, pid: &str) {
        let service = self.clone();
        let pid = pid.to_owned();
        tokio::spawn(async move { service.start_requested(&pid).await });
    }

    /// The provider's automatic start: tells the consumer and, once it acknowledged, moves
    /// REQUESTED → STARTED. A consumer that cannot be reached is tried again a few times;
    /// one that refuses is not. Each failure is recorded; the process stays REQUESTED.
    pub(super) async fn start_requested(&self, pid: &str) {
        for delay in START_ATTEMPTS {
            tokio::time::sleep(delay).await;
            match self.own_move(pid, Move::Start, None, Vec::new()).await {
                Ok(_) => return,
                Err(super::MoveError::Send(SendError::Refused { .. })) => return,
                Err(super::MoveError::Refused(refusal)) => {
                    tracing::info!(pid, code = refusal.code, "a session was refused");
                    return;
                }
                Err(super::MoveError::Send(_)) => continue,
                Err(error) => {
                    tracing::info!(%error, pid, "the transfer was not started");
                    return;
                }
            }
        }
    }

    /// Sends the start again, without moving, to a consumer that repeated its request.
    async fn repeat_start(&self, pid: &str) {
        let Ok(Some(current)) = self.stored(pid).await else {
            return;
        };
        match current.state {
            TransferState::Requested => self.start_requested(pid).await,
            TransferState::Started => {
                // The consumer never saw the start: new tokens go with it, and replace the
                // ones it never received once it acknowledged.
                let issued =
                    (current.format == HTTP_PULL).then(|| DataPlane::of(&self.cx).issue(pid));
                let message = TransferStartMessage {
                    provider_pid: pid.to_owned(),
                    consumer_pid: current.consumer_pid.clone(),
                    data_address: issued.as_ref().map(|(_, address)| address.clone()),
                };
                let to = url(
                    &current.counterparty_address,
                    &current.consumer_pid,
                    Move::Start,
                );
                if let Some((issued, _)) = &issued {
                    // The consumer never saw the tokens it was sent before: these replace
                    // them, stored before they are sent so that a pull right after finds them.
                    let access = issued.access.clone();
                    let stored = self
                        .update(pid, None, move |mut t| {
                            if t.state == TransferState::Started {
                                t.access = Some(access);
                            }
                            Ok(t)
                        })
                        .await;
                    match stored {
                        Ok(next) => {
                            DataPlane::of(&self.cx)
                                .record_issued(pid, &next, &issued.access, "start")
                                .await
                        }
                        Err(error) => {
                            tracing::warn!(%error, pid, "cannot store new data access");
                            return;
                        }
                    }
                }
                if let Err(error) = self.send(&to, &current.counterparty, &message).await {
                    self.send_failed(pid, TransferStartMessage::TYPE, &error)
                        .await;
                }
            }
            _ => {}
        }
    }

    /// Takes up, each in a task of its own, every provider process that was requested but
    /// never started (its start was not acknowledged before a restart), unless its offer is
    /// decided by the operator; returns how many.
    pub fn resume(&self) -> Result<usize, StoreError> {
        let mut resumed = 0;
        let store = self.cx.store();
        for transfer in store.transfers.list()? {
            if transfer.role != Role::Provider || transfer.state != TransferState::Requested {
                continue;
            }
            let manual = store
                .offers
                .get(&transfer.offer_id)?
                .is_some_and(|offer| offer.decision.is_manual());
            if manual {
                continue;
            }
            if let Some(pid) = transfer.provider_pid {
                resumed += 1;
                self.start_later(&pid);
            }
        }
        if resumed > 0 {
            tracing::info!(resumed, "requested transfers resumed");
        }
        Ok(resumed)
    }
}
