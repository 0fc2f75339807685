//! Strict proof verifiers: RFC 9162 §2.1.3.2 and §2.1.4.2, and the subtree proofs of the IETF
//! Merkle Tree Certificates draft (draft-ietf-plants-merkle-tree-certs, "Subtree Inclusion
//! Proofs" and "Subtree Consistency Proofs").
//!
//! Each verifier first walks the index arithmetic of its algorithm without hashing, which
//! gives the one proof length the algorithm accepts; a proof of any other length is rejected
//! up front with both lengths in the message. The same walk then drives the hashing, so the
//! two cannot disagree. Proofs are attacker input: nothing here panics or overflows on any
//! index, size or proof.

use super::{EMPTY_ROOT, Hash, node_hash};
use std::fmt;

/// Why a proof was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not below the tree size.
    #[error("index {index} is outside a tree of size {size}")]
    IndexOutsideTree {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// An inclusion proof has the wrong number of hashes.
    #[error(
        "inclusion proof has {got} hashes, a tree of size {size} needs {want} for index {index}"
    )]
    InclusionProofLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the index and size call for.
        want: usize,
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// A consistency proof was asked to start from the empty tree, which every tree extends.
    #[error("there is no consistency proof from the empty tree (0 → {new_size})")]
    ConsistencyFromEmpty {
        /// The claimed new size.
        new_size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("old size {old_size} is larger than new size {new_size}")]
    OldSizeLarger {
        /// The claimed old size.
        old_size: u64,
        /// The claimed new size.
        new_size: u64,
    },
    /// A consistency proof has the wrong number of hashes.
    #[error("consistency proof has {got} hashes, sizes {old_size} → {new_size} need {want}")]
    ConsistencyProofLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the sizes call for.
        want: usize,
        /// The claimed old size.
        old_size: u64,
        /// The claimed new size.
        new_size: u64,
    },
    /// The proof leads to another old root than the expected one.
    #[error(
        "computed old root {} does not match the expected old root {}",
        Short(.computed),
        Short(.expected)
    )]
    OldRootMismatch {
        /// The old root the proof leads to.
        computed: Hash,
        /// The old root it was checked against.
        expected: Hash,
    },
    /// The proof leads to another root than the expected one.
    #[error(
        "computed root {} does not match the expected root {}",
        Short(.computed),
        Short(.expected)
    )]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash,
        /// The root it was checked against.
        expected: Hash,
    },
    /// `[start, end)` is not a subtree: `start` is not a multiple of the smallest power of two
    /// at least `end - start`, or `start > end`.
    #[error("[{start}, {end}) is not a subtree")]
    NotASubtree {
        /// The claimed first leaf.
        start: u64,
        /// The claimed end (exclusive).
        end: u64,
    },
    /// The leaf index is not inside the subtree.
    #[error("index {index} is outside the subtree [{start}, {end})")]
    IndexOutsideSubtree {
        /// The claimed leaf index.
        index: u64,
        /// The subtree's first leaf.
        start: u64,
        /// The subtree's end (exclusive).
        end: u64,
    },
    /// The subtree ends after the tree.
    #[error("subtree [{start}, {end}) ends after a tree of size {size}")]
    SubtreeOutsideTree {
        /// The subtree's first leaf.
        start: u64,
        /// The subtree's end (exclusive).
        end: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// A subtree inclusion proof has the wrong number of hashes.
    #[error(
        "subtree inclusion proof has {got} hashes, subtree [{start}, {end}) needs {want} for index {index}"
    )]
    SubtreeInclusionProofLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the index and subtree call for.
        want: usize,
        /// The claimed leaf index.
        index: u64,
        /// The subtree's first leaf.
        start: u64,
        /// The subtree's end (exclusive).
        end: u64,
    },
    /// A subtree consistency proof has the wrong number of hashes.
    #[error(
        "subtree consistency proof has {got} hashes, subtree [{start}, {end}) of a tree of size {size} needs {want}"
    )]
    SubtreeConsistencyProofLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the subtree and size call for.
        want: usize,
        /// The subtree's first leaf.
        start: u64,
        /// The subtree's end (exclusive).
        end: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof leads to another subtree hash than the expected one.
    #[error(
        "computed subtree hash {} does not match the expected subtree hash {}",
        Short(.computed),
        Short(.expected)
    )]
    SubtreeHashMismatch {
        /// The subtree hash the proof leads to.
        computed: Hash,
        /// The subtree hash it was checked against.
        expected: Hash,
    },
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is
/// `root`, with the algorithm of RFC 9162 §2.1.3.2.
///
/// ```
/// use sealog_core::merkle::{leaf_hash, node_hash, verify_inclusion};
/// let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
/// let root = node_hash(&a, &b);
/// assert!(verify_inclusion(&b, 1, 2, &[a], &root).is_ok());
/// assert!(verify_inclusion(&b, 0, 2, &[a], &root).is_err());
/// ```
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutsideTree { index, size });
    }
    let computed = inclusion_root(leaf_hash, index, size, proof).map_err(|want| {
        VerifyError::InclusionProofLength {
            got: proof.len(),
            want,
            index,
            size,
        }
    })?;
    expect_root(computed, root)
}

/// Verifies that `leaf_hash` is leaf `index` of the subtree `[start, end)` whose hash is
/// `subtree_hash`: "Verifying a Subtree Inclusion Proof" of the IETF Merkle Tree Certificates
/// draft (draft-ietf-plants-merkle-tree-certs), which is RFC 9162 §2.1.3.2 on the subtree's
/// leaves.
pub fn verify_subtree_inclusion(
    leaf_hash: &Hash,
    index: u64,
    start: u64,
    end: u64,
    proof: &[Hash],
    subtree_hash: &Hash,
) -> Result<(), VerifyError> {
    if !is_subtree(start, end) {
        return Err(VerifyError::NotASubtree { start, end });
    }
    if index < start || index >= end {
        return Err(VerifyError::IndexOutsideSubtree { index, start, end });
    }
    let computed =
        inclusion_root(leaf_hash, index - start, end - start, proof).map_err(|want| {
            VerifyError::SubtreeInclusionProofLength {
                got: proof.len(),
                want,
                index,
                start,
                end,
            }
        })?;
    expect_subtree_hash(computed, subtree_hash)
}

/// Verifies that the tree of `new_size` leaves whose root is `new_root` extends the tree of
/// `old_size` leaves whose root is `old_root`, with the algorithm of RFC 9162 §2.1.4.2.
///
/// It runs the walk of [`verify_subtree_consistency`] on the subtree `[0, old_size)`, which
/// is the RFC's algorithm step for step: the draft's `sn` and `tn` are the RFC's `fn` and
/// `sn`, and its `fn` stays 0. Equal sizes need an empty proof (RFC 9162 §2.1.4.1 defines
/// `PROOF(m, D[m])` as empty) and equal roots. A proof from size 0 is an error, as in RFC
/// 9162: every tree extends the empty tree, so such a proof could only mislead.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), VerifyError> {
    if old_size == 0 {
        return Err(VerifyError::ConsistencyFromEmpty { new_size });
    }
    if old_size > new_size {
        return Err(VerifyError::OldSizeLarger { old_size, new_size });
    }
    let (old, new) = consistency_roots(0, old_size, new_size, proof, old_root).map_err(|want| {
        VerifyError::ConsistencyProofLength {
            got: proof.len(),
            want,
            old_size,
            new_size,
        }
    })?;
    if old != *old_root {
        return Err(VerifyError::OldRootMismatch {
            computed: old,
            expected: *old_root,
        });
    }
    expect_root(new, new_root)
}

/// Verifies that the subtree `[start, end)` whose hash is `subtree_hash` is part of the tree of
/// `size` leaves whose root is `root`: "Verifying a Subtree Consistency Proof" of the IETF
/// Merkle Tree Certificates draft (draft-ietf-plants-merkle-tree-certs).
///
/// With `start = 0` this is an RFC 9162 consistency proof from size `end`. Unlike
/// [`verify_consistency`], the draft accepts an empty subtree `[start, start)`, with an empty
/// proof and the empty tree's hash, whatever `root` is.
pub fn verify_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    proof: &[Hash],
    subtree_hash: &Hash,
    root: &Hash,
) -> Result<(), VerifyError> {
    if !is_subtree(start, end) {
        return Err(VerifyError::NotASubtree { start, end });
    }
    if end > size {
        return Err(VerifyError::SubtreeOutsideTree { start, end, size });
    }
    let length_error = |want| VerifyError::SubtreeConsistencyProofLength {
        got: proof.len(),
        want,
        start,
        end,
        size,
    };
    if start == end {
        if !proof.is_empty() {
            return Err(length_error(0));
        }
        return expect_subtree_hash(EMPTY_ROOT, subtree_hash);
    }
    let (sub, tree) =
        consistency_roots(start, end, size, proof, subtree_hash).map_err(length_error)?;
    expect_subtree_hash(sub, subtree_hash)?;
    expect_root(tree, root)
}

/// Whether `[start, end)` is a subtree as the draft defines it: `start <= end` and `start` is a
/// multiple of the smallest power of two at least `end - start`.
fn is_subtree(start: u64, end: u64) -> bool {
    // A width above 2^63 rounds up to 2^64, beyond u64, of which only 0 is a multiple.
    end.checked_sub(start).is_some_and(|width| {
        start == 0
            || width
                .checked_next_power_of_two()
                .is_some_and(|p| start.is_multiple_of(p))
    })
}

fn expect_root(computed: Hash, expected: &Hash) -> Result<(), VerifyError> {
    if computed == *expected {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch {
            computed,
            expected: *expected,
        })
    }
}

fn expect_subtree_hash(computed: Hash, expected: &Hash) -> Result<(), VerifyError> {
    if computed == *expected {
        Ok(())
    } else {
        Err(VerifyError::SubtreeHashMismatch {
            computed,
            expected: *expected,
        })
    }
}

/// Where a proof hash goes relative to the running hash.
#[derive(Clone, Copy)]
enum Side {
    /// `HASH(0x01 ‖ proof hash ‖ running hash)`.
    Left,
    /// `HASH(0x01 ‖ running hash ‖ proof hash)`.
    Right,
}

/// The root that an inclusion proof for leaf `index < size` leads to, or, if the proof has
/// the wrong length, the length it needs.
fn inclusion_root(leaf_hash: &Hash, index: u64, size: u64, proof: &[Hash]) -> Result<Hash, usize> {
    let walk = InclusionWalk {
        node: index,
        last: size - 1,
    };
    let want = walk.clone().count();
    if proof.len() != want {
        return Err(want);
    }
    Ok(walk.zip(proof).fold(*leaf_hash, |r, (side, p)| match side {
        Side::Left => node_hash(p, &r),
        Side::Right => node_hash(&r, p),
    }))
}

/// RFC 9162 §2.1.3.2 step 4 without the hashing: the side of each proof hash, from the leaf
/// up. RFC's `fn` is `node` (the index of the running hash's node on its level) and `sn` is
/// `last` (the index of the tree's last node on that level). The walk ends when `last` is 0,
/// at the root, so its length is the proof's, which makes the RFC's `sn == 0` checks (steps
/// 4a and 5) the length check in [`inclusion_root`].
#[derive(Clone)]
struct InclusionWalk {
    node: u64,
    last: u64,
}

impl Iterator for InclusionWalk {
    type Item = Side;

    fn next(&mut self) -> Option<Side> {
        if self.last == 0 {
            return None;
        }
        let side = if self.node & 1 == 1 || self.node == self.last {
            // Step 4b.ii: a last node that is a left child has no right sibling and moves up
            // unchanged until it is a right child. `node` is not 0 here: it is odd, or equal
            // to `last`, which is not 0.
            let up = self.node.trailing_zeros();
            self.node >>= up;
            self.last >>= up;
            Side::Left
        } else {
            Side::Right
        };
        self.node >>= 1;
        self.last >>= 1;
        Some(side)
    }
}

/// The subtree hash and tree root that a consistency proof for the subtree
/// `[start, end)` (valid, non-empty, `end <= size`) leads to, or, if the proof has the wrong
/// length, the length it needs.
fn consistency_roots(
    start: u64,
    end: u64,
    size: u64,
    proof: &[Hash],
    subtree_hash: &Hash,
) -> Result<(Hash, Hash), usize> {
    let walk = ConsistencyWalk::new(start, end, size);
    // Steps 6 and 7 of the draft: the walk starts from the subtree's own root, which the
    // verifier knows, or from a node inside it, which the proof's first hash carries.
    let seeded_by_proof = !walk.at_subtree_root();
    let want = usize::from(seeded_by_proof) + walk.clone().count();
    if proof.len() != want {
        return Err(want);
    }
    let (seed, rest) = match proof.split_first() {
        Some((first, rest)) if seeded_by_proof => (first, rest),
        _ => (subtree_hash, proof),
    };
    Ok(walk
        .zip(rest)
        .fold((*seed, *seed), |(sub, tree), (step, c)| match step {
            Step::LeftInSubtree => (node_hash(c, &sub), node_hash(c, &tree)),
            Step::Left => (sub, node_hash(c, &tree)),
            Step::Right => (sub, node_hash(&tree, c)),
        }))
}

/// How a consistency proof hash combines with the two running hashes.
#[derive(Clone, Copy)]
enum Step {
    /// A left sibling inside the subtree: it joins both the subtree hash and the tree root.
    LeftInSubtree,
    /// A left sibling outside the subtree: it joins the tree root only.
    Left,
    /// A right sibling, always outside the subtree: it joins the tree root only.
    Right,
}

/// The draft's "Verifying a Subtree Consistency Proof" steps 3–8 without the hashing. The
/// draft's `fn`, `sn` and `tn` are `first`, `node` and `last`: on the current level, the
/// indices of the nodes holding the subtree's first leaf, its last leaf (the running hashes'
/// node) and the tree's last leaf. The walk ends when `last` is 0, at the root, so its length
/// fixes the proof's and the draft's `tn == 0` checks become the length check in
/// [`consistency_roots`].
#[derive(Clone)]
struct ConsistencyWalk {
    first: u64,
    node: u64,
    last: u64,
}

impl ConsistencyWalk {
    fn new(start: u64, end: u64, size: u64) -> Self {
        let mut walk = ConsistencyWalk {
            first: start,
            node: end - 1,
            last: size - 1,
        };
        if walk.node == walk.last {
            // Step 4: the subtree's last leaf is the tree's, so the proof starts at the
            // subtree's root.
            while walk.first != walk.node {
                walk.up();
            }
        } else {
            // Step 5: climb while the node is a right child inside the subtree; its left
            // sibling is inside the subtree too, and the proof starts above them.
            while walk.first != walk.node && walk.node & 1 == 1 {
                walk.up();
            }
        }
        walk
    }

    fn at_subtree_root(&self) -> bool {
        self.first == self.node
    }

    fn up(&mut self) {
        self.first >>= 1;
        self.node >>= 1;
        self.last >>= 1;
    }
}

impl Iterator for ConsistencyWalk {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if self.last == 0 {
            return None;
        }
        let step = if self.node & 1 == 1 || self.node == self.last {
            let step = if self.first < self.node {
                Step::LeftInSubtree
            } else {
                Step::Left
            };
            // Step 8.2.3: as in RFC 9162, a last node that is a left child moves up unchanged.
            // `node` is not 0 here: it is odd, or equal to `last`, which is not 0.
            while self.node & 1 == 0 {
                self.up();
            }
            step
        } else {
            Step::Right
        };
        self.up();
        Some(step)
    }
}

/// Shows a hash by its first four bytes, enough to tell two apart in an error message.
struct Short<'a>(&'a Hash);

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}…", crate::hex::encode(&self.0[..4]))
    }
}
