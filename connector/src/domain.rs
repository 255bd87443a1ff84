//! The connector's domain model: the records it keeps and exchanges, as types. The store
//! persists them, the protocol services change them, the APIs serialise them; none of them is
//! JSON until it leaves the process.

pub mod agreement;
pub mod credential;
pub mod event;
pub mod issuance;
pub mod negotiation;
pub mod offer;
pub mod session;
pub mod transfer;

pub use agreement::{Agreement, Obligation, Withdrawal};
pub use credential::HeldCredential;
pub use event::Event;
pub use issuance::{
    Approval, AuthorisedPerson, GrantedPermit, IssuanceRequest, IssuanceStatus, IssuedPayload,
    IssuerConfig, Onboarding, Organisation, OrganisationRegistry,
};
pub use negotiation::{Negotiation, PendingDecision, Recommendation};
pub use offer::{DataSource, Decision, InputBinding, Offer, OfferKind};
pub use session::{Session, SessionParty, SessionState};
pub use transfer::{DataAccess, Transfer};

/// Now, in RFC 3339 (the form every stored time takes).
pub fn now() -> String {
    symbolon_identity::credential::format_time(chrono::Utc::now())
}

/// A fresh `urn:uuid:` identifier (process ids, agreement ids).
pub fn new_urn() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}
