//! The consumer's side: request the dataset of an agreement this connector holds from its
//! provider, then follow the provider's messages (`inbound`).

use super::state::{transition, Move, Role};
use super::{session, MoveError, Transfers};
use crate::domain::{new_urn, now, Transfer};
use crate::negotiation::state::NegotiationState;
use crate::protocol::messages::{Message, TransferProcess, TransferRequestMessage};
use crate::protocol::pid;
use crate::session::MPC_SESSION_FORMAT;
use crate::store::Opened;

/// What a consumer's operator asks for.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct StartTransfer {
    /// The agreement (held by this connector as consumer) the dataset is requested under.
    pub agreement_id: String,
    /// One of the formats the dataset's distributions name in the provider's catalog (e.g.
    /// `HttpData-PULL`, or `MpcSession-PUSH` for a computation).
    pub format: String,
    /// For an MPC session (`MpcSession-PUSH`): its manifest, which this connector signs as the
    /// analyst (its `iss` is set to this connector's DID).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub manifest: Option<crate::session::manifest::Manifest>,
    /// A manifest this connector signed already (a session with several holders sends each
    /// the same one).
    #[serde(skip)]
    pub signed_manifest: Option<String>,
}

impl Transfers {
    /// Requests, as consumer, the dataset of an agreement from its provider: opens the
    /// process (REQUESTED) and sends the `TransferRequestMessage` to the provider the
    /// agreement was negotiated with. Returns the process as stored: REQUESTED with the
    /// provider's process id (or already STARTED), or TERMINATED with the reason when the
    /// provider could not be reached or refused.
    pub async fn request(&self, start: StartTransfer) -> Result<Transfer, MoveError> {
        let id = start.agreement_id.clone();
        let agreement = self
            .cx
            .store()
            .blocking(move |s| s.agreements.get(&id))
            .await?
            .ok_or_else(|| MoveError::NotFound(format!("no agreement `{}`", start.agreement_id)))?;
        if agreement.assignee != self.did() {
            return Err(MoveError::Invalid(format!(
                "agreement `{}` was made by this connector as provider; only its consumer \
                 requests a transfer",
                agreement.id
            )));
        }
        let key = agreement.consumer_pid.clone();
        let negotiation = self
            .cx
            .store()
            .blocking(move |s| s.negotiations.get(&key))
            .await?
            .filter(|n| n.role == Role::Consumer);
        let Some(negotiation) = negotiation else {
            return Err(MoveError::Invalid(format!(
                "the negotiation `{}` of agreement `{}` is not kept here",
                agreement.consumer_pid, agreement.id
            )));
        };
        if negotiation.state != NegotiationState::Finalized {
            return Err(MoveError::Invalid(format!(
                "the negotiation of agreement `{}` is {}, not FINALIZED",
                agreement.id, negotiation.state
            )));
        }
        if start.format.is_empty() {
            return Err(MoveError::Invalid("field `format` is empty".into()));
        }
        let signed = match (start.signed_manifest, start.manifest) {
            (Some(token), _) => Some(token),
            (None, Some(manifest)) => Some(self.sign_manifest(manifest)),
            (None, None) => None,
        };
        let data_address = match (start.format == MPC_SESSION_FORMAT, signed) {
            (true, Some(token)) => Some(session::request_address(&token)),
            (true, None) => {
                return Err(MoveError::Invalid(format!(
                "field `manifest`: a `{MPC_SESSION_FORMAT}` transfer needs the session's manifest"
            )))
            }
            (false, Some(_)) => {
                return Err(MoveError::Invalid(format!(
                    "field `manifest`: only a `{MPC_SESSION_FORMAT}` transfer has one"
                )))
            }
            (false, None) => None,
        };
        let consumer_pid = new_urn();
        let base = negotiation.counterparty_address.clone();
        let transfer = Transfer {
            role: Role::Consumer,
            provider_pid: None,
            consumer_pid: consumer_pid.clone(),
            state: transition(None, Role::Consumer, Move::Request)?,
            agreement_id: agreement.id.clone(),
            offer_id: agreement.offer_id.clone(),
            format: start.format.clone(),
            counterparty: negotiation.counterparty.clone(),
            counterparty_address: base.clone(),
            access: None,
            pulls: 0,
            data_address: None,
            code: None,
            reason: Vec::new(),
            created: now(),
            updated: now(),
        };
        let did = self.did().to_owned();
        if self.open(&consumer_pid, transfer.clone(), &did).await? != Opened::Created {
            return Err(MoveError::Invalid(format!(
                "process id `{consumer_pid}` is taken; request again"
            )));
        }
        let message = TransferRequestMessage {
            consumer_pid: consumer_pid.clone(),
            agreement_id: agreement.id.clone(),
            format: start.format,
            data_address,
            callback_address: self.cx.network().callback_for(&base),
        };
        let to = format!("{}/transfers/request", base.trim_end_matches('/'));
        let answer = match self.send(&to, &transfer.counterparty, &message).await {
            Ok(answer) => serde_json::from_value::<TransferProcess>(answer)
                .map_err(|e| format!("the provider's answer is no TransferProcess: {e}"))
                .and_then(|process| {
                    pid::check(&process.provider_pid)
                        .map(|()| process.provider_pid)
                        .map_err(|e| format!("the provider's `providerPid`: {e}"))
                }),
            Err(error) => {
                self.send_failed(
                    &consumer_pid,
                    <TransferRequestMessage as Message>::TYPE,
                    &error,
                )
                .await;
                Err(error.to_string())
            }
        };
        match answer {
            Ok(provider_pid) => Ok(self
                .update(&consumer_pid, None, move |mut t| {
                    if t.provider_pid.is_none() {
                        t.provider_pid = Some(provider_pid);
                    }
                    Ok(t)
                })
                .await?),
            Err(reason) => Ok(self
                .apply_move(
                    &consumer_pid,
                    &did,
                    Role::Consumer,
                    Move::Terminate,
                    move |t| {
                        t.code = Some("request_failed".into());
                        t.reason = vec![reason];
                    },
                )
                .await?),
        }
    }
}
