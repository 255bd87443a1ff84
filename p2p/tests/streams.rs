//! Session streams: two members move bytes both ways over one stream; a stream is opened only
//! to an authenticated peer, and one that nothing takes is dropped and reported.

use symbolon_p2p::futures::{AsyncReadExt as _, AsyncWriteExt as _};
use symbolon_p2p::{Node, P2pError, P2pEvent};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_exchange_bytes_on_session_streams_and_strangers_get_none() {
    let authority = Authority::new();
    let (a, b) = (
        Member::new(&authority, "Hospital").await,
        Member::new(&authority, "Insurer").await,
    );
    let first = Node::start(a.config(&authority, &[])).await.unwrap();
    let second = Node::start(b.config(&authority, &[&first])).await.unwrap();
    assert!(wait_mesh(&[&first, &second], WAIT).await);

    // Until the application takes the incoming streams, they are dropped and reported.
    let mut events = second.events();
    let mut early = first
        .open_session_stream(&second.did().to_string())
        .await
        .unwrap();
    let refused = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(P2pEvent::StreamRefused { did, reason, .. }) = events.recv().await {
                break (did, reason);
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(refused.0, first.did().to_string());
    assert!(refused.1.contains("nothing here accepts"), "{}", refused.1);
    let mut byte = [0u8; 1];
    assert!(matches!(early.stream.read(&mut byte).await, Ok(0) | Err(_)));

    let mut incoming = second.session_streams().unwrap();
    assert!(second.session_streams().is_none(), "one receiver only");
    let mut outgoing = first
        .open_session_stream(&second.peer_id().to_string())
        .await
        .unwrap();
    assert_eq!(outgoing.did, second.did().to_string());
    let payload: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let sent = payload.clone();
    let writer = tokio::spawn(async move {
        outgoing.stream.write_all(&sent).await.unwrap();
        outgoing.stream.flush().await.unwrap();
        let mut answer = [0u8; 2];
        outgoing.stream.read_exact(&mut answer).await.unwrap();
        answer
    });
    let mut accepted = tokio::time::timeout(WAIT, incoming.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accepted.did, first.did().to_string());
    assert_eq!(accepted.peer_id, first.peer_id());
    let mut received = vec![0u8; payload.len()];
    accepted.stream.read_exact(&mut received).await.unwrap();
    assert!(received == payload, "the bytes arrive as sent");
    accepted.stream.write_all(b"ok").await.unwrap();
    accepted.stream.flush().await.unwrap();
    assert_eq!(&writer.await.unwrap(), b"ok");

    // A peer that is not (or no longer) authenticated gets no stream.
    let stranger = Member::new(&Authority::new(), "Hospital").await;
    let outsider = Node::start(stranger.config(&authority, &[])).await.unwrap();
    let error = first
        .open_session_stream(&outsider.did().to_string())
        .await
        .unwrap_err();
    assert!(
        matches!(error, P2pError::NotAuthenticated { .. }),
        "{error}"
    );
}
