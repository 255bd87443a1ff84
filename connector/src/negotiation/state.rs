//! The contract negotiation state machine of the Dataspace Protocol 2025-1: its seven states
//! and exactly the transitions the specification allows.

use serde::{Deserialize, Serialize};

/// A negotiation's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NegotiationState {
    /// The consumer requested a contract.
    Requested,
    /// The provider offered a contract.
    Offered,
    /// The consumer accepted the provider's offer.
    Accepted,
    /// The provider sent an agreement.
    Agreed,
    /// The consumer verified the agreement.
    Verified,
    /// The provider finalised the agreement: the contract holds.
    Finalized,
    /// Either party ended the negotiation.
    Terminated,
}

impl NegotiationState {
    /// The name the protocol uses (`REQUESTED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            NegotiationState::Requested => "REQUESTED",
            NegotiationState::Offered => "OFFERED",
            NegotiationState::Accepted => "ACCEPTED",
            NegotiationState::Agreed => "AGREED",
            NegotiationState::Verified => "VERIFIED",
            NegotiationState::Finalized => "FINALIZED",
            NegotiationState::Terminated => "TERMINATED",
        }
    }

    /// Whether nothing can follow.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            NegotiationState::Finalized | NegotiationState::Terminated
        )
    }
}

impl std::fmt::Display for NegotiationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side of a negotiation a connector is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// It offers the dataset or computation.
    Provider,
    /// It asks for it.
    Consumer,
}

/// A protocol message that moves a negotiation, named by who sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Consumer → provider: `ContractRequestMessage` (initial or counter-request).
    Request,
    /// Provider → consumer: `ContractOfferMessage` (initial or counter-offer).
    Offer,
    /// Consumer → provider: `ContractNegotiationEventMessage` with `ACCEPTED`.
    Accept,
    /// Provider → consumer: `ContractAgreementMessage`.
    Agree,
    /// Consumer → provider: `ContractAgreementVerificationMessage`.
    Verify,
    /// Provider → consumer: `ContractNegotiationEventMessage` with `FINALIZED`.
    Finalize,
    /// Either → the other: `ContractNegotiationTerminationMessage`.
    Terminate,
}

impl Move {
    /// The message's name, for errors.
    pub fn message(self) -> &'static str {
        match self {
            Move::Request => "ContractRequestMessage",
            Move::Offer => "ContractOfferMessage",
            Move::Accept => "ContractNegotiationEventMessage (ACCEPTED)",
            Move::Agree => "ContractAgreementMessage",
            Move::Verify => "ContractAgreementVerificationMessage",
            Move::Finalize => "ContractNegotiationEventMessage (FINALIZED)",
            Move::Terminate => "ContractNegotiationTerminationMessage",
        }
    }

    /// Who may send it (`None`: either party).
    pub fn sender(self) -> Option<Role> {
        match self {
            Move::Request | Move::Accept | Move::Verify => Some(Role::Consumer),
            Move::Offer | Move::Agree | Move::Finalize => Some(Role::Provider),
            Move::Terminate => None,
        }
    }
}

/// Why a move is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} is not allowed in state {from}{}", by.map(|r| format!(" from the {r:?}").to_lowercase()).unwrap_or_default())]
pub struct IllegalTransition {
    /// The state the negotiation is in.
    pub from: NegotiationState,
    /// The message that was refused.
    pub message: &'static str,
    /// The role that sent it, when the role was the problem.
    pub by: Option<Role>,
}

/// The state a move leads to from `from`, or why it may not be made. `by` is the role of the
/// party sending the message.
pub fn transition(
    from: NegotiationState,
    by: Role,
    mv: Move,
) -> Result<NegotiationState, IllegalTransition> {
    use NegotiationState::*;
    let illegal = |by| IllegalTransition {
        from,
        message: mv.message(),
        by,
    };
    if mv.sender().is_some_and(|sender| sender != by) {
        return Err(illegal(Some(by)));
    }
    let to = match (from, mv) {
        (Offered, Move::Request) => Requested,
        (Requested, Move::Offer) => Offered,
        (Offered, Move::Accept) => Accepted,
        (Requested | Accepted, Move::Agree) => Agreed,
        (Agreed, Move::Verify) => Verified,
        (Verified, Move::Finalize) => Finalized,
        (Requested | Offered | Accepted | Agreed | Verified, Move::Terminate) => Terminated,
        _ => return Err(illegal(None)),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::NegotiationState::*;
    use super::*;

    const STATES: [NegotiationState; 7] = [
        Requested, Offered, Accepted, Agreed, Verified, Finalized, Terminated,
    ];
    const MOVES: [Move; 7] = [
        Move::Request,
        Move::Offer,
        Move::Accept,
        Move::Agree,
        Move::Verify,
        Move::Finalize,
        Move::Terminate,
    ];

    #[test]
    fn exactly_the_specified_transitions_are_allowed() {
        let allowed: &[(NegotiationState, Move, NegotiationState)] = &[
            (Offered, Move::Request, Requested),
            (Requested, Move::Offer, Offered),
            (Offered, Move::Accept, Accepted),
            (Requested, Move::Agree, Agreed),
            (Accepted, Move::Agree, Agreed),
            (Agreed, Move::Verify, Verified),
            (Verified, Move::Finalize, Finalized),
            (Requested, Move::Terminate, Terminated),
            (Offered, Move::Terminate, Terminated),
            (Accepted, Move::Terminate, Terminated),
            (Agreed, Move::Terminate, Terminated),
            (Verified, Move::Terminate, Terminated),
        ];
        for from in STATES {
            for mv in MOVES {
                for by in [Role::Provider, Role::Consumer] {
                    let expected = allowed
                        .iter()
                        .find(|(f, m, _)| *f == from && *m == mv)
                        .filter(|_| mv.sender().is_none_or(|s| s == by))
                        .map(|(_, _, to)| *to);
                    assert_eq!(
                        transition(from, by, mv).ok(),
                        expected,
                        "{from} --{mv:?} by {by:?}-->"
                    );
                }
            }
        }
    }

    #[test]
    fn final_states_accept_nothing() {
        for mv in MOVES {
            for by in [Role::Provider, Role::Consumer] {
                assert!(transition(Finalized, by, mv).is_err());
                assert!(transition(Terminated, by, mv).is_err());
            }
        }
    }

    #[test]
    fn the_error_names_the_state_and_the_message() {
        let error = transition(Requested, Role::Consumer, Move::Verify).unwrap_err();
        assert_eq!(
            error.to_string(),
            "ContractAgreementVerificationMessage is not allowed in state REQUESTED"
        );
        let error = transition(Requested, Role::Consumer, Move::Agree).unwrap_err();
        assert!(error.to_string().contains("from the consumer"), "{error}");
    }
}
