//! An in-memory tree that keeps the hash of every complete subtree: a [`HashSource`] for
//! tests, verifiers that rebuild a tree, and caches of a log's recent nodes.

use super::{Hash, HashSource, Node, hash_right_to_left, node_hash};

/// An in-memory tree holding every complete node of every level.
///
/// It serves the roots and proofs of every size up to its own, since those read only nodes
/// that were already complete at that size.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[l][i]` is the hash of `Node { level: l, index: i }`.
    levels: Vec<Vec<Hash>>,
}

/// A node that a [`MemoryTree`] does not hold, because it is not complete yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no complete node at level {} index {}", .node.level, .node.index)]
pub struct UnknownNode {
    /// The node asked for.
    pub node: Node,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a leaf, and every parent it completes.
    pub fn push(&mut self, leaf_hash: Hash) {
        let mut hash = leaf_hash;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let nodes = &mut self.levels[level];
            nodes.push(hash);
            // An odd count means the new node is a left child: its parent is not complete.
            if nodes.len() % 2 == 1 {
                return;
            }
            hash = node_hash(&nodes[nodes.len() - 2], &hash);
            level += 1;
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        // A level with an odd number of nodes ends in a node of the tree's border; from the
        // bottom level up, those are the border's subtrees from right to left.
        hash_right_to_left(
            self.levels
                .iter()
                .filter(|nodes| nodes.len() % 2 == 1)
                .filter_map(|nodes| nodes.last()),
        )
    }

    fn get(&self, node: Node) -> Option<Hash> {
        let index = usize::try_from(node.index).ok()?;
        self.levels
            .get(usize::from(node.level))?
            .get(index)
            .copied()
    }
}

impl HashSource for MemoryTree {
    type Error = UnknownNode;

    fn node_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, UnknownNode> {
        nodes
            .iter()
            .map(|&node| self.get(node).ok_or(UnknownNode { node }))
            .collect()
    }
}
