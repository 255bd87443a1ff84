//! The management API's transfer processes: request a dataset as consumer, list and inspect
//! processes on both sides, and the operator's moves (start or restart, suspend, complete,
//! terminate) on either side.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::parse_body;
use crate::api::admin::Admin;
use crate::api::error::ApiError;
use crate::context::Connector;
use crate::domain::Transfer;
use crate::transfer::state::TransferState;
use crate::transfer::{MoveError, StartTransfer, Transfers};

/// Longest a call waits for a requested transfer to be started.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Routes of transfer processes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/transfers", web::get().to(list_transfers))
        .route("/transfers", web::post().to(request_transfer))
        .route("/transfers/{pid}", web::get().to(get_transfer))
        .route("/transfers/{pid}/start", web::post().to(start_transfer))
        .route("/transfers/{pid}/suspend", web::post().to(suspend_transfer))
        .route(
            "/transfers/{pid}/complete",
            web::post().to(complete_transfer),
        )
        .route(
            "/transfers/{pid}/terminate",
            web::post().to(terminate_transfer),
        )
        .route("/transfers/{pid}/refresh", web::post().to(refresh_transfer));
}

/// A transfer to request as consumer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTransfer {
    /// What to request.
    #[serde(flatten)]
    pub start: StartTransfer,
    /// How long to wait for the provider's start (or the end of the process) before answering
    /// (seconds, at most 60; default 30; 0 answers once the provider acknowledged the request).
    #[serde(default)]
    pub wait_seconds: Option<u64>,
}

/// Why an operator suspends a transfer.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SuspendTransfer {
    /// The reason, sent to the counterparty.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Why an operator terminates a transfer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TerminateTransfer {
    /// The reason, sent to the counterparty.
    pub reason: String,
    /// Terminate here even if the counterparty cannot be told or refuses (the failed send is
    /// recorded). Default `false`: the process is then left unchanged and the call fails.
    #[serde(default)]
    pub force: bool,
}

/// The answer for a transfer move the connector refused or could not make.
fn move_error(error: MoveError) -> ApiError {
    match error {
        MoveError::NotFound(m) => ApiError::NotFound(m),
        MoveError::Invalid(m) => ApiError::BadRequest(m),
        MoveError::Illegal(e) => ApiError::Conflict(e.to_string()),
        MoveError::Send(e) => ApiError::BadGateway(format!("the process is unchanged: {e}")),
        MoveError::Refused(refusal) => ApiError::Rejected {
            message: format!("the session was refused and the transfer terminated: {refusal}"),
            details: serde_json::json!({ "code": refusal.code, "reason": refusal.reason }),
        },
        MoveError::Internal(e) => ApiError::internal(e),
    }
}

fn service(connector: &web::Data<Connector>) -> Transfers {
    Transfers::new(connector.get_ref().clone())
}

/// Lists the transfer processes, on both sides.
#[utoipa::path(get, path = "/api/v1/transfers", security(("admin" = [])),
    responses((status = 200, body = [Transfer]), (status = 401, description = "No or wrong admin token")))]
pub(super) async fn list_transfers(
    _: Admin,
    connector: web::Data<Connector>,
) -> Result<HttpResponse, ApiError> {
    let all = connector.store().blocking(|s| s.transfers.list()).await?;
    Ok(HttpResponse::Ok().json(all))
}

/// Requests, as consumer, the dataset of an agreement this connector holds, in one of the
/// dataset's formats, from the provider the agreement was negotiated with; waits up to
/// `wait_seconds` for the provider's start. Answers the process as stored (201): REQUESTED or
/// STARTED, or TERMINATED with the provider's refusal in `reason`.
#[utoipa::path(post, path = "/api/v1/transfers", security(("admin" = [])), request_body = NewTransfer,
    responses((status = 201, body = Transfer),
              (status = 400, description = "Malformed request, an agreement this connector is not the consumer of, or whose negotiation is not FINALIZED"),
              (status = 404, description = "No such agreement")))]
pub(super) async fn request_transfer(
    _: Admin,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let new: NewTransfer = parse_body(&body)?;
    let wait = Duration::from_secs(new.wait_seconds.unwrap_or(30)).min(MAX_WAIT);
    let transfers = service(&connector);
    let requested = transfers.request(new.start).await.map_err(move_error)?;
    let pid = requested.consumer_pid.clone();
    let outcome = if wait.is_zero() || requested.state != TransferState::Requested {
        requested
    } else {
        transfers
            .wait_until(&pid, wait, |t| t.state != TransferState::Requested)
            .await?
            .unwrap_or(requested)
    };
    Ok(HttpResponse::Created().json(outcome))
}

/// One transfer process, by this connector's process id.
#[utoipa::path(get, path = "/api/v1/transfers/{pid}", security(("admin" = [])),
    responses((status = 200, body = Transfer), (status = 404, description = "No such process")))]
pub(super) async fn get_transfer(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = pid.clone();
    let transfer = connector
        .store()
        .blocking(move |s| s.transfers.get(&key))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no transfer process `{pid}`")))?;
    Ok(HttpResponse::Ok().json(transfer))
}

/// Starts a process: the provider's start of a REQUESTED one (when its automatic start could
/// not reach the consumer), or a restart of a SUSPENDED one by either side. The counterparty
/// is told first; the process moves only once it acknowledged.
#[utoipa::path(post, path = "/api/v1/transfers/{pid}/start", security(("admin" = [])),
    responses((status = 200, body = Transfer), (status = 404, description = "No such process"),
              (status = 409, description = "The process's state does not allow it"),
              (status = 502, description = "The counterparty could not be told or refused; the process is unchanged")))]
pub(super) async fn start_transfer(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let started = service(&connector).start(&pid).await.map_err(move_error)?;
    Ok(HttpResponse::Ok().json(started))
}

/// Suspends a STARTED process, on either side.
#[utoipa::path(post, path = "/api/v1/transfers/{pid}/suspend", security(("admin" = [])), request_body = SuspendTransfer,
    responses((status = 200, body = Transfer), (status = 404, description = "No such process"),
              (status = 409, description = "The process is not STARTED"),
              (status = 502, description = "The counterparty could not be told or refused; the process is unchanged")))]
pub(super) async fn suspend_transfer(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let suspend: SuspendTransfer = if body.is_empty() {
        SuspendTransfer::default()
    } else {
        parse_body(&body)?
    };
    let suspended = service(&connector)
        .suspend(&pid, suspend.reason)
        .await
        .map_err(move_error)?;
    Ok(HttpResponse::Ok().json(suspended))
}

/// Completes a STARTED process, on either side.
#[utoipa::path(post, path = "/api/v1/transfers/{pid}/complete", security(("admin" = [])),
    responses((status = 200, body = Transfer), (status = 404, description = "No such process"),
              (status = 409, description = "The process is not STARTED"),
              (status = 502, description = "The counterparty could not be told or refused; the process is unchanged")))]
pub(super) async fn complete_transfer(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let completed = service(&connector)
        .complete(&pid)
        .await
        .map_err(move_error)?;
    Ok(HttpResponse::Ok().json(completed))
}

/// Terminates a process that is not final, on either side, telling the counterparty why.
#[utoipa::path(post, path = "/api/v1/transfers/{pid}/terminate", security(("admin" = [])), request_body = TerminateTransfer,
    responses((status = 200, body = Transfer), (status = 404, description = "No such process"),
              (status = 409, description = "The process has already ended"),
              (status = 502, description = "The counterparty could not be told or refused and `force` was not set; the process is unchanged")))]
pub(super) async fn terminate_transfer(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let terminate: TerminateTransfer = parse_body(&body)?;
    let terminated = service(&connector)
        .terminate(&pid, terminate.reason, terminate.force)
        .await
        .map_err(move_error)?;
    Ok(HttpResponse::Ok().json(terminated))
}

/// Renews, as consumer, the data plane tokens of a STARTED pull transfer with the refresh
/// token its provider sent, and keeps the new ones in its data address.
#[utoipa::path(post, path = "/api/v1/transfers/{pid}/refresh", security(("admin" = [])),
    responses((status = 200, body = Transfer), (status = 404, description = "No such process"),
              (status = 400, description = "Not a started pull transfer of this consumer, or the provider refused")))]
pub(super) async fn refresh_transfer(
    _: Admin,
    connector: web::Data<Connector>,
    pid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let refreshed = service(&connector)
        .refresh_access(&pid)
        .await
        .map_err(move_error)?;
    Ok(HttpResponse::Ok().json(refreshed))
}
