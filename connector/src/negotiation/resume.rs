//! Taking up, on start, every negotiation that waits for one of this connector's own moves:
//! a decision the provider owes, a finalisation, a verification. Without it a restart would
//! leave them where they are for good.

use super::state::{NegotiationState, Role};
use super::Negotiations;
use crate::store::StoreError;

/// The own moves resumed on start, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resumed {
    /// Decisions on requests or acceptances (each ends in an agreement or a termination, or,
    /// for a `manual` negotiation, in the policy's verdict kept for the operator).
    pub decisions: usize,
    /// Finalisations after the consumer's verification.
    pub finalizations: usize,
    /// Verifications of received agreements (`auto` negotiations only).
    pub verifications: usize,
}

impl Negotiations {
    /// Resumes every negotiation that waits for this connector's own move, each in a task of
    /// its own; returns what was resumed.
    pub fn resume(&self) -> Result<Resumed, StoreError> {
        let mut resumed = Resumed::default();
        for negotiation in self.cx.store().negotiations.list()? {
            let Some(pid) = negotiation.own_pid().map(str::to_owned) else {
                continue;
            };
            let service = self.clone();
            match (negotiation.role, negotiation.state) {
                _ if negotiation.awaits_decision() => {
                    resumed.decisions += 1;
                    tokio::spawn(async move { service.decide(&pid).await });
                }
                (Role::Provider, NegotiationState::Verified) => {
                    resumed.finalizations += 1;
                    tokio::spawn(async move { service.finalize(&pid).await });
                }
                (Role::Consumer, NegotiationState::Agreed) if !negotiation.decision.is_manual() => {
                    resumed.verifications += 1;
                    tokio::spawn(async move { service.verify_agreement(&pid).await });
                }
                _ => {}
            }
        }
        if resumed != Resumed::default() {
            tracing::info!(?resumed, "open negotiations resumed");
        }
        Ok(resumed)
    }
}
