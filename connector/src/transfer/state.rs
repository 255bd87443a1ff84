//! The transfer process state machine of the Dataspace Protocol 2025-1: its five states and
//! exactly the transitions the specification allows.
//!
//! The specification's diagram: a consumer's `TransferRequestMessage` opens a process in
//! REQUESTED; only the provider starts it (REQUESTED → STARTED); either party suspends,
//! completes or terminates a STARTED process, restarts (STARTED again) or terminates a
//! SUSPENDED one, and terminates a REQUESTED one. COMPLETED and TERMINATED are final.

use serde::{Deserialize, Serialize};

pub use crate::negotiation::state::Role;

/// A transfer process's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransferState {
    /// The consumer requested a dataset under an agreement and the provider acknowledged.
    Requested,
    /// The dataset is available to the consumer (or being pushed to it).
    Started,
    /// Either party suspended the transfer; it may be started again.
    Suspended,
    /// Either party completed the transfer.
    Completed,
    /// Either party ended the transfer.
    Terminated,
}

impl TransferState {
    /// The name the protocol uses (`REQUESTED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TransferState::Requested => "REQUESTED",
            TransferState::Started => "STARTED",
            TransferState::Suspended => "SUSPENDED",
            TransferState::Completed => "COMPLETED",
            TransferState::Terminated => "TERMINATED",
        }
    }

    /// Whether nothing can follow.
    pub fn is_final(self) -> bool {
        matches!(self, TransferState::Completed | TransferState::Terminated)
    }
}

impl std::fmt::Display for TransferState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol message that moves a transfer process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Consumer → provider: `TransferRequestMessage` (opens a process).
    Request,
    /// `TransferStartMessage`: the provider starts, or either party restarts after a
    /// suspension.
    Start,
    /// Either → the other: `TransferSuspensionMessage`.
    Suspend,
    /// Either → the other: `TransferCompletionMessage`.
    Complete,
    /// Either → the other: `TransferTerminationMessage`.
    Terminate,
}

impl Move {
    /// Every move.
    pub const ALL: [Move; 5] = [
        Move::Request,
        Move::Start,
        Move::Suspend,
        Move::Complete,
        Move::Terminate,
    ];

    /// The message's name.
    pub fn message(self) -> &'static str {
        match self {
            Move::Request => "TransferRequestMessage",
            Move::Start => "TransferStartMessage",
            Move::Suspend => "TransferSuspensionMessage",
            Move::Complete => "TransferCompletionMessage",
            Move::Terminate => "TransferTerminationMessage",
        }
    }
}

/// Why a move is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{message} {} is not allowed {}",
    by_role(*by),
    from.map_or("before a transfer process exists".to_owned(), |s| format!("in state {s}"))
)]
pub struct IllegalTransition {
    /// The state the process is in (`None`: there is no process yet).
    pub from: Option<TransferState>,
    /// The message that was refused.
    pub message: &'static str,
    /// The role that sent it.
    pub by: Role,
}

fn by_role(role: Role) -> &'static str {
    match role {
        Role::Provider => "from the provider",
        Role::Consumer => "from the consumer",
    }
}

/// The state `mv`, sent by `by`, leads to from `from` (`None`: no process exists yet), or why
/// it may not be made.
pub fn transition(
    from: Option<TransferState>,
    by: Role,
    mv: Move,
) -> Result<TransferState, IllegalTransition> {
    use TransferState::*;
    let to = match (from, mv, by) {
        (None, Move::Request, Role::Consumer) => Requested,
        (Some(Requested), Move::Start, Role::Provider) => Started,
        (Some(Suspended), Move::Start, _) => Started,
        (Some(Started), Move::Suspend, _) => Suspended,
        (Some(Started), Move::Complete, _) => Completed,
        (Some(Requested | Started | Suspended), Move::Terminate, _) => Terminated,
        _ => {
            return Err(IllegalTransition {
                from,
                message: mv.message(),
                by,
            })
        }
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::TransferState::*;
    use super::*;

    const STATES: [Option<TransferState>; 6] = [
        None,
        Some(Requested),
        Some(Started),
        Some(Suspended),
        Some(Completed),
        Some(Terminated),
    ];
    const ROLES: [Role; 2] = [Role::Provider, Role::Consumer];

    /// The specification's diagram, edge by edge: (from, message, who may send it, to).
    const ALLOWED: &[(Option<TransferState>, Move, &[Role], TransferState)] = &[
        (None, Move::Request, &[Role::Consumer], Requested),
        (Some(Requested), Move::Start, &[Role::Provider], Started),
        (Some(Requested), Move::Terminate, &ROLES, Terminated),
        (Some(Started), Move::Complete, &ROLES, Completed),
        (Some(Started), Move::Suspend, &ROLES, Suspended),
        (Some(Started), Move::Terminate, &ROLES, Terminated),
        (Some(Suspended), Move::Start, &ROLES, Started),
        (Some(Suspended), Move::Terminate, &ROLES, Terminated),
    ];

    #[test]
    fn exactly_the_specified_transitions_are_allowed() {
        let mut allowed = 0;
        for from in STATES {
            for mv in Move::ALL {
                for by in ROLES {
                    let expected = ALLOWED
                        .iter()
                        .find(|(f, m, who, _)| *f == from && *m == mv && who.contains(&by))
                        .map(|(_, _, _, to)| *to);
                    let got = transition(from, by, mv);
                    assert_eq!(got.clone().ok(), expected, "{from:?} --{mv:?} by {by:?}-->");
                    if let Err(error) = got {
                        assert_eq!(error.from, from);
                        assert_eq!(error.message, mv.message());
                        assert_eq!(error.by, by);
                    }
                    allowed += usize::from(expected.is_some());
                }
            }
        }
        // 1 request + 1 start + 6 two-party edges × 2 roles.
        assert_eq!(allowed, 14);
    }

    #[test]
    fn final_states_accept_nothing_and_a_request_never_moves_a_process() {
        for mv in Move::ALL {
            for by in ROLES {
                assert!(transition(Some(Completed), by, mv).is_err());
                assert!(transition(Some(Terminated), by, mv).is_err());
            }
        }
        for from in STATES.into_iter().flatten() {
            for by in ROLES {
                assert!(transition(Some(from), by, Move::Request).is_err());
            }
        }
    }

    #[test]
    fn only_the_provider_starts_a_requested_process_but_either_restarts() {
        assert_eq!(
            transition(Some(Requested), Role::Provider, Move::Start),
            Ok(Started)
        );
        let error = transition(Some(Requested), Role::Consumer, Move::Start).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TransferStartMessage from the consumer is not allowed in state REQUESTED"
        );
        assert_eq!(
            transition(Some(Suspended), Role::Consumer, Move::Start),
            Ok(Started)
        );
        let error = transition(None, Role::Provider, Move::Request).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TransferRequestMessage from the provider is not allowed before a transfer process exists"
        );
    }
}
