//! The MPC engine's [`Transport`] over session streams: one outgoing and one incoming libp2p
//! stream per other party, bound to that party's index by the session's links
//! ([`super::links`]). Frames are a 4-byte big-endian length and the message; a frame longer
//! than [`MAX_FRAME`] ends the session. Every frame sent and received is hashed into the
//! party's [`Transcript`], which the parties compare at the end.
//!
//! The engine is blocking and runs on its own thread; the streams are async. A writer task
//! per peer drains a bounded queue into its stream, a reader task per peer fills one; the
//! engine's thread waits on them through the runtime's handle.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sha2::{Digest as _, Sha256};
use symbolon_mpc::{Transport, TransportError};
use symbolon_p2p::futures::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use symbolon_p2p::Stream;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

/// The largest frame read (256 MiB: a vector of 16 million field elements).
pub const MAX_FRAME: usize = 256 * 1024 * 1024;

/// What a frame's buffer starts with; it grows as the frame's bytes arrive.
const INITIAL_FRAME_CAPACITY: usize = 1 << 20;

/// Frames queued per peer before `send` waits.
const QUEUE: usize = 8;

/// The hashes of every frame a party sent to and received from each other party, in order.
/// Party i's `sent[j]` equals party j's `received[i]` exactly when the two saw the same bytes.
#[derive(Debug, Clone)]
pub struct Transcript {
    sent: Vec<Sha256>,
    received: Vec<Sha256>,
    /// Bytes sent per peer.
    bytes_sent: Vec<u64>,
    progress: Progress,
}

/// How far a party's run has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Progress {
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
}

impl Transcript {
    fn new(parties: usize) -> Self {
        Transcript {
            sent: vec![Sha256::new(); parties],
            received: vec![Sha256::new(); parties],
            bytes_sent: vec![0; parties],
            progress: Progress::default(),
        }
    }

    /// How far the run has come.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    fn absorb(hasher: &mut Sha256, frame: &[u8]) {
        hasher.update((frame.len() as u64).to_be_bytes());
        hasher.update(frame);
    }

    /// Lowercase hex SHA-256 of the frames sent to each party (empty for ourselves).
    pub fn sent(&self) -> Vec<String> {
        self.sent
            .iter()
            .map(|h| hex::encode(h.clone().finalize()))
            .collect()
    }

    /// Lowercase hex SHA-256 of the frames received from each party.
    pub fn received(&self) -> Vec<String> {
        self.received
            .iter()
            .map(|h| hex::encode(h.clone().finalize()))
            .collect()
    }

    /// Bytes sent in all (frame payloads).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.iter().sum()
    }
}

/// A shared handle on a transport's transcript, readable after the engine consumed it.
pub type SharedTranscript = Arc<Mutex<Transcript>>;

type Incoming = mpsc::Receiver<Result<Vec<u8>, TransportError>>;

/// What the session keeps of a transport it hands to the engine: the transcript, a way to
/// send and receive frames outside the engine once it is done, and the stream tasks, to cut
/// every stream at once.
#[derive(Debug)]
pub struct Handles {
    /// The transcript.
    pub transcript: SharedTranscript,
    senders: Vec<Option<mpsc::Sender<Vec<u8>>>>,
    receivers: Arc<Mutex<Vec<Option<Incoming>>>>,
    tasks: Vec<tokio::task::AbortHandle>,
}

/// Cuts a session's streams (cloneable, for watchers and cancellation).
#[derive(Debug, Clone, Default)]
pub struct Cut(Vec<tokio::task::AbortHandle>);

impl Cut {
    /// Cuts every stream of the session: the engine's next receive fails, and so does every
    /// other party's from us.
    pub fn cut(&self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl Handles {
    /// Cuts every stream of the session (see [`Cut::cut`]).
    pub fn cut(&self) {
        self.cut_handle().cut();
    }

    /// A handle that cuts the streams.
    pub fn cut_handle(&self) -> Cut {
        Cut(self.tasks.clone())
    }

    /// Sends a frame to `to` outside the engine (not in the transcript).
    pub async fn send(&self, to: usize, frame: Vec<u8>) -> bool {
        match self.senders.get(to).and_then(Option::as_ref) {
            Some(sender) => sender.send(frame).await.is_ok(),
            None => false,
        }
    }

    /// Receives the next frame from `from` outside the engine (once the engine is done), or
    /// `None` by `deadline`.
    pub async fn recv(&self, from: usize, deadline: tokio::time::Instant) -> Option<Vec<u8>> {
        let mut receiver = self
            .receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(from)?
            .take()?;
        let frame = tokio::time::timeout_at(deadline, receiver.recv()).await;
        if let Some(slot) = self
            .receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(from)
        {
            *slot = Some(receiver);
        }
        frame.ok().flatten().and_then(Result::ok)
    }

    /// Closes our side of every stream once the queued frames are written.
    pub fn close(&mut self) {
        self.senders.clear();
    }
}

/// The engine's transport over one session's streams.
pub struct StreamTransport {
    me: usize,
    parties: usize,
    outgoing: Vec<Option<mpsc::Sender<Vec<u8>>>>,
    incoming: Arc<Mutex<Vec<Option<Incoming>>>>,
    runtime: Handle,
    transcript: SharedTranscript,
}

impl std::fmt::Debug for StreamTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamTransport")
            .field("me", &self.me)
            .field("parties", &self.parties)
            .finish_non_exhaustive()
    }
}

impl StreamTransport {
    /// A transport for party `me` of `parties`: `outgoing[j]` and `incoming[j]` are the streams
    /// to and from party j (`None` for `me`). Spawns the reader and writer tasks on the current
    /// runtime; call from inside it.
    pub fn new(
        me: usize,
        parties: usize,
        outgoing: Vec<Option<Stream>>,
        incoming: Vec<Option<Stream>>,
    ) -> (StreamTransport, Handles) {
        let runtime = Handle::current();
        let mut tasks = Vec::new();
        let mut senders = Vec::with_capacity(parties);
        for (peer, stream) in outgoing.into_iter().enumerate() {
            senders.push(stream.map(|stream| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tasks.push(runtime.spawn(write_frames(stream, rx, peer)).abort_handle());
                tx
            }));
        }
        let mut receivers = Vec::with_capacity(parties);
        for (peer, stream) in incoming.into_iter().enumerate() {
            receivers.push(stream.map(|stream| {
                let (tx, rx) = mpsc::channel(QUEUE);
                tasks.push(runtime.spawn(read_frames(stream, tx, peer)).abort_handle());
                rx
            }));
        }
        let transcript = Arc::new(Mutex::new(Transcript::new(parties)));
        let receivers = Arc::new(Mutex::new(receivers));
        (
            StreamTransport {
                me,
                parties,
                outgoing: senders.clone(),
                incoming: receivers.clone(),
                runtime,
                transcript: transcript.clone(),
            },
            Handles {
                transcript,
                senders,
                receivers,
                tasks,
            },
        )
    }

    fn transcript(&self) -> std::sync::MutexGuard<'_, Transcript> {
        self.transcript
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes the queued frames of one peer until the queue closes, then closes the stream.
async fn write_frames(mut stream: Stream, mut frames: mpsc::Receiver<Vec<u8>>, peer: usize) {
    while let Some(frame) = frames.recv().await {
        let Ok(len) = u32::try_from(frame.len()) else {
            tracing::warn!(peer, "a session frame too long to send");
            break;
        };
        let written = async {
            stream.write_all(&len.to_be_bytes()).await?;
            stream.write_all(&frame).await?;
            stream.flush().await
        };
        if let Err(error) = written.await {
            tracing::debug!(%error, peer, "a session stream closed while writing");
            return;
        }
    }
    let _ = stream.close().await;
}

/// Reads frames from one peer until its stream ends or breaks; the end is passed on as an error.
async fn read_frames<S: AsyncRead + Unpin>(
    mut stream: S,
    frames: mpsc::Sender<Result<Vec<u8>, TransportError>>,
    peer: usize,
) {
    loop {
        let mut len = [0u8; 4];
        if let Err(source) = stream.read_exact(&mut len).await {
            let error = if source.kind() == std::io::ErrorKind::UnexpectedEof {
                TransportError::Disconnected { peer }
            } else {
                TransportError::Io { peer, source }
            };
            let _ = frames.send(Err(error)).await;
            return;
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > MAX_FRAME {
            let error = TransportError::TooLarge {
                peer,
                len: len as u64,
                cap: MAX_FRAME as u64,
            };
            let _ = frames.send(Err(error)).await;
            return;
        }
        // Memory grows with the bytes that arrive, not with the length a peer announces.
        let mut frame = Vec::with_capacity(len.min(INITIAL_FRAME_CAPACITY));
        let read = (&mut stream).take(len as u64).read_to_end(&mut frame).await;
        let complete = matches!(read, Ok(n) if n == len);
        if !complete {
            let source = read.err().unwrap_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the stream ended inside a frame",
                )
            });
            let _ = frames.send(Err(TransportError::Io { peer, source })).await;
            return;
        }
        if frames.send(Ok(frame)).await.is_err() {
            return;
        }
    }
}

impl Transport for StreamTransport {
    fn party(&self) -> usize {
        self.me
    }

    fn parties(&self) -> usize {
        self.parties
    }

    fn send(&mut self, to: usize, msg: Vec<u8>) -> Result<(), TransportError> {
        {
            let mut transcript = self.transcript();
            let hasher = transcript
                .sent
                .get_mut(to)
                .ok_or(TransportError::NoSuchPeer { peer: to })?;
            Transcript::absorb(hasher, &msg);
            if let Some(bytes) = transcript.bytes_sent.get_mut(to) {
                *bytes += msg.len() as u64;
            }
            transcript.progress.messages_sent += 1;
            transcript.progress.bytes_sent += msg.len() as u64;
        }
        let sender = self
            .outgoing
            .get(to)
            .and_then(Option::as_ref)
            .ok_or(TransportError::NoSuchPeer { peer: to })?;
        sender
            .blocking_send(msg)
            .map_err(|_| TransportError::Disconnected { peer: to })
    }

    fn recv(&mut self, from: usize, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        let mut incoming = self.incoming.lock().unwrap_or_else(PoisonError::into_inner);
        let receiver = incoming
            .get_mut(from)
            .and_then(Option::as_mut)
            .ok_or(TransportError::NoSuchPeer { peer: from })?;
        let next = self
            .runtime
            .block_on(tokio::time::timeout(timeout, receiver.recv()));
        drop(incoming);
        let frame = match next {
            Err(_) => {
                return Err(TransportError::Timeout {
                    peer: from,
                    timeout,
                })
            }
            Ok(None) => return Err(TransportError::Disconnected { peer: from }),
            Ok(Some(frame)) => frame?,
        };
        let mut transcript = self.transcript();
        if let Some(hasher) = transcript.received.get_mut(from) {
            Transcript::absorb(hasher, &frame);
        }
        transcript.progress.messages_received += 1;
        transcript.progress.bytes_received += frame.len() as u64;
        drop(transcript);
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use symbolon_p2p::futures::io::Cursor;

    async fn frames_of(bytes: Vec<u8>) -> Vec<Result<Vec<u8>, TransportError>> {
        let (tx, mut rx) = mpsc::channel(16);
        read_frames(Cursor::new(bytes), tx, 3).await;
        let mut out = Vec::new();
        while let Some(frame) = rx.recv().await {
            out.push(frame);
        }
        out
    }

    fn framed(payload: &[u8]) -> Vec<u8> {
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(payload);
        bytes
    }

    #[tokio::test]
    async fn frames_arrive_whole_and_the_end_of_the_stream_is_a_disconnection() {
        let mut bytes = framed(b"first");
        bytes.extend(framed(b""));
        bytes.extend(framed(&[7u8; 70_000]));
        let frames = frames_of(bytes).await;
        assert_eq!(frames.len(), 4);
        assert_eq!(frames[0].as_ref().unwrap(), b"first");
        assert!(frames[1].as_ref().unwrap().is_empty());
        assert_eq!(frames[2].as_ref().unwrap().len(), 70_000);
        assert!(matches!(
            frames[3],
            Err(TransportError::Disconnected { peer: 3 })
        ));
    }

    #[tokio::test]
    async fn an_oversized_or_truncated_frame_ends_the_stream_with_an_error() {
        let oversized = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
        let frames = frames_of(oversized).await;
        assert!(matches!(
            frames.as_slice(),
            [Err(TransportError::TooLarge { peer: 3, .. })]
        ));

        // A peer that announces 200 MiB and sends 10 bytes gets an error, and no 200 MiB
        // buffer is set aside for it.
        let mut truncated = (200u32 << 20).to_be_bytes().to_vec();
        truncated.extend_from_slice(&[1u8; 10]);
        let frames = frames_of(truncated).await;
        assert!(matches!(
            frames.as_slice(),
            [Err(TransportError::Io { peer: 3, .. })]
        ));

        let garbage = vec![0u8, 0, 1];
        let frames = frames_of(garbage).await;
        assert_eq!(frames.len(), 1);
        assert!(frames[0].is_err());
    }
}
