//! The AES S-box as a boolean circuit of 113 gates, 32 of them ANDs
//! (Boyar and Peralta, "A small depth-16 circuit for the AES S-box", 2012,
//! in the gate order of the `aes` crate's fixsliced implementation), without
//! the four NOTs of the affine constant 0x63, which callers add.

use super::circuit::Gates;

/// The S-box on the bits `b` (b[0] the least significant) without the
/// constant 0x63; returns the output bits, least significant first.
#[allow(clippy::many_single_char_names)]
pub(crate) fn sbox_without_constant<G: Gates>(g: &mut G, b: &[G::Wire; 8]) -> [G::Wire; 8] {
    let [u7, u6, u5, u4, u3, u2, u1, u0] = b.clone();
    let y14 = g.xor(&u3, &u5);
    let y13 = g.xor(&u0, &u6);
    let y12 = g.xor(&y13, &y14);
    let t1 = g.xor(&u4, &y12);
    let y15 = g.xor(&t1, &u5);
    let t2 = g.and(&y12, &y15);
    let y6 = g.xor(&y15, &u7);
    let y20 = g.xor(&t1, &u1);
    let y9 = g.xor(&u0, &u3);
    let y11 = g.xor(&y20, &y9);
    let t12 = g.and(&y9, &y11);
    let y7 = g.xor(&u7, &y11);
    let y8 = g.xor(&u0, &u5);
    let t0 = g.xor(&u1, &u2);
    let y10 = g.xor(&y15, &t0);
    let y17 = g.xor(&y10, &y11);
    let t13 = g.and(&y14, &y17);
    let t14 = g.xor(&t13, &t12);
    let y19 = g.xor(&y10, &y8);
    let t15 = g.and(&y8, &y10);
    let t16 = g.xor(&t15, &t12);
    let y16 = g.xor(&t0, &y11);
    let y21 = g.xor(&y13, &y16);
    let t7 = g.and(&y13, &y16);
    let y18 = g.xor(&u0, &y16);
    let y1 = g.xor(&t0, &u7);
    let y4 = g.xor(&y1, &u3);
    let t5 = g.and(&y4, &u7);
    let t6 = g.xor(&t5, &t2);
    let t18 = g.xor(&t6, &t16);
    let t22 = g.xor(&t18, &y19);
    let y2 = g.xor(&y1, &u0);
    let t10 = g.and(&y2, &y7);
    let t11 = g.xor(&t10, &t7);
    let t20 = g.xor(&t11, &t16);
    let t24 = g.xor(&t20, &y18);
    let y5 = g.xor(&y1, &u6);
    let t8 = g.and(&y5, &y1);
    let t9 = g.xor(&t8, &t7);
    let t19 = g.xor(&t9, &t14);
    let t23 = g.xor(&t19, &y21);
    let y3 = g.xor(&y5, &y8);
    let t3 = g.and(&y3, &y6);
    let t4 = g.xor(&t3, &t2);
    let t17 = g.xor(&t4, &y20);
    let t21 = g.xor(&t17, &t14);
    let t26 = g.and(&t21, &t23);
    let t27 = g.xor(&t24, &t26);
    let t31 = g.xor(&t22, &t26);
    let t25 = g.xor(&t21, &t22);
    let t28 = g.and(&t25, &t27);
    let t29 = g.xor(&t28, &t22);
    let z14 = g.and(&t29, &y2);
    let z5 = g.and(&t29, &y7);
    let t30 = g.xor(&t23, &t24);
    let t32 = g.and(&t31, &t30);
    let t33 = g.xor(&t32, &t24);
    let t35 = g.xor(&t27, &t33);
    let t36 = g.and(&t24, &t35);
    let t38 = g.xor(&t27, &t36);
    let t39 = g.and(&t29, &t38);
    let t40 = g.xor(&t25, &t39);
    let t43 = g.xor(&t29, &t40);
    let z3 = g.and(&t43, &y16);
    let tc12 = g.xor(&z3, &z5);
    let z12 = g.and(&t43, &y13);
    let z13 = g.and(&t40, &y5);
    let z4 = g.and(&t40, &y1);
    let tc6 = g.xor(&z3, &z4);
    let t34 = g.xor(&t23, &t33);
    let t37 = g.xor(&t36, &t34);
    let t41 = g.xor(&t40, &t37);
    let z8 = g.and(&t41, &y10);
    let z17 = g.and(&t41, &y8);
    let t44 = g.xor(&t33, &t37);
    let z0 = g.and(&t44, &y15);
    let z9 = g.and(&t44, &y12);
    let z10 = g.and(&t37, &y3);
    let z1 = g.and(&t37, &y6);
    let tc5 = g.xor(&z1, &z0);
    let tc11 = g.xor(&tc6, &tc5);
    let z11 = g.and(&t33, &y4);
    let t42 = g.xor(&t29, &t33);
    let t45 = g.xor(&t42, &t41);
    let z7 = g.and(&t45, &y17);
    let tc8 = g.xor(&z7, &tc6);
    let z16 = g.and(&t45, &y14);
    let z6 = g.and(&t42, &y11);
    let tc16 = g.xor(&z6, &tc8);
    let z15 = g.and(&t42, &y9);
    let tc20 = g.xor(&z15, &tc16);
    let tc1 = g.xor(&z15, &z16);
    let tc2 = g.xor(&z10, &tc1);
    let tc21 = g.xor(&tc2, &z11);
    let tc3 = g.xor(&z9, &tc2);
    let s0 = g.xor(&tc3, &tc16);
    let s3 = g.xor(&tc3, &tc11);
    let s1 = g.xor(&s3, &tc16);
    let tc13 = g.xor(&z13, &tc1);
    let z2 = g.and(&t33, &u7);
    let tc4 = g.xor(&z0, &z2);
    let tc7 = g.xor(&z12, &tc4);
    let tc9 = g.xor(&z8, &tc7);
    let tc10 = g.xor(&tc8, &tc9);
    let tc17 = g.xor(&z14, &tc10);
    let s5 = g.xor(&tc21, &tc17);
    let tc26 = g.xor(&tc17, &tc20);
    let s2 = g.xor(&tc26, &z17);
    let tc14 = g.xor(&tc4, &tc12);
    let tc18 = g.xor(&tc13, &tc14);
    let s6 = g.xor(&tc10, &tc18);
    let s7 = g.xor(&z12, &tc18);
    let s4 = g.xor(&tc14, &s3);
    [s7, s6, s5, s4, s3, s2, s1, s0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boolean::circuit::Circuit;

    /// The S-box from its definition: inversion in GF(2^8), then the affine map.
    fn sbox_reference(x: u8) -> u8 {
        let mul = |mut a: u8, mut b: u8| {
            let mut p = 0u8;
            while b != 0 {
                if b & 1 != 0 {
                    p ^= a;
                }
                let carry = a & 0x80 != 0;
                a <<= 1;
                if carry {
                    a ^= 0x1b;
                }
                b >>= 1;
            }
            p
        };
        // x^254 = x^-1 (0 for 0).
        let mut inv = 1u8;
        for _ in 0..254 {
            inv = mul(inv, x);
        }
        let mut s = inv;
        for i in 1..5 {
            s ^= inv.rotate_left(i);
        }
        s ^ 0x63
    }

    #[test]
    fn the_circuit_is_the_aes_sbox_on_all_256_inputs() {
        let circuit = Circuit::record(8, |g, w| {
            let b: [usize; 8] = core::array::from_fn(|k| w[k]);
            sbox_without_constant(g, &b).to_vec()
        });
        assert_eq!(circuit.and_count(), 32);
        assert_eq!(circuit.and_depth(), 6);
        // 256 inputs at once: lane x of each word is input x.
        let inputs: Vec<Vec<u64>> = (0..8)
            .map(|k| {
                (0..4)
                    .map(|w| (0..64).fold(0u64, |acc, l| acc | ((((w * 64 + l) >> k) & 1) << l)))
                    .collect()
            })
            .collect();
        let out = circuit.eval_plain(&inputs);
        for x in 0..256usize {
            let got = (0..8).fold(0u8, |acc, k| {
                acc | ((((out[k][x / 64] >> (x % 64)) & 1) as u8) << k)
            });
            assert_eq!(got ^ 0x63, sbox_reference(x as u8), "input {x:#04x}");
        }
    }
}
