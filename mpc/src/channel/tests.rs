use super::*;
use crate::memory::MemoryTransport;
use proptest::prelude::*;

#[test]
fn a_failure_notice_names_the_failed_party_and_is_passed_on() {
    let t = Duration::from_millis(500);
    let mut chans: Vec<Channel<MemoryTransport>> = MemoryTransport::network(4)
        .into_iter()
        .map(|tr| Channel::new(tr, [7; 16], t).unwrap())
        .collect();
    // Party 1 saw party 3's connection fail and tells 0 and 2.
    chans[1].notify_failure(&MpcError::Transport(TransportError::Disconnected {
        peer: 3,
    }));
    let error = chans[0].exchange(Vec::new(), &[1]).unwrap_err();
    assert!(
        matches!(
            error,
            MpcError::PeerFailed {
                failed: 3,
                reporter: 1,
                reason: FailureKind::Disconnected
            }
        ),
        "{error}"
    );
    assert_eq!(error.failed_party(), Some(3));
    // Party 0 passed it on to party 2 (not back to 1, not to 3).
    let error = chans[2].exchange(Vec::new(), &[0]).unwrap_err();
    assert!(
        matches!(
            error,
            MpcError::PeerFailed {
                failed: 3,
                reporter: 0,
                ..
            }
        ),
        "{error}"
    );
    assert!(matches!(
        chans[3].transport.recv(0, Duration::from_millis(20)),
        Err(TransportError::Timeout { .. })
    ));
}

#[test]
fn a_notice_that_names_its_sender_or_no_party_is_refused() {
    let mut net = MemoryTransport::network(3);
    let b = net.remove(1);
    let a = net.remove(0);
    let sender = Channel::new(a, [7; 16], Duration::from_millis(100)).unwrap();
    let mut receiver = Channel::new(b, [7; 16], Duration::from_millis(100)).unwrap();
    let mut a = sender.into_transport();
    for payload in [vec![0, 0, 1], vec![9, 0, 1], vec![2, 0, 7], vec![2, 0]] {
        let mut m = Channel::new(
            MemoryTransport::network(3).remove(0),
            [7; 16],
            Duration::from_millis(100),
        )
        .unwrap()
        .message(1);
        m[1] = NOTICE_VERSION;
        m.extend_from_slice(&payload);
        a.send(1, m).unwrap();
        let error = receiver.exchange(Vec::new(), &[0]).unwrap_err();
        assert!(
            matches!(error, MpcError::Malformed { peer: 0, .. }),
            "{payload:?}: {error}"
        );
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_are_rejected_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut net = MemoryTransport::network(2);
        let b = net.pop().unwrap();
        let mut a = net.pop().unwrap();
        a.send(1, bytes).unwrap();
        let mut chan = Channel::new(b, [7; 16], Duration::from_millis(100)).unwrap();
        prop_assert!(chan.exchange(Vec::new(), &[0]).is_err());
    }

    #[test]
    fn arbitrary_payloads_parse_or_fail_cleanly(payload in proptest::collection::vec(any::<u8>(), 0..100), n in 0usize..8) {
        let mut net = MemoryTransport::network(2);
        let b = net.pop().unwrap();
        let a = net.pop().unwrap();
        let sender = Channel::new(a, [7; 16], Duration::from_millis(100)).unwrap();
        let mut m = sender.message(1);
        m.extend_from_slice(&payload);
        let mut a = sender.into_transport();
        a.send(1, m).unwrap();
        let mut chan = Channel::new(b, [7; 16], Duration::from_millis(100)).unwrap();
        let inc = chan.exchange(Vec::new(), &[0]).unwrap();
        let _ = inc[0].elements(n);
    }
}
