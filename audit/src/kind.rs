//! The kinds of event a Symbolon connector records: one enum, shared by the connector that
//! writes them, the verifier that reads them and `docs/auditing.md` that explains them.

use serde::{Deserialize, Serialize};

/// What an audit event records. Serialised as its dotted name (`negotiation.transition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum EventKind {
    /// The connector issued a credential (`details.credential`: the signed credential).
    CredentialIssued,
    /// A credential the connector issued was revoked, suspended or reinstated.
    CredentialStatus,
    /// An organisation asked for a credential over the issuance protocol (`details`: its
    /// process id, the types asked for, whether it repeated an earlier request).
    IssuanceRequested,
    /// An issuance request was decided: `ISSUED`, `REJECTED` or left `RECEIVED` for the
    /// operator (`details`: who decided, the reasons, the credential ids, the delivery).
    IssuanceDecided,
    /// As holder, a `CredentialMessage` from an issuer was accepted (credentials stored) or
    /// refused (`details`: both process ids, the types, why); or, outcome `superseded`, a
    /// renewal's credentials were stored and the renewed ones removed from the wallet.
    IssuanceReceived,
    /// A credential was checked over the VC-API (`details`: its digest and the verdict).
    CredentialVerified,
    /// A presentation was checked (VC-API, a contract request, an auditor's access).
    PresentationVerified,
    /// As holder, a verifier's presentation query (Decentralized Claims Protocol) was answered
    /// or refused (`details`: the scopes asked for, the credential types presented, or the
    /// refusal's code and reason).
    PresentationQueried,
    /// An offer's policy was evaluated for a contract request (`details`: the decision).
    PolicyDecision,
    /// A contract negotiation changed state.
    NegotiationTransition,
    /// The provider withdrew an agreement (`details`: the agreement, its consumer, why, and
    /// the transfers it terminated).
    AgreementWithdrawn,
    /// A negotiation message could not be delivered to the counterparty.
    NegotiationSendFailed,
    /// A transfer process changed state (`details`: role, agreement, format, counterparty,
    /// both process ids, reasons).
    TransferTransition,
    /// A transfer message could not be delivered to the counterparty, or it refused it; the
    /// process stayed where it was.
    TransferSendFailed,
    /// A transfer message from an authenticated counterparty was refused (`details`: the
    /// message, the status, why).
    TransferRefused,
    /// The provider's data plane issued access to a started transfer's data (`details`: the
    /// token's id and expiry, the obligations it enforces and the duties it only records —
    /// never the token).
    DataAccessIssued,
    /// The data plane served a request (`details`: the path, the range asked for, the bytes
    /// sent, whether the response was cut short and why).
    DataServed,
    /// The data plane refused a request that carried a token of the process (`details`: the
    /// status and why); a request without a valid token is not recorded.
    DataRefused,
    /// A data holder decided on an MPC session's manifest (`outcome` `admitted` or the
    /// refusal's `mpc:` code; `details`: the session, the manifest's digest and signed token,
    /// the program, the reason, and the countersignature when admitted).
    SessionAdmission,
    /// A session stream from a peer outside the session's roster, or claiming another party's
    /// place, was refused (`details`: its PeerId, the party it claimed, why).
    SessionStranger,
    /// A party's MPC session moved (`outcome`: `joining`, `running`, `completed`, `failed` or
    /// `cancelled`; `details`: the manifest's digest, this party's index, and at the end its
    /// transcript hashes, bytes sent and, on failure, the code and reason).
    SessionTransition,
    /// A session's result was delivered to this recipient, sealed to its key (`details`: the
    /// program, the SHA-256 of the sealed record; never the result itself).
    SessionResult,
    /// A protocol call's token was refused.
    AuthFailed,
    /// An offer was published.
    OfferCreated,
    /// An auditor asked to read the trail.
    AuditAccess,
    /// A partner's signed tree head was recorded (`details.head`: its JWS).
    WitnessTreeHead,
    /// The connector listens on the peer network.
    PeerListening,
    /// A peer was authenticated, or refused (outcome `refused`).
    PeerAuthenticated,
    /// A peer's announcement was accepted or dropped.
    PeerAnnouncement,
    /// The connector announced one of its offers to the peer network.
    PeerAnnounced,
    /// A peer connection closed.
    PeerConnection,
    /// A new trust list was `installed` (by the operator, or received from a peer and
    /// verified), kept `pending` the operator's approval, `approved`, `rejected`, or, received
    /// from a peer, `refused` (at most once per peer and reason an hour; `details`: the list's
    /// data space, anchor, `validFrom`, entries and SHA-256, its source and sender, or why it
    /// was refused).
    TrustListUpdate,
}

impl EventKind {
    /// Every kind, in the order `docs/auditing.md` lists them.
    pub const ALL: [EventKind; 32] = [
        EventKind::CredentialIssued,
        EventKind::CredentialStatus,
        EventKind::IssuanceRequested,
        EventKind::IssuanceDecided,
        EventKind::IssuanceReceived,
        EventKind::CredentialVerified,
        EventKind::PresentationVerified,
        EventKind::PresentationQueried,
        EventKind::PolicyDecision,
        EventKind::NegotiationTransition,
        EventKind::AgreementWithdrawn,
        EventKind::NegotiationSendFailed,
        EventKind::TransferTransition,
        EventKind::TransferSendFailed,
        EventKind::TransferRefused,
        EventKind::DataAccessIssued,
        EventKind::DataServed,
        EventKind::DataRefused,
        EventKind::SessionAdmission,
        EventKind::SessionStranger,
        EventKind::SessionTransition,
        EventKind::SessionResult,
        EventKind::AuthFailed,
        EventKind::OfferCreated,
        EventKind::AuditAccess,
        EventKind::WitnessTreeHead,
        EventKind::PeerListening,
        EventKind::PeerAuthenticated,
        EventKind::PeerAnnouncement,
        EventKind::PeerAnnounced,
        EventKind::PeerConnection,
        EventKind::TrustListUpdate,
    ];

    /// The dotted name written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CredentialIssued => "credential.issued",
            EventKind::CredentialStatus => "credential.status",
            EventKind::IssuanceRequested => "issuance.requested",
            EventKind::IssuanceDecided => "issuance.decided",
            EventKind::IssuanceReceived => "issuance.received",
            EventKind::CredentialVerified => "credential.verified",
            EventKind::PresentationVerified => "presentation.verified",
            EventKind::PresentationQueried => "presentation.queried",
            EventKind::PolicyDecision => "policy.decision",
            EventKind::NegotiationTransition => "negotiation.transition",
            EventKind::AgreementWithdrawn => "agreement.withdrawn",
            EventKind::NegotiationSendFailed => "negotiation.send_failed",
            EventKind::TransferTransition => "transfer.transition",
            EventKind::TransferSendFailed => "transfer.send_failed",
            EventKind::TransferRefused => "transfer.refused",
            EventKind::DataAccessIssued => "data.access_issued",
            EventKind::DataServed => "data.served",
            EventKind::DataRefused => "data.refused",
            EventKind::SessionAdmission => "session.admission",
            EventKind::SessionStranger => "session.stranger",
            EventKind::SessionTransition => "session.transition",
            EventKind::SessionResult => "session.result",
            EventKind::AuthFailed => "auth.failed",
            EventKind::OfferCreated => "offer.created",
            EventKind::AuditAccess => "audit.access",
            EventKind::WitnessTreeHead => "witness.tree_head",
            EventKind::PeerListening => "peer.listening",
            EventKind::PeerAuthenticated => "peer.authenticated",
            EventKind::PeerAnnouncement => "peer.announcement",
            EventKind::PeerAnnounced => "peer.announced",
            EventKind::PeerConnection => "peer.connection",
            EventKind::TrustListUpdate => "trust_list.update",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no [`EventKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a known audit event type")]
pub struct UnknownEventKind(pub String);

impl std::str::FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| UnknownEventKind(name.chars().take(64).collect()))
    }
}

impl TryFrom<String> for EventKind {
    type Error = UnknownEventKind;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

impl From<EventKind> for &'static str {
    fn from(kind: EventKind) -> Self {
        kind.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str());
            assert_eq!(serde_json::from_value::<EventKind>(json).unwrap(), kind);
        }
    }

    #[test]
    fn an_unknown_name_is_refused_by_name() {
        let error = "negotiation.teleported".parse::<EventKind>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "`negotiation.teleported` is not a known audit event type"
        );
    }

    #[test]
    fn the_auditors_guide_documents_every_kind() {
        let guide = include_str!("../../docs/auditing.md");
        for kind in EventKind::ALL {
            assert!(
                guide.contains(&format!("| `{}` |", kind.as_str())),
                "docs/auditing.md does not describe `{kind}`"
            );
        }
    }
}
