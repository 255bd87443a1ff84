//! Response bodies of the data plane: a file read in chunks by a blocking thread (never whole
//! in memory), or an upstream body, wrapped so that it is cut the moment the data plane's
//! guard says stop, counts what it sent, and reports once when it ends.

use std::io;
use std::os::unix::fs::FileExt as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::sync::mpsc;

/// The size of a chunk read from a file.
pub const CHUNK: usize = 256 * 1024;
/// How many chunks a reader keeps ahead of the socket.
const AHEAD: usize = 4;

/// A stop signal for a response in flight, with why.
#[derive(Debug, Default)]
pub struct Stop {
    stopped: AtomicBool,
    reason: Mutex<Option<String>>,
}

impl Stop {
    /// Stops the response, giving `reason` (the first reason stays).
    pub fn stop(&self, reason: String) {
        if let Ok(mut slot) = self.reason.lock() {
            slot.get_or_insert(reason);
        }
        self.stopped.store(true, Ordering::Release);
    }

    /// Why it was stopped, if it was.
    pub fn reason(&self) -> Option<String> {
        if !self.stopped.load(Ordering::Acquire) {
            return None;
        }
        self.reason.lock().ok().and_then(|r| r.clone())
    }
}

/// A chunk stream.
pub type Chunks = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// `length` bytes of `file` from `offset`, read `CHUNK` bytes at a time by a blocking task a
/// few chunks ahead of the socket; it ends when the receiver is dropped.
pub fn file_chunks(file: std::fs::File, offset: u64, length: u64) -> Chunks {
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(AHEAD);
    tokio::task::spawn_blocking(move || {
        let (mut at, end) = (offset, offset.saturating_add(length));
        while at < end {
            let want = usize::try_from(end - at).map_or(CHUNK, |left| left.min(CHUNK));
            let mut buffer = BytesMut::zeroed(want);
            let chunk = match file.read_at(&mut buffer, at) {
                Ok(0) => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file is shorter than when its length was read",
                )),
                Ok(read) => {
                    buffer.truncate(read);
                    at += read as u64;
                    Ok(buffer.freeze())
                }
                Err(error) => Err(error),
            };
            let failed = chunk.is_err();
            if tx.blocking_send(chunk).is_err() || failed {
                return;
            }
        }
    });
    Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// How a body ended: the bytes it sent and, when it was cut short, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// Bytes handed to the socket.
    pub sent: u64,
    /// Whether every byte of the body was handed over.
    pub complete: bool,
    /// Why it was cut short (a stop, a read error, the consumer going away).
    pub cut: Option<String>,
}

/// A body that stops when told, counts its bytes and reports once when it ends.
pub struct Guarded {
    inner: Chunks,
    stop: Arc<Stop>,
    sent: u64,
    expected: Option<u64>,
    cut: Option<String>,
    finished: bool,
    on_end: Option<Box<dyn FnOnce(Ended) + Send>>,
}

impl Guarded {
    /// `inner`, of `expected` bytes when known, stopped by `stop`, reporting to `on_end`.
    pub fn new(
        inner: Chunks,
        expected: Option<u64>,
        stop: Arc<Stop>,
        on_end: impl FnOnce(Ended) + Send + 'static,
    ) -> Self {
        Guarded {
            inner,
            stop,
            sent: 0,
            expected,
            cut: None,
            finished: false,
            on_end: Some(Box::new(on_end)),
        }
    }
}

impl Stream for Guarded {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.finished {
            return Poll::Ready(None);
        }
        if let Some(reason) = self.stop.reason() {
            self.finished = true;
            self.cut = Some(reason.clone());
            return Poll::Ready(Some(Err(io::Error::other(reason))));
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.sent += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => {
                self.finished = true;
                self.cut = Some(error.to_string());
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                self.finished = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let complete = self.cut.is_none()
            && self.finished
            && self.expected.is_none_or(|expected| expected == self.sent);
        let cut = self.cut.take().or_else(|| {
            (!complete).then(|| "the consumer closed the connection before the end".to_owned())
        });
        if let Some(report) = self.on_end.take() {
            report(Ended {
                sent: self.sent,
                complete,
                cut,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt as _;
    use std::io::Write as _;

    fn file(bytes: &[u8]) -> std::fs::File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    fn reported() -> (
        Arc<Mutex<Option<Ended>>>,
        impl FnOnce(Ended) + Send + 'static,
    ) {
        let slot = Arc::new(Mutex::new(None));
        let writer = slot.clone();
        (slot, move |ended| *writer.lock().unwrap() = Some(ended))
    }

    #[tokio::test]
    async fn a_range_of_a_file_streams_in_chunks_and_reports_complete() {
        let content: Vec<u8> = (0..(CHUNK * 2 + 10)).map(|i| (i % 251) as u8).collect();
        let (start, length) = (5u64, CHUNK as u64 + 100);
        let (slot, on_end) = reported();
        let mut body = Guarded::new(
            file_chunks(file(&content), start, length),
            Some(length),
            Arc::default(),
            on_end,
        );
        let mut got = Vec::new();
        let mut chunks = 0;
        while let Some(chunk) = body.next().await {
            got.extend_from_slice(&chunk.unwrap());
            chunks += 1;
        }
        drop(body);
        assert_eq!(got, content[5..5 + CHUNK + 100]);
        assert_eq!(chunks, 2);
        let ended = slot.lock().unwrap().clone().unwrap();
        assert_eq!(
            ended,
            Ended {
                sent: length,
                complete: true,
                cut: None
            }
        );
    }

    #[tokio::test]
    async fn a_stop_cuts_the_body_with_its_reason() {
        let content = vec![7u8; CHUNK * 4];
        let stop = Arc::new(Stop::default());
        let (slot, on_end) = reported();
        let mut body = Guarded::new(
            file_chunks(file(&content), 0, content.len() as u64),
            Some(content.len() as u64),
            stop.clone(),
            on_end,
        );
        assert!(body.next().await.unwrap().is_ok());
        stop.stop("the transfer is SUSPENDED".into());
        stop.stop("a later reason is not kept".into());
        let error = body.next().await.unwrap().unwrap_err();
        assert_eq!(error.to_string(), "the transfer is SUSPENDED");
        assert!(body.next().await.is_none());
        drop(body);
        let ended = slot.lock().unwrap().clone().unwrap();
        assert_eq!(ended.sent, CHUNK as u64);
        assert!(!ended.complete);
        assert_eq!(ended.cut.as_deref(), Some("the transfer is SUSPENDED"));
    }

    #[tokio::test]
    async fn a_consumer_that_goes_away_is_reported_as_cut() {
        let content = vec![1u8; CHUNK * 2];
        let (slot, on_end) = reported();
        let mut body = Guarded::new(
            file_chunks(file(&content), 0, content.len() as u64),
            Some(content.len() as u64),
            Arc::default(),
            on_end,
        );
        assert!(body.next().await.unwrap().is_ok());
        drop(body);
        let ended = slot.lock().unwrap().clone().unwrap();
        assert!(!ended.complete);
        assert!(ended.cut.unwrap().contains("closed the connection"));
    }

    #[tokio::test]
    async fn a_file_that_shrank_ends_the_body_with_an_error() {
        let (slot, on_end) = reported();
        let mut body = Guarded::new(
            file_chunks(file(b"short"), 0, 100),
            Some(100),
            Arc::default(),
            on_end,
        );
        assert_eq!(body.next().await.unwrap().unwrap().as_ref(), b"short");
        assert!(body.next().await.unwrap().is_err());
        drop(body);
        assert!(!slot.lock().unwrap().clone().unwrap().complete);
    }
}
