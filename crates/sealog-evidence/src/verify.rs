//! Verifying packs on every core, and single receipts.

use crate::archive::Files;
use sealog_core::evidence::{
    self, CHECKPOINT, CONSISTENCY, ENTRIES, MANIFEST, MANIFEST_SIG, PROOFS, PackError,
    PackVerifier, Report, Trust, VerifiedChunk,
};
use sealog_core::receipt::{self, ReceiptError, VerifiedReceipt};
use sealog_core::tlog_proof::TlogProof;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// Lines each worker verifies at a time: big enough to amortise the shared upper proof path,
/// small enough to keep every core busy.
const CHUNK_LINES: usize = 8192;

/// Verifies a pack on `threads` threads (at least one). Entries are verified in chunks that
/// the threads take in order; this thread absorbs them in order as they come, so memory stays
/// bounded by a few chunks.
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
    let lines = entries.len().max(proofs.len());
    let chunks = lines.div_ceil(CHUNK_LINES);
    let next_chunk = AtomicUsize::new(0);
    // Workers take chunks in order and send them back; this thread absorbs them in order
    // while the workers go on, holding back only the few that arrive early.
    let (done, results) = mpsc::sync_channel::<(usize, VerifiedChunk)>(threads * 2);
    let digests = std::thread::scope(|s| {
        let digests = s.spawn(|| {
            files
                .iter()
                .filter(|(name, _)| *name != MANIFEST && *name != MANIFEST_SIG)
                .map(|(name, bytes)| (name.clone(), evidence::sha256(bytes)))
                .collect::<Vec<_>>()
        });
        for _ in 0..threads {
            let (done, next_chunk, cp) = (done.clone(), &next_chunk, &cp);
            let (entries, proofs) = (&entries, &proofs);
            s.spawn(move || {
                loop {
                    let n = next_chunk.fetch_add(1, Ordering::Relaxed);
                    if n >= chunks {
                        break;
                    }
                    let (from, to) = (n * CHUNK_LINES, ((n + 1) * CHUNK_LINES).min(lines));
                    let (e, p) = (slice(entries, from, to), slice(proofs, from, to));
                    let chunk = evidence::verify_chunk(cp, from as u64 + 1, e, p);
                    if done.send((n, chunk)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        let mut early = BTreeMap::new();
        let mut want = 0;
        for (n, chunk) in results {
            early.insert(n, chunk);
            while let Some(chunk) = early.remove(&want) {
                v.absorb(chunk);
                want += 1;
            }
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
