//! Known answers: the RFC 6962 reference tree used throughout Certificate Transparency test
//! suites (leaves and hashes as in transparency-dev/merkle's `testonly/constants.go`,
//! Apache-2.0), the empty root, and the exact error messages.

use sealog_core::merkle::{
    BorderError, CompactTree, EMPTY_ROOT, Hash, HashSource, MemoryTree, Node, ProofError,
    UnknownNode, VerifyError, consistency_proof, inclusion_proof, leaf_hash, node_hash, tree_root,
    verify_consistency, verify_inclusion, verify_subtree_consistency, verify_subtree_inclusion,
};

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// The hashes of every complete node of the 8-leaf tree, by level.
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// The root of the tree of the first `n` leaves, for `n` from 0 to 8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn h(s: &str) -> Hash {
    Hash::try_from(unhex(s).as_slice()).expect("32-byte hex")
}

fn reference_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in LEAVES {
        tree.push(leaf_hash(&unhex(leaf)));
    }
    tree
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    assert_eq!(EMPTY_ROOT, h(ROOTS[0]));
    assert_eq!(MemoryTree::new().root(), EMPTY_ROOT);
    assert_eq!(CompactTree::new().root(), EMPTY_ROOT);
    assert_eq!(tree_root(&MemoryTree::new(), 0).unwrap(), EMPTY_ROOT);
}

#[test]
fn reference_tree_nodes() {
    let tree = reference_tree();
    for (level, hashes) in NODES.iter().enumerate() {
        for (index, want) in hashes.iter().enumerate() {
            let node = Node {
                level: level as u8,
                index: index as u64,
            };
            assert_eq!(tree.node_hashes(&[node]).unwrap(), [h(want)], "{node:?}");
        }
    }
    assert_eq!(
        tree.node_hashes(&[Node { level: 3, index: 1 }]),
        Err(UnknownNode {
            node: Node { level: 3, index: 1 }
        })
    );
    assert_eq!(
        node_hash(&h(NODES[2][0]), &h(NODES[2][1])),
        h(ROOTS[8]),
        "node_hash is H(0x01 ‖ left ‖ right)"
    );
}

#[test]
fn reference_tree_roots_of_every_size() {
    let tree = reference_tree();
    let mut compact = CompactTree::new();
    let mut growing = MemoryTree::new();
    assert_eq!(tree_root(&tree, 0).unwrap(), h(ROOTS[0]));
    for (n, leaf) in LEAVES.iter().enumerate() {
        let size = n as u64 + 1;
        compact.append(leaf_hash(&unhex(leaf)));
        growing.push(leaf_hash(&unhex(leaf)));
        let want = h(ROOTS[n + 1]);
        assert_eq!(
            tree_root(&tree, size).unwrap(),
            want,
            "tree_root size {size}"
        );
        assert_eq!(compact.root(), want, "CompactTree size {size}");
        assert_eq!(growing.root(), want, "MemoryTree size {size}");
        assert_eq!(compact.size(), size);
        assert_eq!(growing.size(), size);
    }
}

#[test]
fn reference_tree_borders() {
    // The complete subtrees each size is made of, as (level, index).
    let borders: [&[(u8, u64)]; 9] = [
        &[],
        &[(0, 0)],
        &[(1, 0)],
        &[(1, 0), (0, 2)],
        &[(2, 0)],
        &[(2, 0), (0, 4)],
        &[(2, 0), (1, 2)],
        &[(2, 0), (1, 2), (0, 6)],
        &[(3, 0)],
    ];
    let tree = reference_tree();
    for (size, border) in borders.iter().enumerate() {
        let nodes: Vec<Node> = border
            .iter()
            .map(|&(level, index)| Node { level, index })
            .collect();
        assert_eq!(CompactTree::border(size as u64), nodes, "size {size}");
        let hashes = tree.node_hashes(&nodes).unwrap();
        let restored = CompactTree::from_border(size as u64, hashes).unwrap();
        assert_eq!(restored.root(), h(ROOTS[size]));
    }
    assert_eq!(
        CompactTree::from_border(7, vec![EMPTY_ROOT; 2]),
        Err(BorderError {
            size: 7,
            want: 3,
            got: 2
        })
    );
}

#[test]
fn rfc9162_example_proofs() {
    // RFC 9162 §2.1.5 draws a 7-leaf tree: leaves a..f and j, g = H(a, b), i = H(e, f),
    // k = H(g, h), l = H(i, j); these are its example proofs.
    let tree = reference_tree();
    let leaf = |i: usize| h(NODES[0][i]);
    let (c, d) = (leaf(2), leaf(3));
    let g = h(NODES[1][0]);
    let i = h(NODES[1][2]);
    let j = leaf(6);
    let k = h(NODES[2][0]);
    let l = node_hash(&i, &j);
    assert_eq!(
        inclusion_proof(&tree, 0, 7).unwrap(),
        [leaf(1), h(NODES[1][1]), l]
    );
    assert_eq!(inclusion_proof(&tree, 3, 7).unwrap(), [c, g, l]);
    assert_eq!(inclusion_proof(&tree, 4, 7).unwrap(), [leaf(5), j, k]);
    assert_eq!(inclusion_proof(&tree, 6, 7).unwrap(), [i, k]);
    assert_eq!(consistency_proof(&tree, 3, 7).unwrap(), [c, d, g, l]);
    assert_eq!(consistency_proof(&tree, 4, 7).unwrap(), [l]);
    assert_eq!(consistency_proof(&tree, 6, 7).unwrap(), [i, j, k]);
    assert_eq!(consistency_proof(&tree, 7, 7).unwrap(), Vec::<Hash>::new());
    for (old, proof) in [(3, vec![c, d, g, l]), (4, vec![l]), (6, vec![i, j, k])] {
        verify_consistency(old, 7, &proof, &h(ROOTS[old as usize]), &h(ROOTS[7])).unwrap();
    }
    verify_inclusion(&leaf(3), 3, 7, &[c, g, l], &h(ROOTS[7])).unwrap();
}

#[test]
fn proof_requests_that_cannot_be_met() {
    let tree = reference_tree();
    assert!(matches!(
        inclusion_proof(&tree, 8, 8),
        Err(ProofError::IndexOutsideTree { index: 8, size: 8 })
    ));
    assert!(matches!(
        consistency_proof(&tree, 0, 5),
        Err(ProofError::ConsistencyFromEmpty { new_size: 5 })
    ));
    assert!(matches!(
        consistency_proof(&tree, 6, 5),
        Err(ProofError::OldSizeLarger {
            old_size: 6,
            new_size: 5
        })
    ));
    let error = inclusion_proof(&tree, 2, 9).unwrap_err();
    assert!(
        matches!(&error, ProofError::Source(UnknownNode { node }) if *node == Node { level: 0, index: 8 }),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "no complete node at level 0 index 8");
    assert_eq!(
        consistency_proof(&tree, 0, 0).unwrap_err().to_string(),
        "there is no consistency proof from the empty tree (0 → 0)"
    );
}

/// A source that breaks its contract by dropping the last hash.
struct ShortSource(MemoryTree);

impl HashSource for ShortSource {
    type Error = UnknownNode;
    fn node_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, UnknownNode> {
        let mut hashes = self.0.node_hashes(nodes)?;
        hashes.pop();
        Ok(hashes)
    }
}

#[test]
fn a_short_hash_source_is_an_error_not_a_panic() {
    let error = inclusion_proof(&ShortSource(reference_tree()), 2, 8).unwrap_err();
    assert!(matches!(
        error,
        ProofError::SourceHashCount {
            asked: 3,
            returned: 2
        }
    ));
    assert_eq!(
        error.to_string(),
        "the hash source returned 2 hashes for 3 nodes"
    );
}

#[test]
fn verify_error_messages() {
    let root = h(ROOTS[8]);
    let leaf2 = h(NODES[0][2]);
    let proof = inclusion_proof(&reference_tree(), 2, 8).unwrap();
    let message = |e: VerifyError| e.to_string();

    let mut long = proof.clone();
    long.extend([EMPTY_ROOT, EMPTY_ROOT]);
    assert_eq!(
        message(verify_inclusion(&leaf2, 2, 8, &long, &root).unwrap_err()),
        "inclusion proof has 5 hashes, a tree of size 8 needs 3 for index 2"
    );
    assert_eq!(
        message(verify_inclusion(&leaf2, 9, 8, &proof, &root).unwrap_err()),
        "index 9 is outside a tree of size 8"
    );
    assert_eq!(
        verify_inclusion(&EMPTY_ROOT, 2, 8, &proof, &root).unwrap_err(),
        VerifyError::RootMismatch {
            computed: verify_root_for(&EMPTY_ROOT, &proof),
            expected: root
        }
    );
    let wrong_root = message(verify_inclusion(&leaf2, 2, 8, &proof, &EMPTY_ROOT).unwrap_err());
    assert_eq!(
        wrong_root,
        "computed root 5dc9da79… does not match the expected root e3b0c442…"
    );

    let consistency = consistency_proof(&reference_tree(), 3, 8).unwrap();
    assert_eq!(
        message(verify_consistency(3, 8, &consistency[1..], &h(ROOTS[3]), &root).unwrap_err()),
        format!(
            "consistency proof has {} hashes, sizes 3 → 8 need {}",
            consistency.len() - 1,
            consistency.len()
        )
    );
    assert_eq!(
        message(verify_consistency(3, 8, &consistency, &h(ROOTS[4]), &root).unwrap_err()),
        "computed old root aeb6bcfe… does not match the expected old root d37ee418…"
    );
    assert_eq!(
        message(verify_consistency(0, 0, &[], &EMPTY_ROOT, &EMPTY_ROOT).unwrap_err()),
        "there is no consistency proof from the empty tree (0 → 0)"
    );
    assert_eq!(
        message(verify_consistency(5, 4, &[], &root, &root).unwrap_err()),
        "old size 5 is larger than new size 4"
    );
    assert_eq!(
        verify_consistency(8, 8, &[], &root, &root),
        Ok(()),
        "equal sizes, empty proof, equal roots"
    );

    assert_eq!(
        message(verify_subtree_inclusion(&leaf2, 2, 1, 3, &[], &root).unwrap_err()),
        "[1, 3) is not a subtree"
    );
    assert_eq!(
        message(verify_subtree_inclusion(&leaf2, 4, 0, 4, &[], &root).unwrap_err()),
        "index 4 is outside the subtree [0, 4)"
    );
    assert_eq!(
        message(verify_subtree_inclusion(&leaf2, 2, 0, 4, &[], &root).unwrap_err()),
        "subtree inclusion proof has 0 hashes, subtree [0, 4) needs 2 for index 2"
    );
    assert_eq!(
        message(verify_subtree_consistency(4, 8, 7, &[], &root, &root).unwrap_err()),
        "subtree [4, 8) ends after a tree of size 7"
    );
    assert_eq!(
        message(verify_subtree_consistency(4, 8, 8, &[], &root, &root).unwrap_err()),
        "subtree consistency proof has 0 hashes, subtree [4, 8) of a tree of size 8 needs 1"
    );
    assert_eq!(
        message(verify_subtree_consistency(4, 4, 8, &[], &root, &root).unwrap_err()),
        "computed subtree hash e3b0c442… does not match the expected subtree hash 5dc9da79…"
    );
    assert_eq!(
        verify_subtree_consistency(4, 4, 8, &[], &EMPTY_ROOT, &root),
        Ok(())
    );
}

/// The root an inclusion proof for leaf 2 of 8 leads to from `leaf`.
fn verify_root_for(leaf: &Hash, proof: &[Hash]) -> Hash {
    let r = node_hash(leaf, &proof[0]);
    let r = node_hash(&proof[1], &r);
    node_hash(&r, &proof[2])
}
