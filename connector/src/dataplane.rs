//! The HTTP-pull data plane (format `HttpData-PULL`). A dataset offer names its data
//! ([`DataSource`]); when a transfer of it starts, the provider sends the consumer a
//! `DataAddress` with a short-lived bearer token bound to that process — and through the
//! process to its agreement and the consumer's DID — and serves the data to that token only.
//!
//! Every request is checked in this order: the token (its digest, compared in constant time)
//! and its expiry; the process STARTED; the agreement's obligations the data plane enforces
//! (`max_pulls`, `pull_within`); and every credential the agreement rests on still standing
//! (revocation and suspension seen within the status cache's lifetime). A response in flight
//! is cut the moment the process leaves STARTED and, checked every few seconds, when a
//! credential stops standing ([`guard`]). Files stream from disk in chunks with single byte
//! ranges ([`body`], [`range`]); a URL source is relayed ([`source`]). Access issued, every
//! pull served and every pull refused that carried the process's token are audit events; a
//! request without a valid token is not recorded, so a stranger cannot fill the trail.

pub mod access;
pub mod body;
pub mod guard;
pub mod range;
pub mod source;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use symbolon_audit::EventKind;

use crate::context::Connector;
use crate::domain::{Agreement, DataAccess, DataSource, Transfer};
use crate::protocol::messages::DataAddress;
use crate::protocol::pid;
use crate::store::{StoreError, TransferChange, TransferUpdateError};
use crate::transfer::state::{Role, TransferState};
use crate::transfer::Transfers;

pub use access::Issued;
pub use body::Ended;

/// The format of a dataset pulled over HTTP.
pub const HTTP_PULL: &str = "HttpData-PULL";
/// How long an access token is valid by default.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);
/// How long a pull waits for the acknowledgement of the start that carried its token.
const START_WAIT: Duration = Duration::from_secs(3);
/// The path of the refresh endpoint.
pub const REFRESH_PATH: &str = "/data/token";

/// Why the data plane refuses a request.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// No token, or not a token of this process (401; not recorded).
    #[error("{0}")]
    Unauthorized(String),
    /// The process's access token expired (401).
    #[error("the access token expired; get a new one with the refresh token")]
    Expired,
    /// The token is the process's, but the data may not be served now (403).
    #[error("{reason}")]
    Forbidden {
        /// A machine-readable code (`transfer_not_started`, `pulls_used_up`,
        /// `pull_window_closed`, `credential_not_standing`, `dataset_withdrawn`).
        code: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// The path names nothing the dataset serves (404).
    #[error("{0}")]
    NotFound(String),
    /// A refresh token that is not valid (400 `invalid_grant`, RFC 6749 §5.2).
    #[error("{0}")]
    InvalidGrant(String),
    /// The store failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DataError {
    /// The error's code in a JSON answer.
    pub fn code(&self) -> &'static str {
        match self {
            DataError::Unauthorized(_) => "invalid_token",
            DataError::Expired => "token_expired",
            DataError::Forbidden { code, .. } => code,
            DataError::NotFound(_) => "not_found",
            DataError::InvalidGrant(_) => "invalid_grant",
            DataError::Store(_) => "internal",
        }
    }

    fn forbidden(code: &'static str, reason: impl Into<String>) -> Self {
        DataError::Forbidden {
            code,
            reason: reason.into(),
        }
    }
}

/// What a request that passed every check may be served.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The provider's process id.
    pub pid: String,
    /// The process.
    pub transfer: Transfer,
    /// Where the data comes from.
    pub source: DataSource,
    /// The credentials the agreement rests on.
    pub grounds: Vec<Value>,
    /// The access token's short id.
    pub token_id: String,
}

/// The obligations of an agreement the data plane enforces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enforced {
    /// `max_pulls { count }`.
    pub max_pulls: Option<u64>,
    /// `pull_within { days }`: the Unix second after which no pull is served.
    pub pull_until: Option<i64>,
}

impl Enforced {
    /// Reads them from `agreement`.
    pub fn of(agreement: &Agreement) -> Self {
        let param = |name: &str, param: &str| {
            agreement
                .obligations
                .iter()
                .filter(|o| o.name == name)
                .filter_map(|o| o.params.get(param).and_then(Value::as_u64))
                .min()
        };
        let agreed = chrono::DateTime::parse_from_rfc3339(&agreement.timestamp)
            .map(|t| t.timestamp())
            .ok();
        Enforced {
            max_pulls: param("max_pulls", "count"),
            pull_until: param("pull_within", "days").map(|days| {
                let seconds = i64::try_from(days.saturating_mul(86_400)).unwrap_or(i64::MAX);
                agreed.unwrap_or(i64::MIN).saturating_add(seconds)
            }),
        }
    }
}

/// The data plane of one connector.
#[derive(Debug, Clone)]
pub struct DataPlane {
    cx: Connector,
    ttl: Duration,
}

impl DataPlane {
    /// The data plane of `connector`, issuing access tokens valid for `ttl`.
    pub fn new(connector: Connector, ttl: Duration) -> Self {
        DataPlane { cx: connector, ttl }
    }

    /// The data plane of `connector` with its configured token lifetime.
    pub fn of(connector: &Connector) -> Self {
        DataPlane::new(connector.clone(), connector.data_token_ttl())
    }

    /// New tokens for the provider's process `pid`, and the `DataAddress` carrying them.
    pub fn issue(&self, pid: &str) -> (Issued, DataAddress) {
        let issued = access::issue(pid, self.ttl.as_secs().max(1), unix_now());
        let base = self.cx.public_url();
        let address = access::address(
            format!("{base}/data/{}", pid::encoded(pid)),
            format!("{base}{REFRESH_PATH}"),
            &issued,
        );
        (issued, address)
    }

    /// Records that `access` to the data of `transfer` (`pid`) was issued, on `occasion`
    /// (`start` or `refresh`), with the obligations it enforces and the duties it only
    /// records.
    pub async fn record_issued(
        &self,
        pid: &str,
        transfer: &Transfer,
        access: &DataAccess,
        occasion: &str,
    ) {
        let agreement_id = transfer.agreement_id.clone();
        let agreement = self
            .cx
            .store()
            .blocking(move |s| s.agreements.get(&agreement_id))
            .await
            .ok()
            .flatten();
        let (enforced, duties) = agreement.map_or((Vec::new(), Vec::new()), |a| {
            a.obligations
                .iter()
                .map(|o| o.name.clone())
                .partition(|name| name == "max_pulls" || name == "pull_within")
        });
        let mut event = self.cx.audit().event(
            EventKind::DataAccessIssued,
            pid,
            occasion,
            json!({
                "agreement": transfer.agreement_id,
                "token_id": access.token_id,
                "expires_at": access.expires_at,
                "enforced": enforced,
                "duties": duties,
            }),
        );
        event.actor = transfer.counterparty.clone();
        if let Err(error) = self.cx.audit().record(event).await {
            tracing::error!(%error, pid, "cannot record issued data access");
        }
    }

    /// Checks a request for the data of process `pid` carrying `bearer`. A refusal after the
    /// token was recognised is recorded.
    pub async fn authorize(&self, pid: &str, bearer: Option<&str>) -> Result<Grant, DataError> {
        let not_ours =
            || DataError::Unauthorized("the bearer token does not open this transfer".into());
        let bearer = bearer.ok_or_else(|| {
            DataError::Unauthorized("an `Authorization: Bearer` token is required".into())
        })?;
        let key = pid.to_owned();
        let mut transfer = self
            .cx
            .store()
            .blocking(move |s| s.transfers.get(&key))
            .await?
            .filter(|t| t.role == Role::Provider)
            .ok_or_else(not_ours)?;
        let mut access = transfer.access.clone().ok_or_else(not_ours)?;
        if !access::matches(bearer, &access.token_digest) {
            return Err(not_ours());
        }
        if access.pending && transfer.state != TransferState::Started {
            // The start carrying this token is on its way: wait for its acknowledgement.
            let waited = Transfers::new(self.cx.clone())
                .wait_until(pid, START_WAIT, |t| {
                    t.state == TransferState::Started || t.state.is_final()
                })
                .await?
                .filter(|t| t.role == Role::Provider)
                .ok_or_else(not_ours)?;
            transfer = waited;
            access = transfer.access.clone().ok_or_else(not_ours)?;
            if !access::matches(bearer, &access.token_digest) {
                return Err(not_ours());
            }
        }
        match self.check(pid, &transfer, Some(&access)).await {
            Ok(grant) => Ok(grant),
            Err(error) => {
                self.refused(pid, &transfer, &access.token_id, &error).await;
                Err(error)
            }
        }
    }

    /// Counts a pull of `grant` about to be served (a `GET` of something the dataset holds),
    /// refusing it — and recording the refusal — when the agreement's pulls are used up.
    pub async fn pulled(&self, grant: &Grant) -> Result<(), DataError> {
        let counted = self.count_pull(&grant.pid, grant).await;
        if let Err(error) = &counted {
            self.refused(&grant.pid, &grant.transfer, &grant.token_id, error)
                .await;
        }
        counted
    }

    /// Everything but the token: the expiry (when `access` is given), the state, the
    /// agreement's enforced obligations and grounds, and the offer's source.
    async fn check(
        &self,
        pid: &str,
        transfer: &Transfer,
        access: Option<&DataAccess>,
    ) -> Result<Grant, DataError> {
        if access.is_some_and(|a| a.expires_at <= unix_now()) {
            return Err(DataError::Expired);
        }
        if transfer.state != TransferState::Started {
            return Err(DataError::forbidden(
                "transfer_not_started",
                format!("the transfer is {}, not STARTED", transfer.state),
            ));
        }
        let (agreement_id, offer_id) = (transfer.agreement_id.clone(), transfer.offer_id.clone());
        let (agreement, offer) = self
            .cx
            .store()
            .blocking(move |s| {
                Ok::<_, StoreError>((s.agreements.get(&agreement_id)?, s.offers.get(&offer_id)?))
            })
            .await?;
        let agreement = agreement.ok_or_else(|| {
            DataError::forbidden(
                "dataset_withdrawn",
                "the transfer's agreement is not kept here",
            )
        })?;
        if let Some(reason) = agreement.withdrawn_reason() {
            return Err(DataError::forbidden("agreement_withdrawn", reason));
        }
        if Enforced::of(&agreement)
            .pull_until
            .is_some_and(|until| until < unix_now())
        {
            return Err(DataError::forbidden(
                "pull_window_closed",
                "the agreement's `pull_within` period is over",
            ));
        }
        if let Some(reason) = guard::first_fallen(&self.cx, &agreement.grounds).await {
            return Err(DataError::forbidden("credential_not_standing", reason));
        }
        let source = offer.and_then(|o| o.source).ok_or_else(|| {
            DataError::forbidden(
                "dataset_withdrawn",
                format!("dataset `{}` is no longer served", transfer.offer_id),
            )
        })?;
        Ok(Grant {
            pid: pid.to_owned(),
            transfer: transfer.clone(),
            source,
            grounds: agreement.grounds,
            token_id: access.map(|a| a.token_id.clone()).unwrap_or_default(),
        })
    }

    /// Counts one pull of `grant`'s process, refusing it when the agreement's `max_pulls` is
    /// used up (checked and counted in one transaction, so concurrent pulls cannot exceed it).
    async fn count_pull(&self, pid: &str, grant: &Grant) -> Result<(), DataError> {
        let agreement_id = grant.transfer.agreement_id.clone();
        let agreement = self
            .cx
            .store()
            .blocking(move |s| s.agreements.get(&agreement_id))
            .await?;
        let max = agreement.as_ref().and_then(|a| Enforced::of(a).max_pulls);
        let used_up = Arc::new(AtomicBool::new(false));
        let flag = used_up.clone();
        let change: TransferChange = Box::new(move |mut t| {
            if max.is_some_and(|max| t.pulls >= max) {
                flag.store(true, Ordering::Release);
            } else {
                t.pulls += 1;
            }
            Ok(t)
        });
        self.update(pid, change).await?;
        if used_up.load(Ordering::Acquire) {
            return Err(DataError::forbidden(
                "pulls_used_up",
                format!(
                    "the agreement allows {} pull(s), all used",
                    max.unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// `POST /data/token` with `grant_type=refresh_token`: new tokens for a STARTED process
    /// whose refresh token this is; the old pair stops working.
    pub async fn refresh(&self, refresh_token: &str) -> Result<(Issued, String), DataError> {
        let invalid = || DataError::InvalidGrant("the refresh token is not valid".into());
        let pid = access::refresh_process(refresh_token)
            .ok_or_else(invalid)?
            .to_owned();
        let key = pid.clone();
        let transfer = self
            .cx
            .store()
            .blocking(move |s| s.transfers.get(&key))
            .await?
            .filter(|t| t.role == Role::Provider)
            .ok_or_else(invalid)?;
        let old = transfer.access.clone().ok_or_else(invalid)?;
        if !access::matches(refresh_token, &old.refresh_digest) {
            return Err(invalid());
        }
        if let Err(error) = self.check(&pid, &transfer, None).await {
            self.refused(&pid, &transfer, &old.token_id, &error).await;
            return Err(error);
        }
        let (issued, _) = self.issue(&pid);
        let (fresh, replaced) = (issued.access.clone(), Arc::new(AtomicBool::new(false)));
        let flag = replaced.clone();
        let change: TransferChange = Box::new(move |mut t| {
            // Only the pair this refresh token belongs to is replaced: of two concurrent
            // refreshes with one token, one wins.
            if t.access.as_ref().map(|a| &a.refresh_digest) == Some(&old.refresh_digest) {
                t.access = Some(fresh);
                flag.store(true, Ordering::Release);
            }
            Ok(t)
        });
        let stored = self.update(&pid, change).await?;
        if !replaced.load(Ordering::Acquire) {
            return Err(invalid());
        }
        self.record_issued(&pid, &stored, &issued.access, "refresh")
            .await;
        Ok((issued, pid))
    }

    /// Applies `change` to process `pid` (no state change, so no audit record).
    async fn update(&self, pid: &str, change: TransferChange) -> Result<Transfer, DataError> {
        let key = pid.to_owned();
        self.cx
            .store()
            .blocking(move |s| s.transfers.update(&key, change, None))
            .await
            .map_err(|error| match error {
                TransferUpdateError::Store(e) => DataError::Store(e),
                TransferUpdateError::Missing(_) | TransferUpdateError::Illegal(_) => {
                    DataError::Unauthorized("the transfer is no longer kept here".into())
                }
            })
    }

    /// Records a refused request of the process's consumer.
    async fn refused(&self, pid: &str, transfer: &Transfer, token_id: &str, error: &DataError) {
        let mut event = self.cx.audit().event(
            EventKind::DataRefused,
            pid,
            error.code(),
            json!({ "token_id": token_id, "reason": error.to_string() }),
        );
        event.actor = transfer.counterparty.clone();
        if let Err(error) = self.cx.audit().record(event).await {
            tracing::error!(%error, pid, "cannot record a refused pull");
        }
    }

    /// Watches a response in flight for `grant`: the returned stop is set the moment the
    /// process leaves STARTED or a credential it rests on stops standing.
    pub fn guard(&self, grant: &Grant) -> Arc<body::Stop> {
        guard::spawn(&self.cx, grant.pid.clone(), grant.grounds.clone())
    }

    /// What records a served request of `grant` once its body ends.
    pub fn on_served(
        &self,
        grant: &Grant,
        path: Option<&str>,
        range: Option<String>,
        status: u16,
    ) -> impl FnOnce(Ended) + Send + 'static {
        let audit = self.cx.audit().clone();
        let mut event = audit.event(EventKind::DataServed, &grant.pid, "served", Value::Null);
        event.actor = grant.transfer.counterparty.clone();
        let details = json!({
            "token_id": grant.token_id,
            "path": path.map(|p| p.chars().take(200).collect::<String>()),
            "range": range,
            "status": status,
        });
        move |ended: Ended| {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let mut details = details;
            details["bytes"] = ended.sent.into();
            details["complete"] = ended.complete.into();
            details["cut"] = ended.cut.clone().into();
            event.outcome = if ended.complete { "served" } else { "cut" }.into();
            event.details = crate::audit::bounds::details(&details);
            runtime.spawn(async move {
                if let Err(error) = audit.record(event).await {
                    tracing::error!(%error, "cannot record a served pull");
                }
            });
        }
    }
}

/// Now, in Unix seconds.
fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
