//! Credential issuance by request (Decentralized Claims Protocol 1.0): what the issuer keeps of
//! each request, its registry of organisations and its settings, and what a holder keeps of the
//! requests it sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The state of an issuance request, as the protocol's `CredentialStatus` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IssuanceStatus {
    /// Received, waiting for the operator.
    Received,
    /// Refused; the reasons say why.
    Rejected,
    /// Issued (and offered to the holder's Credential Service).
    Issued,
}

impl IssuanceStatus {
    /// `RECEIVED`, `REJECTED` or `ISSUED`.
    pub fn as_str(self) -> &'static str {
        match self {
            IssuanceStatus::Received => "RECEIVED",
            IssuanceStatus::Rejected => "REJECTED",
            IssuanceStatus::Issued => "ISSUED",
        }
    }

    /// Parses `RECEIVED`, `REJECTED` or `ISSUED`.
    pub fn parse(text: &str) -> Option<IssuanceStatus> {
        match text {
            "RECEIVED" => Some(IssuanceStatus::Received),
            "REJECTED" => Some(IssuanceStatus::Rejected),
            "ISSUED" => Some(IssuanceStatus::Issued),
            _ => None,
        }
    }
}

/// A credential issued for a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuedPayload {
    /// Its type (`DataSpaceMembershipCredential`, ...).
    pub credential_type: String,
    /// Its id.
    pub id: String,
    /// The signed credential (a `vc+jwt`).
    pub payload: String,
}

/// One issuance request, as the issuer keeps it (keyed by `issuer_pid`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuanceRequest {
    /// The issuer's process id (derived from the holder's DID and `holder_pid`, so a repeated
    /// request finds the same record).
    pub issuer_pid: String,
    /// The holder's process id.
    pub holder_pid: String,
    /// The requester's DID (its token's `iss`).
    pub holder: String,
    /// The credential types asked for.
    pub credential_types: Vec<String>,
    /// Where the credentials are delivered (the holder's Credential Service), when known.
    pub credential_service: Option<String>,
    /// The state.
    pub status: IssuanceStatus,
    /// Why it was rejected (or, while received, what the issuance policy would say).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The credentials issued.
    #[serde(default)]
    pub issued: Vec<IssuedPayload>,
    /// Whether the credentials (or the rejection) reached the holder; the error otherwise.
    #[serde(default)]
    pub delivery: Option<String>,
    /// The failed deliveries so far (the issuer tries again with backoff, a bounded number
    /// of times).
    #[serde(default)]
    pub delivery_attempts: u32,
    /// When the next delivery is due (RFC 3339), while attempts remain.
    #[serde(default)]
    pub next_delivery: Option<String>,
    /// When it was received (RFC 3339).
    pub created: String,
    /// When it last changed (RFC 3339).
    pub updated: String,
}

/// Who decides an issuance request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Approval {
    /// The issuance policy decides at once.
    Auto,
    /// Every request waits for the operator (the policy's verdict is shown as advice).
    #[default]
    Manual,
}

/// The issuer's settings: the issuance policy and who decides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuerConfig {
    /// `auto` or `manual` (the default).
    #[serde(default)]
    pub approval: Approval,
    /// The issuance policy, in Symbolon's policy language: action `enroll`, offer the
    /// credential type. Without one, `auto` rejects every request.
    #[serde(default)]
    pub policy: Option<String>,
    /// How long an issued credential is valid, in seconds (its `validUntil`); a year when
    /// absent. Holders ask for a new one once two thirds of it have passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_seconds: Option<u64>,
}

/// How long an issued credential is valid when the issuer's settings do not say.
pub const DEFAULT_VALIDITY_SECONDS: u64 = 365 * 24 * 3600;

impl IssuerConfig {
    /// How long an issued credential is valid.
    pub fn validity(&self) -> chrono::Duration {
        let seconds = self.validity_seconds.unwrap_or(DEFAULT_VALIDITY_SECONDS);
        chrono::Duration::seconds(
            i64::try_from(seconds)
                .unwrap_or(i64::MAX / 1000)
                .min(100 * 365 * 24 * 3600),
        )
    }
}

/// An organisation the issuer knows, as its registry describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organisation {
    /// Its legal name.
    pub legal_name: String,
    /// Its registration number (e.g. at the chamber of commerce).
    pub registration_number: String,
    /// Its role in the data space (`Hospital`, `Insurer`, ...).
    pub role: String,
    /// The data space it belongs to (checked against the trust list's, when one is installed).
    #[serde(default)]
    pub data_space_id: Option<String>,
    /// The trial of its `TrialSiteCredential`, if it is a trial site.
    #[serde(default)]
    pub trial_id: Option<String>,
    /// Its site id in that trial.
    #[serde(default)]
    pub site_id: Option<String>,
    /// Whether it is a public-sector body (its membership then says so: the European Health
    /// Data Space admits the purposes of Art. 53(1)(a)–(c) for public-sector bodies only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_sector: Option<bool>,
    /// The data permits granted to it, when the issuer is a health data access body: each is
    /// issued as a `DataPermitCredential` when the organisation asks for that type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permits: Vec<GrantedPermit>,
}

/// A data permit a health data access body granted (EHDS Art. 68), as its registry keeps it;
/// issued as a `DataPermitCredential` about the organisation (the data user).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrantedPermit {
    /// The permit's reference.
    pub permit_id: String,
    /// The Art. 53(1) purpose, by code (`scientific-research`, ...).
    pub purpose: String,
    /// The datasets it covers, by catalog id.
    pub datasets: Vec<String>,
    /// The persons authorised under it, exactly one the principal investigator.
    pub authorised_persons: Vec<AuthorisedPerson>,
    /// `secure-processing` or `anonymised-statistics`.
    pub output_mode: String,
    /// The smallest number of individuals a released figure may rest on.
    pub minimum_cell_size: u64,
    /// When it starts (RFC 3339).
    pub valid_from: String,
    /// When it ends (RFC 3339).
    pub valid_until: String,
}

/// A person authorised under a data permit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorisedPerson {
    /// The person's DID.
    pub id: String,
    /// Whether the person is the principal investigator.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub principal_investigator: bool,
}

/// The issuer's registry of organisations: DID → organisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrganisationRegistry {
    /// The organisations, by DID.
    pub organisations: BTreeMap<String, Organisation>,
}

/// A request this connector sent, as a holder (keyed by `holder_pid`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Onboarding {
    /// Its process id here.
    pub holder_pid: String,
    /// The issuer's process id, once known.
    pub issuer_pid: Option<String>,
    /// The issuer's DID (from its metadata).
    pub issuer: String,
    /// The issuer service's base URL.
    pub issuer_url: String,
    /// The credential type asked for.
    pub credential_type: String,
    /// The last status known.
    pub status: IssuanceStatus,
    /// Why it was rejected.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// The wallet keys of the credentials received for it.
    #[serde(default)]
    pub received: Vec<String>,
    /// The request that renews its credentials, once one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewed_by: Option<String>,
    /// When it was sent (RFC 3339).
    pub created: String,
    /// When it last changed (RFC 3339).
    pub updated: String,
}
