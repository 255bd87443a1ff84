//! Boolean circuits on three-party replicated shares
//! ([`crate::party::BitShares`]): a recorded circuit evaluated with every AND
//! of one depth in a single round, and AES-128 on shares, which the private
//! linkage uses as a pseudorandom function under a key no party knows.

pub mod aes;
pub(crate) mod circuit;
mod sbox;

#[cfg(test)]
mod tests;
