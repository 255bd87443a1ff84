//! One party's run of a session, from the countersignature to the end: join the other parties
//! over session streams ([`super::links`]), run the manifest's program from the library on
//! the engine ([`super::transport`]), seal the result to this connector's key if it is a
//! recipient, and end its transfer processes — completed, or terminated with the failure's
//! `mpc:` code, so that every party sees the session end and nothing is released on failure.
//!
//! While it runs, the credentials the party's agreement rests on are re-checked every second;
//! if one falls, the party cuts its streams, which ends the session for everyone within the
//! round timeout.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use symbolon_audit::EventKind;
use symbolon_mpc::programs::{self, Plan, ProgramError, Roles};
use symbolon_mpc::{FailureKind, MpcError, Party, SessionConfig, TransportError};

use super::links::{self, LinkError};
use super::manifest::{Manifest, PartyRole};
use super::seal;
use super::transport::{Handles, StreamTransport};
use crate::context::Connector;
use crate::dataplane::guard::first_fallen;
use crate::domain::{now, InputBinding, Session, SessionState};
use crate::transfer::Transfers;

/// How often a running party re-checks the credentials its agreement rests on.
const STANDING_EVERY: Duration = Duration::from_secs(1);
/// How long the analyst waits for the other parties' transcript reports after its run.
const REPORTS_WITHIN: Duration = Duration::from_secs(5);
/// The prefix of a transcript report frame.
const REPORT_TAG: &[u8] = b"symbolon-transcript:";
/// The JWS `typ` of a transcript report.
pub const REPORT_TYP: &str = "symbolon-mpc-transcript+jwt";
/// How long the analyst leaves holders to complete their transfers of a finished session.
const COMPLETION_GRACE: Duration = Duration::from_secs(5);
/// The longest join window honoured, whatever the manifest says.
const MAX_JOIN: Duration = Duration::from_secs(600);

/// One party's part in a session, as admitted (a holder) or started (the analyst).
#[derive(Debug, Clone)]
pub struct Part {
    /// The signed manifest.
    pub token: String,
    /// The manifest, verified.
    pub manifest: Arc<Manifest>,
    /// Its digest.
    pub digest: String,
    /// This party's index.
    pub index: usize,
    /// This party's countersignature of the digest.
    pub countersignature: String,
    /// This party's input data, if it is an input party.
    pub input: Option<InputBinding>,
    /// The credentials this party's admission rests on (re-checked while it runs).
    pub grounds: Vec<Value>,
}

/// Why a run ended without a result: an `mpc:` code and a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The profile's code.
    pub code: &'static str,
    /// Why, in words.
    pub reason: String,
}

impl Failure {
    pub(super) fn new(code: &'static str, reason: impl Into<String>) -> Self {
        Failure {
            code,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

/// The session's engine id: the first 16 bytes of the manifest digest.
fn engine_session_id(digest: &str) -> [u8; 16] {
    let bytes = hex::decode(digest).unwrap_or_default();
    let mut id = [0u8; 16];
    for (slot, byte) in id.iter_mut().zip(bytes) {
        *slot = byte;
    }
    id
}

/// The program and roles of `manifest`, checked against the library.
pub fn plan(manifest: &Manifest) -> Result<(Plan, Roles), Failure> {
    let engine = &manifest.engine;
    let (n, t) = (manifest.parties.len(), engine.threshold as usize);
    if engine.name != super::start::ENGINE
        || engine.security != super::start::SECURITY
        || t == 0
        || n < 2 * t + 1
    {
        return Err(Failure::new(
            "mpc:engine-unsupported",
            format!(
                "this connector runs `{}` ({}) with 1 ≤ threshold and 2·threshold + 1 ≤ parties; \
                 the manifest asks for `{}` ({}) with threshold {t} over {n} parties",
                super::start::ENGINE,
                super::start::SECURITY,
                engine.name,
                engine.security
            ),
        ));
    }
    let program = &manifest.program;
    let spec = programs::find(&program.id, &program.version).ok_or_else(|| {
        Failure::new(
            "mpc:program-unknown",
            format!(
                "the program `{}` version `{}` is not in this connector's library",
                program.id, program.version
            ),
        )
    })?;
    if spec.hash() != program.hash {
        return Err(Failure::new(
            "mpc:program-unknown",
            format!(
                "the manifest's hash of `{}` v{} is not this library's ({})",
                program.id,
                program.version,
                spec.hash()
            ),
        ));
    }
    let plan = programs::validate(spec, &program.params)
        .map_err(|e| Failure::new("mpc:program-params", e.to_string()))?;
    let roles = roles(manifest);
    roles
        .check(manifest.parties.len(), &plan)
        .map_err(|e| Failure::new("mpc:program-params", e.to_string()))?;
    Ok((plan, roles))
}

/// The engine's roles by party index.
pub fn roles(manifest: &Manifest) -> Roles {
    Roles {
        inputs: manifest
            .parties
            .iter()
            .enumerate()
            .filter(|(_, p)| p.roles.contains(&PartyRole::Input))
            .map(|(i, _)| i)
            .collect(),
        recipients: manifest
            .parties
            .iter()
            .enumerate()
            .filter(|(_, p)| manifest.recipients.contains(&p.did))
            .map(|(i, _)| i)
            .collect(),
    }
}

/// Runs `part` in the background; `record` is the session as stored when it was admitted or
/// started. The session's transfers here are ended when it ends.
pub fn spawn(connector: Connector, part: Part) {
    tokio::spawn(async move {
        let outcome = run(&connector, &part).await;
        finish(&connector, &part, outcome).await;
    });
}

/// What a successful run leaves.
struct Finished {
    sealed: Option<String>,
    transcript: Value,
    reports: Vec<String>,
}

async fn run(connector: &Connector, part: &Part) -> Result<Finished, Failure> {
    let fallen = Arc::new(std::sync::Mutex::new(None::<Failure>));
    let watch = watch_standing(connector, part, fallen.clone());
    let outcome = run_inner(connector, part).await;
    watch.abort();
    let fell = fallen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(failure) = fell {
        connector
            .session_links()
            .take_refusal(&part.manifest.session_id);
        return Err(failure);
    }
    let refusal = connector
        .session_links()
        .take_refusal(&part.manifest.session_id);
    match (refusal, outcome) {
        (Some(reason), Err(_)) if reason.starts_with(CANCELLED) => {
            Err(Failure::new("mpc:cancelled", reason))
        }
        // The refusal stopped the joining: it is the cause.
        (Some(reason), Err(failure)) if failure.code == "mpc:cancelled" => {
            Err(Failure::new("mpc:party-refused", reason))
        }
        // The run failed on its own (a party dropped, a round timed out) and a holder's
        // transfer ended for it too: the run's code, with the holder's word.
        (Some(reason), Err(failure)) => Err(Failure::new(
            failure.code,
            format!("{}; {reason}", failure.reason),
        )),
        (_, outcome) => outcome,
    }
}

/// How an operator's cancellation reason begins.
pub const CANCELLED: &str = "cancelled";

async fn run_inner(connector: &Connector, part: &Part) -> Result<Finished, Failure> {
    let manifest = part.manifest.clone();
    let (plan, roles) = plan(&manifest)?;
    let input = match (&part.input, roles.inputs.contains(&part.index)) {
        (Some(binding), true) => {
            let (binding, root) = (binding.clone(), connector.data_root().to_owned());
            let table = tokio::task::spawn_blocking(move || super::binding::load(&binding, &root))
                .await
                .map_err(|e| Failure::new("mpc:internal", e.to_string()))?
                .map_err(|e| Failure::new("mpc:input-unavailable", e.to_string()))?;
            Some(table)
        }
        (None, true) => {
            return Err(Failure::new(
                "mpc:input-unavailable",
                "this input party has no data bound to the offer",
            ))
        }
        (_, false) => None,
    };
    let deadline = join_deadline(&manifest);
    let joined = links::join(
        connector,
        manifest.clone(),
        &part.digest,
        part.index,
        &part.countersignature,
        deadline,
    )
    .await
    .map_err(|e| match e {
        LinkError::Deadline { .. } => Failure::new("mpc:join-timeout", e.to_string()),
        LinkError::Refused { .. } => Failure::new("mpc:party-refused", e.to_string()),
        LinkError::Cancelled => Failure::new("mpc:cancelled", e.to_string()),
        LinkError::NoNetwork | LinkError::Register(_) => {
            Failure::new("mpc:internal", e.to_string())
        }
    })?;
    transition(connector, part, SessionState::Running, json!({})).await;
    let (transport, mut handles) = StreamTransport::new(
        part.index,
        manifest.parties.len(),
        joined.outgoing,
        joined.incoming,
    );
    connector.session_links().running(
        &manifest.session_id,
        handles.cut_handle(),
        handles.transcript.clone(),
    );
    let config = SessionConfig::new(engine_session_id(&part.digest))
        .with_timeout(Duration::from_millis(
            manifest.round_timeout_ms.clamp(100, 600_000),
        ))
        .with_threshold(usize::try_from(manifest.engine.threshold).unwrap_or(usize::MAX));
    let k = manifest.min_group_size;
    let engine = tokio::task::spawn_blocking(move || {
        let mut party = Party::new(transport, &config).map_err(ProgramError::from)?;
        programs::run(&mut party, &plan, &roles, input.as_ref(), k)
    })
    .await;
    connector.session_links().finished(&manifest.session_id);
    let result = match engine {
        Ok(Ok(result)) => result,
        Ok(Err(error)) => {
            handles.cut();
            return Err(engine_failure(&error));
        }
        Err(error) => {
            handles.cut();
            return Err(Failure::new("mpc:internal", error.to_string()));
        }
    };
    let transcript = transcript_of(part, &handles);
    let reports = exchange_reports(connector, part, &handles, &transcript).await;
    handles.close();
    let sealed = match result {
        Some(result) => {
            let result = super::disclosure::control(connector, part, result.0).await?;
            Some(
                seal::seal_to(connector.identity(), result.to_string().as_bytes())
                    .map_err(|e| Failure::new("mpc:internal", e.to_string()))?,
            )
        }
        None => None,
    };
    Ok(Finished {
        sealed,
        transcript,
        reports,
    })
}

/// The join deadline: the manifest's, at most [`MAX_JOIN`] from now.
fn join_deadline(manifest: &Manifest) -> tokio::time::Instant {
    let now = chrono::Utc::now();
    let wanted = chrono::DateTime::parse_from_rfc3339(&manifest.join_deadline)
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or(now);
    let left = (wanted - now)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .min(MAX_JOIN);
    tokio::time::Instant::now() + left
}

/// The failure code of an engine error.
fn engine_failure(error: &ProgramError) -> Failure {
    let code = match error {
        ProgramError::Engine(MpcError::Transport(TransportError::Timeout { .. })) => {
            "mpc:round-timeout"
        }
        ProgramError::Engine(MpcError::Transport(_))
        | ProgramError::Engine(MpcError::PeerFailed {
            reason: FailureKind::Disconnected,
            ..
        }) => "mpc:party-dropped",
        ProgramError::Engine(MpcError::PeerFailed {
            reason: FailureKind::Timeout,
            ..
        }) => "mpc:round-timeout",
        ProgramError::Engine(_) => "mpc:engine-error",
        _ => "mpc:program-failed",
    };
    Failure::new(code, error.to_string())
}

/// Re-checks the party's grounds every second while it joins and runs; on a fall, records the
/// failure and ends the session here (joining stops, streams are cut).
fn watch_standing(
    connector: &Connector,
    part: &Part,
    failed: Arc<std::sync::Mutex<Option<Failure>>>,
) -> tokio::task::AbortHandle {
    let (connector, grounds) = (connector.clone(), part.grounds.clone());
    let session = part.manifest.session_id.clone();
    tokio::spawn(async move {
        if grounds.is_empty() {
            return;
        }
        loop {
            tokio::time::sleep(STANDING_EVERY).await;
            if let Some(reason) = first_fallen(&connector, &grounds).await {
                *failed
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some(Failure::new("mpc:credential-revoked", reason));
                connector.session_links().cancel(&session);
                return;
            }
        }
    })
    .abort_handle()
}

fn transcript_of(part: &Part, handles: &Handles) -> Value {
    let transcript = handles
        .transcript
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    json!({
        "party": part.index,
        "manifest_digest": part.digest,
        "sent": transcript.sent(),
        "received": transcript.received(),
        "bytes_sent": transcript.bytes_sent(),
    })
}

/// Every party but the analyst sends the analyst its signed transcript; the analyst collects
/// them (with its own first).
async fn exchange_reports(
    connector: &Connector,
    part: &Part,
    handles: &Handles,
    transcript: &Value,
) -> Vec<String> {
    let identity = connector.identity();
    let own = symbolon_identity::jose::sign(
        &identity.key,
        &identity.verification_method(),
        REPORT_TYP,
        transcript,
    );
    let Some(analyst) = part
        .manifest
        .parties
        .iter()
        .position(|p| p.did == part.manifest.iss)
    else {
        return Vec::new();
    };
    if analyst != part.index {
        let mut frame = REPORT_TAG.to_vec();
        frame.extend_from_slice(own.as_bytes());
        handles.send(analyst, frame).await;
        return vec![own];
    }
    let deadline = tokio::time::Instant::now() + REPORTS_WITHIN;
    let mut reports = vec![own];
    for index in (0..part.manifest.parties.len()).filter(|&i| i != part.index) {
        while let Some(frame) = handles.recv(index, deadline).await {
            if let Some(token) = frame.strip_prefix(REPORT_TAG) {
                reports.push(String::from_utf8_lossy(token).into_owned());
                break;
            }
        }
    }
    reports
}

/// Stores and records the end of the run, and ends this party's transfers accordingly.
async fn finish(connector: &Connector, part: &Part, outcome: Result<Finished, Failure>) {
    let transfers = Transfers::new(connector.clone());
    let pids = stored(connector, &part.manifest.session_id)
        .await
        .map(|s| s.transfers)
        .unwrap_or_default();
    match outcome {
        Ok(finished) => {
            let sealed_digest = finished
                .sealed
                .as_deref()
                .map(|s| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(s.as_bytes())));
            let details = json!({
                "transcript": finished.transcript,
                "reports": finished.reports,
            });
            let (sealed, transcript, reports) =
                (finished.sealed, finished.transcript, finished.reports);
            update(connector, part, move |s| {
                s.state = SessionState::Completed;
                s.sealed_result = sealed;
                s.transcript = Some(transcript);
                s.reports = reports;
            })
            .await;
            transition(connector, part, SessionState::Completed, details).await;
            if let Some(digest) = sealed_digest {
                let audit = connector.audit();
                let event = audit.event(
                    EventKind::SessionResult,
                    &part.manifest.session_id,
                    "delivered",
                    json!({"program": part.manifest.program.id, "sealed_sha256": digest}),
                );
                if let Err(error) = audit.record(event).await {
                    tracing::error!(%error, "cannot record a session's result");
                }
            }
            if part.manifest.iss == connector.did() {
                // Holders complete their transfers; one whose completion did not arrive is
                // completed from this side after a grace period.
                let (connector, pids) = (connector.clone(), pids.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(COMPLETION_GRACE).await;
                    let transfers = Transfers::new(connector);
                    for pid in &pids {
                        let started = transfers.own_transfer(pid).await.is_ok_and(|t| {
                            t.state == crate::transfer::state::TransferState::Started
                        });
                        if started {
                            if let Err(error) = transfers.complete(pid).await {
                                tracing::warn!(%error, pid, "a finished session's transfer was not completed");
                            }
                        }
                    }
                });
            } else {
                for pid in &pids {
                    if let Err(error) = transfers.complete(pid).await {
                        tracing::warn!(%error, pid, "a finished session's transfer was not completed");
                    }
                }
            }
        }
        Err(failure) => {
            tracing::warn!(session = %part.manifest.session_id, %failure, "session failed");
            let state = if failure.code == "mpc:cancelled" {
                SessionState::Cancelled
            } else {
                SessionState::Failed
            };
            let (code, reason) = (failure.code.to_owned(), failure.reason.clone());
            update(connector, part, move |s| {
                s.state = state;
                s.code = Some(code);
                s.reason = Some(reason);
            })
            .await;
            transition(
                connector,
                part,
                state,
                json!({"code": failure.code, "reason": failure.reason}),
            )
            .await;
            for pid in &pids {
                match transfers
                    .terminate_with(pid, failure.code, failure.reason.clone(), true)
                    .await
                {
                    Ok(_) | Err(crate::transfer::MoveError::Illegal(_)) => {}
                    Err(error) => {
                        tracing::warn!(%error, pid, "a failed session's transfer was not terminated")
                    }
                }
            }
        }
    }
}

/// The session `id` as stored here, if it is (a failed read is logged).
pub(crate) async fn stored(connector: &Connector, id: &str) -> Option<Session> {
    let key = id.to_owned();
    match connector
        .store()
        .blocking(move |s| s.sessions.get(&key))
        .await
    {
        Ok(session) => session,
        Err(error) => {
            tracing::error!(%error, session = id, "cannot read a session");
            None
        }
    }
}

/// Changes the stored session.
pub(crate) async fn update(
    connector: &Connector,
    part: &Part,
    change: impl FnOnce(&mut Session) + Send + 'static,
) {
    let id = part.manifest.session_id.clone();
    let written = connector
        .store()
        .blocking(move |s| {
            if let Some(mut session) = s.sessions.get(&id)? {
                change(&mut session);
                session.updated = now();
                s.sessions.put(&session)?;
            }
            Ok::<_, crate::store::StoreError>(())
        })
        .await;
    if let Err(error) = written {
        tracing::error!(%error, "cannot store a session's change");
    }
}

/// Records a move of the session in the audit trail.
pub(crate) async fn transition(
    connector: &Connector,
    part: &Part,
    state: SessionState,
    mut details: Value,
) {
    if let Some(map) = details.as_object_mut() {
        map.insert("manifest_digest".into(), part.digest.clone().into());
        map.insert("party".into(), part.index.into());
        map.insert("program".into(), part.manifest.program.id.clone().into());
    }
    if state == SessionState::Running {
        update(connector, part, |s| s.state = SessionState::Running).await;
    }
    let audit = connector.audit();
    let event = audit.event(
        EventKind::SessionTransition,
        &part.manifest.session_id,
        state.as_str(),
        details,
    );
    if let Err(error) = audit.record(event).await {
        tracing::error!(%error, "cannot record a session's transition");
    }
}
