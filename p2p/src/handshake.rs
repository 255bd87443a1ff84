//! The handshake state machine: how far the authentication of a peer has come on its current
//! connection, and exactly the transitions the node allows.
//!
//! A handshake starts when the first connection to a peer opens: the node sends its challenge
//! ([`HandshakeState::ChallengeSent`]). It ends when the last connection closes
//! ([`HandshakeState::Closed`]); a new connection starts a new handshake with a fresh nonce.
//! This module is pure: the event loop applies the events and does the work they call for.

/// Where the authentication of a peer stands on its current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum HandshakeState {
    /// The node sent its challenge; the peer's presentation is awaited.
    ChallengeSent,
    /// The peer answered with a presentation; the verifier is checking it.
    AwaitingVerification,
    /// The presentation verified: the peer may send requests and announcements.
    Authenticated,
    /// The peer failed; it keeps its connection only until it has read the refusal.
    Refused,
    /// The last connection closed.
    Closed,
}

impl HandshakeState {
    /// The state's name, for errors and logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HandshakeState::ChallengeSent => "challenge sent",
            HandshakeState::AwaitingVerification => "awaiting verification",
            HandshakeState::Authenticated => "authenticated",
            HandshakeState::Refused => "refused",
            HandshakeState::Closed => "closed",
        }
    }

    /// Whether the peer's authentication is still under way.
    pub(crate) fn is_pending(self) -> bool {
        matches!(
            self,
            HandshakeState::ChallengeSent | HandshakeState::AwaitingVerification
        )
    }
}

impl std::fmt::Display for HandshakeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happens to a handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeEvent {
    /// The peer answered the challenge with a presentation.
    PresentationReceived,
    /// The peer answered the challenge without a presentation, or the exchange failed.
    PresentationMissing,
    /// The verifier accepted the presentation.
    Verified,
    /// The verifier refused the presentation.
    VerificationFailed,
    /// The authentication timeout passed.
    TimedOut,
    /// The last connection to the peer closed.
    ConnectionClosed,
}

impl HandshakeEvent {
    /// The event's name, for errors and logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HandshakeEvent::PresentationReceived => "presentation received",
            HandshakeEvent::PresentationMissing => "presentation missing",
            HandshakeEvent::Verified => "verified",
            HandshakeEvent::VerificationFailed => "verification failed",
            HandshakeEvent::TimedOut => "timed out",
            HandshakeEvent::ConnectionClosed => "connection closed",
        }
    }
}

/// Why an event is not allowed in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("handshake event `{}` is not allowed in state `{}`", event.as_str(), from.as_str())]
pub(crate) struct IllegalTransition {
    /// The state the handshake is in.
    pub from: HandshakeState,
    /// The event that was refused.
    pub event: HandshakeEvent,
}

/// The state `event` leads to from `from`, or why it may not happen.
pub(crate) fn transition(
    from: HandshakeState,
    event: HandshakeEvent,
) -> Result<HandshakeState, IllegalTransition> {
    use HandshakeEvent as E;
    use HandshakeState::*;
    let to = match (from, event) {
        (ChallengeSent, E::PresentationReceived) => AwaitingVerification,
        (ChallengeSent, E::PresentationMissing) => Refused,
        (AwaitingVerification, E::Verified) => Authenticated,
        (AwaitingVerification, E::VerificationFailed) => Refused,
        (ChallengeSent | AwaitingVerification, E::TimedOut) => Refused,
        (ChallengeSent | AwaitingVerification | Authenticated | Refused, E::ConnectionClosed) => {
            Closed
        }
        _ => return Err(IllegalTransition { from, event }),
    };
    Ok(to)
}

/// One peer's handshake on its current (or last) connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handshake {
    /// Where it stands.
    state: HandshakeState,
    /// The nonce of the node's challenge; results that name another nonce belong to an
    /// earlier handshake.
    nonce: String,
    /// How many challenges this connection's handshake has sent: a challenge lost with its
    /// connection while another connection to the peer remains is sent again.
    attempt: u8,
}

impl Handshake {
    /// A handshake whose challenge, `nonce`, is being sent.
    pub(crate) fn start(nonce: String) -> Self {
        Handshake {
            state: HandshakeState::ChallengeSent,
            nonce,
            attempt: 1,
        }
    }

    /// The handshake that replaces this one when its challenge was lost with a connection:
    /// the challenge `nonce` is being sent, one attempt later.
    pub(crate) fn retry(&self, nonce: String) -> Self {
        Handshake {
            state: HandshakeState::ChallengeSent,
            nonce,
            attempt: self.attempt.saturating_add(1),
        }
    }

    /// How many challenges this handshake has sent, counting this one.
    pub(crate) fn attempt(&self) -> u8 {
        self.attempt
    }

    /// Where it stands.
    pub(crate) fn state(&self) -> HandshakeState {
        self.state
    }

    /// Whether `nonce` is this handshake's challenge.
    pub(crate) fn is_for(&self, nonce: &str) -> bool {
        self.nonce == nonce
    }

    /// Applies `event`; on an illegal one the state is unchanged.
    pub(crate) fn apply(
        &mut self,
        event: HandshakeEvent,
    ) -> Result<HandshakeState, IllegalTransition> {
        self.state = transition(self.state, event)?;
        Ok(self.state)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::HandshakeEvent as E;
    use super::HandshakeState::*;
    use super::*;

    const STATES: [HandshakeState; 5] = [
        ChallengeSent,
        AwaitingVerification,
        Authenticated,
        Refused,
        Closed,
    ];
    /// The states nothing can follow: a new connection starts a new handshake.
    const FINAL: [HandshakeState; 1] = [Closed];
    const EVENTS: [HandshakeEvent; 6] = [
        E::PresentationReceived,
        E::PresentationMissing,
        E::Verified,
        E::VerificationFailed,
        E::TimedOut,
        E::ConnectionClosed,
    ];

    #[test]
    fn exactly_the_allowed_transitions_are_allowed() {
        let allowed: &[(HandshakeState, HandshakeEvent, HandshakeState)] = &[
            (ChallengeSent, E::PresentationReceived, AwaitingVerification),
            (ChallengeSent, E::PresentationMissing, Refused),
            (ChallengeSent, E::TimedOut, Refused),
            (ChallengeSent, E::ConnectionClosed, Closed),
            (AwaitingVerification, E::Verified, Authenticated),
            (AwaitingVerification, E::VerificationFailed, Refused),
            (AwaitingVerification, E::TimedOut, Refused),
            (AwaitingVerification, E::ConnectionClosed, Closed),
            (Authenticated, E::ConnectionClosed, Closed),
            (Refused, E::ConnectionClosed, Closed),
        ];
        for from in STATES {
            for event in EVENTS {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                let got = transition(from, event);
                assert_eq!(got.ok(), expected, "{from} --{event:?}-->");
                if expected.is_none() {
                    assert_eq!(got, Err(IllegalTransition { from, event }));
                }
            }
        }
    }

    #[test]
    fn final_states_accept_nothing() {
        for from in FINAL {
            for event in EVENTS {
                assert!(transition(from, event).is_err(), "{from} --{event:?}-->");
            }
        }
        for from in STATES.into_iter().filter(|s| !FINAL.contains(s)) {
            let next = EVENTS.into_iter().find(|e| transition(from, *e).is_ok());
            assert!(next.is_some(), "{from} is final but not listed as such");
        }
    }

    #[test]
    fn the_error_names_the_state_and_the_event() {
        let error = transition(Authenticated, E::TimedOut).unwrap_err();
        assert_eq!(
            error.to_string(),
            "handshake event `timed out` is not allowed in state `authenticated`"
        );
    }

    #[test]
    fn a_retried_challenge_has_a_new_nonce_and_counts_its_attempt() {
        let first = Handshake::start("n1".into());
        assert_eq!(first.attempt(), 1);
        let second = first.retry("n2".into());
        assert!(second.is_for("n2") && !second.is_for("n1"));
        assert_eq!(second.state(), ChallengeSent);
        assert_eq!(second.attempt(), 2);
        assert_eq!(second.retry("n3".into()).attempt(), 3);
    }

    #[test]
    fn a_handshake_keeps_its_state_on_an_illegal_event() {
        let mut handshake = Handshake::start("n1".into());
        assert!(handshake.is_for("n1") && !handshake.is_for("n2"));
        assert!(handshake.state().is_pending());
        assert!(handshake.apply(E::Verified).is_err());
        assert_eq!(handshake.state(), ChallengeSent);
        assert_eq!(
            handshake.apply(E::PresentationReceived),
            Ok(AwaitingVerification)
        );
        assert_eq!(handshake.apply(E::Verified), Ok(Authenticated));
        assert!(!handshake.state().is_pending());
        assert_eq!(handshake.apply(E::ConnectionClosed), Ok(Closed));
    }
}
