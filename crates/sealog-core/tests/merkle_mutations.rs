//! Property tests: a valid proof changed in any way never verifies.
//!
//! A proof is changed (a flipped bit, a dropped, added, duplicated or swapped hash), or the
//! claim around it is: another index, leaf or root, or other sizes. A claim of another size is
//! checked against that size's true root: with the original root it can legitimately pass
//! when both sizes give the path the same shape (see
//! `the_size_is_bound_by_the_root_not_by_the_proof`), which is why a checkpoint signs the size
//! together with the root.

use proptest::prelude::*;
use sealog_core::merkle::{
    Hash, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, tree_root, verify_consistency,
    verify_inclusion,
};
use std::sync::OnceLock;

const N: u64 = 300;

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_be_bytes())
}

/// A tree of `N` leaves, and the root of every size from 0 to `N`.
fn tree() -> &'static (MemoryTree, Vec<Hash>) {
    static TREE: OnceLock<(MemoryTree, Vec<Hash>)> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut tree = MemoryTree::new();
        (0..N).for_each(|i| tree.push(leaf(i)));
        let roots = (0..=N)
            .map(|size| tree_root(&tree, size).unwrap())
            .collect();
        (tree, roots)
    })
}

/// A change to the hashes of a proof.
#[derive(Clone, Debug)]
enum Edit {
    FlipBit { element: usize, bit: usize },
    Drop { element: usize },
    Insert { at: usize, hash: Hash },
    Duplicate { element: usize, at: usize },
    Swap { a: usize, b: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..256usize).prop_map(|(element, bit)| Edit::FlipBit { element, bit }),
        any::<usize>().prop_map(|element| Edit::Drop { element }),
        (any::<usize>(), any::<Hash>()).prop_map(|(at, hash)| Edit::Insert { at, hash }),
        (any::<usize>(), any::<usize>()).prop_map(|(element, at)| Edit::Duplicate { element, at }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap { a, b }),
    ]
}

/// Applies `edit`; false if it does not apply to this proof (or would not change it).
fn apply(edit: &Edit, proof: &mut Vec<Hash>) -> bool {
    let len = proof.len();
    match *edit {
        Edit::FlipBit { element, bit } if len > 0 => {
            proof[element % len][bit / 8] ^= 1 << (bit % 8)
        }
        Edit::Drop { element } if len > 0 => {
            proof.remove(element % len);
        }
        Edit::Insert { at, hash } => proof.insert(at % (len + 1), hash),
        Edit::Duplicate { element, at } if len > 0 => {
            let copy = proof[element % len];
            proof.insert(at % (len + 1), copy);
        }
        Edit::Swap { a, b } if len > 1 && proof[a % len] != proof[b % len] => {
            proof.swap(a % len, b % len)
        }
        _ => return false,
    }
    true
}

/// A value in `1..=N` other than `x`.
fn other(x: u64, seed: u64) -> u64 {
    1 + (x - 1 + 1 + seed % (N - 1)) % N
}

#[test]
fn the_size_is_bound_by_the_root_not_by_the_proof() {
    let (tree, roots) = tree();
    // Leaf 0's path has the same shape in trees of 5 and 6 leaves.
    let proof = inclusion_proof(tree, 0, 5).unwrap();
    assert_eq!(verify_inclusion(&leaf(0), 0, 6, &proof, &roots[5]), Ok(()));
    assert!(verify_inclusion(&leaf(0), 0, 6, &proof, &roots[6]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn edited_inclusion_proofs_never_verify(size in 1..=N, index: u64, edit in edit()) {
        let (tree, roots) = tree();
        let index = index % size;
        let mut proof = inclusion_proof(tree, index, size).unwrap();
        let root = &roots[size as usize];
        prop_assert_eq!(verify_inclusion(&leaf(index), index, size, &proof, root), Ok(()));
        prop_assume!(apply(&edit, &mut proof));
        prop_assert!(verify_inclusion(&leaf(index), index, size, &proof, root).is_err());
    }

    #[test]
    fn inclusion_proofs_do_not_verify_another_claim(size in 2..=N, index: u64, seed: u64) {
        let (tree, roots) = tree();
        let index = index % size;
        let proof = inclusion_proof(tree, index, size).unwrap();
        let (leaf, root) = (leaf(index), &roots[size as usize]);
        // Another index in the same tree.
        let moved = (index + 1 + seed % (size - 1)) % size;
        prop_assert!(verify_inclusion(&leaf, moved, size, &proof, root).is_err());
        // Another leaf at the same index.
        prop_assert!(verify_inclusion(&leaf_hash(b"x"), index, size, &proof, root).is_err());
        // Another tree size, with that size's root.
        let resized = other(size, seed);
        let root = &roots[resized as usize];
        prop_assert!(verify_inclusion(&leaf, index, resized, &proof, root).is_err());
        // A bit flipped in the root.
        let mut root = roots[size as usize];
        root[(seed % 32) as usize] ^= 1;
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_err());
    }

    #[test]
    fn edited_consistency_proofs_never_verify(new in 1..=N, old: u64, edit in edit()) {
        let (tree, roots) = tree();
        let old = 1 + old % new;
        let mut proof = consistency_proof(tree, old, new).unwrap();
        let (old_root, new_root) = (&roots[old as usize], &roots[new as usize]);
        prop_assert_eq!(verify_consistency(old, new, &proof, old_root, new_root), Ok(()));
        prop_assume!(apply(&edit, &mut proof));
        prop_assert!(verify_consistency(old, new, &proof, old_root, new_root).is_err());
    }

    #[test]
    fn consistency_proofs_do_not_verify_other_sizes(new in 1..=N, old: u64, seed: u64) {
        let (tree, roots) = tree();
        let old = 1 + old % new;
        let proof = consistency_proof(tree, old, new).unwrap();
        let root = |size: u64| &roots[size as usize];
        let old2 = other(old, seed);
        prop_assert!(verify_consistency(old2, new, &proof, root(old2), root(new)).is_err());
        let new2 = other(new, seed);
        prop_assert!(verify_consistency(old, new2, &proof, root(old), root(new2)).is_err());
        let flip = |root: &Hash| {
            let mut root = *root;
            root[(seed % 32) as usize] ^= 0x10;
            root
        };
        prop_assert!(verify_consistency(old, new, &proof, &flip(root(old)), root(new)).is_err());
        prop_assert!(verify_consistency(old, new, &proof, root(old), &flip(root(new))).is_err());
    }
}
