//! Tree hashes and proofs built from stored hashes of complete subtrees.
//!
//! Every element of an RFC 6962 proof is the hash of a range of leaves that starts on a
//! multiple of a power of two at least its width, so it is made of at most 64 complete
//! subtrees ([`Node`]s), which storage keeps. Each builder first lists the ranges its proof
//! needs, reads all their nodes in one [`HashSource::node_hashes`] call, and folds each range
//! from the right. No leaf is rehashed and no incomplete node is ever stored.

use super::{EMPTY_ROOT, Hash, HashSource, Node, hash_right_to_left, subtrees};
use std::ops::Range;

/// Why a root or proof could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError<E> {
    /// The leaf index is not below the tree size.
    #[error("index {index} is outside a tree of size {size}")]
    IndexOutsideTree {
        /// The requested leaf index.
        index: u64,
        /// The requested tree size.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("old size {old_size} is larger than new size {new_size}")]
    OldSizeLarger {
        /// The requested old size.
        old_size: u64,
        /// The requested new size.
        new_size: u64,
    },
    /// A consistency proof from the empty tree was requested; RFC 9162 has none.
    #[error("there is no consistency proof from the empty tree (0 → {new_size})")]
    ConsistencyFromEmpty {
        /// The requested new size.
        new_size: u64,
    },
    /// The hash source broke its contract and returned a hash count other than asked.
    #[error("the hash source returned {returned} hashes for {asked} nodes")]
    SourceHashCount {
        /// Nodes asked for.
        asked: usize,
        /// Hashes returned.
        returned: usize,
    },
    /// The hash source failed.
    #[error(transparent)]
    Source(E),
}

/// The root of the tree made of the first `size` leaves.
pub fn tree_root<S: HashSource>(source: &S, size: u64) -> Result<Hash, ProofError<S::Error>> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    let nodes: Vec<Node> = subtrees(0..size).collect();
    let hashes = read(source, &nodes)?;
    Ok(hash_right_to_left(hashes.iter().rev()))
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves: RFC 9162 §2.1.3.1
/// `PATH(index, D[size])`, from the leaf's sibling up.
pub fn inclusion_proof<S: HashSource>(
    source: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutsideTree { index, size });
    }
    range_hashes(source, &path_siblings(index, size, 0))
}

/// The consistency proof from the tree of `old_size` leaves to the tree of `new_size`:
/// RFC 9162 §2.1.4.1 `PROOF(old_size, D[new_size])`. It is empty when the sizes are equal.
pub fn consistency_proof<S: HashSource>(
    source: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old_size == 0 {
        return Err(ProofError::ConsistencyFromEmpty { new_size });
    }
    if old_size > new_size {
        return Err(ProofError::OldSizeLarger { old_size, new_size });
    }
    if old_size == new_size {
        return Ok(Vec::new());
    }
    // The old tree's last leaf sits at the bottom of its smallest complete subtree, of
    // `level` levels. The proof is that subtree (left out when it is the whole old tree, whose
    // root the verifier has) followed by the inclusion path of the old tree's last leaf in the
    // new tree from that level up — the verifier rebuilds both roots from them.
    let level = old_size.trailing_zeros();
    let mut ranges = Vec::new();
    if !old_size.is_power_of_two() {
        ranges.push(old_size - (1 << level)..old_size);
    }
    ranges.extend(path_siblings(old_size - 1, new_size, level));
    range_hashes(source, &ranges)
}

/// The leaves under the siblings of the path from leaf `index` to the root of a tree of
/// `size` leaves, from level `from` up.
///
/// At each level the sibling of the path's node spans `2^level` leaves. A left sibling is
/// complete; a right sibling is cut off at `size`, and is absent if it starts at or past
/// `size` — then RFC 6962 moves the node up unchanged and the level adds nothing.
fn path_siblings(index: u64, size: u64, from: u32) -> Vec<Range<u64>> {
    let height = u64::BITS - (size - 1).leading_zeros();
    (from..height)
        .filter_map(|level| {
            // Flipping bit `level` of the path's first leaf gives the sibling's first leaf.
            let start = (index >> level << level) ^ (1 << level);
            (start < size).then(|| start..start + (size - start).min(1 << level))
        })
        .collect()
}

/// The hashes of leaf ranges, each read as its complete subtrees, all in one read.
fn range_hashes<S: HashSource>(
    source: &S,
    ranges: &[Range<u64>],
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    let nodes: Vec<Node> = ranges.iter().flat_map(|r| subtrees(r.clone())).collect();
    let hashes = read(source, &nodes)?;
    let mut at = 0;
    Ok(ranges
        .iter()
        .map(|r| {
            let count = (r.end - r.start).count_ones() as usize;
            let range = &hashes[at..at + count];
            at += count;
            hash_right_to_left(range.iter().rev())
        })
        .collect())
}

/// Reads node hashes, holding the source to returning one hash per node.
fn read<S: HashSource>(source: &S, nodes: &[Node]) -> Result<Vec<Hash>, ProofError<S::Error>> {
    let hashes = source.node_hashes(nodes).map_err(ProofError::Source)?;
    if hashes.len() != nodes.len() {
        return Err(ProofError::SourceHashCount {
            asked: nodes.len(),
            returned: hashes.len(),
        });
    }
    Ok(hashes)
}
