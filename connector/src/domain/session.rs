//! MPC sessions as a party keeps them: the analyst's session with a transfer per data
//! holder, or a holder's part in one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a party's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Admitted (a holder) or requested (the analyst); the parties' streams are being opened.
    Joining,
    /// Every party joined with its countersignature; the program runs.
    Running,
    /// The program ended; recipients hold the result.
    Completed,
    /// The session ended without a result (`code` and `reason` say why); nothing was released.
    Failed,
    /// The analyst or the operator cancelled it.
    Cancelled,
}

impl SessionState {
    /// Whether the session has ended.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SessionState::Completed | SessionState::Failed | SessionState::Cancelled
        )
    }

    /// The state's name, as in the records and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Joining => "joining",
            SessionState::Running => "running",
            SessionState::Completed => "completed",
            SessionState::Failed => "failed",
            SessionState::Cancelled => "cancelled",
        }
    }
}

/// One party of a session as this connector sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionParty {
    /// Its DID.
    pub did: String,
    /// Its roles (`input`, `compute`, `output`).
    pub roles: Vec<String>,
    /// The analyst's transfer process with this holder (the analyst's record only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<String>,
}

/// A party's record of a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Session {
    /// The session's id (the manifest's `session_id`).
    pub id: String,
    /// Whether this connector is the analyst who signed the manifest.
    pub analyst: bool,
    /// The signed manifest (compact JWS).
    pub manifest: String,
    /// Its digest, which every party countersigned.
    pub digest: String,
    /// The program, `id@version`.
    pub program: String,
    /// This connector's party index.
    pub index: usize,
    /// Every party, in the manifest's order.
    pub parties: Vec<SessionParty>,
    /// This connector's transfer processes of the session (a holder's one, the analyst's one
    /// per holder).
    pub transfers: Vec<String>,
    /// Where it stands.
    pub state: SessionState,
    /// Why it failed or was cancelled (an `mpc:` code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The reason, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The result, sealed to this connector's key (a recipient's record only; compact JWE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_result: Option<String>,
    /// The transcript hashes and traffic of this party's run, once it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub transcript: Option<Value>,
    /// Every party's signed transcript report (the analyst's record only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<String>,
    /// When it was created (RFC 3339).
    pub created: String,
    /// When it last changed (RFC 3339).
    pub updated: String,
}
