//! New trust lists taken in, one at a time: installed by the operator, received from a peer
//! (installed at once, or kept for the operator's approval with `serve
//! --trust-list-approval`), approved or rejected. Each is recorded as a `trust_list.update`
//! event and, once installed, told to the peer network ([`super::distribution`]).

use std::time::Instant;

use serde_json::{json, Value};
use symbolon_audit::EventKind;
use tokio::sync::{Mutex, MutexGuard};

use super::decision::{self, Refusal, Verdict};
use super::pending::{Pending, PendingTrustList};
use super::refusals::RefusalLog;
use super::{verify_trust_list_credential, InstalledTrustList, TrustError};
use crate::audit::AuditError;
use crate::context::Connector;
use crate::datadir::{DataDir, DataDirError};

/// Why a new trust list was not taken.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// It does not verify, or it could not be saved.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// The connector is on the peer network of another data space than the list's.
    #[error(
        "this connector is on the peer network of data space `{joined}`, and the list governs \
         `{received}`: install it while `serve` is stopped (`symbolon trust-list install`), then \
         start `serve` again"
    )]
    OtherDataSpace {
        /// The data space of the peer network joined.
        joined: String,
        /// The list's.
        received: String,
    },
    /// No list waits for approval.
    #[error("no trust list is waiting for approval")]
    NothingPending,
    /// The pending list no longer replaces the installed one.
    #[error(
        "the pending trust list is {} against the installed one: reject it",
        .0.as_str()
    )]
    NoLongerNewer(Refusal),
    /// It was taken, but its event could not be recorded.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// The state of trust list updates: whether they wait for approval, the pending list, the
/// refusals recorded lately, and the lock that takes updates one at a time.
#[derive(Debug)]
pub struct TrustUpdates {
    approval: bool,
    pending: Pending,
    refusals: RefusalLog,
    lock: Mutex<()>,
}

impl TrustUpdates {
    /// The updates of the connector of `dir`; `approval` as `serve --trust-list-approval`.
    pub fn open(dir: &DataDir, approval: bool) -> Result<TrustUpdates, DataDirError> {
        Ok(TrustUpdates {
            approval,
            pending: Pending::load(dir)?,
            refusals: RefusalLog::default(),
            lock: Mutex::new(()),
        })
    }

    /// Whether a list received from a peer waits for the operator's approval.
    pub fn approval_required(&self) -> bool {
        self.approval
    }

    /// The list waiting for approval, if any.
    pub fn pending(&self) -> Option<std::sync::Arc<PendingTrustList>> {
        self.pending.current()
    }

    /// Takes the updates' lock: one update at a time.
    pub(super) async fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().await
    }

    /// Whether `peer`'s refusal for `reason` is to be recorded now.
    pub(super) fn should_record(&self, peer: &str, reason: Refusal) -> bool {
        self.refusals.should_record(peer, reason, Instant::now())
    }

    /// Keeps `pending` for approval.
    pub(super) async fn keep(&self, pending: PendingTrustList) -> Result<(), TrustError> {
        self.pending.keep(pending).await
    }
}

/// Where an update came from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The operator (management API or CLI).
    Operator,
    /// The peer of this DID.
    Peer(&'a str),
}

/// Verifies and installs the operator's `token`, records it and tells the peer network.
pub async fn install_from_operator(
    connector: &Connector,
    token: &str,
) -> Result<InstalledTrustList, UpdateError> {
    let verified =
        verify_trust_list_credential(token, connector.verification().resolver.clone()).await?;
    let _one_at_a_time = connector.trust_updates().lock().await;
    install(connector, verified.clone(), "installed", Source::Operator).await?;
    Ok(verified)
}

/// Installs the pending list after verifying it again (it must still replace the installed
/// one), records its approval and tells the peer network.
pub async fn approve(connector: &Connector) -> Result<InstalledTrustList, UpdateError> {
    let updates = connector.trust_updates();
    let _one_at_a_time = updates.lock().await;
    let pending = updates.pending().ok_or(UpdateError::NothingPending)?;
    let verified = verify_trust_list_credential(
        &pending.list.credential,
        connector.verification().resolver.clone(),
    )
    .await?;
    if let Some(installed) = connector.verification().trust.installed() {
        match decision::decide(&installed, &verified) {
            Verdict::Newer => {}
            Verdict::Unchanged => return Err(UpdateError::NoLongerNewer(Refusal::Stale)),
            Verdict::Refused(refusal) => return Err(UpdateError::NoLongerNewer(refusal)),
        }
    }
    install(
        connector,
        verified.clone(),
        "approved",
        Source::Peer(&pending.from),
    )
    .await?;
    Ok(verified)
}

/// Drops the pending list and records its rejection.
pub async fn reject(connector: &Connector) -> Result<PendingTrustList, UpdateError> {
    let updates = connector.trust_updates();
    let _one_at_a_time = updates.lock().await;
    let pending = updates
        .pending
        .clear()
        .await?
        .ok_or(UpdateError::NothingPending)?;
    let details = details(&pending.list, Source::Peer(&pending.from));
    record(connector, &pending.list, "rejected", details).await?;
    Ok(PendingTrustList::clone(&pending))
}

/// Installs a verified list (the caller holds the lock): checks it fits the peer network
/// joined, saves and swaps it in, hands it to the peer network's node, drops a pending list it
/// makes stale, records `outcome` and tells the other authenticated peers (not the one it came
/// from).
pub(super) async fn install(
    connector: &Connector,
    verified: InstalledTrustList,
    outcome: &str,
    source: Source<'_>,
) -> Result<(), UpdateError> {
    let node = connector.network().peers().node().cloned();
    if let (Some(_), Some(installed)) = (&node, connector.verification().trust.installed()) {
        if installed.list.data_space != verified.list.data_space {
            return Err(UpdateError::OtherDataSpace {
                joined: installed.list.data_space.clone(),
                received: verified.list.data_space.clone(),
            });
        }
    }
    connector
        .verification()
        .trust
        .install_verified(verified.clone())
        .await?;
    if let Some(node) = &node {
        if let Err(error) = node.replace_trust_list(verified.list.clone()).await {
            tracing::warn!(%error, "the peer network keeps checking peers against the old trust list");
        }
    }
    let updates = connector.trust_updates();
    if let Some(pending) = updates.pending() {
        if decision::decide(&verified, &pending.list) != Verdict::Newer {
            updates.pending.clear().await?;
        }
    }
    tracing::info!(
        data_space = %verified.list.data_space,
        anchor = %verified.list.anchor,
        outcome,
        "a new trust list is installed"
    );
    let except = match source {
        Source::Operator => None,
        Source::Peer(from) => Some(from.to_owned()),
    };
    let recorded = record(connector, &verified, outcome, details(&verified, source)).await;
    super::distribution::announce(connector, &verified.credential, except);
    recorded
}

/// What an update's event says of it.
pub(super) fn details(list: &InstalledTrustList, source: Source<'_>) -> Value {
    let mut details = list.summary();
    if let Some(object) = details.as_object_mut() {
        match source {
            Source::Operator => {
                object.insert("source".into(), json!("operator"));
            }
            Source::Peer(from) => {
                object.insert("source".into(), json!("peer"));
                object.insert("from".into(), json!(from));
            }
        }
    }
    details
}

/// Records a `trust_list.update` event about `list`.
pub(super) async fn record(
    connector: &Connector,
    list: &InstalledTrustList,
    outcome: &str,
    details: Value,
) -> Result<(), UpdateError> {
    let subject = list
        .id
        .clone()
        .unwrap_or_else(|| list.list.data_space.clone());
    let audit = connector.audit();
    audit
        .record(audit.event(EventKind::TrustListUpdate, subject, outcome, details))
        .await?;
    Ok(())
}
