//! The prime field GF(p) with the Mersenne prime p = 2^127 − 1.
//!
//! Why this prime: a 127-bit field leaves room for 64-bit integers, fixed-point
//! values with 16 fractional bits, their products and sums of millions of
//! them, *and* the 40-bit statistical masks that comparisons add on top
//! (see `SECURITY.md`). A Mersenne modulus makes reduction two additions and a
//! shift, so a multiplication is four 64×64-bit products and a few adds.
//! p ≡ 3 (mod 4), and 2^127 ≡ 1, so 2^128 ≡ 2 (mod p).

use zeroize::Zeroize;

/// The modulus, 2^127 − 1.
pub const MODULUS: u128 = (1u128 << 127) - 1;

/// Number of bytes of one field element on the wire (little endian).
pub const ELEMENT_BYTES: usize = 16;

/// The little-endian `u128` in the first 16 bytes of `c` (zero-padded if
/// shorter): an element's wire encoding, before it is checked to be below p.
#[inline(always)]
pub(crate) fn element_bits(c: &[u8]) -> u128 {
    let mut b = [0u8; ELEMENT_BYTES];
    if let Some(src) = c.get(..ELEMENT_BYTES) {
        b.copy_from_slice(src);
    }
    u128::from_le_bytes(b)
}

/// An element of GF(2^127 − 1), always kept reduced in `[0, p)`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Zeroize)]
pub struct Fp(u128);

impl core::fmt::Debug for Fp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Fp({})", self.0)
    }
}

#[inline(always)]
fn reduce_once(x: u128) -> u128 {
    // x < 2^128: fold the top bit, then one conditional subtraction.
    let y = (x & MODULUS) + (x >> 127);
    if y >= MODULUS {
        y - MODULUS
    } else {
        y
    }
}

impl Fp {
    /// The additive identity.
    pub const ZERO: Fp = Fp(0);
    /// The multiplicative identity.
    pub const ONE: Fp = Fp(1);

    /// Builds an element from any `u128`, reducing it modulo p.
    #[inline]
    pub fn new(x: u128) -> Fp {
        Fp(reduce_once(x))
    }

    /// Builds an element from a value already known to be below p; `None` otherwise.
    #[inline]
    pub fn from_canonical(x: u128) -> Option<Fp> {
        (x < MODULUS).then_some(Fp(x))
    }

    /// Builds an element from a signed integer (negative values wrap to p − |x|).
    #[inline]
    pub fn from_i128(x: i128) -> Fp {
        if x >= 0 {
            Fp::new(x.unsigned_abs())
        } else {
            -Fp::new(x.unsigned_abs())
        }
    }

    /// Builds an element from a `u64`.
    #[inline]
    pub fn from_u64(x: u64) -> Fp {
        Fp(u128::from(x))
    }

    /// The canonical representative in `[0, p)`.
    #[inline]
    pub fn value(self) -> u128 {
        self.0
    }

    /// The centred representative in `(−p/2, p/2]`, read as a signed integer.
    #[inline]
    pub fn to_i128(self) -> i128 {
        if self.0 > MODULUS / 2 {
            -((MODULUS - self.0) as i128)
        } else {
            self.0 as i128
        }
    }

    /// 2^k as a field element (k < 127).
    #[inline]
    pub fn pow2(k: u32) -> Fp {
        Fp::new(1u128 << (k % 127))
    }

    /// self^e by square-and-multiply.
    pub fn pow(self, mut e: u128) -> Fp {
        let mut base = self;
        let mut acc = Fp::ONE;
        while e > 0 {
            if e & 1 == 1 {
                acc *= base;
            }
            base = base * base;
            e >>= 1;
        }
        acc
    }

    /// The multiplicative inverse; `None` for zero.
    pub fn inv(self) -> Option<Fp> {
        if self.0 == 0 {
            None
        } else {
            Some(self.pow(MODULUS - 2))
        }
    }

    /// Little-endian encoding.
    #[inline]
    pub fn to_bytes(self) -> [u8; ELEMENT_BYTES] {
        self.0.to_le_bytes()
    }

    /// Decodes a little-endian encoding; `None` if it is not below p.
    #[inline]
    pub fn from_bytes(b: [u8; ELEMENT_BYTES]) -> Option<Fp> {
        Fp::from_canonical(u128::from_le_bytes(b))
    }

    /// Maps 16 uniformly random bytes to an element (bias at most 2^-126).
    #[inline]
    pub fn from_random_bytes(b: [u8; ELEMENT_BYTES]) -> Fp {
        Fp::new(u128::from_le_bytes(b) & MODULUS)
    }
}

impl core::ops::Add for Fp {
    type Output = Fp;
    #[inline(always)]
    fn add(self, rhs: Fp) -> Fp {
        // Both < 2^127 − 1, so the sum fits in u128.
        Fp(reduce_once(self.0 + rhs.0))
    }
}

impl core::ops::AddAssign for Fp {
    #[inline(always)]
    fn add_assign(&mut self, rhs: Fp) {
        *self = *self + rhs;
    }
}

impl core::ops::Neg for Fp {
    type Output = Fp;
    #[inline(always)]
    fn neg(self) -> Fp {
        if self.0 == 0 {
            self
        } else {
            Fp(MODULUS - self.0)
        }
    }
}

impl core::ops::Sub for Fp {
    type Output = Fp;
    #[inline(always)]
    fn sub(self, rhs: Fp) -> Fp {
        self + (-rhs)
    }
}

impl core::ops::SubAssign for Fp {
    #[inline(always)]
    fn sub_assign(&mut self, rhs: Fp) {
        *self = *self - rhs;
    }
}

impl core::ops::Mul for Fp {
    type Output = Fp;
    #[inline(always)]
    fn mul(self, rhs: Fp) -> Fp {
        let (a0, a1) = (self.0 as u64 as u128, self.0 >> 64);
        let (b0, b1) = (rhs.0 as u64 as u128, rhs.0 >> 64);
        // a1, b1 < 2^63, so every partial product and `mid` fit in u128.
        let p00 = a0 * b0;
        let mid = a0 * b1 + a1 * b0;
        let p11 = a1 * b1;
        let (lo, carry) = p00.overflowing_add(mid << 64);
        let hi = p11 + (mid >> 64) + u128::from(carry);
        // value = hi·2^128 + lo ≡ 2·hi + lo (mod p); hi < 2^126.
        let s = (lo & MODULUS) + (lo >> 127) + (hi << 1);
        Fp(reduce_once(s))
    }
}

impl Fp {
    /// self / 2: a rotation of the 127 bits by one to the right, since
    /// 2^127 ≡ 1 (mod p).
    #[inline(always)]
    pub fn half(self) -> Fp {
        Fp((self.0 >> 1) | ((self.0 & 1) << 126))
    }

    /// self · k for a factor below 2^64: two word products instead of
    /// four (Lagrange coefficients and party points are small integers).
    #[inline(always)]
    pub fn mul_u64(self, k: u64) -> Fp {
        let k = u128::from(k);
        let p0 = (self.0 as u64 as u128) * k;
        // self.0 >> 64 < 2^63, so p1 < 2^127.
        let p1 = (self.0 >> 64) * k;
        let (lo, carry) = p0.overflowing_add(p1 << 64);
        let hi = (p1 >> 64) + u128::from(carry);
        let s = (lo & MODULUS) + (lo >> 127) + (hi << 1);
        Fp(reduce_once(s))
    }
}

impl Fp {
    /// Builds an element from a signed 64-bit integer (as [`Fp::from_i128`],
    /// without a branch: a negative x gives p + x).
    #[inline(always)]
    pub fn from_i64(x: i64) -> Fp {
        let x = i128::from(x);
        // (x >> 127) is all ones exactly when x < 0; p + x is then in (0, p).
        let wide = (x as u128).wrapping_add(MODULUS & (x >> 127) as u128);
        Fp(wide)
    }

    /// The centred representative (see [`Fp::to_i128`]) modulo 2^64, without
    /// a branch: the low word, plus 1 above p/2 (the centred value is then
    /// self − p, and p's low word is 2^64 − 1).
    #[inline(always)]
    pub fn to_ring64(self) -> u64 {
        (self.0 as u64).wrapping_add(u64::from(self.0 > MODULUS / 2))
    }
}

/// The state of a multiply-accumulate chain (a polynomial hash): a value
/// congruent to an element modulo p and at most 2^127, whose reductions are
/// folded but not completed (no conditional subtraction per step).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Lazy(u128);

impl Lazy {
    /// k·self + w, folded to at most 2^127.
    #[inline(always)]
    pub(crate) fn mul_add(self, k: Fp, w: Fp) -> Lazy {
        let (a0, a1) = (self.0 as u64 as u128, self.0 >> 64);
        let (b0, b1) = (k.0 as u64 as u128, k.0 >> 64);
        // self ≤ 2^127 and k < 2^127: a1 ≤ 2^63 and b1 < 2^63, so the
        // partial products and `mid` fit, and the product is below 2^254.
        let p00 = a0 * b0;
        let mid = a0 * b1 + a1 * b0;
        let p11 = a1 * b1;
        let (lo, carry) = p00.overflowing_add(mid << 64);
        let hi = p11 + (mid >> 64) + u128::from(carry);
        // product = hi·2^128 + lo ≡ 2·hi + lo with hi < 2^126: s ≤ 2^128 − 2.
        let s = (lo & MODULUS) + (lo >> 127) + (hi << 1);
        let f = (s & MODULUS) + (s >> 127); // ≤ 2^127
        let g = f + w.0; // ≤ 2^128 − 2
        Lazy((g & MODULUS) + (g >> 127)) // ≤ 2^127
    }

    /// The canonical element.
    #[inline(always)]
    pub(crate) fn reduce(self) -> Fp {
        Fp::new(self.0)
    }
}

/// 1/3 modulo p: (2p + 1)/3 = (2^128 − 1)/3 (p ≡ 1 mod 3).
const ONE_THIRD: u128 = u128::MAX / 3;
/// 2/3 modulo p: 2·(1/3) − p.
const TWO_THIRDS: u128 = (ONE_THIRD << 1) - MODULUS;
/// The inverse of 3 modulo 2^128 (3 · this ≡ 1), for exact division by 3.
const INV3_MOD_2_128: u128 = u128::MAX / 3 * 2 + 1;

impl Fp {
    /// self / 3 without a full multiplication: with x = 3q + r (r = x mod 3,
    /// found from the two 64-bit halves since 2^64 ≡ 1 mod 3), q is an exact
    /// division (a wrapping product by 3⁻¹ mod 2^128) and x/3 ≡ q + r/3.
    #[inline(always)]
    pub fn third(self) -> Fp {
        let x = self.0;
        let (s, carry) = (x as u64).overflowing_add((x >> 64) as u64);
        // s + carry·2^64 ≡ s + carry (mod 3), and s + carry cannot overflow
        // (a carry leaves s ≤ 2^64 − 2).
        let r = (s + u64::from(carry)) % 3;
        let q = (x - u128::from(r)).wrapping_mul(INV3_MOD_2_128);
        let t = match r {
            0 => 0,
            1 => ONE_THIRD,
            _ => TWO_THIRDS,
        };
        // q < 2^126 and t < p, so the sum fits.
        Fp(reduce_once(q + t))
    }
}

/// A constant factor, classified once so that loops multiplying by it take
/// the cheapest path: ±1 and ±2 by additions, other integers of absolute
/// value below 2^64 (Lagrange coefficients for few parties, party points)
/// by [`Fp::mul_u64`], and halves of those (the Lagrange coefficients of
/// three parties) with a rotation besides ([`Fp::half`]); the rest by a
/// full multiplication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// 1.
    One,
    /// −1.
    MinusOne,
    /// 2.
    Two,
    /// −2.
    MinusTwo,
    /// k < 2^64.
    Small(u64),
    /// −k for k < 2^64.
    MinusSmall(u64),
    /// k/2 for an odd k < 2^64.
    Half(u64),
    /// −k/2 for an odd k < 2^64.
    MinusHalf(u64),
    /// 1/3 ([`Fp::third`]; the Lagrange coefficients and slopes of three parties).
    Third,
    /// −1/3.
    MinusThird,
    /// Any other element.
    General(Fp),
}

impl Factor {
    /// Classifies `c`.
    pub fn of(c: Fp) -> Factor {
        match (c.0, (-c).0) {
            (1, _) => Factor::One,
            (_, 1) => Factor::MinusOne,
            (2, _) => Factor::Two,
            (_, 2) => Factor::MinusTwo,
            (k, _) if k >> 64 == 0 => Factor::Small(k as u64),
            (_, k) if k >> 64 == 0 => Factor::MinusSmall(k as u64),
            _ => match ((c + c).0, (-(c + c)).0) {
                (k, _) if k >> 64 == 0 => Factor::Half(k as u64),
                (_, k) if k >> 64 == 0 => Factor::MinusHalf(k as u64),
                _ if c.0 == ONE_THIRD => Factor::Third,
                _ if (-c).0 == ONE_THIRD => Factor::MinusThird,
                _ => Factor::General(c),
            },
        }
    }

    /// Whether multiplying by it is cheaper than a full multiplication.
    pub fn is_small(self) -> bool {
        !matches!(self, Factor::General(_))
    }

    /// c · x.
    #[inline(always)]
    pub fn apply(self, x: Fp) -> Fp {
        match self {
            Factor::One => x,
            Factor::MinusOne => -x,
            Factor::Two => x + x,
            Factor::MinusTwo => -(x + x),
            Factor::Small(k) => x.mul_u64(k),
            Factor::MinusSmall(k) => -x.mul_u64(k),
            Factor::Half(1) => x.half(),
            Factor::MinusHalf(1) => -x.half(),
            Factor::Half(k) => x.mul_u64(k).half(),
            Factor::MinusHalf(k) => -x.mul_u64(k).half(),
            Factor::Third => x.third(),
            Factor::MinusThird => -x.third(),
            Factor::General(c) => c * x,
        }
    }
}

impl core::ops::MulAssign for Fp {
    #[inline(always)]
    fn mul_assign(&mut self, rhs: Fp) {
        *self = *self * rhs;
    }
}

impl core::iter::Sum for Fp {
    fn sum<I: Iterator<Item = Fp>>(iter: I) -> Fp {
        iter.fold(Fp::ZERO, |a, b| a + b)
    }
}

/// Inverts every element of `xs` in place with one field inversion
/// (Montgomery's trick); `None` if any element is zero.
pub fn batch_invert(xs: &mut [Fp]) -> Option<()> {
    let mut prefix = Vec::with_capacity(xs.len());
    let mut acc = Fp::ONE;
    for x in xs.iter() {
        prefix.push(acc);
        acc *= *x;
    }
    let mut inv = acc.inv()?;
    for (x, p) in xs.iter_mut().zip(prefix).rev() {
        let next = inv * *x;
        *x = inv * p;
        inv = next;
    }
    Some(())
}

#[cfg(test)]
mod tests;
