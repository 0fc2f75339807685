//! Verifying packs on every core, and single receipts.

use crate::archive::Files;
use sealog_core::evidence::{
    self, CHECKPOINT, CONSISTENCY, ENTRIES, MANIFEST, MANIFEST_SIG, PROOFS, PackError,
    PackVerifier, Report, Trust, VerifiedChunk,
};
use sealog_core::receipt::{self, ReceiptError, VerifiedReceipt};
use sealog_core::tlog_proof::TlogProof;

/// Lines each worker verifies at a time: big enough to amortise the shared upper proof path,
/// small enough to keep every core busy.
const CHUNK_LINES: usize = 8192;

/// Verifies a pack on `threads` threads (at least one). Entries are verified in chunks, in
/// waves of one chunk per thread, and absorbed in order, so memory stays bounded by a wave.
pub fn verify_pack(files: &Files, trust: &Trust, threads: usize) -> Result<Report, PackError> {
    let get = |name: &'static str| {
        files
            .get(name)
            .map(Vec::as_slice)
            .ok_or(PackError::Missing(name))
    };
    let mut v = PackVerifier::open(get(MANIFEST)?, get(MANIFEST_SIG)?, get(CHECKPOINT)?, trust)?;
    let entries = evidence::lines(get(ENTRIES)?);
    let proofs = evidence::lines(get(PROOFS)?);
    let consistency = get(CONSISTENCY)?;
    let threads = threads.max(1);
    let cp = v.checkpoint().clone();
    let digests = std::thread::scope(|s| {
        let digests = s.spawn(|| {
            files
                .iter()
                .filter(|(name, _)| *name != MANIFEST && *name != MANIFEST_SIG)
                .map(|(name, bytes)| (name.clone(), evidence::sha256(bytes)))
                .collect::<Vec<_>>()
        });
        let lines = entries.len().max(proofs.len());
        let mut start = 0;
        while start < lines {
            let wave: Vec<VerifiedChunk> = std::thread::scope(|w| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| start + t * CHUNK_LINES)
                    .filter(|&from| from < lines)
                    .map(|from| {
                        let to = (from + CHUNK_LINES).min(lines);
                        let (e, p) = (slice(&entries, from, to), slice(&proofs, from, to));
                        let cp = &cp;
                        w.spawn(move || evidence::verify_chunk(cp, from as u64 + 1, e, p))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("verification does not panic"))
                    .collect()
            });
            for chunk in wave {
                v.absorb(chunk);
            }
            start += threads * CHUNK_LINES;
        }
        digests.join().expect("hashing does not panic")
    });
    for (name, digest) in &digests {
        v.file_digest(name, digest);
    }
    v.consistency(consistency, &trust.log);
    Ok(v.finish())
}

fn slice<'a>(lines: &'a [&'a [u8]], from: usize, to: usize) -> &'a [&'a [u8]] {
    &lines[from.min(lines.len())..to.min(lines.len())]
}

/// Why a receipt did not verify.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptCheckError {
    /// The receipt itself failed.
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    /// Its checkpoint lacks a pinned witness.
    #[error(transparent)]
    Witness(#[from] PackError),
}

/// Verifies a single receipt (a tlog-proof file) against the pinned keys, witnesses included.
pub fn verify_receipt(bytes: &[u8], trust: &Trust) -> Result<VerifiedReceipt, ReceiptCheckError> {
    let mut verified = receipt::verify(bytes, &trust.log, trust.policy.as_ref())?;
    let proof = TlogProof::parse(bytes).map_err(ReceiptError::from)?;
    let (_, witnesses) = evidence::open_checkpoint(&proof.checkpoint, trust)?;
    for w in witnesses {
        if !verified.witnesses.contains(&w) {
            verified.witnesses.push(w);
        }
    }
    Ok(verified)
}
