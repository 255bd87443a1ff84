//! Live progress of an MPC session as server-sent events: `GET /api/v1/sessions/{id}/events`
//! answers `text/event-stream`, one `session` event carrying the session's view (as `GET
//! /api/v1/sessions/{id}` answers it) each time it changes, until it and its parties' transfers
//! have ended. Changes are noticed
//! from the announced transfer changes (each party's transfer) and, for the message counters
//! of a running program, which are not announced, by reading the view every
//! [`PROGRESS_INTERVAL`]. Needs the admin token, like every management call; a browser sends it
//! with `fetch`, since `EventSource` cannot set a header.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::sessions::{session_error, view, SessionView};
use crate::api::admin::Admin;
use crate::api::error::ApiError;
use crate::context::{Connector, TransferChange};
use crate::session::start;

/// How often the view is read again while nothing is announced.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);
/// How long without a change before a comment line keeps the connection alive.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// Longest a stream stays open; the client reconnects if it still wants to watch.
const MAX_STREAM: Duration = Duration::from_secs(600);
/// How long after the session ended the stream waits for its parties' transfers to end.
const SETTLE: Duration = Duration::from_secs(30);

/// Routes of session events.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sessions/{id}/events", web::get().to(session_events));
}

/// The state of one event stream.
struct Watch {
    connector: web::Data<Connector>,
    id: String,
    changes: broadcast::Receiver<TransferChange>,
    last: Option<String>,
    last_sent: Instant,
    until: Instant,
    ended: bool,
    settle_until: Option<Instant>,
}

/// What the stream sends next.
enum Next {
    Event(String),
    KeepAlive,
}

/// Streams the session's view each time it changes, as server-sent events, until it ends.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/events", security(("admin" = [])),
    responses((status = 200, description = "`text/event-stream` of `session` events, each a SessionView"),
              (status = 404, description = "No such session")))]
pub(super) async fn session_events(
    _: Admin,
    connector: web::Data<Connector>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    // Subscribed before the first read, so that no change in between is missed.
    let changes = connector.watch_transfers();
    start::get(&connector, &id).await.map_err(session_error)?;
    let now = Instant::now();
    let watch = Watch {
        connector,
        id,
        changes,
        last: None,
        last_sent: now,
        until: now + MAX_STREAM,
        ended: false,
        settle_until: None,
    };
    let stream = futures_util::stream::unfold(watch, |mut watch| async move {
        let next = next(&mut watch).await?;
        let text = match next {
            Next::Event(json) => format!("event: session\ndata: {json}\n\n"),
            Next::KeepAlive => ": keep-alive\n\n".to_owned(),
        };
        Some((Ok::<_, ApiError>(Bytes::from(text)), watch))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

/// Whether nothing more will change: the session ended and so did every party's transfer.
fn settled(view: &SessionView) -> bool {
    view.state.is_final()
        && view
            .parties
            .iter()
            .filter_map(|p| p.transfer_state.as_deref())
            .all(|state| state == "COMPLETED" || state == "TERMINATED")
}

/// Waits for the next thing to send: the view when it changed, a keep-alive, or the end
/// (`None`: the session and its transfers ended and were sent, or the session ended
/// [`SETTLE`] ago, or it is gone, or the stream is old).
async fn next(watch: &mut Watch) -> Option<Next> {
    loop {
        if watch.ended || Instant::now() >= watch.until {
            return None;
        }
        if watch.settle_until.is_some_and(|t| Instant::now() >= t) {
            return None;
        }
        let session = start::get(&watch.connector, &watch.id).await.ok()?;
        let current = view(&watch.connector, session).await.ok()?;
        if current.state.is_final() && watch.settle_until.is_none() {
            watch.settle_until = Some(Instant::now() + SETTLE);
        }
        let json = serde_json::to_string(&current).ok()?;
        if watch.last.as_deref() != Some(json.as_str()) {
            watch.last = Some(json.clone());
            watch.last_sent = Instant::now();
            watch.ended = settled(&current);
            return Some(Next::Event(json));
        }
        if watch.last_sent.elapsed() >= KEEPALIVE {
            watch.last_sent = Instant::now();
            return Some(Next::KeepAlive);
        }
        // Either an announced change or the interval, whichever comes first.
        let woken = tokio::time::timeout(PROGRESS_INTERVAL, watch.changes.recv()).await;
        if let Ok(Err(broadcast::error::RecvError::Closed)) = woken {
            tokio::time::sleep(PROGRESS_INTERVAL).await;
        }
    }
}
