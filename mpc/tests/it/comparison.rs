//! Less-than and equality against plaintext.

use crate::sim::{agree, run};
use proptest::prelude::*;
use symbolon_mpc::compare;
use symbolon_mpc::encoding::IntCodec;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn lt_and_eq_match_plaintext(
        n in 3usize..=5,
        data in proptest::collection::vec((-600i64..600, -600i64..600), 1..12),
    ) {
        let mut data = data;
        // Make sure equal pairs and extremes occur.
        data.push((5, 5));
        data.push((-512, 511));
        data.push((511, -512));
        let a: Vec<i64> = data.iter().map(|p| p.0.clamp(-512, 511)).collect();
        let b: Vec<i64> = data.iter().map(|p| p.1.clamp(-512, 511)).collect();
        let len = a.len();
        let (a2, b2) = (a.clone(), b.clone());
        let out = agree(run(n, move |p| {
            let c = IntCodec::new(10)?;
            let me = p.index();
            let sa = p.input(1, (me == 1).then(|| c.encode(&a2)).transpose()?.as_deref(), len)?;
            let sb = p.input(2, (me == 2).then(|| c.encode(&b2)).transpose()?.as_deref(), len)?;
            let lt = compare::lt(p, &sa, &sb, 10)?;
            let eq = compare::eq(p, &sa, &sb, 10)?;
            let ge = compare::ge_public(p, &sa, 3, 10)?;
            let all = symbolon_mpc::SecretVec::concat(&[&lt, &eq, &ge]);
            Ok(p.open(&all)?.iter().map(|x| x.to_i128()).collect::<Vec<_>>())
        }));
        for i in 0..len {
            prop_assert_eq!(out[i], i128::from(a[i] < b[i]), "lt {} {}", a[i], b[i]);
            prop_assert_eq!(out[len + i], i128::from(a[i] == b[i]), "eq {} {}", a[i], b[i]);
            prop_assert_eq!(out[2 * len + i], i128::from(a[i] >= 3));
        }
    }
}

#[test]
fn wide_comparisons_at_64_bits() {
    let a = vec![i64::MIN, -1, 0, i64::MAX, 123_456_789_012];
    let b = vec![i64::MAX, 0, 0, i64::MIN, 123_456_789_012];
    let (a2, b2) = (a.clone(), b.clone());
    let out = agree(run(3, move |p| {
        let c = IntCodec::new(64)?;
        let me = p.index();
        let sa = p.input(
            0,
            (me == 0).then(|| c.encode(&a2)).transpose()?.as_deref(),
            5,
        )?;
        let sb = p.input(
            1,
            (me == 1).then(|| c.encode(&b2)).transpose()?.as_deref(),
            5,
        )?;
        let lt = compare::lt(p, &sa, &sb, 64)?;
        let eq = compare::eq(p, &sa, &sb, 64)?;
        Ok((p.open(&lt)?, p.open(&eq)?))
    }));
    for i in 0..5 {
        assert_eq!(out.0[i].value(), u128::from(a[i] < b[i]));
        assert_eq!(out.1[i].value(), u128::from(a[i] == b[i]));
    }
}

#[test]
fn too_wide_comparison_is_rejected() {
    let res = run(3, |p| {
        let x = p.constant(&[symbolon_mpc::Fp::ONE]);
        compare::lt(p, &x, &x, 81)
    });
    assert!(res.into_iter().all(|r| r.is_err()));
}

#[test]
fn comparisons_longer_than_one_batch() {
    let len = compare::BATCH + 9;
    let a: Vec<i64> = (0..len as i64).map(|i| i % 4 - 2).collect();
    let a2 = a.clone();
    let out = agree(run(3, move |p| {
        let c = IntCodec::new(2)?;
        let me = p.index();
        let sa = p.input(
            0,
            (me == 0).then(|| c.encode(&a2)).transpose()?.as_deref(),
            len,
        )?;
        let zero = p.constant(&c.encode(&vec![0; len])?);
        let lt = compare::lt(p, &sa, &zero, 2)?;
        let eq = compare::eq(p, &sa, &zero, 2)?;
        Ok((p.open(&lt)?, p.open(&eq)?))
    }));
    for (i, &x) in a.iter().enumerate() {
        assert_eq!(out.0[i].value(), u128::from(x < 0), "lt at {i}");
        assert_eq!(out.1[i].value(), u128::from(x == 0), "eq at {i}");
    }
}

#[test]
fn random_bits_are_bits_and_masks_are_bounded_for_three_and_five_parties() {
    // Three parties take the pairwise-randomness path, five the dealers' path.
    for n in [3usize, 5] {
        let nbits = 1000;
        let nmasks = 37;
        let out = agree(run(n, move |p| {
            let (bits, masks) = compare::random_bits_and_masks(p, nbits, nmasks)?;
            Ok((p.open(&bits)?, p.open(&masks)?))
        }));
        let ones = out.0.iter().filter(|b| b.value() == 1).count();
        assert!(out.0.iter().all(|b| b.value() <= 1), "n = {n}: not bits");
        // 1000 fair bits: fewer than 400 or more than 600 ones has probability < 10^-9.
        assert!((400..=600).contains(&ones), "n = {n}: {ones} ones");
        assert_eq!(out.1.len(), nmasks);
        assert!(
            out.1.iter().all(|m| m.value() < 3 << 41),
            "n = {n}: mask too large"
        );
        // Distinct masks: a constant or repeated mask would show here.
        let distinct: std::collections::HashSet<u128> = out.1.iter().map(|m| m.value()).collect();
        assert_eq!(distinct.len(), nmasks);
    }
}

#[test]
fn random_bits_of_length_zero_and_odd_lengths() {
    for nbits in [0usize, 1, 63, 64, 65, 129] {
        let out = agree(run(3, move |p| {
            let (bits, masks) = compare::random_bits_and_masks(p, nbits, 0)?;
            Ok((p.open(&bits)?, masks.len()))
        }));
        assert_eq!(out.0.len(), nbits);
        assert!(out.0.iter().all(|b| b.value() <= 1));
        assert_eq!(out.1, 0);
    }
}
