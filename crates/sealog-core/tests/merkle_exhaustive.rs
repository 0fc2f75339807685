//! Exhaustive checks of the proof builders, the verifiers and the incremental tree, against
//! each other and against `ct-merkle`, an independent RFC 6962 implementation.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use sealog_core::merkle::{
    CompactTree, EMPTY_ROOT, Hash, HashSource, MemoryTree, Node, consistency_proof,
    inclusion_proof, leaf_hash, tree_root, verify_consistency, verify_inclusion,
};
use sha2::Sha256;

/// Every proof of every tree up to this size is checked.
const N: u64 = 300;

fn leaf(i: u64) -> Hash {
    leaf_hash(&i.to_be_bytes())
}

fn tree(size: u64) -> MemoryTree {
    let mut tree = MemoryTree::new();
    (0..size).for_each(|i| tree.push(leaf(i)));
    tree
}

fn concat(proof: &[Hash]) -> Vec<u8> {
    proof.concat()
}

/// Every inclusion and consistency proof of every size up to [`N`], built from one tree of
/// `N` leaves (so from nodes complete at older sizes too), equals ct-merkle's and verifies.
#[test]
fn every_proof_up_to_300_matches_ct_merkle_and_verifies() {
    let tree = tree(N);
    let mut oracle = MemoryBackedTree::<Sha256, [u8; 8]>::new();
    let mut roots = vec![EMPTY_ROOT];
    let (mut inclusions, mut consistencies) = (0, 0);
    for size in 1..=N {
        oracle.push((size - 1).to_be_bytes());
        let root = tree_root(&tree, size).unwrap();
        assert_eq!(
            root.as_slice(),
            oracle.root().as_bytes().as_slice(),
            "root {size}"
        );
        roots.push(root);
        for index in 0..size {
            let proof = inclusion_proof(&tree, index, size).unwrap();
            assert_eq!(
                concat(&proof),
                oracle.prove_inclusion(index as usize).as_bytes(),
                "inclusion {index} in {size}"
            );
            verify_inclusion(&leaf(index), index, size, &proof, &root).unwrap();
            inclusions += 1;
        }
        for old in 1..=size {
            let proof = consistency_proof(&tree, old, size).unwrap();
            assert_eq!(
                concat(&proof),
                oracle.prove_consistency((size - old) as usize).as_bytes(),
                "consistency {old} → {size}"
            );
            verify_consistency(old, size, &proof, &roots[old as usize], &root).unwrap();
            consistencies += 1;
        }
    }
    assert_eq!((inclusions, consistencies), (45_150, 45_150));
}

/// Roots and proofs read exactly the nodes they need, in one batch each.
#[test]
fn proofs_read_one_batch_of_complete_nodes() {
    use std::cell::RefCell;

    struct Recording {
        tree: MemoryTree,
        reads: RefCell<Vec<Vec<Node>>>,
    }
    impl HashSource for Recording {
        type Error = <MemoryTree as HashSource>::Error;
        fn node_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, Self::Error> {
            self.reads.borrow_mut().push(nodes.to_vec());
            self.tree.node_hashes(nodes)
        }
    }
    let source = Recording {
        tree: tree(13),
        reads: RefCell::default(),
    };
    let node = |level, index| Node { level, index };

    tree_root(&source, 13).unwrap();
    inclusion_proof(&source, 5, 13).unwrap();
    // 10 → 13: the old tree's smallest subtree [8, 10), then the path of leaf 9 from level 1.
    consistency_proof(&source, 10, 13).unwrap();
    assert_eq!(
        consistency_proof(&source, 13, 13).unwrap(),
        Vec::<Hash>::new()
    );
    assert_eq!(
        source.reads.into_inner(),
        [
            vec![node(3, 0), node(2, 2), node(0, 12)],
            vec![node(0, 4), node(1, 3), node(2, 0), node(2, 2), node(0, 12)],
            vec![node(1, 4), node(1, 5), node(0, 12), node(3, 0)],
        ]
    );
}

/// The incremental tree agrees with the full one at every size, returns exactly the nodes
/// each append completes, and restores from its border.
#[test]
fn compact_tree_matches_memory_tree() {
    // Past 1024 so that appends complete up to 10 levels at once.
    let last = 1100;
    let memory = tree(last);
    let mut compact = CompactTree::new();
    for size in 1..=last {
        let created = compact.append(leaf(size - 1));
        // A leaf completes the node ending at it on each level where `size` is a multiple
        // of the node's width.
        let want: Vec<Node> = (0..=size.trailing_zeros() as u8)
            .map(|level| Node {
                level,
                index: (size >> level) - 1,
            })
            .collect();
        let hashes = memory.node_hashes(&want).unwrap();
        assert_eq!(
            created,
            want.into_iter().zip(hashes).collect::<Vec<_>>(),
            "append to {}",
            size - 1
        );
        assert_eq!(compact.size(), size);
        assert_eq!(compact.root(), tree_root(&memory, size).unwrap(), "{size}");

        let border = CompactTree::border(size);
        assert_eq!(border.len(), size.count_ones() as usize);
        let restored =
            CompactTree::from_border(size, memory.node_hashes(&border).unwrap()).unwrap();
        assert_eq!(restored, compact, "restored at {size}");
    }
    assert_eq!(memory.root(), compact.root());
}

/// A restored tree keeps appending as if it had never stopped.
#[test]
fn restored_compact_tree_keeps_appending() {
    let memory = tree(600);
    for size in [0, 1, 255, 256, 257, 300, 511] {
        let border = memory.node_hashes(&CompactTree::border(size)).unwrap();
        let mut restored = CompactTree::from_border(size, border).unwrap();
        for i in size..600 {
            restored.append(leaf(i));
        }
        assert_eq!(restored.root(), memory.root(), "restored at {size}");
    }
}
