//! Encodings of integers and fixed-point numbers as field elements, with
//! documented ranges; values outside a range are rejected at input.
//!
//! Negative values are represented as p − |x|. Sums and products stay exact
//! as long as the true result lies in (−p/2, p/2), about ±8.5·10^37: for
//! example a sum of 2^20 products of two 48-bit values fits. Callers that
//! compare must stay within the comparison bit length they pass (at most
//! [`crate::compare::MAX_BITS`]).

use crate::error::{MpcError, Result};
use crate::field::Fp;

/// Signed integers in `[−2^(bits−1), 2^(bits−1))`, `bits` in 1..=64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntCodec {
    bits: u32,
}

impl IntCodec {
    /// A codec for `bits`-bit signed integers.
    pub fn new(bits: u32) -> Result<IntCodec> {
        if bits == 0 || bits > 64 {
            return Err(MpcError::Config(format!(
                "integer width must be 1..=64 bits, got {bits}"
            )));
        }
        Ok(IntCodec { bits })
    }

    /// The width in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Smallest encodable value.
    pub fn min(&self) -> i128 {
        -(1i128 << (self.bits - 1))
    }

    /// Largest encodable value.
    pub fn max(&self) -> i128 {
        (1i128 << (self.bits - 1)) - 1
    }

    /// Encodes, rejecting any value outside the range.
    pub fn encode(&self, xs: &[i64]) -> Result<Vec<Fp>> {
        xs.iter()
            .map(|&x| {
                let v = i128::from(x);
                if v < self.min() || v > self.max() {
                    Err(MpcError::OutOfRange {
                        value: x.to_string(),
                        min: self.min().to_string(),
                        max: self.max().to_string(),
                    })
                } else {
                    Ok(Fp::from_i128(v))
                }
            })
            .collect()
    }

    /// Decodes any field element (for example a sum) as a signed integer.
    pub fn decode(&self, x: Fp) -> i128 {
        x.to_i128()
    }
}

/// Fixed-point numbers: a value v is stored as round(v · 2^frac_bits), and
/// must satisfy |v| < 2^int_bits. `frac_bits + int_bits + 1 ≤ 64`.
///
/// Products of two encoded values carry scale 2^(2·frac_bits); the study
/// operations open such aggregates and divide in the clear, so no secure
/// truncation is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedCodec {
    frac_bits: u32,
    int_bits: u32,
}

impl Default for FixedCodec {
    /// 16 fractional bits, magnitudes below 2^31.
    fn default() -> Self {
        FixedCodec {
            frac_bits: 16,
            int_bits: 31,
        }
    }
}

impl FixedCodec {
    /// A codec with the given fractional and integer bits.
    pub fn new(frac_bits: u32, int_bits: u32) -> Result<FixedCodec> {
        if frac_bits + int_bits + 1 > 64 || int_bits == 0 {
            return Err(MpcError::Config(format!(
                "fixed point needs 1 <= int_bits and frac_bits + int_bits + 1 <= 64, got {frac_bits} + {int_bits}"
            )));
        }
        Ok(FixedCodec {
            frac_bits,
            int_bits,
        })
    }

    /// Fractional bits.
    pub fn frac_bits(&self) -> u32 {
        self.frac_bits
    }

    /// Bit length of an encoded value including the sign (for comparisons).
    pub fn bits(&self) -> u32 {
        self.frac_bits + self.int_bits + 1
    }

    /// The scale 2^frac_bits.
    pub fn scale(&self) -> f64 {
        (1u64 << self.frac_bits) as f64
    }

    /// Encodes, rejecting non-finite values and any |v| ≥ 2^int_bits.
    pub fn encode(&self, xs: &[f64]) -> Result<Vec<Fp>> {
        let bound = (1u64 << self.int_bits) as f64;
        xs.iter()
            .map(|&x| {
                if !x.is_finite() || x.abs() >= bound {
                    return Err(MpcError::OutOfRange {
                        value: x.to_string(),
                        min: format!("-{bound}"),
                        max: format!("{bound} (exclusive)"),
                    });
                }
                Ok(Fp::from_i128((x * self.scale()).round() as i128))
            })
            .collect()
    }

    /// Decodes a value of scale 2^frac_bits.
    pub fn decode(&self, x: Fp) -> f64 {
        self.decode_scaled(x, 1)
    }

    /// Decodes a value of scale 2^(k·frac_bits), e.g. k = 2 for a product.
    pub fn decode_scaled(&self, x: Fp, k: u32) -> f64 {
        x.to_i128() as f64 / self.scale().powi(k as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_enforced() {
        let c = IntCodec::new(8).unwrap();
        assert!(c.encode(&[-128, 127]).is_ok());
        let e = c.encode(&[128]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "value 128 is outside the encodable range [-128, 127]"
        );
        assert!(c.encode(&[-129]).is_err());
        let f = FixedCodec::default();
        assert!(f.encode(&[f64::NAN]).is_err());
        assert!(f.encode(&[3e9]).is_err());
        let v = f.encode(&[-1.5, 2967.5]).unwrap();
        assert_eq!(f.decode(v[0]), -1.5);
        assert_eq!(f.decode_scaled(v[1] * v[1], 2), 2967.5 * 2967.5);
        assert!(IntCodec::new(65).is_err());
    }
}
