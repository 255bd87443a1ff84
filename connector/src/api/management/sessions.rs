//! The management API's MPC sessions: start one as analyst, list and inspect them (with each
//! party's transfer), cancel one, and read a recipient's result.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::parse_body;
use crate::api::admin::Admin;
use crate::api::error::ApiError;
use crate::api::input::Query;
use crate::context::Connector;
use crate::domain::{Session, SessionState};
use crate::session::start::{self, SessionError, StartSession};
use crate::session::transport::Progress;

/// Longest a call waits for a session to end.
const MAX_WAIT: Duration = Duration::from_secs(120);

/// Routes of sessions.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sessions", web::get().to(list_sessions))
        .route("/sessions", web::post().to(start_session))
        .route("/sessions/{id}", web::get().to(get_session))
        .route("/sessions/{id}/cancel", web::post().to(cancel_session))
        .route("/sessions/{id}/result", web::get().to(session_result));
}

/// A session to start as analyst.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewSession {
    /// What to start.
    #[serde(flatten)]
    pub start: StartSession,
    /// How long to wait for the session to end before answering (seconds, at most 120;
    /// default 0: answer once the requests are sent).
    #[serde(default)]
    pub wait_seconds: Option<u64>,
}

/// One party of a session as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartyView {
    /// Its DID.
    pub did: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// The analyst's transfer with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<String>,
    /// That transfer's state (`REQUESTED`, `STARTED` once it countersigned, `COMPLETED`,
    /// `TERMINATED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer_state: Option<String>,
    /// Why that transfer ended, when it was terminated (an `mpc:` code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A session as the API shows it: the record without the sealed result.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The session's id.
    pub id: String,
    /// Whether this connector is its analyst.
    pub analyst: bool,
    /// The program, `id@version`.
    pub program: String,
    /// Where it stands.
    pub state: SessionState,
    /// This connector's party index.
    pub index: usize,
    /// Every party.
    pub parties: Vec<PartyView>,
    /// This connector's transfers of the session.
    pub transfers: Vec<String>,
    /// Why it failed (an `mpc:` code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The reason, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether a result is held here (read it at `/sessions/{id}/result`).
    pub has_result: bool,
    /// While the program runs here: the messages and bytes this party sent and received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// The manifest's digest.
    pub digest: String,
    /// The signed manifest.
    pub manifest: String,
    /// This party's transcript hashes and traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub transcript: Option<serde_json::Value>,
    /// Every party's signed transcript report (the analyst's view).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<String>,
    /// Created (RFC 3339).
    pub created: String,
    /// Last changed (RFC 3339).
    pub updated: String,
}

pub(super) fn session_error(error: SessionError) -> ApiError {
    match error {
        SessionError::Invalid(m) => ApiError::BadRequest(m),
        SessionError::NotFound(m) => ApiError::NotFound(m),
        SessionError::Conflict(m) => ApiError::Conflict(m),
        SessionError::Store(e) => e.into(),
    }
}

pub(super) async fn view(connector: &Connector, session: Session) -> Result<SessionView, ApiError> {
    let pids: Vec<Option<String>> = session.parties.iter().map(|p| p.transfer.clone()).collect();
    let transfers = connector
        .store()
        .blocking(move |s| {
            pids.iter()
                .map(|pid| pid.as_deref().map(|p| s.transfers.get(p)).transpose())
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    let parties = session
        .parties
        .into_iter()
        .zip(transfers)
        .map(|(party, transfer)| {
            let transfer = transfer.flatten();
            PartyView {
                did: party.did,
                roles: party.roles,
                transfer: party.transfer,
                transfer_state: transfer.as_ref().map(|t| t.state.as_str().to_owned()),
                code: transfer.and_then(|t| t.code),
            }
        })
        .collect();
    let progress = connector.session_links().progress(&session.id);
    Ok(SessionView {
        id: session.id,
        analyst: session.analyst,
        program: session.program,
        state: session.state,
        index: session.index,
        parties,
        transfers: session.transfers,
        code: session.code,
        reason: session.reason,
        has_result: session.sealed_result.is_some(),
        progress,
        digest: session.digest,
        manifest: session.manifest,
        transcript: session.transcript,
        reports: session.reports,
        created: session.created,
        updated: session.updated,
    })
}

/// Lists the sessions this connector takes part in.
#[utoipa::path(get, path = "/api/v1/sessions", security(("admin" = [])),
    responses((status = 200, body = [SessionView]), (status = 401, description = "No or wrong admin token")))]
pub(super) async fn list_sessions(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let sessions = connector.store().blocking(|s| s.sessions.list()).await?;
    let mut views = Vec::with_capacity(sessions.len());
    for session in sessions {
        views.push(view(&connector, session).await?);
    }
    Ok(HttpResponse::Ok().json(views))
}

/// Starts a session as analyst: signs its manifest (program, parties from the agreements,
/// this connector as recipient), requests an `MpcSession-PUSH` transfer from every holder and
/// runs this connector's part. Answers the session (201), after `wait_seconds` at most for it
/// to end.
#[utoipa::path(post, path = "/api/v1/sessions", security(("admin" = [])), request_body = NewSession,
    responses((status = 201, body = SessionView),
              (status = 400, description = "Malformed request: unknown program, bad parameters, an agreement that is not this connector's as consumer, fewer than three parties"),
              (status = 404, description = "No such agreement or offer"),
              (status = 409, description = "The connector is not on the peer network")))]
pub(super) async fn start_session(
    _: Admin,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let new: NewSession = parse_body(&body)?;
    let wait = Duration::from_secs(new.wait_seconds.unwrap_or(0)).min(MAX_WAIT);
    let started = start::start(&connector, new.start)
        .await
        .map_err(session_error)?;
    let session = wait_for_end(&connector, started, wait).await?;
    Ok(HttpResponse::Created().json(view(&connector, session).await?))
}

/// Waits up to `wait` for `session` to reach a final state.
async fn wait_for_end(
    connector: &Connector,
    mut session: Session,
    wait: Duration,
) -> Result<Session, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    while !session.state.is_final() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        session = start::get(connector, &session.id)
            .await
            .map_err(session_error)?;
    }
    Ok(session)
}

/// Query of `GET /sessions/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct WaitQuery {
    /// Wait up to this many seconds (at most 120) for the session to end.
    pub wait_seconds: Option<u64>,
}

/// One session.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", security(("admin" = [])), params(WaitQuery),
    responses((status = 200, body = SessionView), (status = 404, description = "No such session")))]
pub(super) async fn get_session(
    _: Admin,
    connector: web::Data<Connector>,
    id: web::Path<String>,
    query: Query<WaitQuery>,
) -> Result<HttpResponse, ApiError> {
    let session = start::get(&connector, &id).await.map_err(session_error)?;
    let wait = Duration::from_secs(query.wait_seconds.unwrap_or(0)).min(MAX_WAIT);
    let session = wait_for_end(&connector, session, wait).await?;
    Ok(HttpResponse::Ok().json(view(&connector, session).await?))
}

/// Cancels a session that has not ended: every party's transfer is terminated with
/// `mpc:cancelled`, nothing is released.
#[utoipa::path(post, path = "/api/v1/sessions/{id}/cancel", security(("admin" = [])),
    responses((status = 200, body = SessionView), (status = 404, description = "No such session"),
              (status = 409, description = "The session has ended")))]
pub(super) async fn cancel_session(
    _: Admin,
    connector: web::Data<Connector>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let session = start::cancel(&connector, &id)
        .await
        .map_err(session_error)?;
    let session = wait_for_end(&connector, session, Duration::from_secs(10)).await?;
    Ok(HttpResponse::Ok().json(view(&connector, session).await?))
}

/// The result of a completed session, for its recipient: opened from the record sealed to
/// this connector's key.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/result", security(("admin" = [])),
    responses((status = 200, description = "The program's result (JSON)"),
              (status = 404, description = "No such session, or this connector is not a recipient"),
              (status = 409, description = "The session has no result (not completed)")))]
pub(super) async fn session_result(
    _: Admin,
    connector: web::Data<Connector>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let result = start::result(&connector, &id)
        .await
        .map_err(session_error)?;
    Ok(HttpResponse::Ok().json(result))
}
