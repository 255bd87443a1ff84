//! [`SecretVec`]: one party's shares of a vector of secrets, with the
//! operations that need no communication.

use crate::error::{MpcError, Result};
use crate::field::Fp;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// This party's Shamir shares (degree t) of a vector of secret field
/// elements. Linear operations are local; multiplication, comparison and
/// opening go through a [`crate::Party`]. The shares are zeroed on drop and
/// never printed.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretVec {
    shares: Vec<Fp>,
}

impl core::fmt::Debug for SecretVec {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SecretVec")
            .field("len", &self.shares.len())
            .finish_non_exhaustive()
    }
}

fn same_len(a: usize, b: usize) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(MpcError::LengthMismatch { left: a, right: b })
    }
}

impl SecretVec {
    /// Wraps raw shares. Only meaningful for shares produced by this
    /// session's protocols.
    pub fn from_shares(shares: Vec<Fp>) -> SecretVec {
        SecretVec { shares }
    }

    /// This party's raw shares.
    pub fn shares(&self) -> &[Fp] {
        &self.shares
    }

    /// Number of secrets.
    pub fn len(&self) -> usize {
        self.shares.len()
    }

    /// Whether the vector is empty.
    pub fn is_empty(&self) -> bool {
        self.shares.is_empty()
    }

    /// Element-wise sum.
    pub fn add(&self, other: &SecretVec) -> Result<SecretVec> {
        same_len(self.len(), other.len())?;
        Ok(SecretVec::from_shares(
            self.shares
                .iter()
                .zip(&other.shares)
                .map(|(&a, &b)| a + b)
                .collect(),
        ))
    }

    /// Adds `other` element-wise in place.
    pub fn add_assign(&mut self, other: &SecretVec) -> Result<()> {
        same_len(self.len(), other.len())?;
        for (a, &b) in self.shares.iter_mut().zip(&other.shares) {
            *a += b;
        }
        Ok(())
    }

    /// Element-wise difference.
    pub fn sub(&self, other: &SecretVec) -> Result<SecretVec> {
        same_len(self.len(), other.len())?;
        Ok(SecretVec::from_shares(
            self.shares
                .iter()
                .zip(&other.shares)
                .map(|(&a, &b)| a - b)
                .collect(),
        ))
    }

    /// Multiplies every element by the public scalar `c`.
    pub fn scale(&self, c: Fp) -> SecretVec {
        SecretVec::from_shares(self.shares.iter().map(|&a| a * c).collect())
    }

    /// Adds the public vector `c` element-wise.
    pub fn add_public(&self, c: &[Fp]) -> Result<SecretVec> {
        same_len(self.len(), c.len())?;
        Ok(SecretVec::from_shares(
            self.shares.iter().zip(c).map(|(&a, &b)| a + b).collect(),
        ))
    }

    /// Adds the public scalar `c` to every element.
    pub fn add_scalar(&self, c: Fp) -> SecretVec {
        SecretVec::from_shares(self.shares.iter().map(|&a| a + c).collect())
    }

    /// Multiplies element-wise by the public vector `c`.
    pub fn mul_public(&self, c: &[Fp]) -> Result<SecretVec> {
        same_len(self.len(), c.len())?;
        Ok(SecretVec::from_shares(
            self.shares.iter().zip(c).map(|(&a, &b)| a * b).collect(),
        ))
    }

    /// The sum of all elements, as a vector of length one.
    pub fn sum(&self) -> SecretVec {
        SecretVec::from_shares(vec![self.shares.iter().copied().sum()])
    }

    /// The elements at `indices` (public positions).
    pub fn select(&self, indices: &[usize]) -> Result<SecretVec> {
        indices
            .iter()
            .map(|&i| {
                self.shares.get(i).copied().ok_or(MpcError::LengthMismatch {
                    left: self.len(),
                    right: i + 1,
                })
            })
            .collect::<Result<Vec<Fp>>>()
            .map(SecretVec::from_shares)
    }

    /// Concatenates vectors.
    pub fn concat(parts: &[&SecretVec]) -> SecretVec {
        SecretVec::from_shares(
            parts
                .iter()
                .flat_map(|p| p.shares.iter().copied())
                .collect(),
        )
    }

    /// Splits into consecutive pieces of the given lengths.
    pub fn split(&self, lens: &[usize]) -> Result<Vec<SecretVec>> {
        same_len(self.len(), lens.iter().sum())?;
        let mut out = Vec::with_capacity(lens.len());
        let mut at = 0;
        for &l in lens {
            out.push(SecretVec::from_shares(
                self.shares.get(at..at + l).unwrap_or(&[]).to_vec(),
            ));
            at += l;
        }
        Ok(out)
    }
}
