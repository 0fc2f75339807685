//! The subtree proofs of the IETF Merkle Tree Certificates draft
//! (draft-ietf-plants-merkle-tree-certs). A direct transcription of the draft's recursive
//! definitions (`MTH`, `PATH`, `SUBTREE_PROOF`) is checked against the accumulated "Subtree
//! Test Vectors" the draft publishes for trees of up to 130 leaves, then used as the oracle
//! for the verifiers and for the RFC 9162 proof builders.

use sealog_core::merkle::{
    EMPTY_ROOT, Hash, MemoryTree, consistency_proof, inclusion_proof, leaf_hash, node_hash,
    tree_root, verify_subtree_consistency, verify_subtree_inclusion,
};
use sha2::{Digest, Sha256};

/// The draft's vectors cover trees of up to this many leaves.
const MAX: u64 = 130;

/// The draft's tree `D`: entry `i` is the single byte `i`. `mth[lo][hi]` is `MTH(D[lo:hi])`.
struct Draft {
    leaves: Vec<Hash>,
    mth: Vec<Vec<Hash>>,
}

impl Draft {
    fn new() -> Draft {
        let n = MAX as usize;
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[i as u8])).collect();
        let mut mth = vec![vec![EMPTY_ROOT; n + 1]; n + 1];
        for width in 1..=n {
            for lo in 0..=n - width {
                mth[lo][lo + width] = if width == 1 {
                    leaves[lo]
                } else {
                    let k = largest_power_of_two_below(width as u64) as usize;
                    node_hash(&mth[lo][lo + k], &mth[lo + k][lo + width])
                };
            }
        }
        Draft { leaves, mth }
    }

    fn mth(&self, lo: u64, hi: u64) -> Hash {
        self.mth[lo as usize][hi as usize]
    }

    /// RFC 9162 `PATH(m, D[lo:hi])`.
    fn path(&self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) {
        let n = hi - lo;
        if n == 1 {
            return;
        }
        let k = largest_power_of_two_below(n);
        if m < k {
            self.path(m, lo, lo + k, out);
            out.push(self.mth(lo + k, hi));
        } else {
            self.path(m - k, lo + k, hi, out);
            out.push(self.mth(lo, lo + k));
        }
    }

    /// The draft's `SUBTREE_PROOF(start, end, D_n)`.
    fn subtree_proof(&self, start: u64, end: u64, n: u64) -> Vec<Hash> {
        let mut out = Vec::new();
        if start != end {
            self.subtree_subproof(start, end, 0, n, true, &mut out);
        }
        out
    }

    /// `SUBTREE_SUBPROOF(start, end, D[lo:hi], known)`, with `start` and `end` relative to
    /// `lo`.
    fn subtree_subproof(
        &self,
        start: u64,
        end: u64,
        lo: u64,
        hi: u64,
        known: bool,
        out: &mut Vec<Hash>,
    ) {
        let n = hi - lo;
        if start == 0 && end == n {
            if !known {
                out.push(self.mth(lo, hi));
            }
            return;
        }
        let k = largest_power_of_two_below(n);
        if end <= k {
            self.subtree_subproof(start, end, lo, lo + k, known, out);
            out.push(self.mth(lo + k, hi));
        } else if k <= start {
            self.subtree_subproof(start - k, end - k, lo + k, hi, known, out);
            out.push(self.mth(lo, lo + k));
        } else {
            self.subtree_subproof(0, end - k, lo + k, hi, false, out);
            out.push(self.mth(lo, lo + k));
        }
    }
}

fn largest_power_of_two_below(n: u64) -> u64 {
    1 << (n - 1).ilog2()
}

/// The draft's subtree condition: `start` is a multiple of `BIT_CEIL(end - start)`.
fn is_subtree(start: u64, end: u64) -> bool {
    start <= end && start.is_multiple_of((end - start).next_power_of_two())
}

/// The valid subtrees `[start, end)` with `end <= n`, in the order of the draft's vectors.
fn subtrees(n: u64) -> impl Iterator<Item = (u64, u64)> {
    (0..=n)
        .flat_map(|end| (0..=end).map(move |start| (start, end)))
        .filter(|&(start, end)| is_subtree(start, end))
}

/// Accumulates lines into a SHA-256, as the draft's vectors do.
struct Digest256 {
    hasher: Sha256,
    line: Vec<u8>,
}

impl Digest256 {
    fn new() -> Self {
        Digest256 {
            hasher: Sha256::new(),
            line: Vec::new(),
        }
    }

    /// Writes `prefix`, then ` <hex>` for each hash, then a newline.
    fn line(&mut self, prefix: &str, hashes: &[Hash]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.line.clear();
        self.line.extend_from_slice(prefix.as_bytes());
        for hash in hashes {
            self.line.push(b' ');
            for b in hash {
                self.line.push(HEX[usize::from(b >> 4)]);
                self.line.push(HEX[usize::from(b & 0xf)]);
            }
        }
        self.line.push(b'\n');
        self.hasher.update(&self.line);
    }

    fn hex(self) -> String {
        self.hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[test]
fn draft_subtree_hash_vector() {
    let draft = Draft::new();
    let mut digest = Digest256::new();
    for (start, end) in subtrees(MAX) {
        digest.line(&format!("[{start}, {end})"), &[draft.mth(start, end)]);
    }
    assert_eq!(
        digest.hex(),
        "b82806ad4265bb151c1119c0f4db437bb4d1a1f887b3a7fba1cd4ebf552e3e81"
    );
}

/// Every subtree inclusion proof of the draft's vectors verifies, and a changed one does not.
#[test]
fn draft_subtree_inclusion_vector_and_verifier() {
    let draft = Draft::new();
    let mut digest = Digest256::new();
    let mut verified = 0;
    for (start, end) in subtrees(MAX) {
        let subtree_hash = draft.mth(start, end);
        for index in start..end {
            let mut proof = Vec::new();
            draft.path(index - start, start, end, &mut proof);
            digest.line(&format!("{index} [{start}, {end})"), &proof);
            let leaf = &draft.leaves[index as usize];
            verify_subtree_inclusion(leaf, index, start, end, &proof, &subtree_hash)
                .unwrap_or_else(|e| panic!("{index} in [{start}, {end}): {e}"));
            verified += 1;
            if let Some(first) = proof.first_mut() {
                first[0] ^= 1;
                assert!(
                    verify_subtree_inclusion(leaf, index, start, end, &proof, &subtree_hash)
                        .is_err()
                );
            }
        }
    }
    assert_eq!(verified, 12_807);
    assert_eq!(
        digest.hex(),
        "ac2a8f989e44d99e399db448050ff5f19757df53cfb716aa81015d3955d8163f"
    );
}

/// Every subtree consistency proof of the draft's vectors verifies, and a changed one does
/// not.
#[test]
fn draft_subtree_consistency_vector_and_verifier() {
    let draft = Draft::new();
    let mut digest = Digest256::new();
    let mut verified = 0;
    for n in 0..=MAX {
        let root = draft.mth(0, n);
        for (start, end) in subtrees(n) {
            let mut proof = draft.subtree_proof(start, end, n);
            digest.line(&format!("[{start}, {end}) {n}"), &proof);
            let subtree_hash = draft.mth(start, end);
            verify_subtree_consistency(start, end, n, &proof, &subtree_hash, &root)
                .unwrap_or_else(|e| panic!("[{start}, {end}) in {n}: {e}"));
            verified += 1;
            if let Some(last) = proof.last_mut() {
                last[31] ^= 0x80;
                assert!(
                    verify_subtree_consistency(start, end, n, &proof, &subtree_hash, &root)
                        .is_err()
                );
                proof.pop();
                assert!(
                    verify_subtree_consistency(start, end, n, &proof, &subtree_hash, &root)
                        .is_err()
                );
            }
        }
    }
    assert_eq!(verified, 42_893);
    assert_eq!(
        digest.hex(),
        "10fa99b37bf9bf9ffa26b412fbd98bd75363256d0b75d61bc4538b9c9c5a0a74"
    );
}

/// The draft's identities: `SUBTREE_PROOF(0, m, D_n)` is RFC 9162's `PROOF(m, D_n)` and
/// `SUBTREE_PROOF(i, i + 1, D_n)` is `PATH(i, D_n)`; so the proof builders must produce them.
#[test]
fn proof_builders_agree_with_the_draft() {
    let draft = Draft::new();
    let mut tree = MemoryTree::new();
    draft.leaves.iter().for_each(|&leaf| tree.push(leaf));
    for n in 1..=MAX {
        assert_eq!(tree_root(&tree, n).unwrap(), draft.mth(0, n));
        for m in 1..=n {
            assert_eq!(
                consistency_proof(&tree, m, n).unwrap(),
                draft.subtree_proof(0, m, n),
                "{m} → {n}"
            );
            assert_eq!(
                inclusion_proof(&tree, m - 1, n).unwrap(),
                draft.subtree_proof(m - 1, m, n),
                "{} in {n}",
                m - 1
            );
        }
    }
}
