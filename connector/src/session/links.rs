//! The links of a session: one outgoing and one incoming session stream per other party,
//! each bound to a party index of the manifest.
//!
//! A party opens a stream to every other party and sends first a [`Hello`]: the session id,
//! the manifest's digest, its own index and its countersignature of the digest. The receiver
//! accepts the stream for that index only if the session is registered here, the stream's
//! authenticated PeerId is the one the manifest names for the index, the digest is the one
//! this party countersigned, and the countersignature verifies for the index's DID. So the
//! engine starts only between parties that all countersigned the same manifest, and a peer
//! outside the roster — or inside it under another index — can send nothing: its stream is
//! refused and recorded (`session.stranger`).
//!
//! A party that has not registered the session yet answers "not yet"; the opener tries again
//! until the join deadline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use symbolon_audit::EventKind;
use symbolon_p2p::futures::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use symbolon_p2p::{NodeHandle, SessionStream, Stream};
use tokio::sync::Notify;

use super::manifest::{verify_countersignature, Manifest};
use super::transport::{Cut, Progress, SharedTranscript};
use crate::context::Connector;

/// The largest hello read.
const MAX_HELLO: usize = 16 * 1024;
/// How long a peer may take to send its hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an opener waits before asking a peer that had not registered the session again.
const RETRY_EVERY: Duration = Duration::from_millis(50);
/// Most sessions registered at once.
pub const MAX_SESSIONS: usize = 64;
/// Refused streams recorded per session; later ones are only logged.
const MAX_STRANGERS_RECORDED: usize = 16;
/// How long a refusal waits for its session's run to take it.
const REFUSALS_KEPT: Duration = Duration::from_secs(600);

const ACCEPTED: u8 = 0;
const NOT_YET: u8 = 1;
const REFUSED: u8 = 2;

/// The first frame on a session stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// The session's id.
    pub session: String,
    /// The manifest's digest the sender countersigned.
    pub digest: String,
    /// The sender's party index in the manifest.
    pub from: usize,
    /// The sender's countersignature of the digest.
    pub countersignature: String,
}

/// Why a session's links could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// This connector is not on the peer network.
    #[error("the connector is not on the peer network")]
    NoNetwork,
    /// The session is registered already, or too many are.
    #[error("{0}")]
    Register(String),
    /// A party refused our stream.
    #[error("party {party} ({did}) refused the session stream: {reason}")]
    Refused {
        /// The party's index.
        party: usize,
        /// Its DID.
        did: String,
        /// Why.
        reason: String,
    },
    /// Not every party joined before the deadline.
    #[error("parties {missing:?} did not join before the join deadline")]
    Deadline {
        /// The indices of the parties missing.
        missing: Vec<usize>,
    },
    /// The session was cancelled while joining.
    #[error("the session was cancelled")]
    Cancelled,
}

/// The streams of a joined session, by party index (`None` at our own index).
pub struct Joined {
    /// Streams we write to.
    pub outgoing: Vec<Option<Stream>>,
    /// Streams we read from.
    pub incoming: Vec<Option<Stream>>,
}

impl std::fmt::Debug for Joined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joined").finish_non_exhaustive()
    }
}

struct Registration {
    manifest: Arc<Manifest>,
    digest: String,
    me: usize,
    incoming: Vec<Option<Stream>>,
    arrived: Arc<Notify>,
    cancelled: bool,
    /// Refused streams recorded so far.
    strangers: usize,
}

/// The sessions this connector takes part in, waiting for or holding their incoming streams.
#[derive(Clone, Default)]
pub struct SessionLinks {
    sessions: Arc<Mutex<HashMap<String, Registration>>>,
    running: Arc<Mutex<HashMap<String, (Cut, SharedTranscript)>>>,
    refused: Arc<Mutex<HashMap<String, (String, std::time::Instant)>>>,
}

impl std::fmt::Debug for SessionLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLinks").finish_non_exhaustive()
    }
}

impl SessionLinks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Registration>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends `session` here: a joining one's [`join`] returns [`LinkError::Cancelled`], a
    /// running one's streams are cut (the engine fails on its next receive, and so do the
    /// other parties'). Returns whether the session was joining or running.
    pub fn cancel(&self, session: &str) -> bool {
        if let Some(registration) = self.lock().get_mut(session) {
            registration.cancelled = true;
            registration.arrived.notify_one();
            return true;
        }
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(session);
        running.map(|(cut, _)| cut.cut()).is_some()
    }

    /// Ends `session` here for `reason` (a holder refused, the operator cancelled), whether it
    /// is joining, running or not registered yet; the runner reports the reason.
    pub fn refuse(&self, session: &str, reason: String) {
        let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        // A refusal no run took (the session had ended) is forgotten after a while.
        refused.retain(|_, (_, at)| at.elapsed() < REFUSALS_KEPT);
        if refused.len() < 4 * MAX_SESSIONS {
            refused
                .entry(session.to_owned())
                .or_insert((reason, std::time::Instant::now()));
        }
        drop(refused);
        self.cancel(session);
    }

    /// Why `session` was refused here, if it was (and forgets it).
    pub fn take_refusal(&self, session: &str) -> Option<String> {
        self.refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(session)
            .map(|(reason, _)| reason)
    }

    fn is_refused(&self, session: &str) -> bool {
        self.refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(session)
    }

    /// Notes that `session` runs, with the handle that cuts its streams and its transcript.
    pub fn running(&self, session: &str, cut: Cut, transcript: SharedTranscript) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session.to_owned(), (cut, transcript));
    }

    /// How far a session running here has come: messages and bytes this party sent and
    /// received so far.
    pub fn progress(&self, session: &str) -> Option<Progress> {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let (_, transcript) = running.get(session)?;
        let progress = transcript
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .progress();
        Some(progress)
    }

    /// Notes that `session` stopped running.
    pub fn finished(&self, session: &str) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(session);
    }

    fn register(
        &self,
        manifest: Arc<Manifest>,
        digest: &str,
        me: usize,
    ) -> Result<Arc<Notify>, LinkError> {
        let mut sessions = self.lock();
        if sessions.len() >= MAX_SESSIONS {
            return Err(LinkError::Register(format!(
                "{MAX_SESSIONS} sessions are joining or running here already"
            )));
        }
        if sessions.contains_key(&manifest.session_id) {
            return Err(LinkError::Register(format!(
                "session `{}` is registered here already",
                manifest.session_id
            )));
        }
        let arrived = Arc::new(Notify::new());
        let parties = manifest.parties.len();
        sessions.insert(
            manifest.session_id.clone(),
            Registration {
                manifest,
                digest: digest.to_owned(),
                me,
                incoming: (0..parties).map(|_| None).collect(),
                arrived: arrived.clone(),
                cancelled: false,
                strangers: 0,
            },
        );
        Ok(arrived)
    }

    fn unregister(&self, session: &str) {
        self.lock().remove(session);
    }
}

/// Serves incoming session streams for the node's lifetime.
pub fn serve(node: &NodeHandle, connector: Connector) {
    let Some(mut streams) = node.session_streams() else {
        return;
    };
    tokio::spawn(async move {
        while let Some(stream) = streams.recv().await {
            let connector = connector.clone();
            tokio::spawn(async move { accept(connector, stream).await });
        }
    });
}

/// Reads a hello and accepts or refuses the stream.
async fn accept(connector: Connector, mut incoming: SessionStream) {
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, read_hello(&mut incoming.stream)).await {
        Ok(Ok(hello)) => hello,
        Ok(Err(reason)) => {
            let _ = reply(&mut incoming.stream, REFUSED, &reason).await;
            return;
        }
        Err(_) => return,
    };
    let peer_id = incoming.peer_id.to_base58();
    let verdict = check(&connector, &peer_id, &hello).await;
    match verdict {
        Verdict::Accept => {
            if reply(&mut incoming.stream, ACCEPTED, "").await.is_err() {
                return;
            }
            let mut sessions = connector.session_links().lock();
            if let Some(registration) = sessions.get_mut(&hello.session) {
                if let Some(slot) = registration.incoming.get_mut(hello.from) {
                    *slot = Some(incoming.stream);
                    registration.arrived.notify_one();
                }
            }
        }
        Verdict::NotYet => {
            let _ = reply(&mut incoming.stream, NOT_YET, "").await;
        }
        Verdict::Refuse { reason, stranger } => {
            tracing::warn!(peer = %incoming.did, session = %hello.session, %reason, "session stream refused");
            // On record before the peer hears the refusal; a peer that keeps trying fills the
            // trail with its first few attempts only.
            let record = stranger
                && connector
                    .session_links()
                    .lock()
                    .get_mut(&hello.session)
                    .is_some_and(|r| {
                        r.strangers += 1;
                        r.strangers <= MAX_STRANGERS_RECORDED
                    });
            if record {
                let audit = connector.audit();
                let mut event = audit.event(
                    EventKind::SessionStranger,
                    &hello.session,
                    "refused",
                    json!({"peer_id": peer_id, "claimed_party": hello.from, "reason": reason}),
                );
                event.actor = incoming.did.clone();
                if let Err(error) = audit.record(event).await {
                    tracing::error!(%error, "cannot record a refused session stream");
                }
            }
            let _ = reply(&mut incoming.stream, REFUSED, &reason).await;
        }
    }
}

enum Verdict {
    Accept,
    NotYet,
    Refuse { reason: String, stranger: bool },
}

async fn check(connector: &Connector, peer_id: &str, hello: &Hello) -> Verdict {
    let refuse = |reason: String, stranger: bool| Verdict::Refuse { reason, stranger };
    let found = {
        let sessions = connector.session_links().lock();
        sessions.get(&hello.session).map(|r| {
            let taken = r.incoming.get(hello.from).map(Option::is_some);
            (r.manifest.clone(), r.digest.clone(), r.me, taken)
        })
    };
    let Some((manifest, digest, me, taken)) = found else {
        return Verdict::NotYet;
    };
    let Some(party) = manifest
        .parties
        .get(hello.from)
        .filter(|_| hello.from != me)
    else {
        return refuse(
            format!(
                "party index {} is not another party of the session",
                hello.from
            ),
            true,
        );
    };
    if party.peer_id != peer_id {
        return refuse(
            format!(
                "party {} of the session is {}, not this peer",
                hello.from, party.did
            ),
            true,
        );
    }
    if hello.digest != digest {
        return refuse(
            "the stream is for another manifest than the one countersigned here".into(),
            false,
        );
    }
    if taken != Some(false) {
        return refuse(
            format!("party {} has a stream here already", hello.from),
            false,
        );
    }
    if let Err(error) = verify_countersignature(
        &hello.countersignature,
        &party.did,
        &hello.session,
        &digest,
        &connector.verification().resolver,
    )
    .await
    {
        return refuse(format!("the countersignature: {error}"), false);
    }
    Verdict::Accept
}

async fn read_hello<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Hello, String> {
    let mut len = [0u8; 4];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| format!("reading the hello: {e}"))?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_HELLO {
        return Err(format!("a hello is at most {MAX_HELLO} bytes"));
    }
    let mut body = vec![0u8; len];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| format!("reading the hello: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("the hello is malformed: {e}"))
}

async fn reply(stream: &mut Stream, status: u8, reason: &str) -> std::io::Result<()> {
    let reason = &reason.as_bytes()[..reason.len().min(1024)];
    let mut frame = vec![status];
    frame.extend_from_slice(&u16::try_from(reason.len()).unwrap_or(0).to_be_bytes());
    frame.extend_from_slice(reason);
    stream.write_all(&frame).await?;
    stream.flush().await
}

/// Joins `manifest`'s session as party `me` with our countersignature: registers it, opens a
/// stream to every other party and waits for theirs, until `deadline`.
pub async fn join(
    connector: &Connector,
    manifest: Arc<Manifest>,
    digest: &str,
    me: usize,
    countersignature: &str,
    deadline: tokio::time::Instant,
) -> Result<Joined, LinkError> {
    let node = connector
        .network()
        .peers()
        .node()
        .cloned()
        .ok_or(LinkError::NoNetwork)?;
    let links = connector.session_links().clone();
    let arrived = links.register(manifest.clone(), digest, me)?;
    let session = manifest.session_id.clone();
    let joined = async {
        let hello = Hello {
            session: session.clone(),
            digest: digest.to_owned(),
            from: me,
            countersignature: countersignature.to_owned(),
        };
        let cancelled =
            || links.is_refused(&session) || links.lock().get(&session).is_none_or(|r| r.cancelled);
        // The openers end with this function (the set aborts them when dropped).
        let mut openers = tokio::task::JoinSet::new();
        for (index, party) in manifest.parties.iter().enumerate() {
            if index == me {
                continue;
            }
            let (node, did, hello) = (node.clone(), party.did.clone(), hello.clone());
            openers.spawn(async move {
                let outcome = open(&node, &did, &hello, deadline).await;
                (index, did, outcome)
            });
        }
        let mut outgoing: Vec<Option<Stream>> = manifest.parties.iter().map(|_| None).collect();
        loop {
            if cancelled() {
                return Err(LinkError::Cancelled);
            }
            let next = tokio::select! {
                next = openers.join_next() => next,
                () = arrived.notified() => continue,
            };
            let Some(joined) = next else { break };
            let Ok((index, did, outcome)) = joined else {
                return Err(LinkError::Cancelled);
            };
            match outcome {
                Ok(stream) => outgoing[index] = Some(stream),
                Err(Opened::Refused(reason)) => {
                    return Err(LinkError::Refused {
                        party: index,
                        did,
                        reason,
                    })
                }
                Err(Opened::Deadline) => {
                    return Err(LinkError::Deadline {
                        missing: vec![index],
                    })
                }
            }
        }
        loop {
            let missing: Vec<usize> = {
                let sessions = links.lock();
                let registration = sessions.get(&session).ok_or(LinkError::Cancelled)?;
                if registration.cancelled || links.is_refused(&session) {
                    return Err(LinkError::Cancelled);
                }
                (0..manifest.parties.len())
                    .filter(|&i| i != me && registration.incoming[i].is_none())
                    .collect()
            };
            if missing.is_empty() {
                break;
            }
            if tokio::time::timeout_at(deadline, arrived.notified())
                .await
                .is_err()
            {
                return Err(LinkError::Deadline { missing });
            }
        }
        let incoming = links
            .lock()
            .get_mut(&session)
            .map(|r| std::mem::take(&mut r.incoming))
            .unwrap_or_default();
        Ok(Joined { outgoing, incoming })
    }
    .await;
    links.unregister(&session);
    joined
}

enum Opened {
    Refused(String),
    Deadline,
}

/// Opens our stream to `did` and sends the hello, until it is accepted, refused or the
/// deadline passes.
async fn open(
    node: &NodeHandle,
    did: &str,
    hello: &Hello,
    deadline: tokio::time::Instant,
) -> Result<Stream, Opened> {
    let body = serde_json::to_vec(hello).map_err(|e| Opened::Refused(e.to_string()))?;
    let len = u32::try_from(body.len()).map_err(|e| Opened::Refused(e.to_string()))?;
    loop {
        let attempt = async {
            let mut opened = node
                .open_session_stream(did)
                .await
                .map_err(|e| (false, e.to_string()))?;
            let stream = &mut opened.stream;
            let io = |e: std::io::Error| (false, e.to_string());
            stream.write_all(&len.to_be_bytes()).await.map_err(io)?;
            stream.write_all(&body).await.map_err(io)?;
            stream.flush().await.map_err(io)?;
            let mut head = [0u8; 3];
            stream.read_exact(&mut head).await.map_err(io)?;
            let mut reason = vec![0u8; usize::from(u16::from_be_bytes([head[1], head[2]]))];
            stream.read_exact(&mut reason).await.map_err(io)?;
            match head[0] {
                ACCEPTED => Ok(opened.stream),
                NOT_YET => Err((false, "not yet".to_owned())),
                _ => Err((true, String::from_utf8_lossy(&reason).into_owned())),
            }
        };
        match tokio::time::timeout_at(deadline, attempt).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err((true, reason))) => return Err(Opened::Refused(reason)),
            Ok(Err((false, reason))) => {
                tracing::trace!(did, %reason, "session stream not accepted yet");
            }
            Err(_) => return Err(Opened::Deadline),
        }
        if tokio::time::Instant::now() + RETRY_EVERY >= deadline {
            return Err(Opened::Deadline);
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

#[cfg(test)]
mod tests;
