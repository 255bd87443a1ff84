//! Input, open, linear operations and multiplication against plaintext.

use crate::sim::{agree, run};
use proptest::prelude::*;
use symbolon_mpc::encoding::IntCodec;
use symbolon_mpc::{Fp, MpcError, SecretVec};

fn enc(xs: &[i64]) -> Vec<Fp> {
    IntCodec::new(64).unwrap().encode(xs).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn sum_mul_and_linear_ops_match_plaintext(
        n in 3usize..=5,
        data in proptest::collection::vec((any::<i32>(), any::<i32>()), 1..20),
        k in any::<i16>(),
    ) {
        let a: Vec<i64> = data.iter().map(|p| i64::from(p.0)).collect();
        let b: Vec<i64> = data.iter().map(|p| i64::from(p.1)).collect();
        let len = a.len();
        let (a2, b2) = (a.clone(), b.clone());
        let out = agree(run(n, move |p| {
            let me = p.index();
            let sa = p.input(0, (me == 0).then(|| enc(&a2)).as_deref(), len)?;
            let sb = p.input(n - 1, (me == n - 1).then(|| enc(&b2)).as_deref(), len)?;
            let prod = p.mul(&sa, &sb)?;
            let lin = sa.add(&sb)?.sub(&sb.scale(Fp::from_i128(i128::from(k))))?.add_scalar(Fp::from_u64(7));
            let dot = p.dot(&sa, &sb)?;
            let all = SecretVec::concat(&[&prod, &lin, &dot]);
            let opened = p.open(&all)?;
            Ok(opened.iter().map(|x| x.to_i128()).collect::<Vec<i128>>())
        }));
        for i in 0..len {
            let (x, y) = (i128::from(a[i]), i128::from(b[i]));
            prop_assert_eq!(out[i], x * y);
            prop_assert_eq!(out[len + i], x + y - y * i128::from(k) + 7);
        }
        let dot: i128 = a.iter().zip(&b).map(|(&x, &y)| i128::from(x) * i128::from(y)).sum();
        prop_assert_eq!(out[2 * len], dot);
    }
}

#[test]
fn input_all_sum_with_every_party_count() {
    for n in 3..=5 {
        let out = agree(run(n, move |p| {
            let me = p.index() as i64;
            let shared = p.input_all(&enc(&[me, -me * 10]))?;
            let mut total = shared[0].clone();
            for s in &shared[1..] {
                total = total.add(s)?;
            }
            Ok(p.open(&total)?
                .iter()
                .map(|x| x.to_i128())
                .collect::<Vec<_>>())
        }));
        let s: i128 = (0..n as i128).sum();
        assert_eq!(out, vec![s, -10 * s]);
    }
}

#[test]
fn open_to_reaches_only_recipients() {
    let res = run(4, |p| {
        let x = p.input(1, (p.index() == 1).then(|| enc(&[42])).as_deref(), 1)?;
        p.open_to(&x, &[2])
    });
    let res: Vec<_> = res.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(res[2].as_deref(), Some(&[Fp::from_u64(42)][..]));
    assert!(res[0].is_none() && res[1].is_none() && res[3].is_none());
}

#[test]
fn salary_average_in_memory() {
    let salaries = [2500i64, 3250, 1800, 4320];
    let out = agree(run(4, move |p| {
        let shared = p.input_all(&enc(&[salaries[p.index()]]))?;
        let total = shared
            .iter()
            .skip(1)
            .try_fold(shared[0].clone(), |acc, s| acc.add(s))?;
        let sum = p.open(&total)?;
        Ok(format!("{:.2}", sum[0].to_i128() as f64 / 4.0))
    }));
    assert_eq!(out, "2967.50");
}

#[test]
fn salary_average_over_tcp() {
    use symbolon_mpc::tcp::loopback_listeners;
    use symbolon_mpc::{Party, TcpConfig, TcpTransport};
    let salaries = [2500i64, 3250, 1800, 4320];
    let (ls, addrs) = loopback_listeners(4).unwrap();
    let hs: Vec<_> = ls
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let addrs = addrs.clone();
            std::thread::spawn(move || {
                let t = TcpTransport::connect(i, &l, &addrs, &TcpConfig::default()).unwrap();
                let mut p = Party::new(t, &crate::sim::config()).unwrap();
                let shared = p.input_all(&enc(&[salaries[i]])).unwrap();
                let total = shared
                    .iter()
                    .skip(1)
                    .try_fold(shared[0].clone(), |a, s| a.add(s))
                    .unwrap();
                p.open(&total).unwrap()[0].to_i128() as f64 / 4.0
            })
        })
        .collect();
    for h in hs {
        assert_eq!(format!("{:.2}", h.join().unwrap()), "2967.50");
    }
}

#[test]
fn input_sum_matches_plaintext() {
    for n in 3..=5 {
        let out = agree(run(n, move |p| {
            let me = p.index() as i64;
            let total = p.input_sum(&enc(&[me, 1000 - me, -7]))?;
            Ok(p.open(&total)?
                .iter()
                .map(|x| x.to_i128())
                .collect::<Vec<_>>())
        }));
        let s: i128 = (0..n as i128).sum();
        assert_eq!(out, vec![s, 1000 * n as i128 - s, -7 * n as i128]);
    }
}

#[test]
fn open_sum_of_several_pieces_and_of_nothing() {
    // Longer than one of open_sum's pipelined pieces (65536 elements).
    let len = 65536 + 5;
    for n in [3, 4] {
        let out = agree(run(n, move |p| {
            let me = p.index() as i64;
            let xs: Vec<i64> = (0..len as i64).map(|i| i * (me + 1) - 3).collect();
            let a = p.open_sum(&enc(&xs))?;
            let empty = p.open_sum(&[])?;
            let after = p.open_sum(&enc(&[me]))?;
            Ok((
                a.iter().map(|x| x.to_i128()).collect::<Vec<_>>(),
                empty.len(),
                after[0].to_i128(),
            ))
        }));
        let parties = n as i128;
        let weights: i128 = (1..=parties).sum();
        for (i, &v) in out.0.iter().enumerate() {
            assert_eq!(v, i as i128 * weights - 3 * parties, "element {i}");
        }
        assert_eq!(out.0.len(), len);
        assert_eq!(out.1, 0);
        assert_eq!(out.2, (0..parties).sum::<i128>());
    }
}

#[test]
fn open_sum_matches_plaintext() {
    for n in 3..=5 {
        let out = agree(run(n, move |p| {
            let me = p.index() as i64;
            let a = p.open_sum(&enc(&[me, 1000 - me, -7]))?;
            // The session goes on normally afterwards.
            let b = p.open_sum(&enc(&[1]))?;
            Ok((
                a.iter().map(|x| x.to_i128()).collect::<Vec<_>>(),
                b[0].to_i128(),
            ))
        }));
        let s: i128 = (0..n as i128).sum();
        assert_eq!(out.0, vec![s, 1000 * n as i128 - s, -7 * n as i128]);
        assert_eq!(out.1, n as i128);
    }
}

#[test]
fn open_sum_bounded_matches_open_sum_at_the_edges_of_its_range() {
    // 62 bits for 4 parties fill the 64-bit ring exactly: the sums of the
    // extremes wrap modulo 2^64 and must still come out right. 14 bits for
    // 3 parties fill a ring of 2 bytes, 22 for 4 one of 3 bytes, 33 for 3
    // need 35 bits, in 5 bytes.
    let len = 65536 + 3;
    for (n, bits) in [(3usize, 33u32), (4, 62), (5, 61), (3, 14), (4, 22)] {
        let out = agree(run(n, move |p| {
            let me = p.index() as i64;
            let lo = -(1i64 << (bits - 1));
            let hi = (1i64 << (bits - 1)) - 1;
            let xs: Vec<i64> = (0..len as i64)
                .map(|i| match i % 4 {
                    0 => lo,
                    1 => hi,
                    2 => (i * (me + 1) - 7).clamp(lo, hi),
                    _ => (-i).max(lo),
                })
                .collect();
            let x = enc(&xs);
            let fast = p.open_sum_bounded(&x, bits)?;
            let slow = p.open_sum(&x)?;
            let empty = p.open_sum_bounded(&[], bits)?;
            Ok((
                fast.iter().map(|&v| i128::from(v)).collect::<Vec<_>>(),
                slow.iter().map(|v| v.to_i128()).collect::<Vec<_>>(),
                empty.len(),
            ))
        }));
        assert_eq!(out.0, out.1, "n = {n}, bits = {bits}");
        let parties = n as i128;
        assert_eq!(out.0[0], -(1i128 << (bits - 1)) * parties);
        assert_eq!(out.0[1], ((1i128 << (bits - 1)) - 1) * parties);
        assert_eq!(out.0.len(), len);
        assert_eq!(out.2, 0);
    }
}

#[test]
fn open_sum_bounded_rejects_values_and_widths_out_of_range() {
    let res = run(3, |p| {
        let me = p.index() as i64;
        // Party 2's 2^40 is outside 33 bits' [−2^32, 2^32).
        let v = if me == 2 { 1i64 << 40 } else { 5 };
        p.open_sum_bounded(&enc(&[v]), 33)
    });
    let err = res[2].as_ref().expect_err("out-of-range input accepted");
    assert!(
        matches!(err, symbolon_mpc::MpcError::OutOfRange { .. }),
        "{err}"
    );
    assert!(
        !err.to_string().contains("1099511627776"),
        "the error names the value: {err}"
    );
    // 63 bits for 3 parties could overflow 64 bits: refused by everyone.
    for r in run(3, |p| p.open_sum_bounded(&enc(&[1]), 63)) {
        assert!(matches!(r, Err(symbolon_mpc::MpcError::Config(_))));
    }
}

#[test]
fn open_checks_every_share_with_any_number_of_parties() {
    // Lengths around the hash's four lanes and its pieces of 256.
    for n in [3usize, 4, 5, 6, 7] {
        for len in [0usize, 1, 3, 4, 5, 255, 256, 257, 1001] {
            let res = run(n, move |p| {
                let me = p.index();
                let xs: Vec<i64> = (0..len as i64).map(|i| i * 7 - 300).collect();
                let mine = (me == 0).then(|| enc(&xs));
                let x = p.input(0, mine.as_deref(), len)?;
                let y = p.open(&x)?;
                Ok(y.iter().map(|v| v.to_i128()).collect::<Vec<_>>())
            });
            let want: Vec<i128> = (0..len as i128).map(|i| i * 7 - 300).collect();
            for r in res {
                assert_eq!(r.unwrap(), want, "n = {n}, len = {len}");
            }
        }
    }
}

#[test]
fn open_detects_a_shifted_share_sent_in_full_or_only_hashed() {
    // Party 1 opens with one share shifted. With three parties its full
    // shares go to party 0 (which then mispredicts party 2's) and a check
    // value goes to party 2: both fail, and so does party 1 (its own share
    // mispredicts party 0's). With five parties (t = 2) the same.
    for n in [3usize, 5] {
        for at in [0usize, 5, 299] {
            let res = run(n, move |p| {
                let me = p.index();
                let xs: Vec<i64> = (0..300).collect();
                let mine = (me == 0).then(|| enc(&xs));
                let x = p.input(0, mine.as_deref(), 300)?;
                let mut shares = x.shares().to_vec();
                if me == 1 {
                    shares[at] += Fp::ONE;
                }
                p.open(&SecretVec::from_shares(shares))
            });
            for (i, r) in res.into_iter().enumerate() {
                assert!(
                    matches!(r, Err(MpcError::BadShare { .. })),
                    "n = {n}, party {i}: {r:?}"
                );
            }
        }
    }
}
