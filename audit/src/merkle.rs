//! RFC 9162 Merkle tree hashing, an in-memory tree with incremental roots, inclusion and
//! consistency proofs, and their verification.
//!
//! Leaves hash as `SHA-256(0x00 || data)`, interior nodes as `SHA-256(0x01 || left || right)`,
//! and the empty tree as `SHA-256("")` (RFC 9162 §2.1.1).

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Why a proof could not be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The tree size asked for is larger than the tree.
    #[error("tree size {size} is larger than the log ({len} entries)")]
    SizeBeyondLog {
        /// The size asked for.
        size: u64,
        /// The number of leaves in the log.
        len: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("the old size {old} is larger than the new size {new}")]
    OldBeyondNew {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The proof does not lead to the expected root.
    #[error("the proof does not verify: {0}")]
    Invalid(&'static str),
}

/// An append-only Merkle tree held in memory.
///
/// It keeps every complete subtree's hash, level by level, so an append costs O(1) amortised
/// hashes, and the root at any size, an inclusion proof or a consistency proof costs O(log n).
/// Memory is about two hashes (64 bytes) per leaf.
#[derive(Debug, Clone, Default)]
pub struct MerkleTree {
    // INVARIANT: levels[k][i] is the hash of the complete subtree of 2^k leaves starting at
    // leaf i * 2^k; levels[0] holds the leaf hashes.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        MerkleTree {
            levels: vec![Vec::new()],
        }
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// True when the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a leaf by its data; returns its index.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        self.push_hash(leaf_hash(data))
    }

    /// Appends a leaf by its leaf hash; returns its index.
    pub fn push_hash(&mut self, hash: Hash) -> u64 {
        let index = self.len();
        let mut carry = hash;
        let mut level = 0;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(nodes) = self.levels.get_mut(level) else {
                break;
            };
            nodes.push(carry);
            let n = nodes.len();
            if n % 2 == 1 {
                break;
            }
            match (nodes.get(n - 2), nodes.get(n - 1)) {
                (Some(left), Some(right)) => carry = node_hash(left, right),
                _ => break,
            }
            level += 1;
        }
        index
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let index = usize::try_from(index).ok()?;
        self.levels.first()?.get(index).copied()
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        self.subtree(0, self.len()).unwrap_or_else(empty_root)
    }

    /// The root of the tree as it was at `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size)?;
        Ok(self.subtree(0, size).unwrap_or_else(empty_root))
    }

    /// The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof)?;
        Ok(proof)
    }

    /// The consistency proof from size `old` to size `new` (RFC 9162 §2.1.4.1). Empty when
    /// `old` is 0 or equal to `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(new)?;
        if old > new {
            return Err(ProofError::OldBeyondNew { old, new });
        }
        let mut proof = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, &mut proof)?;
        }
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size > self.len() {
            return Err(ProofError::SizeBeyondLog {
                size,
                len: self.len(),
            });
        }
        Ok(())
    }

    /// MTH of leaves `start .. start + len`; `None` for an empty or out-of-range range.
    fn subtree(&self, start: u64, len: u64) -> Option<Hash> {
        if len == 0 || start.checked_add(len)? > self.len() {
            return None;
        }
        if len.is_power_of_two() && start.is_multiple_of(len) {
            let level = usize::try_from(len.trailing_zeros()).ok()?;
            let at = usize::try_from(start / len).ok()?;
            return self.levels.get(level)?.get(at).copied();
        }
        let k = split_point(len);
        Some(node_hash(
            &self.subtree(start, k)?,
            &self.subtree(start + k, len - k)?,
        ))
    }

    fn hash_of(&self, start: u64, len: u64) -> Result<Hash, ProofError> {
        self.subtree(start, len)
            .ok_or(ProofError::Invalid("internal range"))
    }

    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) -> Result<(), ProofError> {
        if n <= 1 {
            return Ok(());
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, k, out)?;
            out.push(self.hash_of(start + k, n - k)?);
        } else {
            self.path(m - k, start + k, n - k, out)?;
            out.push(self.hash_of(start, k)?);
        }
        Ok(())
    }

    fn subproof(
        &self,
        m: u64,
        start: u64,
        n: u64,
        complete: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), ProofError> {
        if m == n {
            if !complete {
                out.push(self.hash_of(start, n)?);
            }
            return Ok(());
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, k, complete, out)?;
            out.push(self.hash_of(start + k, n - k)?);
        } else {
            self.subproof(m - k, start + k, n - k, false, out)?;
            out.push(self.hash_of(start, k)?);
        }
        Ok(())
    }
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    if n < 2 {
        return 0;
    }
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Verifies that `leaf` is leaf `index` of the tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::Invalid("the proof is too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::Invalid("the proof is too short"));
    }
    if &r != root {
        return Err(ProofError::Invalid("the computed root differs"));
    }
    Ok(())
}

/// Verifies that the tree of `new_size` leaves with root `new_root` extends the tree of
/// `old_size` leaves with root `old_root` (RFC 9162 §2.1.4.2). An empty old tree is extended
/// by every tree (with an empty proof); equal sizes need equal roots and an empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldBeyondNew {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::Invalid("equal sizes take an empty proof"));
        }
        if old_root != new_root {
            return Err(ProofError::Invalid("equal sizes with different roots"));
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::Invalid(
                "an empty old tree takes an empty proof",
            ));
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::Invalid("the proof is empty"));
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::Invalid("the proof is too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::Invalid("the proof is too short"));
    }
    if &fr != old_root {
        return Err(ProofError::Invalid("the old root differs"));
    }
    if &sr != new_root {
        return Err(ProofError::Invalid("the new root differs"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_single() {
        let mut tree = MerkleTree::new();
        assert_eq!(
            hex::encode(tree.root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        tree.push(b"");
        assert_eq!(tree.root(), leaf_hash(b""));
        assert_eq!(tree.inclusion_proof(0, 1).unwrap(), Vec::<Hash>::new());
        assert!(tree.inclusion_proof(1, 1).is_err());
        assert!(tree.inclusion_proof(0, 2).is_err());
    }

    #[test]
    fn split_points() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 40), 1 << 39);
    }
}
