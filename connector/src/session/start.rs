//! Starting sessions: the analyst's (a manifest over its agreements, a transfer per holder)
//! and a holder's part once it admitted one; cancelling one; reading a recipient's result.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::manifest::{countersign, digest, Engine, Manifest, Party, PartyRole, Program};
use super::runner::{self, Part};
use super::seal;
use crate::context::Connector;
use crate::domain::{new_urn, now, Session, SessionParty, SessionState};
use crate::store::StoreError;
use crate::transfer::state::TransferState;
use crate::transfer::{StartTransfer, Transfers};

/// The engine sessions run on.
pub const ENGINE: &str = "symbolon-mpc";
/// Its security model.
pub const SECURITY: &str = "semi-honest";
/// The default join window.
const DEFAULT_JOIN: Duration = Duration::from_secs(60);
/// The default round timeout.
const DEFAULT_ROUND_TIMEOUT_MS: u64 = 30_000;
/// How long a session's manifest stays valid after its join deadline.
const LIFETIME: chrono::Duration = chrono::Duration::hours(24);

/// The program an analyst asks for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ProgramChoice {
    /// Its id in the library (e.g. `mean`, `linked-group-stats`).
    pub id: String,
    /// Its version (default: the newest in the library).
    #[serde(default)]
    pub version: Option<String>,
    /// Its parameters.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
}

/// What an analyst starts.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    /// The program.
    pub program: ProgramChoice,
    /// The agreements (held here as consumer), one per data holder.
    pub agreements: Vec<String>,
    /// This connector's own computation offer whose bound data it brings as an input party.
    #[serde(default)]
    pub input_offer: Option<String>,
    /// The smallest group any released figure may describe (k).
    pub min_group_size: u64,
    /// The purpose (as the agreements' policies name it).
    pub purpose: String,
    /// How long parties may take to join (seconds; default 60, at most 600).
    #[serde(default)]
    pub join_seconds: Option<u64>,
    /// How long a round may take (milliseconds; default 30 000).
    #[serde(default)]
    pub round_timeout_ms: Option<u64>,
}

/// Why a session cannot be started, cancelled or read.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The request is unusable (400).
    #[error("{0}")]
    Invalid(String),
    /// No such session or agreement (404).
    #[error("{0}")]
    NotFound(String),
    /// Not possible in the session's state or this connector's (409).
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts a session as analyst: signs its manifest, stores it, requests an `MpcSession-PUSH`
/// transfer from every holder and runs this connector's part. Returns the session as stored.
pub async fn start(connector: &Connector, request: StartSession) -> Result<Session, SessionError> {
    let invalid = SessionError::Invalid;
    if connector.network().peers().node().is_none() {
        return Err(SessionError::Conflict(
            "sessions run on the peer network: serve with `--p2p <listen address>` first".into(),
        ));
    }
    if request.agreements.is_empty() || request.agreements.len() > 32 {
        return Err(invalid(
            "field `agreements`: name 1 to 32 agreements".into(),
        ));
    }
    let spec = match &request.program.version {
        Some(version) => symbolon_mpc::programs::find(&request.program.id, version),
        None => symbolon_mpc::programs::latest(&request.program.id),
    }
    .ok_or_else(|| {
        invalid(format!(
            "field `program`: no program `{}` version `{}` in the library",
            request.program.id,
            request.program.version.as_deref().unwrap_or("(latest)")
        ))
    })?;
    symbolon_mpc::programs::validate(spec, &request.program.params)
        .map_err(|e| invalid(format!("field `program.params`: {e}")))?;
    if request.min_group_size == 0 {
        return Err(invalid("field `min_group_size`: at least 1".into()));
    }
    let me = connector.did().to_owned();
    let mut parties = Vec::new();
    for id in &request.agreements {
        let key = id.clone();
        let agreement = connector
            .store()
            .blocking(move |s| s.agreements.get(&key))
            .await?
            .ok_or_else(|| SessionError::NotFound(format!("no agreement `{id}`")))?;
        if agreement.assignee != me {
            return Err(invalid(format!(
                "agreement `{id}` was made here as provider; an analyst names its own"
            )));
        }
        if parties.iter().any(|p: &Party| p.did == agreement.provider) {
            return Err(invalid(format!(
                "two agreements with `{}`: one per holder",
                agreement.provider
            )));
        }
        parties.push(party(
            &agreement.provider,
            vec![PartyRole::Input, PartyRole::Compute],
            Some(agreement.id.clone()),
        )?);
    }
    let input = match &request.input_offer {
        Some(offer_id) => {
            let key = offer_id.clone();
            let offer = connector
                .store()
                .blocking(move |s| s.offers.get(&key))
                .await?
                .ok_or_else(|| SessionError::NotFound(format!("no offer `{offer_id}`")))?;
            Some(offer.binding.ok_or_else(|| {
                invalid(format!(
                    "field `input_offer`: offer `{offer_id}` has no data bound to it"
                ))
            })?)
        }
        None => None,
    };
    let mut roles = vec![PartyRole::Compute, PartyRole::Output];
    if input.is_some() {
        roles.insert(0, PartyRole::Input);
    }
    parties.push(party(&me, roles, None)?);
    let n = parties.len();
    if n < 3 {
        return Err(invalid(
            "a session needs at least three parties (the engine's honest majority): name two \
             agreements, or one and an `input_offer`"
                .into(),
        ));
    }
    let join = request
        .join_seconds
        .map_or(DEFAULT_JOIN, Duration::from_secs)
        .min(Duration::from_secs(600));
    let deadline = chrono::Utc::now() + chrono::Duration::from_std(join).unwrap_or_default();
    let manifest = Manifest {
        iss: me.clone(),
        session_id: new_urn(),
        program: Program {
            id: spec.id.to_owned(),
            version: spec.version.to_owned(),
            hash: spec.hash(),
            params: request.program.params.clone(),
        },
        engine: Engine {
            name: ENGINE.into(),
            threshold: u32::try_from((n - 1) / 2).unwrap_or(1),
            security: SECURITY.into(),
        },
        parties,
        recipients: vec![me.clone()],
        min_group_size: request.min_group_size,
        purpose: request.purpose.clone(),
        join_deadline: symbolon_identity::credential::format_time(deadline),
        round_timeout_ms: request
            .round_timeout_ms
            .unwrap_or(DEFAULT_ROUND_TIMEOUT_MS)
            .clamp(100, 600_000),
        expires: symbolon_identity::credential::format_time(deadline + LIFETIME),
        nonce: new_urn(),
    };
    runner::plan(&manifest).map_err(|f| invalid(f.to_string()))?;
    let token = manifest.clone().sign(connector.identity());
    let digest = digest(&token);
    let countersignature = countersign(connector.identity(), &manifest.session_id, &digest);
    let part = Part {
        token: token.clone(),
        manifest: Arc::new(manifest),
        digest,
        index: n - 1,
        countersignature,
        input,
        grounds: Vec::new(),
    };
    let session = record(&part, true, Vec::new());
    let stored = session.clone();
    connector
        .store()
        .blocking(move |s| s.sessions.create(&stored))
        .await?;
    runner::transition(connector, &part, SessionState::Joining, json!({})).await;
    runner::spawn(connector.clone(), part.clone());
    request_transfers(connector, &part, &request.agreements).await;
    let id = part.manifest.session_id.clone();
    Ok(connector
        .store()
        .blocking(move |s| s.sessions.get(&id))
        .await?
        .unwrap_or(session))
}

fn party(
    did: &str,
    roles: Vec<PartyRole>,
    agreement: Option<String>,
) -> Result<Party, SessionError> {
    let peer_id = symbolon_p2p::peer_of_did(did)
        .map_err(|_| {
            SessionError::Invalid(format!(
                "`{did}` is not an Ed25519 did:key, so it has no peer identity to run a session"
            ))
        })?
        .to_base58();
    Ok(Party {
        did: did.to_owned(),
        peer_id,
        roles,
        agreement,
    })
}

/// A new session record for `part`.
fn record(part: &Part, analyst: bool, transfers: Vec<String>) -> Session {
    let manifest = &part.manifest;
    Session {
        id: manifest.session_id.clone(),
        analyst,
        manifest: part.token.clone(),
        digest: part.digest.clone(),
        program: format!("{}@{}", manifest.program.id, manifest.program.version),
        index: part.index,
        parties: manifest
            .parties
            .iter()
            .map(|p| SessionParty {
                did: p.did.clone(),
                roles: p
                    .roles
                    .iter()
                    .map(|r| {
                        serde_json::to_value(r)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default()
                    })
                    .collect(),
                transfer: None,
            })
            .collect(),
        transfers,
        state: SessionState::Joining,
        code: None,
        reason: None,
        sealed_result: None,
        transcript: None,
        reports: Vec::new(),
        created: now(),
        updated: now(),
    }
}

/// Requests every holder's transfer; a holder that refuses (or cannot be reached) cancels the
/// session for all.
async fn request_transfers(connector: &Connector, part: &Part, agreements: &[String]) {
    let transfers = Transfers::new(connector.clone());
    let mut changes = connector.watch_transfers();
    let requests = agreements.iter().map(|agreement| {
        transfers.request(StartTransfer {
            agreement_id: agreement.clone(),
            format: super::MPC_SESSION_FORMAT.into(),
            manifest: None,
            signed_manifest: Some(part.token.clone()),
        })
    });
    let outcomes = futures_util::future::join_all(requests).await;
    let mut pids = Vec::new();
    let mut refusal = None;
    for (index, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(transfer) => {
                if transfer.state == TransferState::Terminated && refusal.is_none() {
                    refusal = Some(refusal_of(&part.manifest.parties[index].did, &transfer));
                }
                pids.push((index, transfer.consumer_pid));
            }
            Err(error) => {
                refusal.get_or_insert_with(|| {
                    format!(
                        "the request to `{}` failed: {error}",
                        part.manifest.parties[index].did
                    )
                });
            }
        }
    }
    let stored_pids = pids.clone();
    runner::update(connector, part, move |s| {
        for (index, pid) in stored_pids {
            if let Some(party) = s.parties.get_mut(index) {
                party.transfer = Some(pid.clone());
            }
            s.transfers.push(pid);
        }
    })
    .await;
    if let Some(reason) = refusal {
        connector
            .session_links()
            .refuse(&part.manifest.session_id, reason);
        return;
    }
    // A holder that terminates its transfer while the session joins or runs ends it for all.
    let (connector, session) = (connector.clone(), part.manifest.session_id.clone());
    let holders: Vec<(String, String)> = pids
        .into_iter()
        .map(|(i, pid)| (pid, part.manifest.parties[i].did.clone()))
        .collect();
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok((pid, TransferState::Terminated)) => {
                    let Some((_, did)) = holders.iter().find(|(p, _)| *p == pid) else {
                        continue;
                    };
                    if ended(&connector, &session).await {
                        return;
                    }
                    let transfers = Transfers::new(connector.clone());
                    let reason = match transfers.own_transfer(&pid).await {
                        Ok(transfer) => refusal_of(did, &transfer),
                        Err(_) => format!("`{did}` terminated its transfer"),
                    };
                    connector.session_links().refuse(&session, reason);
                    return;
                }
                Ok((pid, TransferState::Completed)) if holders.iter().any(|(p, _)| *p == pid) => {}
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
            if ended(&connector, &session).await {
                return;
            }
        }
    });
}

/// Whether session `id` has ended here (or is not kept).
async fn ended(connector: &Connector, id: &str) -> bool {
    runner::stored(connector, id)
        .await
        .is_none_or(|s| s.state.is_final())
}

fn refusal_of(did: &str, transfer: &crate::domain::Transfer) -> String {
    format!(
        "`{did}` ended its transfer: {} {}",
        transfer.code.as_deref().unwrap_or("(no code)"),
        transfer.reason.join("; ")
    )
}

/// Runs a holder's part of a session it admitted (its transfer `pid` just STARTED).
pub async fn join_as_holder(connector: &Connector, pid: &str, part: Part) {
    let session = record(&part, false, vec![pid.to_owned()]);
    let created = connector
        .store()
        .blocking(move |s| s.sessions.create(&session))
        .await;
    match created {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(session = %part.manifest.session_id, "the session is known here already");
            return;
        }
        Err(error) => {
            tracing::error!(%error, "cannot store an admitted session");
            return;
        }
    }
    runner::transition(connector, &part, SessionState::Joining, json!({})).await;
    watch_holder_transfer(connector, pid, &part.manifest.session_id);
    runner::spawn(connector.clone(), part);
}

/// Ends a holder's part when the analyst terminates its transfer (a refusal elsewhere, a
/// cancellation), while the session joins or runs.
fn watch_holder_transfer(connector: &Connector, pid: &str, session: &str) {
    let mut changes = connector.watch_transfers();
    let (connector, pid, session) = (connector.clone(), pid.to_owned(), session.to_owned());
    tokio::spawn(async move {
        loop {
            match changes.recv().await {
                Ok((changed, TransferState::Terminated)) if changed == pid => {
                    if ended(&connector, &session).await {
                        return;
                    }
                    let transfers = Transfers::new(connector.clone());
                    let reason = match transfers.own_transfer(&pid).await {
                        Ok(transfer) => refusal_of(&transfer.counterparty, &transfer),
                        Err(_) => "the transfer was terminated".to_owned(),
                    };
                    connector.session_links().refuse(&session, reason);
                    return;
                }
                Ok((changed, state)) if changed == pid && state.is_final() => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Cancels a session that has not ended: its streams are cut or its joining stopped, and its
/// transfers here are terminated with `mpc:cancelled`.
pub async fn cancel(connector: &Connector, id: &str) -> Result<Session, SessionError> {
    let session = get(connector, id).await?;
    if session.state.is_final() {
        return Err(SessionError::Conflict(format!(
            "session `{id}` is {} already",
            session.state.as_str()
        )));
    }
    connector
        .session_links()
        .refuse(id, format!("{} by the operator", runner::CANCELLED));
    Ok(session)
}

/// The session `id` as stored.
pub async fn get(connector: &Connector, id: &str) -> Result<Session, SessionError> {
    let key = id.to_owned();
    connector
        .store()
        .blocking(move |s| s.sessions.get(&key))
        .await?
        .ok_or_else(|| SessionError::NotFound(format!("no session `{id}`")))
}

/// The result of a completed session, opened with this connector's key.
pub async fn result(connector: &Connector, id: &str) -> Result<Value, SessionError> {
    let session = get(connector, id).await?;
    let Some(sealed) = session.sealed_result else {
        return Err(match session.state {
            SessionState::Completed => SessionError::NotFound(format!(
                "session `{id}` delivered no result here: this connector is not a recipient"
            )),
            state => {
                SessionError::Conflict(format!("session `{id}` is {}: no result", state.as_str()))
            }
        });
    };
    let opened = seal::open(connector.identity(), &sealed)
        .map_err(|e| SessionError::Conflict(format!("the stored result: {e}")))?;
    serde_json::from_slice(&opened)
        .map_err(|e| SessionError::Conflict(format!("the stored result is not JSON: {e}")))
}

/// Ends, after a restart, every session this connector was joining or running when it stopped:
/// a run does not survive its process, so each is failed with `mpc:interrupted` and its
/// transfers terminated (the other parties' runs end on their own, on the closed streams).
/// Returns how many; the terminations run in the background.
pub fn end_interrupted(connector: &Connector) -> Result<usize, StoreError> {
    let interrupted: Vec<Session> = connector
        .store()
        .sessions
        .list()?
        .into_iter()
        .filter(|s| !s.state.is_final())
        .collect();
    let count = interrupted.len();
    let runtime = tokio::runtime::Handle::try_current().ok();
    for mut session in interrupted {
        let reason = "the connector restarted during the session".to_owned();
        session.state = SessionState::Failed;
        session.code = Some(INTERRUPTED.to_owned());
        session.reason = Some(reason.clone());
        session.updated = now();
        connector.store().sessions.put(&session)?;
        let Some(runtime) = runtime.as_ref() else {
            continue;
        };
        let connector = connector.clone();
        runtime.spawn(async move {
            let audit = connector.audit();
            let event = audit.event(
                symbolon_audit::EventKind::SessionTransition,
                &session.id,
                SessionState::Failed.as_str(),
                json!({"manifest_digest": session.digest, "party": session.index,
                       "code": INTERRUPTED, "reason": reason}),
            );
            if let Err(error) = audit.record(event).await {
                tracing::error!(%error, "cannot record an interrupted session");
            }
            let transfers = Transfers::new(connector.clone());
            for pid in &session.transfers {
                match transfers
                    .terminate_with(pid, INTERRUPTED, reason.clone(), true)
                    .await
                {
                    Ok(_) | Err(crate::transfer::MoveError::Illegal(_)) => {}
                    Err(error) => {
                        tracing::warn!(%error, pid, "an interrupted session's transfer was not terminated")
                    }
                }
            }
        });
    }
    if count > 0 {
        tracing::info!(count, "sessions interrupted by the restart ended");
    }
    Ok(count)
}

/// The code of a session a restart interrupted.
pub const INTERRUPTED: &str = "mpc:interrupted";
