//! The incremental tree that the log's writer keeps: a "compact range" of the tree's border.
//!
//! A tree of `size` leaves is made of one complete subtree per set bit of `size`, largest
//! first (its border). Appending a leaf merges it with the border's smallest subtrees while
//! they are left siblings, so an append costs O(1) hashes amortised and the root O(log n).
//! Every node an append completes is returned, for storage to persist: those are all the
//! hashes any later proof needs.

use super::{Hash, Node, hash_right_to_left, node_hash, subtrees};

/// The border of a tree: enough to append leaves and compute the root, not to build proofs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    /// The hashes of [`CompactTree::border`]`(size)`, left to right.
    border: Vec<Hash>,
}

/// [`CompactTree::from_border`] was given a hash count that does not fit the size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a tree of size {size} has {want} border nodes, got {got} hashes")]
pub struct BorderError {
    /// The tree size.
    pub size: u64,
    /// The border nodes of that size: one per set bit.
    pub want: usize,
    /// The hashes given.
    pub got: usize,
}

impl CompactTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root.
    pub fn root(&self) -> Hash {
        hash_right_to_left(self.border.iter().rev())
    }

    /// Appends a leaf and returns every complete node this creates: the leaf (level 0), then
    /// each parent it completes, bottom up — the hashes storage must persist.
    pub fn append(&mut self, leaf_hash: Hash) -> Vec<(Node, Hash)> {
        let mut node = Node {
            level: 0,
            index: self.size,
        };
        let mut hash = leaf_hash;
        let mut created = vec![(node, hash)];
        // An odd index makes the node a right child, whose left sibling is the border's last
        // subtree; their parent is complete.
        while node.index & 1 == 1
            && let Some(left) = self.border.pop()
        {
            hash = node_hash(&left, &hash);
            node = Node {
                level: node.level + 1,
                index: node.index >> 1,
            };
            created.push((node, hash));
        }
        self.border.push(hash);
        self.size += 1;
        created
    }

    /// The complete subtrees a tree of `size` leaves is made of, left to right: one per set
    /// bit of `size`, largest first.
    pub fn border(size: u64) -> Vec<Node> {
        subtrees(0..size).collect()
    }

    /// Restores a tree from the hashes of [`CompactTree::border`]`(size)`, in that order.
    pub fn from_border(size: u64, hashes: Vec<Hash>) -> Result<CompactTree, BorderError> {
        let want = size.count_ones() as usize;
        if hashes.len() != want {
            return Err(BorderError {
                size,
                want,
                got: hashes.len(),
            });
        }
        Ok(CompactTree {
            size,
            border: hashes,
        })
    }
}
