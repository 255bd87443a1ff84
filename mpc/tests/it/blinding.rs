//! Record linkage and PSI against plaintext set operations.

use crate::sim::{agree, run};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::time::Duration;
use symbolon_mpc::encoding::IntCodec;
use symbolon_mpc::linkage;
use symbolon_mpc::psi::{self, PsiMode, PsiOutput};
use symbolon_mpc::{Channel, MemoryTransport, MpcError};

fn two_party_psi(a: Vec<String>, b: Vec<String>, mode: PsiMode) -> (PsiOutput, usize) {
    let mut ts = MemoryTransport::network(2);
    let tb = ts.pop().unwrap();
    let ta = ts.pop().unwrap();
    let sid = *b"psi-test-session";
    let t = Duration::from_secs(10);
    let h = std::thread::spawn(move || {
        let mut c = Channel::new(tb, sid, t).unwrap();
        psi::send(&mut c, 0, &b, mode).unwrap()
    });
    let mut c = Channel::new(ta, sid, t).unwrap();
    let out = psi::receive(&mut c, 1, &a, mode).unwrap();
    (out, h.join().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn psi_matches_plaintext_intersection(
        a in proptest::collection::btree_set(0u16..300, 0..40),
        b in proptest::collection::btree_set(0u16..300, 0..40),
    ) {
        let av: Vec<String> = a.iter().map(|x| format!("provider-{x}")).collect();
        let bv: Vec<String> = b.iter().map(|x| format!("provider-{x}")).collect();
        let expected: Vec<usize> = a.iter().enumerate().filter(|(_, x)| b.contains(x)).map(|(i, _)| i).collect();
        let (which, seen) = two_party_psi(av.clone(), bv.clone(), PsiMode::Which);
        prop_assert_eq!(which, PsiOutput::Which(expected.clone()));
        prop_assert_eq!(seen, a.len());
        let (count, _) = two_party_psi(av, bv, PsiMode::Count);
        prop_assert_eq!(count, PsiOutput::Count(expected.len()));
    }
}

/// Sizes that cross the thresholds at which hashing, blinding and
/// compression are split over the cores (512 and 2048 items) and are not
/// multiples of the split or of the 1024-point compression batches.
#[test]
fn psi_matches_at_sizes_split_over_threads_and_batches() {
    let a: Vec<String> = (0..2601).map(|x| format!("member-{}", x * 3)).collect();
    let b: Vec<String> = (0..2053).map(|x| format!("member-{}", x * 5)).collect();
    let expected: Vec<usize> = (0..2601)
        .filter(|x| (x * 3) % 5 == 0 && x * 3 / 5 < 2053)
        .collect();
    let (which, seen) = two_party_psi(a.clone(), b.clone(), PsiMode::Which);
    assert_eq!(which, PsiOutput::Which(expected.clone()));
    assert_eq!(seen, a.len());
    let (count, _) = two_party_psi(b.clone(), a.clone(), PsiMode::Count);
    assert_eq!(count, PsiOutput::Count(expected.len()));
    // Just above and below a threshold on one side, empty on the other.
    for (na, nb) in [(513, 511), (0, 700), (700, 0), (0, 0)] {
        let a: Vec<String> = (0..na).map(|x| format!("id-{x}")).collect();
        let b: Vec<String> = (0..nb).map(|x| format!("id-{}", x + 200)).collect();
        let want: Vec<usize> = (0..na).filter(|&x| x >= 200 && x < nb + 200).collect();
        let (which, seen) = two_party_psi(a.clone(), b.clone(), PsiMode::Which);
        assert_eq!(which, PsiOutput::Which(want.clone()), "{na} and {nb} items");
        assert_eq!(seen, na);
        let (count, _) = two_party_psi(a, b, PsiMode::Count);
        assert_eq!(count, PsiOutput::Count(want.len()), "{na} and {nb} items");
    }
}

#[test]
fn psi_inside_a_three_party_session_with_a_bystander() {
    let out = run(3, |p| {
        let me = p.index();
        let c = p.channel();
        let r = match me {
            0 => Some(psi::receive(c, 1, &["a", "b", "c"], PsiMode::Which)?),
            1 => {
                psi::send(c, 0, &["c", "d", "a"], PsiMode::Which)?;
                None
            }
            _ => {
                c.skip_rounds(psi::ROUNDS);
                None
            }
        };
        // The session goes on afterwards.
        let x = p.constant(&[symbolon_mpc::Fp::ONE]);
        p.open(&x)?;
        Ok(r)
    });
    let out: Vec<_> = out.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(out[0], Some(PsiOutput::Which(vec![0, 2])));
}

/// The receiver's reaction to a first message `payload` from the sender.
fn psi_receiver_sees(payload: Vec<u8>, mode: PsiMode) -> MpcError {
    let mut ts = MemoryTransport::network(2);
    let tb = ts.pop().unwrap();
    let ta = ts.pop().unwrap();
    let sid = *b"psi-test-session";
    let t = Duration::from_secs(5);
    let h = std::thread::spawn(move || {
        let mut c = Channel::new(tb, sid, t).unwrap();
        let mut m = c.message(0);
        m.extend_from_slice(&payload);
        let _ = c.exchange(vec![(0, m)], &[0]);
    });
    let mut c = Channel::new(ta, sid, t).unwrap();
    let e = psi::receive(&mut c, 1, &["x"], mode).unwrap_err();
    h.join().unwrap();
    e
}

#[test]
fn psi_rejects_invalid_points() {
    // Mode tag (1 = which, 2 = count), then a "point" that is not a
    // canonical Ristretto encoding.
    for (tag, mode) in [(1u8, PsiMode::Which), (2, PsiMode::Count)] {
        let mut payload = vec![tag];
        payload.extend_from_slice(&[0xff; 32]);
        let e = psi_receiver_sees(payload, mode);
        assert!(matches!(e, MpcError::BadPoint { peer: 1 }), "{e}");
    }
}

#[test]
fn psi_rejects_a_mode_mismatch_and_truncated_messages() {
    let mut payload = vec![2u8];
    payload.extend_from_slice(&[0; 32]);
    let e = psi_receiver_sees(payload, PsiMode::Which);
    assert!(matches!(e, MpcError::Malformed { peer: 1, .. }), "{e}");
    for bad in [vec![], vec![1u8], vec![1u8; 20]] {
        let e = psi_receiver_sees(bad, PsiMode::Which);
        assert!(matches!(e, MpcError::Malformed { peer: 1, .. }), "{e}");
    }
}

#[test]
fn linkage_aligns_records_across_three_to_five_parties() {
    for n in 3..=5usize {
        // Party i holds patients i..i+8 plus a few of its own.
        let ids = move |i: usize| -> Vec<String> {
            let mut v: Vec<String> = (i..i + 8).map(|k| format!("patient-{k}")).collect();
            v.push(format!("only-{i}"));
            v.reverse();
            v
        };
        let res = run(n, move |p| {
            let mine = ids(p.index());
            let linked = linkage::link(p.channel(), &mine)?;
            // Each party inputs the numeric part of its ids in row order; all must agree.
            let nums: Vec<i64> = mine
                .iter()
                .map(|s| {
                    s.strip_prefix("patient-")
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(-1)
                })
                .collect();
            let aligned = linked.align(&nums)?;
            let c = IntCodec::new(16)?;
            let shared = p.input_all(&c.encode(&aligned)?)?;
            // Differences between parties' columns must be zero row by row.
            let mut diffs = Vec::new();
            for s in &shared[1..] {
                diffs.push(s.sub(&shared[0])?);
            }
            let d = p.open(&symbolon_mpc::SecretVec::concat(
                &diffs.iter().collect::<Vec<_>>(),
            ))?;
            let first = p.open(&shared[0])?;
            Ok((
                linked.rows,
                d.iter().all(|x| *x == symbolon_mpc::Fp::ZERO),
                first,
            ))
        });
        let (rows, consistent, first) = agree(res);
        // Common to all: patients n-1 ..= 7.
        let expected: BTreeSet<i128> = ((n as i128 - 1)..8).collect();
        assert_eq!(rows, expected.len());
        assert!(consistent);
        let got: BTreeSet<i128> = first.iter().map(|x| x.to_i128()).collect();
        assert_eq!(got, expected);
    }
}

#[test]
fn private_linkage_hides_matches_and_aligns_attributes() {
    use symbolon_mpc::joint::link_private;
    for n in [3usize, 5] {
        // Party i holds patients i..i+6 (attribute = patient number × (i + 1)) and one of its own.
        let ids = move |i: usize| -> Vec<String> {
            let mut v: Vec<String> = (i..i + 6).map(|k| format!("patient-{k}")).collect();
            v.push(format!("only-{i}"));
            v.reverse();
            v
        };
        let res = run(n, move |p| {
            let me = p.index();
            let mine = ids(me);
            let attr: Vec<i64> = mine
                .iter()
                .map(|s| {
                    s.strip_prefix("patient-")
                        .and_then(|x| x.parse::<i64>().ok())
                        .unwrap_or(1000)
                        * (me as i64 + 1)
                })
                .collect();
            let c = IntCodec::new(32)?;
            let table = link_private(p, &mine, &[c.encode(&attr)?])?;
            // Over the rows held by all: count, and Σ of each party's attribute.
            let count = table.in_all.sum();
            let mut sums = Vec::new();
            for q in 0..p.parties() {
                sums.push(p.dot(&table.in_all, &table.columns[q][0])?);
            }
            let mut all = vec![&count];
            all.extend(sums.iter());
            let opened = p.open(&symbolon_mpc::SecretVec::concat(&all))?;
            let presence_total = p.open(&table.presence.iter().fold(
                p.constant(&vec![symbolon_mpc::Fp::ZERO; table.rows]),
                |acc, x| acc.add(x).unwrap(),
            ))?;
            Ok((
                table.rows,
                opened.iter().map(|x| x.to_i128()).collect::<Vec<_>>(),
                presence_total.iter().map(|x| x.to_i128()).sum::<i128>(),
            ))
        });
        let (rows, opened, presence_total) = agree(res);
        // Distinct ids: patients 0..n+5 plus n "only" ids.
        assert_eq!(rows, (n + 5) + n);
        assert_eq!(presence_total, 7 * n as i128);
        // Held by all: patients n-1..=5.
        let common: Vec<i128> = ((n as i128 - 1)..=5).collect();
        assert_eq!(opened[0], common.len() as i128);
        let base: i128 = common.iter().sum();
        for q in 0..n {
            assert_eq!(opened[1 + q], base * (q as i128 + 1), "party {q}'s column");
        }
    }
}
