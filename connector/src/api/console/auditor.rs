//! The auditor's sign-in to the console, under `/api/v1/console/auditor`:
//!
//! 1. `POST …/challenge`: a fresh challenge ([`AuditorSignIn::challenge`]) and this
//!    connector's DID, the audience the presentation must name.
//! 2. The auditor runs `symbolon audit present --to DID --challenge NONCE`, which prints a
//!    self-issued token whose `jti` is the challenge and whose `vp` claim presents its
//!    `AuditorCredential` for that challenge and audience, and pastes it into the page.
//! 3. `POST …/session` `{challenge, token}`: the challenge is checked (this server's, not
//!    expired, not answered yet); the token is checked as the audit API checks an auditor's token (signature, audience, time,
//!    single-use `jti`; a verified presentation signed by the caller, of an `AuditorCredential`
//!    from an issuer the trust list trusts for it, bound to the challenge and this DID, its
//!    nonce single-use), the outcome is recorded (`audit.access`, `via: console`), and an
//!    accepted auditor gets a short-lived session token that the audit API takes as a
//!    read-only reader, and the challenge is marked answered. Every refusal says why.
//! 4. `GET …/session` shows the session of the bearer token; `DELETE …/session` ends it.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::signin::{AuditorSignIn, SignInError};
use crate::api::admin::bearer;
use crate::api::audit::{check_auditor, AuditorCheck};
use crate::api::error::{ApiError, ErrorBody};
use crate::api::input::parse_body;
use crate::api::throttle::Throttled;
use crate::context::Connector;
use crate::negotiation::auth;

/// Longest challenge accepted in a sign-in (a challenge handed out is 54 characters).
const MAX_CHALLENGE_CHARS: usize = 128;

/// Routes of the auditor's sign-in. Registered before the management API's `/api/v1` scope,
/// which would otherwise take these paths.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/console/auditor")
            .service(web::resource("/challenge").post(challenge))
            .service(
                web::resource("/session")
                    .post(sign_in)
                    .get(session)
                    .delete(sign_out),
            ),
    );
}

/// The sign-in state of the application (every application built by
/// [`crate::api::configure`] has one).
fn state(request: &HttpRequest) -> Result<web::Data<AuditorSignIn>, ApiError> {
    request
        .app_data::<web::Data<AuditorSignIn>>()
        .cloned()
        .ok_or_else(|| ApiError::NotFound("this server offers no auditor sign-in".into()))
}

/// The auditor of `request`'s session token, if it carries one that is open.
pub fn session_auditor(request: &HttpRequest) -> Option<String> {
    let signin = request.app_data::<web::Data<AuditorSignIn>>()?;
    Some(signin.session(bearer(request)?)?.auditor)
}

fn refused(error: SignInError) -> ApiError {
    match &error {
        SignInError::TooManySignIns { retry_after, .. } => ApiError::Unavailable {
            message: error.to_string(),
            retry_after: *retry_after,
        },
        _ => ApiError::SignIn(error.to_string()),
    }
}

/// A challenge handed out: what the auditor's presentation must carry, and for whom.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChallengeIssued {
    /// The nonce the presentation must carry (`symbolon audit present --challenge`), single-use.
    pub challenge: String,
    /// This connector's DID: the audience the presentation must name (`--to`).
    pub audience: String,
    /// Seconds left to answer it.
    pub expires_in: u64,
    /// Until when it may be answered (RFC 3339).
    pub expires_at: String,
}

/// Asks for a challenge to sign in with.
#[utoipa::path(post, path = "/api/v1/console/auditor/challenge", tag = "console",
    responses((status = 201, body = ChallengeIssued, description = "A fresh single-use challenge"),
              (status = 429, body = ErrorBody, description = "Too many requests from this address")))]
pub(crate) async fn challenge(
    _: Throttled,
    request: HttpRequest,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let issued = state(&request)?.challenge();
    Ok(HttpResponse::Created().json(ChallengeIssued {
        challenge: issued.nonce,
        audience: connector.did().to_owned(),
        expires_in: issued.expires_in.as_secs(),
        expires_at: symbolon_identity::credential::format_time(issued.expires_at),
    }))
}

/// A sign-in: the challenge the page asked for and the token the auditor pasted.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The challenge handed out by `POST /api/v1/console/auditor/challenge`.
    pub challenge: String,
    /// The self-issued token `symbolon audit present` printed for it: its `jti` is the
    /// challenge, its `vp` claim presents an `AuditorCredential`.
    pub token: String,
}

/// A session opened: its token (shown once) and what it reads.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionOpened {
    /// The session token (`auditor_…`), sent as `Authorization: Bearer` to the audit API.
    pub session: String,
    /// The auditor's DID.
    pub auditor: String,
    /// The DID of the log it reads: this connector's.
    pub log_id: String,
    /// Seconds until it ends.
    pub expires_in: u64,
    /// When it ends (RFC 3339).
    pub expires_at: String,
}

/// An open session, as its token shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionShown {
    /// The auditor's DID.
    pub auditor: String,
    /// When the session ends (RFC 3339).
    pub expires_at: String,
}

/// Signs in with a presentation of an `AuditorCredential` for a challenge.
#[utoipa::path(post, path = "/api/v1/console/auditor/session", tag = "console", request_body = SignIn,
    responses((status = 200, body = SessionOpened, description = "Signed in: a read-only session of the audit API"),
              (status = 400, body = ErrorBody, description = "The body is not `{challenge, token}`"),
              (status = 401, body = ErrorBody, description = "Refused, saying why: an unknown, used or expired challenge; a malformed, replayed or tampered token; a token for another challenge or audience; no trusted AuditorCredential"),
              (status = 429, body = ErrorBody, description = "Too many requests from this address"),
              (status = 503, body = ErrorBody, description = "As many sign-ins as this connector remembers happened within a challenge's lifetime; `Retry-After` says when to try again")))]
pub(crate) async fn sign_in(
    _: Throttled,
    request: HttpRequest,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let signin = state(&request)?;
    let asked: SignIn = parse_body(&body)?;
    if asked.challenge.chars().count() > MAX_CHALLENGE_CHARS {
        return Err(ApiError::Invalid {
            message: format!("field `challenge`: longer than {MAX_CHALLENGE_CHARS} characters"),
            path: "/challenge".into(),
        });
    }
    // Checked before the token costs anything; marked answered only by the sign-in that
    // opens a session, so that strangers' failed attempts fill nothing.
    signin.check_challenge(&asked.challenge).map_err(refused)?;
    let verification = connector.verification();
    let caller = auth::authenticate(
        Some(asked.token.as_str()),
        connector.did(),
        &verification.resolver,
        connector.store(),
    )
    .await
    .map_err(|e| ApiError::BadToken(e.to_string()))?;
    if caller.jti != asked.challenge {
        return Err(ApiError::SignIn(format!(
            "the token answers another challenge (`{}`), not this sign-in's: create it again \
             with `--challenge {}`",
            caller
                .jti
                .chars()
                .take(MAX_CHALLENGE_CHARS)
                .collect::<String>(),
            asked.challenge
        )));
    }
    match check_auditor(&connector, &caller, "console").await? {
        AuditorCheck::Auditor => {}
        AuditorCheck::Refused(reason) => return Err(ApiError::SignIn(reason)),
    }
    let opened = signin
        .open(&caller.did, &asked.challenge)
        .map_err(refused)?;
    tracing::info!(auditor = %caller.did, "an auditor signed in to the console");
    Ok(HttpResponse::Ok().json(SessionOpened {
        session: opened.token.as_str().to_owned(),
        auditor: caller.did,
        log_id: connector.did().to_owned(),
        expires_in: opened.expires_in.as_secs(),
        expires_at: symbolon_identity::credential::format_time(opened.expires_at),
    }))
}

/// Shows the auditor session of the bearer token.
#[utoipa::path(get, path = "/api/v1/console/auditor/session", tag = "console", security(("auditor_session" = [])),
    responses((status = 200, body = SessionShown, description = "The session is open"),
              (status = 401, body = ErrorBody, description = "No open session for this token: it ended, or was never opened")))]
pub(crate) async fn session(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let signin = state(&request)?;
    let info = bearer(&request)
        .and_then(|token| signin.session(token))
        .ok_or_else(|| {
            ApiError::SignIn("no open auditor session: it ended, or was never opened".into())
        })?;
    Ok(HttpResponse::Ok().json(SessionShown {
        auditor: info.auditor,
        expires_at: symbolon_identity::credential::format_time(info.expires_at),
    }))
}

/// Signs out: ends the auditor session of the bearer token.
#[utoipa::path(delete, path = "/api/v1/console/auditor/session", tag = "console", security(("auditor_session" = [])),
    responses((status = 204, description = "The session ended"),
              (status = 401, body = ErrorBody, description = "No open session for this token: it ended, or was never opened")))]
pub(crate) async fn sign_out(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let signin = state(&request)?;
    match bearer(&request) {
        Some(token) if signin.close(token) => Ok(HttpResponse::NoContent().finish()),
        _ => Err(ApiError::SignIn(
            "no open auditor session: it ended, or was never opened".into(),
        )),
    }
}
