//! Inclusion and consistency proofs as the log serves them: the hashes in hex, each proof
//! checkable against its own root (which a signed head then vouches for).

use serde::{Deserialize, Serialize};

use crate::merkle::{Hash, ProofError};

/// An inclusion proof against a tree size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The entry's index.
    pub index: u64,
    /// The tree size the proof is for.
    pub tree_size: u64,
    /// The entry's leaf hash.
    #[serde(with = "hex::serde")]
    pub leaf_hash: Hash,
    /// The root at `tree_size`.
    #[serde(with = "hex::serde")]
    pub root_hash: Hash,
    /// The audit path (hex hashes).
    #[serde(with = "hash_list")]
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// Verifies the proof against its own root (compare that root with a signed head).
    pub fn verify(&self) -> Result<(), ProofError> {
        crate::merkle::verify_inclusion(
            &self.leaf_hash,
            self.index,
            self.tree_size,
            &self.path,
            &self.root_hash,
        )
    }
}

/// A consistency proof between two tree sizes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The old size.
    pub old_size: u64,
    /// The new size.
    pub new_size: u64,
    /// The root at the old size.
    #[serde(with = "hex::serde")]
    pub old_root: Hash,
    /// The root at the new size.
    #[serde(with = "hex::serde")]
    pub new_root: Hash,
    /// The proof (hex hashes).
    #[serde(with = "hash_list")]
    pub path: Vec<Hash>,
}

impl ConsistencyProof {
    /// Verifies the proof between its own roots.
    pub fn verify(&self) -> Result<(), ProofError> {
        crate::merkle::verify_consistency(
            self.old_size,
            self.new_size,
            &self.old_root,
            &self.new_root,
            &self.path,
        )
    }
}

mod hash_list {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::merkle::Hash;

    pub fn serialize<S: Serializer>(list: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(hex::encode))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|t| {
                crate::event::decode_hash(t)
                    .ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
            })
            .collect()
    }
}
