//! A memoizing hash source serves exactly the proofs of the source it wraps, also when it
//! fills up and starts afresh.

use sealog_core::merkle::{MemoHashSource, MemoryTree, consistency_proof, inclusion_proof};

#[test]
fn memoized_proofs_equal_plain_proofs_at_every_capacity() {
    let mut tree = MemoryTree::new();
    for i in 0..1000u32 {
        let mut leaf = [0u8; 32];
        leaf[..4].copy_from_slice(&i.to_le_bytes());
        tree.push(leaf);
    }
    for size in [1u64, 2, 7, 256, 300, 1000] {
        for capacity in [0usize, 1, 8, 1 << 16] {
            let memo = MemoHashSource::new(&tree, capacity);
            for index in 0..size {
                assert_eq!(
                    inclusion_proof(&memo, index, size).unwrap(),
                    inclusion_proof(&tree, index, size).unwrap(),
                    "size {size} index {index} capacity {capacity}"
                );
            }
            for old in 1..=size {
                assert_eq!(
                    consistency_proof(&memo, old, size).unwrap(),
                    consistency_proof(&tree, old, size).unwrap(),
                );
            }
        }
    }
}
