//! Study operations against plaintext computations.

use crate::sim::{agree, run};
use proptest::prelude::*;
use symbolon_mpc::encoding::{FixedCodec, IntCodec};
use symbolon_mpc::stats::{self, Disclosed};
use symbolon_mpc::Fp;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * (1.0 + a.abs().max(b.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn moments_regression_and_dot_match_plaintext(
        n in 3usize..=5,
        rows in proptest::collection::vec((-100.0f64..100.0, -50.0f64..50.0, 0u8..2), 3..15),
    ) {
        let f = FixedCodec::default();
        // Quantise as the encoding does, so plaintext and secret agree exactly.
        let q = |v: f64| f.decode(f.encode(&[v]).unwrap()[0]);
        let x: Vec<f64> = rows.iter().map(|r| q(r.0)).collect();
        let z: Vec<f64> = rows.iter().map(|r| q(r.1)).collect();
        let mask: Vec<i64> = rows.iter().map(|r| i64::from(r.2)).collect();
        let y: Vec<f64> = x.iter().zip(&z).enumerate().map(|(i, (a, b))| q(1.5 + 2.0 * a - 0.5 * b + (i % 3) as f64)).collect();
        let len = x.len();
        let (x2, z2, y2, m2) = (x.clone(), z.clone(), y.clone(), mask.clone());
        let out = agree(run(n, move |p| {
            let me = p.index();
            let last = p.parties() - 1;
            // The insurer (0) holds x and the mask, the last party z and y.
            let sx = p.input(0, (me == 0).then(|| f.encode(&x2)).transpose()?.as_deref(), len)?;
            let sm = p.input(0, (me == 0).then(|| IntCodec::new(2)?.encode(&m2)).transpose()?.as_deref(), len)?;
            let sz = p.input(last, (me == last).then(|| f.encode(&z2)).transpose()?.as_deref(), len)?;
            let sy = p.input(last, (me == last).then(|| f.encode(&y2)).transpose()?.as_deref(), len)?;
            let all = stats::moments(p, &sx, None, &f)?;
            let sel = stats::moments(p, &sx, Some(&sm), &f)?;
            let reg = stats::linear_regression(p, &[&sx, &sz], &sy, None, &f)?;
            let dot = p.dot(&sx, &sz)?;
            let dot = f.decode_scaled(p.open(&dot)?[0], 2);
            Ok((all, sel, reg.coefficients, dot))
        }));
        let (all, sel, _coef, got_dot) = out;
        let mean = x.iter().sum::<f64>() / len as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (len as f64 - 1.0);
        prop_assert_eq!(all.count, len as f64);
        prop_assert!(close(all.mean, mean), "{} vs {}", all.mean, mean);
        prop_assert!(close(all.variance, var), "{} vs {}", all.variance, var);
        prop_assert!(close(all.std_dev, var.sqrt()));
        let sel_n: i64 = mask.iter().sum();
        prop_assert_eq!(sel.count, sel_n as f64);
        let sel_sum: f64 = x.iter().zip(&mask).map(|(v, &m)| v * m as f64).sum();
        prop_assert!(close(sel.sum, sel_sum));
        let dot: f64 = x.iter().zip(&z).map(|(a, b)| a * b).sum();
        prop_assert!(close(got_dot, dot));
    }
}

#[test]
fn regression_recovers_an_exact_linear_model() {
    let f = FixedCodec::default();
    let x1: Vec<f64> = (0..12).map(|i| i as f64).collect();
    let x2: Vec<f64> = (0..12).map(|i| ((i * 7) % 5) as f64).collect();
    let y: Vec<f64> = x1
        .iter()
        .zip(&x2)
        .map(|(a, b)| 3.0 + 0.5 * a - 2.0 * b)
        .collect();
    let coef = agree(run(3, move |p| {
        let me = p.index();
        let s1 = p.input(
            0,
            (me == 0).then(|| f.encode(&x1)).transpose()?.as_deref(),
            12,
        )?;
        let s2 = p.input(
            1,
            (me == 1).then(|| f.encode(&x2)).transpose()?.as_deref(),
            12,
        )?;
        let sy = p.input(
            2,
            (me == 2).then(|| f.encode(&y)).transpose()?.as_deref(),
            12,
        )?;
        let r = stats::linear_regression(p, &[&s1, &s2], &sy, None, &f)?;
        Ok(r.coefficients
            .iter()
            .map(|c| format!("{c:.6}"))
            .collect::<Vec<_>>())
    }));
    assert_eq!(coef, vec!["3.000000", "0.500000", "-2.000000"]);
}

#[test]
fn histogram_group_by_and_disclosure_match_plaintext() {
    for n in [3usize, 4, 5] {
        let labels: Vec<i64> = vec![0, 1, 2, 1, 1, 0, 2, 2, 2, 1, 0, 1];
        let values: Vec<i64> = vec![5, -3, 10, 7, 8, 0, 1, 2, 3, 4, 6, 9];
        let (l2, v2) = (labels.clone(), values.clone());
        let out = agree(run(n, move |p| {
            let c = IntCodec::new(16)?;
            let me = p.index();
            let sl = p.input(
                0,
                (me == 0).then(|| c.encode(&l2)).transpose()?.as_deref(),
                12,
            )?;
            let sv = p.input(
                1,
                (me == 1).then(|| c.encode(&v2)).transpose()?.as_deref(),
                12,
            )?;
            let hist = stats::histogram(p, &sv, &c.encode(&[0, 5])?, 16)?;
            let hist = p.open(&hist)?;
            let g = stats::group_by(p, &sl, 3, &[&sv], 4)?;
            let counts = p.open(&g.counts)?;
            let sums = p.open(&g.sums[0])?;
            let disclosed = stats::disclose(p, &g.counts, &[&g.sums[0]], 4, 32)?;
            let ints = |v: Vec<Fp>| v.iter().map(|x| x.to_i128()).collect::<Vec<_>>();
            Ok((ints(hist), ints(counts), ints(sums), disclosed))
        }));
        assert_eq!(out.0, vec![1, 5, 6]); // x < 0, 0 ≤ x < 5, x ≥ 5
        assert_eq!(out.1, vec![3, 5, 4]);
        assert_eq!(out.2, vec![11, 25, 16]);
        assert_eq!(out.3[0], Disclosed::Suppressed);
        assert_eq!(
            out.3[1],
            Disclosed::Released {
                count: 5,
                values: vec![Fp::from_u64(25)]
            }
        );
        assert_eq!(
            out.3[2],
            Disclosed::Released {
                count: 4,
                values: vec![Fp::from_u64(16)]
            }
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn histogram_group_by_and_disclosure_on_random_data(
        n in 3usize..=5,
        rows in proptest::collection::vec((0i64..4, -1000i64..1000), 1..25),
        k in 1u64..6,
    ) {
        let groups = 4usize;
        let labels: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let values: Vec<i64> = rows.iter().map(|r| r.1).collect();
        let edges = [-500i64, 0, 500];
        let len = rows.len();
        let (l2, v2) = (labels.clone(), values.clone());
        let (hist, counts, sums, disclosed) = agree(run(n, move |p| {
            let c = IntCodec::new(16)?;
            let me = p.index();
            let last = p.parties() - 1;
            let sl = p.input(last, (me == last).then(|| c.encode(&l2)).transpose()?.as_deref(), len)?;
            let sv = p.input(0, (me == 0).then(|| c.encode(&v2)).transpose()?.as_deref(), len)?;
            let hist = stats::histogram(p, &sv, &c.encode(&edges)?, 16)?;
            let g = stats::group_by(p, &sl, groups, &[&sv], 4)?;
            let d = stats::disclose(p, &g.counts, &[&g.sums[0]], k, 32)?;
            let ints = |v: Vec<Fp>| v.iter().map(|x| x.to_i128()).collect::<Vec<_>>();
            Ok((ints(p.open(&hist)?), ints(p.open(&g.counts)?), ints(p.open(&g.sums[0])?), d))
        }));
        let mut want_hist = vec![0i128; edges.len() + 1];
        for &v in &values {
            want_hist[edges.iter().filter(|&&e| v >= e).count()] += 1;
        }
        prop_assert_eq!(hist, want_hist);
        for g in 0..groups {
            let members: Vec<i64> = labels.iter().zip(&values).filter(|(l, _)| **l == g as i64).map(|(_, v)| *v).collect();
            let cnt = members.len() as i128;
            let sum: i128 = members.iter().map(|&v| i128::from(v)).sum();
            prop_assert_eq!(counts[g], cnt);
            prop_assert_eq!(sums[g], sum);
            if cnt >= i128::from(k) {
                prop_assert_eq!(&disclosed[g], &Disclosed::Released { count: cnt, values: vec![Fp::from_i128(sum)] });
            } else {
                prop_assert_eq!(&disclosed[g], &Disclosed::Suppressed);
            }
        }
    }
}

#[test]
fn masked_regression_ignores_rows_outside_the_selection() {
    let f = FixedCodec::default();
    let x1: Vec<f64> = (0..14).map(|i| i as f64).collect();
    let mut y: Vec<f64> = x1.iter().map(|a| -1.0 + 0.25 * a).collect();
    let mask: Vec<i64> = (0..14).map(|i| i64::from(i % 5 != 0)).collect();
    for (i, v) in y.iter_mut().enumerate() {
        if i % 5 == 0 {
            *v = 999.0; // outliers outside the selection
        }
    }
    let out = agree(run(3, move |p| {
        let me = p.index();
        let s1 = p.input(
            0,
            (me == 0).then(|| f.encode(&x1)).transpose()?.as_deref(),
            14,
        )?;
        let sm = p.input(
            1,
            (me == 1)
                .then(|| IntCodec::new(2)?.encode(&mask))
                .transpose()?
                .as_deref(),
            14,
        )?;
        let sy = p.input(
            2,
            (me == 2).then(|| f.encode(&y)).transpose()?.as_deref(),
            14,
        )?;
        let r = stats::linear_regression(p, &[&s1], &sy, Some(&sm), &f)?;
        Ok((
            r.count,
            r.coefficients
                .iter()
                .map(|c| format!("{c:.6}"))
                .collect::<Vec<_>>(),
        ))
    }));
    assert_eq!(
        out,
        (11, vec!["-1.000000".to_owned(), "0.250000".to_owned()])
    );
}
