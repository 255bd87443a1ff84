//! Proofs against a naive recomputation (RFC 9162 §2.1), for random sizes and indices.

use proptest::prelude::*;
use sha2::{Digest, Sha256};
use symbolon_audit::merkle::{leaf_hash, node_hash};
use symbolon_audit::{verify_consistency, verify_inclusion, Hash, MerkleTree};

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn mth(leaves: &[Vec<u8>]) -> Hash {
    match leaves {
        [] => Sha256::digest([]).into(),
        [one] => leaf_hash(one),
        _ => {
            let k = split(leaves.len());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn path(m: usize, leaves: &[Vec<u8>]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = split(leaves.len());
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn subproof(m: usize, leaves: &[Vec<u8>], complete: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if complete {
            Vec::new()
        } else {
            vec![mth(leaves)]
        };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], complete);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

fn leaves(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
}

fn tree(data: &[Vec<u8>]) -> MerkleTree {
    let mut tree = MerkleTree::new();
    for d in data {
        tree.push(d);
    }
    tree
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn inclusion_matches_naive(size in 1usize..300, seed in any::<usize>(), extra in 0usize..40) {
        let data = leaves(size + extra);
        let tree = tree(&data);
        let index = seed % size;
        let root = mth(&data[..size]);
        prop_assert_eq!(tree.root_at(size as u64).unwrap(), root);
        let proof = tree.inclusion_proof(index as u64, size as u64).unwrap();
        prop_assert_eq!(&proof, &path(index, &data[..size]));
        prop_assert!(proof.len() <= 64 - (size as u64).leading_zeros() as usize);
        let leaf = leaf_hash(&data[index]);
        prop_assert!(verify_inclusion(&leaf, index as u64, size as u64, &proof, &root).is_ok());
        let other = leaf_hash(b"not in the tree");
        prop_assert!(verify_inclusion(&other, index as u64, size as u64, &proof, &root).is_err());
        if size > 1 {
            let wrong = (index + 1) % size;
            prop_assert!(verify_inclusion(&leaf, wrong as u64, size as u64, &proof, &root).is_err());
            let mut bad = proof.clone();
            bad[0][0] ^= 1;
            prop_assert!(verify_inclusion(&leaf, index as u64, size as u64, &bad, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index as u64, size as u64, &proof[1..], &root).is_err());
        }
    }

    #[test]
    fn consistency_matches_naive(new in 0usize..300, seed in any::<usize>()) {
        let data = leaves(new);
        let tree = tree(&data);
        let old = if new == 0 { 0 } else { seed % (new + 1) };
        let proof = tree.consistency_proof(old as u64, new as u64).unwrap();
        let expected = if old == 0 || old == new { Vec::new() } else { subproof(old, &data, true) };
        prop_assert_eq!(&proof, &expected);
        let (old_root, new_root) = (mth(&data[..old]), mth(&data));
        prop_assert!(verify_consistency(old as u64, new as u64, &old_root, &new_root, &proof).is_ok());
        if old > 0 {
            let mut bad_root = new_root;
            bad_root[5] ^= 1;
            prop_assert!(verify_consistency(old as u64, new as u64, &old_root, &bad_root, &proof).is_err());
            let mut bad_old = old_root;
            bad_old[5] ^= 1;
            prop_assert!(verify_consistency(old as u64, new as u64, &bad_old, &new_root, &proof).is_err());
        }
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let last = bad.len() - 1;
            bad[last][0] ^= 1;
            prop_assert!(verify_consistency(old as u64, new as u64, &old_root, &new_root, &bad).is_err());
        }
    }
}

#[test]
fn edge_cases() {
    for size in [1usize, 2, 3, 4, 7, 8, 9, 16, 17, 31, 32, 33, 64, 128, 129] {
        let data = leaves(size);
        let tree = tree(&data);
        assert_eq!(tree.root(), mth(&data), "size {size}");
        for old in [0, 1, size / 2, size.saturating_sub(1), size] {
            let proof = tree.consistency_proof(old as u64, size as u64).unwrap();
            verify_consistency(
                old as u64,
                size as u64,
                &mth(&data[..old]),
                &mth(&data),
                &proof,
            )
            .unwrap();
        }
        for index in [0, size / 2, size - 1] {
            let proof = tree.inclusion_proof(index as u64, size as u64).unwrap();
            verify_inclusion(
                &leaf_hash(&data[index]),
                index as u64,
                size as u64,
                &proof,
                &mth(&data),
            )
            .unwrap();
        }
    }
    let t = tree(&leaves(4));
    assert!(t.inclusion_proof(4, 4).is_err());
    assert!(t.inclusion_proof(0, 5).is_err());
    assert!(t.consistency_proof(3, 2).is_err());
    assert!(t.consistency_proof(1, 5).is_err());
    assert!(t.root_at(5).is_err());
    assert_eq!(t.root_at(0).unwrap(), mth(&[]));
    assert!(verify_inclusion(&[0; 32], 0, 0, &[], &[0; 32]).is_err());
}
