//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and verification.
//!
//! The tree hashes a leaf as `SHA-256(0x00 ‖ data)` and an interior node as
//! `SHA-256(0x01 ‖ left ‖ right)`; the empty tree's root is `SHA-256("")`.
//!
//! Storage never keeps a whole tree in memory: it keeps the hashes of *complete* subtrees
//! ([`Node`]s) and hands them to the proof builders through [`HashSource`]. The log's writer
//! appends to a [`CompactTree`], which returns exactly the nodes each append completes, for
//! storage to persist; [`tree_root`], [`inclusion_proof`] and [`consistency_proof`] then read
//! those stored hashes and never rehash leaves. [`MemoryTree`] keeps every node in memory.
//!
//! The verifiers are strict (RFC 9162 §2.1.3.2 and §2.1.4.2): a proof with a missing, extra
//! or altered element, or an index outside the tree, is rejected with a [`VerifyError`] that
//! says why. [`verify_subtree_inclusion`] and [`verify_subtree_consistency`] verify the
//! subtree proofs of the IETF Merkle Tree Certificates draft, which tie a range of the log to
//! a checkpoint.

use sha2::{Digest, Sha256};

/// A SHA-256 hash: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: `SHA-256("")`.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Hashes leaf data: `SHA-256(0x00 ‖ data)`.
///
/// ```
/// let h = sealog_core::merkle::leaf_hash(b"");
/// assert_eq!(h[0], 0x6e);
/// ```
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// Hashes an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A complete subtree of the tree: the `2^level` leaves `[index << level, (index + 1) << level)`.
///
/// Level 0 nodes are leaves. These are the hashes that storage persists; every root and proof
/// of any tree size is computed from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    /// Height of the subtree (0 for a leaf).
    pub level: u8,
    /// Position of the subtree among the subtrees of the same level, from the left.
    pub index: u64,
}

/// Where proof builders read stored hashes of complete subtrees.
///
/// Implementations return the hashes in the order of `nodes`. Asking for a node that is not
/// yet complete is a caller bug; implementations should return an error rather than panic.
pub trait HashSource {
    /// The storage error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the hash of each node, in order.
    fn node_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, Self::Error>;
}

impl<S: HashSource + ?Sized> HashSource for &S {
    type Error = S::Error;

    fn node_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, Self::Error> {
        (**self).node_hashes(nodes)
    }
}

mod compact;
mod memo;
mod memory;
mod proof;
mod verify;

pub use compact::{BorderError, CompactTree};
pub use memo::MemoHashSource;
pub use memory::{MemoryTree, UnknownNode};
pub use proof::{ProofError, consistency_proof, inclusion_proof, tree_root};
pub use verify::{
    VerifyError, verify_consistency, verify_inclusion, verify_subtree_consistency,
    verify_subtree_inclusion,
};

/// The complete subtrees that make up the leaves `leaves`, largest (leftmost) first.
///
/// RFC 6962 splits a range at the largest power of two below its length, so when
/// `leaves.start` is a multiple of the first subtree's width — as it is for every range in a
/// tree hash or a proof — the range's hash is [`hash_right_to_left`] of these subtrees.
fn subtrees(leaves: std::ops::Range<u64>) -> impl Iterator<Item = Node> {
    let mut start = leaves.start;
    std::iter::from_fn(move || {
        let width = leaves.end.checked_sub(start).filter(|&w| w > 0)?;
        let level = width.ilog2();
        let node = Node {
            // ilog2 of a u64 is below 64.
            level: level as u8,
            index: start >> level,
        };
        start += 1 << level;
        Some(node)
    })
}

/// Hashes adjacent complete subtrees, given right to left, into the hash of the leaves they
/// span; no subtrees is the empty tree.
///
/// The fold starts from the right because RFC 6962 splits off the largest subtree on the
/// left: `MTH(a, b, c) = H(a, H(b, c))`.
fn hash_right_to_left<'a>(subtrees: impl IntoIterator<Item = &'a Hash>) -> Hash {
    subtrees
        .into_iter()
        .copied()
        .reduce(|right, left| node_hash(&left, &right))
        .unwrap_or(EMPTY_ROOT)
}
