//! The data plane's HTTP endpoints: `GET`/`HEAD /data/{pid}` (the dataset: a file, a
//! directory's listing, or a relayed URL), `GET`/`HEAD /data/{pid}/{path}` (a file of a
//! directory dataset) and `POST /data/token` (new tokens for a refresh token, RFC 6749 §6).
//! Anyone may call; the bearer token decides ([`crate::dataplane`]). Refused calls count
//! against the caller's rate limit.

use std::sync::OnceLock;
use std::time::Duration;

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use serde_json::json;

use super::admin::bearer;
use super::error::ApiError;
use super::throttle::charging_refusals;
use crate::context::Connector;
use crate::dataplane::body::{file_chunks, Chunks, Guarded};
use crate::dataplane::range::{self, Requested};
use crate::dataplane::source::{self, SourceError, Target};
use crate::dataplane::{DataError, DataPlane, Grant, REFRESH_PATH};

/// Most bytes of a refresh request's body.
const MAX_REFRESH_BODY: usize = 4096;

/// Routes of the data plane.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(REFRESH_PATH).route(web::post().to(refresh)))
        .service(
            web::resource("/data/{pid}")
                .route(web::get().to(pull))
                .route(web::head().to(pull)),
        )
        .service(
            web::resource("/data/{pid}/{path:.*}")
                .route(web::get().to(pull))
                .route(web::head().to(pull)),
        );
}

/// Why a pull is not answered with data.
#[derive(Debug, thiserror::Error)]
enum PullError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("the range cannot be served from {length} bytes")]
    Range { length: u64 },
    #[error("the dataset's source cannot be had: {0}")]
    Upstream(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<actix_web::error::BlockingError> for PullError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        PullError::Api(error.into())
    }
}

/// The JSON answer for `error`.
fn render(error: &PullError) -> HttpResponse {
    let (status, code) = match error {
        PullError::Data(e) => (
            match e {
                DataError::Unauthorized(_) | DataError::Expired => StatusCode::UNAUTHORIZED,
                DataError::Forbidden { .. } => StatusCode::FORBIDDEN,
                DataError::NotFound(_) => StatusCode::NOT_FOUND,
                DataError::InvalidGrant(_) => StatusCode::BAD_REQUEST,
                DataError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            e.code(),
        ),
        PullError::Range { .. } => (StatusCode::RANGE_NOT_SATISFIABLE, "range_not_satisfiable"),
        PullError::Upstream(_) => (StatusCode::BAD_GATEWAY, "bad_gateway"),
        PullError::Api(e) => return actix_web::ResponseError::error_response(e),
    };
    let mut response = HttpResponse::build(status);
    if let PullError::Range { length } = error {
        response.insert_header((header::CONTENT_RANGE, format!("bytes */{length}")));
    }
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"invalid_token\", error_description=\"{code}\""),
        ));
    }
    let message = match error {
        PullError::Data(DataError::Store(_)) => "internal error".to_owned(),
        other => other.to_string(),
    };
    response.json(json!({ "error": code, "message": message }))
}

/// `GET`/`HEAD /data/{pid}[/{path}]`.
async fn pull(request: HttpRequest, connector: web::Data<Connector>) -> HttpResponse {
    charging_refusals(&request, async {
        serve(&request, &connector)
            .await
            .unwrap_or_else(|error| render(&error))
    })
    .await
}

async fn serve(request: &HttpRequest, connector: &Connector) -> Result<HttpResponse, PullError> {
    let pid = request
        .match_info()
        .get("pid")
        .unwrap_or_default()
        .to_owned();
    let tail = request.match_info().get("path").map(str::to_owned);
    let plane = DataPlane::of(connector);
    let grant = plane.authorize(&pid, bearer(request)).await?;
    let (source, root, wanted) = (
        grant.source.clone(),
        connector.data_root().to_owned(),
        tail.clone(),
    );
    let target = web::block(move || source::resolve(&source, &root, wanted.as_deref()))
        .await?
        .map_err(|error| match error {
            SourceError::NotFound(m) => DataError::NotFound(m),
            SourceError::Unusable(m) => {
                tracing::warn!(reason = %m, "a dataset's source is unusable");
                DataError::NotFound("the dataset's data is not available".into())
            }
        })?;
    let head = request.method() == Method::HEAD;
    let range_header = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match target {
        Target::Listing(dir) => {
            let files = web::block(move || source::listing(&dir))
                .await?
                .map_err(ApiError::internal)?;
            Ok(HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(json!({ "transfer": grant.pid, "files": files })))
        }
        Target::File(path) => {
            let opened = web::block(move || {
                let file = std::fs::File::open(&path)?;
                let length = file.metadata()?.len();
                Ok::<_, std::io::Error>((file, length, source::media_type(&path)))
            })
            .await?
            .map_err(ApiError::internal)?;
            let (file, length, media_type) = opened;
            let (status, start, count, content_range) =
                match range::parse(range_header.as_deref(), length) {
                    Requested::Whole => (StatusCode::OK, 0, length, None),
                    Requested::Part(part) => (
                        StatusCode::PARTIAL_CONTENT,
                        part.start,
                        part.len(),
                        Some(part.content_range(length)),
                    ),
                    Requested::Unsatisfiable => return Err(PullError::Range { length }),
                };
            let mut response = HttpResponse::build(status);
            response
                .content_type(media_type)
                .insert_header((header::ACCEPT_RANGES, "bytes"))
                .insert_header((header::CACHE_CONTROL, "no-store"));
            if let Some(content_range) = &content_range {
                response.insert_header((header::CONTENT_RANGE, content_range.as_str()));
            }
            if head {
                return Ok(head_response(response, count));
            }
            plane.pulled(&grant).await?;
            let body = file_chunks(file, start, count);
            Ok(stream(
                &plane,
                &grant,
                tail.as_deref(),
                content_range,
                status,
                response,
                body,
                Some(count),
            ))
        }
        Target::Url(url) => relay(&plane, &grant, &url, range_header, head).await,
    }
}

/// The answer to a `HEAD`: the headers a `GET` would have, `Content-Length` included, and no
/// body (the server writes none for a `HEAD`; the sized empty body carries the length).
fn head_response(mut response: HttpResponseBuilder, length: u64) -> HttpResponse {
    let nothing = futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>();
    response.body(actix_web::body::SizedStream::new(length, nothing))
}

/// Streams `body` as the answer built so far, guarded and recorded.
#[allow(clippy::too_many_arguments)]
fn stream(
    plane: &DataPlane,
    grant: &Grant,
    path: Option<&str>,
    range: Option<String>,
    status: StatusCode,
    mut response: HttpResponseBuilder,
    body: Chunks,
    length: Option<u64>,
) -> HttpResponse {
    let guarded = Guarded::new(
        body,
        length,
        plane.guard(grant),
        plane.on_served(grant, path, range, status.as_u16()),
    );
    match length {
        Some(length) => response.no_chunking(length).streaming(guarded),
        None => response.streaming(guarded),
    }
}

/// The client that fetches URL sources: no redirects (the operator named the address), 10 s
/// to connect, 30 s between reads.
fn upstream_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        symbolon_identity::net::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default()
    })
}

/// Relays the offer's URL (with the request's range) to the consumer.
async fn relay(
    plane: &DataPlane,
    grant: &Grant,
    url: &str,
    range_header: Option<String>,
    head: bool,
) -> Result<HttpResponse, PullError> {
    let client = upstream_client();
    let mut upstream = if head {
        client.head(url)
    } else {
        client.get(url)
    };
    if let Some(range) = &range_header {
        upstream = upstream.header(reqwest::header::RANGE, range.as_str());
    }
    let answer = upstream.send().await.map_err(|e| {
        tracing::warn!(error = %e, "a dataset's URL cannot be fetched");
        PullError::Upstream("the upstream did not answer".into())
    })?;
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    if !matches!(status.as_u16(), 200 | 206 | 416) {
        return Err(PullError::Upstream(format!(
            "the upstream answered {}",
            status.as_u16()
        )));
    }
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    for name in [
        "content-type",
        "content-range",
        "accept-ranges",
        "last-modified",
        "etag",
    ] {
        if let Some(value) = answer.headers().get(name).and_then(|v| v.to_str().ok()) {
            response.insert_header((name, value));
        }
    }
    let length = answer.content_length();
    if head || status == StatusCode::RANGE_NOT_SATISFIABLE {
        return Ok(match length {
            Some(length) if head => head_response(response, length),
            _ => response.finish(),
        });
    }
    plane.pulled(grant).await?;
    let content_range = answer
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Chunks = Box::pin(futures_util::stream::unfold(
        Some(answer),
        |answer| async move {
            let mut answer = answer?;
            match answer.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(answer))),
                Ok(None) => None,
                Err(error) => Some((Err(std::io::Error::other(error)), None)),
            }
        },
    ));
    Ok(stream(
        plane,
        grant,
        None,
        content_range,
        status,
        response,
        body,
        length,
    ))
}

/// `POST /data/token`: `grant_type=refresh_token&refresh_token=…` (form-encoded) → new tokens.
async fn refresh(
    request: HttpRequest,
    connector: web::Data<Connector>,
    body: web::Bytes,
) -> HttpResponse {
    charging_refusals(&request, async {
        match refreshed(&connector, &body).await {
            Ok(response) => response,
            Err(error) => {
                let mut response = render(&error);
                // RFC 6749 §5.2 names the message `error_description`.
                if let PullError::Data(DataError::InvalidGrant(message)) = &error {
                    response = HttpResponse::BadRequest()
                        .insert_header((header::CACHE_CONTROL, "no-store"))
                        .json(json!({
                            "error": "invalid_grant",
                            "error_description": message,
                            "message": message,
                        }));
                }
                response
            }
        }
    })
    .await
}

async fn refreshed(connector: &Connector, body: &[u8]) -> Result<HttpResponse, PullError> {
    if body.len() > MAX_REFRESH_BODY {
        return Err(ApiError::TooLarge(MAX_REFRESH_BODY).into());
    }
    let (mut grant_type, mut token) = (None, None);
    for (name, value) in url::form_urlencoded::parse(body) {
        match name.as_ref() {
            "grant_type" => grant_type = Some(value.into_owned()),
            "refresh_token" => token = Some(value.into_owned()),
            _ => {}
        }
    }
    if grant_type.as_deref() != Some("refresh_token") {
        return Err(ApiError::BadRequest(
            "form field `grant_type` must be `refresh_token` (a form-encoded body)".into(),
        )
        .into());
    }
    let token = token
        .ok_or_else(|| ApiError::BadRequest("form field `refresh_token` is missing".into()))?;
    let (issued, _) = DataPlane::of(connector).refresh(&token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": issued.token.as_str(),
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "refresh_token": issued.refresh_token.as_str(),
        })))
}
