//! Tests of the field arithmetic and its fast paths against the straightforward code.

use super::*;
use proptest::prelude::*;

fn big_mul(a: u128, b: u128) -> u128 {
    // Reference: schoolbook with reduction by repeated folding on 4×32-bit limbs.
    let mut acc = Fp::ZERO;
    let mut base = Fp::new(a);
    let mut e = b;
    while e > 0 {
        if e & 1 == 1 {
            acc += base;
        }
        base = base + base;
        e >>= 1;
    }
    acc.value()
}

proptest! {
    #[test]
    fn mul_matches_double_and_add(a in 0..MODULUS, b in 0..MODULUS) {
        prop_assert_eq!((Fp::new(a) * Fp::new(b)).value(), big_mul(a, b));
    }

    #[test]
    fn inverse_roundtrip(a in 1..MODULUS) {
        let x = Fp::new(a);
        prop_assert_eq!(x * x.inv().unwrap(), Fp::ONE);
    }

    #[test]
    fn signed_roundtrip(a in -(1i128 << 100)..(1i128 << 100)) {
        prop_assert_eq!(Fp::from_i128(a).to_i128(), a);
    }
}

proptest! {
    #[test]
    fn small_factors_match_multiplication(a in 0..MODULUS, k in any::<u64>(), c in 0..MODULUS) {
        let x = Fp::new(a);
        prop_assert_eq!(x.mul_u64(k), x * Fp::from_u64(k));
        let half = Fp::new(2).inv().unwrap();
        let third = Fp::new(3).inv().unwrap();
        prop_assert_eq!(x.third(), x * third);
        for f in [Fp::new(c), Fp::from_u64(k), -Fp::from_u64(k), Fp::from_u64(k) * half, -Fp::from_u64(k) * half, Fp::ONE, -Fp::ONE, Fp::new(2), -Fp::new(2), Fp::ZERO, third, -third] {
            prop_assert_eq!(Factor::of(f).apply(x), f * x);
        }
    }
}

#[test]
fn factors_are_classified() {
    assert_eq!(Factor::of(Fp::new(3)), Factor::Small(3));
    assert_eq!(Factor::of(-Fp::new(3)), Factor::MinusSmall(3));
    assert_eq!(Factor::of(-Fp::ONE), Factor::MinusOne);
    assert_eq!(Factor::of(Fp::new(2)), Factor::Two);
    let half = Fp::new(2).inv().unwrap();
    assert_eq!(Factor::of(half), Factor::Half(1));
    assert_eq!(Factor::of(-Fp::new(3) * half), Factor::MinusHalf(3));
    let third = Fp::new(3).inv().unwrap();
    assert_eq!(Factor::of(third), Factor::Third);
    assert_eq!(Factor::of(-third), Factor::MinusThird);
    let fifth = Fp::new(5).inv().unwrap();
    assert_eq!(Factor::of(fifth), Factor::General(fifth));
    assert!(!Factor::of(fifth).is_small() && Factor::of(-Fp::new(5)).is_small());
    assert!(Factor::of(third).is_small());
    for x in [
        Fp::ZERO,
        Fp::ONE,
        Fp::new(MODULUS - 1),
        Fp::new(u128::MAX >> 3),
    ] {
        assert_eq!(x.half() + x.half(), x);
        for c in [half, -half, Fp::new(3) * half, -Fp::new(7) * half] {
            assert_eq!(Factor::of(c).apply(x), c * x);
        }
    }
    let big = Fp::new(u128::MAX >> 2);
    assert_eq!(Factor::of(big).apply(Fp::new(5)), big * Fp::new(5));
    assert_eq!(
        Fp::new(MODULUS - 1).mul_u64(u64::MAX),
        -Fp::from_u64(u64::MAX)
    );
}

#[test]
fn thirds_match_multiplication_by_the_inverse_of_three() {
    let third = Fp::new(3).inv().unwrap();
    assert_eq!(Fp::new(ONE_THIRD), third);
    assert_eq!(Fp::new(TWO_THIRDS), third + third);
    assert_eq!(3u128.wrapping_mul(INV3_MOD_2_128), 1);
    let edges = [
        0,
        1,
        2,
        3,
        4,
        MODULUS - 1,
        MODULUS - 2,
        MODULUS - 3,
        u128::from(u64::MAX),
        u128::from(u64::MAX) + 1,
        u128::from(u64::MAX) - 1,
        1 << 126,
        (1 << 126) - 1,
        ONE_THIRD,
        TWO_THIRDS,
        MODULUS / 3,
        MODULUS / 3 * 2,
        (u128::from(u64::MAX) << 64) & MODULUS,
    ];
    for v in edges {
        let x = Fp::new(v);
        assert_eq!(x.third(), x * third, "{v:#x}");
        assert_eq!(x.third() + x.third() + x.third(), x, "{v:#x}");
        assert_eq!(Factor::Third.apply(x), x * third);
        assert_eq!(Factor::MinusThird.apply(x), -(x * third));
    }
}

#[test]
fn ring64_and_i64_conversions_match_the_i128_ones() {
    let mut values = vec![
        0,
        1,
        2,
        MODULUS / 2,
        MODULUS / 2 + 1,
        MODULUS - 1,
        MODULUS - 2,
        u128::from(u64::MAX),
        u128::from(u64::MAX) + 1,
        1 << 126,
        MODULUS - u128::from(u64::MAX),
        MODULUS - (1 << 63),
    ];
    let mut x = 0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834_u128;
    for _ in 0..1000 {
        x = x.wrapping_mul(0x2545_f491_4f6c_dd1d_0000_0000_0000_0001) ^ (x >> 29);
        values.push(x & MODULUS);
    }
    for v in values {
        let f = Fp::new(v);
        assert_eq!(f.to_ring64(), f.to_i128() as i64 as u64, "{v:#x}");
    }
    for i in [
        0,
        1,
        -1,
        2,
        -2,
        i64::MAX,
        i64::MIN,
        i64::MIN + 1,
        1 << 40,
        -(1 << 40),
    ] {
        assert_eq!(Fp::from_i64(i), Fp::from_i128(i128::from(i)), "{i}");
        assert_eq!(Fp::from_i64(i).to_ring64(), i as u64, "{i}");
    }
}

#[test]
fn lazy_mul_add_chains_match_field_arithmetic() {
    let edges = [
        0,
        1,
        2,
        MODULUS - 1,
        MODULUS - 2,
        1 << 126,
        u128::from(u64::MAX),
        MODULUS / 3,
    ];
    // States at the ends of the range: 0 and p (both 0), 2^127 (= 1).
    for (state, value) in [
        (0, 0),
        (MODULUS, 0),
        (1 << 127, 1),
        (MODULUS - 1, MODULUS - 1),
    ] {
        for &k in &edges {
            for &w in &edges {
                let (k, w) = (Fp::new(k), Fp::new(w));
                let got = Lazy(state).mul_add(k, w);
                assert!(got.0 <= 1 << 127);
                assert_eq!(got.reduce(), k * Fp::new(value) + w);
            }
        }
    }
    let mut x = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
    let mut next = || {
        x = x.wrapping_mul(0x2545_f491_4f6c_dd1d_0000_0000_0000_0001) ^ (x >> 31);
        Fp::new(x & MODULUS)
    };
    for k in [Fp::new(MODULUS - 1), Fp::ONE, next(), next()] {
        let (mut lazy, mut plain) = (Lazy::default(), Fp::ZERO);
        for i in 0..2000 {
            let w = if i % 7 == 0 {
                Fp::new(MODULUS - 1)
            } else {
                next()
            };
            lazy = lazy.mul_add(k, w);
            plain = k * plain + w;
            assert!(lazy.0 <= 1 << 127);
            assert_eq!(lazy.reduce(), plain);
        }
    }
}

#[test]
fn edge_values() {
    let m1 = Fp::new(MODULUS - 1);
    assert_eq!(m1 * m1, Fp::ONE);
    assert_eq!(m1 + Fp::ONE, Fp::ZERO);
    assert_eq!(Fp::new(MODULUS), Fp::ZERO);
    assert_eq!(Fp::new(u128::MAX), Fp::new(1));
    assert!(Fp::from_bytes(MODULUS.to_le_bytes()).is_none());
    let mut v = vec![Fp::new(3), Fp::new(7), m1];
    batch_invert(&mut v).unwrap();
    assert_eq!(v[0] * Fp::new(3), Fp::ONE);
    assert_eq!(v[2] * m1, Fp::ONE);
}
