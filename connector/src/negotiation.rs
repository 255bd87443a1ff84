//! Contract negotiation over the Dataspace Protocol 2025-1, as provider and as consumer.
//!
//! State changes are driven by messages: a message that arrives is checked against the state
//! machine ([`state`]), applied and stored (flushed) and recorded in the audit trail before it
//! is acknowledged; the reply it calls for is sent from a task spawned after the
//! acknowledgement. This connector's own moves are stored only once the counterparty
//! acknowledged them ([`moves`]); a message that arrives while one is in flight on its process
//! waits for it to settle ([`inflight`]). A provider answers requests on its own, or, for an
//! offer whose `decision` is `manual`, leaves the answer to its operator with its policy's
//! verdict as a recommendation ([`manual`]). Waiting for an outcome listens to the changes as
//! they are stored; nothing polls. On start, [`Negotiations::resume`] takes up every
//! negotiation that waits for one of this connector's own moves.

pub mod agreement;
pub mod auth;
mod consumer;
mod deciding;
pub mod inflight;
pub mod manual;
mod moves;
mod operator;
mod presenting;
mod provider;
mod resume;
pub mod state;
pub mod terms;
pub mod withdrawal;

use std::time::Duration;

use serde_json::{json, Value};
use symbolon_audit::EventKind;

pub use consumer::{StartError, StartNegotiation};
pub use operator::OfferContract;
pub use presenting::{PresentationMode, INLINE_AUTH_PROTOCOL};

use self::auth::AuthError;
use self::state::{IllegalTransition, Move, Role};
use crate::audit::AuditError;
use crate::catalog::PolicyError;
use crate::context::Connector;
use crate::domain::{now, Negotiation};
use crate::messenger::{Messenger as _, Method, Outbound, SendError};
use crate::protocol::messages::{
    self, ContractNegotiationTerminationMessage, Message, MessageError,
};
use crate::protocol::peer::CallbackError;
use crate::store::{Change, Record, StoreError, UpdateError};

/// Why a protocol message was not accepted, or a negotiation or transfer step failed; maps to
/// the status codes the specification gives.
#[derive(Debug, thiserror::Error)]
pub enum DspError {
    /// 401: the caller is not authenticated.
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// 400: the message is malformed.
    #[error(transparent)]
    Malformed(#[from] MessageError),
    /// 400: the callback address is refused.
    #[error("{message}: field `callbackAddress` {source}")]
    Callback {
        /// The message.
        message: &'static str,
        /// Why.
        #[source]
        source: CallbackError,
    },
    /// 400: the message is not acceptable here.
    #[error("{0}")]
    BadRequest(String),
    /// 400: the message is not allowed in the negotiation's state.
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// 400: the message is not allowed in the transfer process's state.
    #[error(transparent)]
    IllegalTransfer(#[from] crate::transfer::state::IllegalTransition),
    /// 404: no such process, or the caller is not party to it.
    #[error("{0}")]
    NotFound(String),
    /// 500: the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500: the step could not be recorded in the audit trail, so it was not taken.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// 500: a stored offer's policy no longer compiles.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl From<UpdateError> for DspError {
    fn from(error: UpdateError) -> Self {
        match error {
            UpdateError::Illegal(e) => DspError::Illegal(e),
            UpdateError::Missing(pid) => DspError::NotFound(format!("no negotiation `{pid}`")),
            UpdateError::Store(e) => DspError::Store(e),
        }
    }
}

/// The negotiation service of one connector, shared by the protocol service and the
/// management API.
#[derive(Debug, Clone)]
pub struct Negotiations {
    cx: Connector,
}

impl Negotiations {
    /// The negotiations of `connector`.
    pub fn new(connector: Connector) -> Self {
        Negotiations { cx: connector }
    }

    /// The connector.
    pub fn connector(&self) -> &Connector {
        &self.cx
    }

    fn did(&self) -> &str {
        self.cx.did()
    }

    /// The offer `id` of this connector's catalog, read off the async runtime.
    async fn stored_offer(&self, id: &str) -> Result<Option<crate::domain::Offer>, StoreError> {
        let id = id.to_owned();
        self.cx.store().blocking(move |s| s.offers.get(&id)).await
    }

    /// The negotiation this connector knows as `pid`, if `caller` is party to it.
    pub async fn negotiation_for(&self, pid: &str, caller: &str) -> Result<Negotiation, DspError> {
        let key = pid.to_owned();
        let stored = self
            .cx
            .store()
            .blocking(move |s| s.negotiations.get(&key))
            .await?;
        match stored {
            Some(n) if n.counterparty == caller => Ok(n),
            _ => Err(DspError::NotFound(format!(
                "no negotiation `{}` with this caller",
                pid.chars().take(100).collect::<String>()
            ))),
        }
    }

    /// The audit record of a change of `pid` caused by `cause`: it is written in the same
    /// transaction as the change, so no change is acknowledged without its record.
    fn record(&self, pid: &str, cause: &str) -> Record {
        let (audit, pid, cause) = (self.cx.audit().clone(), pid.to_owned(), cause.to_owned());
        Box::new(move |negotiation: &Negotiation| {
            let mut event = audit.event(
                EventKind::NegotiationTransition,
                pid,
                negotiation.state.as_str(),
                json!({
                    "role": negotiation.role,
                    "offer": negotiation.offer_id,
                    "counterparty": negotiation.counterparty,
                    "reason": negotiation.reason,
                }),
            );
            event.actor = cause;
            event.to_audit()
        })
    }

    /// Announces a stored change of `pid` to whoever waits for it.
    fn announce(&self, pid: &str, negotiation: &Negotiation) {
        self.cx.announce_change(pid, negotiation.state);
    }

    /// Waits until the negotiation `pid` is FINALIZED or TERMINATED, or `timeout` passes;
    /// returns it as it then is.
    pub async fn wait_for_outcome(
        &self,
        pid: &str,
        timeout: Duration,
    ) -> Result<Option<Negotiation>, StoreError> {
        let changes = self.cx.watch_negotiations();
        let store = self.cx.store();
        crate::watch::until(
            changes,
            pid,
            timeout,
            || store.negotiations.get(pid),
            |n| n.state.is_final(),
        )
        .await
    }

    /// Stores a new negotiation under `pid` (flushed), records and announces it.
    async fn open(&self, pid: &str, negotiation: Negotiation, cause: &str) -> Result<(), DspError> {
        let key = pid.to_owned();
        let (stored, record) = (negotiation.clone(), self.record(pid, cause));
        let created = self
            .cx
            .store()
            .blocking(move |s| s.negotiations.create(&key, &stored, record))
            .await?;
        if !created {
            return Err(DspError::BadRequest(format!("process id `{pid}` is taken")));
        }
        self.announce(pid, &negotiation);
        Ok(())
    }

    /// Changes `pid` with `change` (off the async runtime, committed with its audit record
    /// when a `cause` is given) and announces it.
    async fn update(
        &self,
        pid: &str,
        cause: Option<&str>,
        change: impl FnOnce(Negotiation) -> Result<Negotiation, IllegalTransition> + Send + 'static,
    ) -> Result<Negotiation, DspError> {
        let (key, record) = (pid.to_owned(), cause.map(|cause| self.record(pid, cause)));
        let change: Change = Box::new(change);
        let next = self
            .cx
            .store()
            .blocking(move |s| s.negotiations.update(&key, change, record))
            .await?;
        self.announce(pid, &next);
        Ok(next)
    }

    /// Moves `pid` by `mv`, made by `by` (DID `actor`), with `also` applied: checked against
    /// the state machine, stored, recorded and announced.
    async fn apply_move(
        &self,
        pid: &str,
        actor: &str,
        by: Role,
        mv: Move,
        also: impl Fn(&mut Negotiation) + Send + Sync + 'static,
    ) -> Result<Negotiation, DspError> {
        self.update(pid, Some(actor), move |mut n| {
            n.state = state::transition(n.state, by, mv)?;
            n.updated = now();
            also(&mut n);
            Ok(n)
        })
        .await
    }

    /// Terminates `pid` here (this connector acting as `role`) with `reasons`; refused when it
    /// is already final.
    async fn terminate_here(
        &self,
        pid: &str,
        role: Role,
        reasons: Vec<String>,
    ) -> Result<Negotiation, DspError> {
        let did = self.did().to_owned();
        self.apply_move(pid, &did, role, Move::Terminate, move |n| {
            n.reason = reasons.clone();
            n.pending = None;
        })
        .await
    }

    /// Terminates `pid` as this connector, telling the counterparty why (`code`, `reasons`),
    /// and stores TERMINATED once it acknowledged. With `force`, a counterparty that cannot be
    /// told (or refuses) does not stop it: the failed send is on record and the negotiation is
    /// terminated here all the same. A negotiation whose counterparty process is not known yet
    /// has nobody to tell and is terminated here.
    pub(super) async fn terminate_own(
        &self,
        pid: &str,
        code: &str,
        reasons: Vec<String>,
        force: bool,
    ) -> Result<Negotiation, StartError> {
        let (_slot, current) = self.begin_move(pid, Move::Terminate).await?;
        if current.their_pid().is_some() {
            let message = ContractNegotiationTerminationMessage {
                provider_pid: current.provider_pid.clone().unwrap_or_default(),
                consumer_pid: current.consumer_pid.clone().unwrap_or_default(),
                code: Some(code.to_owned()),
                reason: Some(reasons.iter().cloned().map(Into::into).collect()),
            };
            match self
                .deliver(pid, &current, "/termination", &message, None)
                .await
            {
                Ok(_) => {}
                Err(StartError::Send(_) | StartError::Invalid(_)) if force => {}
                Err(error) => return Err(error),
            }
        }
        Ok(self.terminate_here(pid, current.role, reasons).await?)
    }

    /// Sends `message` to `url`, authenticated for `audience` (with `token` when it carries a
    /// presentation).
    async fn send<M: Message>(
        &self,
        url: &str,
        audience: &str,
        message: &M,
        token: Option<String>,
    ) -> Result<Value, SendError> {
        let token = token.unwrap_or_else(|| auth::bearer(self.cx.identity(), audience));
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

    /// Fetches `url` with GET, authenticated for `audience`.
    async fn fetch(&self, url: &str, audience: &str) -> Result<Value, SendError> {
        let token = auth::bearer(self.cx.identity(), audience);
        self.cx
            .network()
            .send(Outbound {
                method: Method::Get,
                url,
                token: Some(&token),
                body: None,
            })
            .await
    }

    /// This connector's signed tree head for its partner to witness; `None` (logged) when it
    /// cannot be signed.
    async fn tree_head(&self) -> Option<String> {
        match self.cx.audit().head_jws().await {
            Ok(head) => Some(head),
            Err(error) => {
                tracing::error!(%error, "cannot sign a tree head");
                None
            }
        }
    }

    /// Records the partner's tree head (cross-witnessing); a bad head is recorded as refused.
    async fn witness(&self, partner: &str, head: Option<&str>) -> Result<(), DspError> {
        let Some(head) = head else { return Ok(()) };
        let resolver = &self.cx.verification().resolver;
        if let Err(error) = self.cx.audit().witness(partner, head, resolver).await {
            let event = self.cx.audit().event(
                EventKind::WitnessTreeHead,
                partner,
                "refused",
                json!({ "reason": error.to_string() }),
            );
            self.cx.audit().record(event).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
