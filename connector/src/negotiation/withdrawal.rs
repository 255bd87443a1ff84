//! A provider withdrawing an agreement: from then on it admits no transfer, no pull and no MPC
//! session, and its transfers that are not final are terminated with the code
//! `agreement-withdrawn` (which ends a session running under it, and stops a response in
//! flight). The withdrawal is recorded with the agreement and in the audit trail.

use serde_json::json;
use symbolon_audit::EventKind;

use super::Negotiations;
use crate::audit::AuditError;
use crate::domain::{now, Agreement, Withdrawal};
use crate::store::StoreError;
use crate::transfer::state::Role;
use crate::transfer::Transfers;

/// The transfer code of a process ended by its agreement's withdrawal.
pub const WITHDRAWN_CODE: &str = "agreement-withdrawn";

/// Most characters of a withdrawal's reason.
pub const MAX_REASON: usize = 500;

/// Why an agreement could not be withdrawn.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    /// No agreement with this id is kept here.
    #[error("no agreement `{0}`")]
    NotFound(String),
    /// This connector is the agreement's consumer; only its provider may withdraw it.
    #[error(
        "agreement `{0}` was made by another provider; only the provider can withdraw it \
         (as consumer, terminate its transfers instead)"
    )]
    NotProvider(String),
    /// It was withdrawn already.
    #[error("agreement `{id}` was withdrawn already, at {at}")]
    AlreadyWithdrawn {
        /// The agreement.
        id: String,
        /// When.
        at: String,
    },
    /// The reason is missing or too long.
    #[error("field `reason`: {0}")]
    Reason(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit trail could not record it.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl Negotiations {
    /// Withdraws agreement `id`, which this connector made as provider, for `reason`; returns
    /// it as now kept. Its transfers that are not final are terminated (the consumer is told
    /// where it can be; a consumer that cannot be told does not keep them open).
    pub async fn withdraw_agreement(
        &self,
        id: &str,
        reason: String,
    ) -> Result<Agreement, WithdrawError> {
        let reason = reason.trim().to_owned();
        if reason.is_empty() {
            return Err(WithdrawError::Reason(
                "say why the agreement is withdrawn (the consumer is told)".into(),
            ));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(WithdrawError::Reason(format!(
                "at most {MAX_REASON} characters"
            )));
        }
        let did = self.cx.did().to_owned();
        let (key, why) = (id.to_owned(), reason.clone());
        let withdrawn = self
            .cx
            .store()
            .blocking(move |s| {
                let Some(mut agreement) = s.agreements.get(&key)? else {
                    return Ok(Err(WithdrawError::NotFound(key)));
                };
                if agreement.provider != did {
                    return Ok(Err(WithdrawError::NotProvider(key)));
                }
                if let Some(w) = &agreement.withdrawn {
                    return Ok(Err(WithdrawError::AlreadyWithdrawn {
                        id: key,
                        at: w.at.clone(),
                    }));
                }
                agreement.withdrawn = Some(Withdrawal {
                    at: now(),
                    reason: why,
                });
                s.agreements.put(&agreement)?;
                Ok::<_, StoreError>(Ok(agreement))
            })
            .await??;
        let open: Vec<String> = {
            let agreement_id = withdrawn.id.clone();
            self.cx
                .store()
                .blocking(move |s| s.transfers.list())
                .await?
                .into_iter()
                .filter(|t| {
                    t.agreement_id == agreement_id
                        && t.role == Role::Provider
                        && !t.state.is_final()
                })
                .filter_map(|t| t.provider_pid)
                .collect()
        };
        let transfers = Transfers::new(self.cx.clone());
        let mut terminated = Vec::new();
        for pid in open {
            let told = format!("the provider withdrew the agreement: {reason}");
            match transfers
                .terminate_with(&pid, WITHDRAWN_CODE, told, true)
                .await
            {
                Ok(_) => terminated.push(pid),
                Err(error) => {
                    tracing::warn!(%error, pid, "a transfer of a withdrawn agreement did not end")
                }
            }
        }
        let mut event = self.cx.audit().event(
            EventKind::AgreementWithdrawn,
            &withdrawn.id,
            "withdrawn",
            json!({
                "agreement": withdrawn.id,
                "consumer": withdrawn.assignee,
                "reason": reason,
                "transfers_terminated": terminated,
            }),
        );
        event.actor = self.cx.did().to_owned();
        self.cx.audit().record(event).await?;
        tracing::info!(
            agreement = %withdrawn.id,
            consumer = %withdrawn.assignee,
            terminated = terminated.len(),
            "agreement withdrawn"
        );
        Ok(withdrawn)
    }
}
