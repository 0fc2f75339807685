//! A [`HashSource`] that remembers every node it served, for building many proofs at once.

use super::{Hash, HashSource, Node};
use std::cell::RefCell;
use std::collections::HashMap;

/// Wraps a [`HashSource`] and remembers each node hash it returns, so that the proofs of many
/// entries (an evidence pack's) ask the inner source for each node once. Neighbouring entries
/// share most of their proof path; with tile storage, where a node inside a tile is rebuilt
/// from the tile's lowest level, this turns the work per proof from hundreds of hashes into a
/// handful.
///
/// It holds at most `capacity` nodes and forgets them all when full (proofs stay correct;
/// only the saving is lost), so memory stays bounded.
///
/// ```
/// use sealog_core::merkle::{MemoHashSource, MemoryTree, inclusion_proof};
///
/// let mut tree = MemoryTree::new();
/// for i in 0u8..100 {
///     tree.push([i; 32]);
/// }
/// let memo = MemoHashSource::new(&tree, 10_000);
/// for i in 0..100 {
///     assert_eq!(
///         inclusion_proof(&memo, i, 100).unwrap(),
///         inclusion_proof(&tree, i, 100).unwrap()
///     );
/// }
/// ```
pub struct MemoHashSource<S> {
    inner: S,
    capacity: usize,
    known: RefCell<HashMap<Node, Hash>>,
}

impl<S> MemoHashSource<S> {
    /// Remembers up to `capacity` nodes of `inner`.
    pub fn new(inner: S, capacity: usize) -> Self {
        MemoHashSource {
            inner,
            capacity,
            known: RefCell::new(HashMap::new()),
        }
    }
}

impl<S: HashSource> HashSource for MemoHashSource<S> {
    type Error = S::Error;

    fn node_hashes(&self, nodes: &[Node]) -> Result<Vec<Hash>, Self::Error> {
        let mut known = self.known.borrow_mut();
        let missing: Vec<Node> = nodes
            .iter()
            .filter(|n| !known.contains_key(n))
            .copied()
            .collect();
        if !missing.is_empty() {
            let fetched = self.inner.node_hashes(&missing)?;
            if known.len() + missing.len() > self.capacity {
                known.clear();
            }
            known.extend(missing.into_iter().zip(fetched));
        }
        // Served from the map only when it kept them: after a clear, ask again.
        match nodes.iter().map(|n| known.get(n).copied()).collect() {
            Some(hashes) => Ok(hashes),
            None => self.inner.node_hashes(nodes),
        }
    }
}
