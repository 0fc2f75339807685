//! Sealog receipts: one [tlog-proof](crate::tlog_proof) file that proves one event
//! (docs/DESIGN.md §2.3).
//!
//! The `extra` line carries the leaf bytes (docs/DESIGN.md §2.2), so a receipt is self-contained: the
//! verifier hashes those bytes, and needs from elsewhere only the log's key and, optionally,
//! a [trust policy](crate::policy) naming the witnesses it requires.
//!
//! Verification follows tlog-proof §Verifying: the checkpoint must be signed by the *pinned*
//! log key and name that log as its origin; the cosignatures of the policy's witnesses must
//! verify and meet its quorum; and the inclusion proof must bind the leaf hash to the
//! checkpoint's root. Nothing inside the receipt is trusted, and every failure says which of
//! these steps failed.

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::cosignature::CosignatureError;
use crate::merkle::{self, Hash, VerifyError};
use crate::note::Verifier;
use crate::policy::{Policy, QuorumNotMet};
use crate::tlog_proof::{TlogProof, TlogProofError};

/// A receipt that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The leaf bytes (JCS of the leaf, docs/DESIGN.md §2.2).
    pub leaf: Vec<u8>,
    /// The leaf's index in the log.
    pub index: u64,
    /// The checkpoint the leaf is proven against.
    pub checkpoint: Checkpoint,
    /// Policy names of the witnesses whose cosignatures verified (empty without a policy).
    pub witnesses: Vec<String>,
}

/// Why a receipt was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Not a well-formed tlog-proof.
    #[error("malformed receipt: {0}")]
    Malformed(#[from] TlogProofError),
    /// The tlog-proof has no `extra` line, so it does not carry the leaf.
    #[error("receipt has no \"extra\" line carrying the leaf")]
    MissingLeaf,
    /// The checkpoint is not signed by the pinned log key (bad signature, or signed by
    /// another key), or names another origin.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The policy lists logs, and the pinned log key is not one of them.
    #[error("the pinned log key {0} is not among the policy's logs")]
    LogNotInPolicy(String),
    /// The index is not below the checkpoint's tree size.
    #[error("leaf index {index} is outside the checkpoint's tree of size {size}")]
    IndexOutOfRange {
        /// The receipt's index.
        index: u64,
        /// The checkpoint's tree size.
        size: u64,
    },
    /// The inclusion proof does not bind the leaf hash to the checkpoint's root.
    #[error("the leaf is not in the tree at index {index}: {source}")]
    NotInTree {
        /// The receipt's index.
        index: u64,
        /// Why the proof failed.
        source: VerifyError,
    },
    /// A known witness's cosignature does not verify.
    #[error(transparent)]
    Cosignature(#[from] CosignatureError),
    /// The witnesses that cosigned do not meet the policy's quorum.
    #[error(transparent)]
    QuorumNotMet(#[from] QuorumNotMet),
}

/// Builds the receipt for the leaf at `index`, given its inclusion proof and the cosigned
/// checkpoint note it was computed against.
pub fn make(
    leaf: &[u8],
    index: u64,
    inclusion: Vec<Hash>,
    signed_checkpoint: Vec<u8>,
) -> TlogProof {
    TlogProof {
        extra: Some(leaf.to_vec()),
        index,
        inclusion,
        checkpoint: signed_checkpoint,
    }
}

/// Verifies a receipt against the pinned log key and, if given, a policy (whose quorum must
/// be met; if the policy lists logs, `log` must be one of them).
pub fn verify(
    receipt: &[u8],
    log: &Verifier,
    policy: Option<&Policy>,
) -> Result<VerifiedReceipt, ReceiptError> {
    let proof = TlogProof::parse(receipt)?;
    let leaf = proof.extra.ok_or(ReceiptError::MissingLeaf)?;
    let (cp, note) = checkpoint::open(&proof.checkpoint, log)?;
    let mut witnesses = Vec::new();
    if let Some(policy) = policy {
        let logs = policy.logs();
        if !logs.is_empty() && !logs.iter().any(|l| l.verifier == *log) {
            return Err(ReceiptError::LogNotInPolicy(log.vkey()));
        }
        witnesses = policy
            .verified_witnesses(&note, &cp)?
            .into_iter()
            .map(|c| c.name)
            .collect();
        policy.check_quorum(&witnesses)?;
    }
    if proof.index >= cp.size {
        return Err(ReceiptError::IndexOutOfRange {
            index: proof.index,
            size: cp.size,
        });
    }
    merkle::verify_inclusion(
        &merkle::leaf_hash(&leaf),
        proof.index,
        cp.size,
        &proof.inclusion,
        &cp.root,
    )
    .map_err(|source| ReceiptError::NotInTree {
        index: proof.index,
        source,
    })?;
    Ok(VerifiedReceipt {
        leaf,
        index: proof.index,
        checkpoint: cp,
        witnesses,
    })
}
