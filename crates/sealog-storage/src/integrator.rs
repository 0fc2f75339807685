//! The integrator: signs a checkpoint when the tree grew, at most every
//! `checkpoint_interval`, and persists it before publishing it.

use crate::log::LogInner;
use crate::log_store::hash_source;
use crate::types::now_micros;
use crate::{SignedCheckpoint, checkpoint_history, sequencer};
use sealog_core::checkpoint::{self, Checkpoint};
use sealog_core::merkle::{consistency_proof, verify_consistency};
use sealog_core::note::Signer;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

/// Runs until the writer has stopped, then signs a final checkpoint. Dropping `publish` on
/// exit tells `wait_checkpoint` callers that no checkpoint will follow. `history_last` is when
/// the newest checkpoint of the history was signed.
pub(crate) fn run(
    log: Arc<LogInner>,
    signer: Signer,
    publish: watch::Sender<SignedCheckpoint>,
    mut history_last: Option<i64>,
) {
    let queue = &log.queue;
    let mut last_signed: Option<Instant> = None;
    loop {
        let signed = publish.borrow().size;
        let head = queue.wait_head(None, |h| h.size > signed || h.final_);
        if !head.final_
            && let Some(at) = last_signed
        {
            queue.wait_head(Some(at + log.options.checkpoint_interval), |h| h.final_);
        }
        let head = queue.head();
        if head.size > signed {
            match sign(
                &log,
                &signer,
                &publish,
                head.size,
                head.root,
                &mut history_last,
            ) {
                Ok(()) => last_signed = Some(Instant::now()),
                Err(why) => {
                    queue.fail(sequencer::stopped_by(&log, "signing a checkpoint", &why));
                    return;
                }
            }
        }
        if head.final_ {
            return;
        }
    }
}

/// Signs the tree of `size` entries with `root`, persists it, then publishes it.
fn sign(
    log: &LogInner,
    signer: &Signer,
    publish: &watch::Sender<SignedCheckpoint>,
    size: u64,
    root: sealog_core::merkle::Hash,
    history_last: &mut Option<i64>,
) -> Result<(), String> {
    // A node that may have lost the log to another signs nothing more.
    log.store
        .check_writer()
        .map_err(|e| format!("checking the writer: {e}"))?;
    let last = publish.borrow().clone();
    // Never sign a tree that does not extend the last checkpoint: check it from the stored
    // hashes, which is also what every proof will be served from.
    if last.size > 0 {
        let proof = consistency_proof(&hash_source(&*log.store, size), last.size, size)
            .map_err(|e| format!("building a consistency proof: {e}"))?;
        verify_consistency(last.size, size, &proof, &last.root, &root).map_err(|e| {
            format!(
                "the tree of size {size} does not extend the checkpoint of size {}: {e}",
                last.size
            )
        })?;
    }
    // The checkpoint vouches for the derived files up to `size`: recovery trusts them.
    log.store
        .sync_derived()
        .map_err(|e| format!("fsync of tree hashes: {e}"))?;
    let cp = Checkpoint {
        origin: log.origin.clone(),
        size,
        root,
        extensions: Vec::new(),
    };
    let signed = SignedCheckpoint {
        size,
        root,
        note: checkpoint::sign(&cp, signer),
        signed_unix_micros: now_micros(),
    };
    // The lock first: after a crash between the two it is ahead of the checkpoint file, but
    // never of the entries, which were durable before they were signed.
    if let Some(lock) = &log.checkpoint_lock {
        lock.advance(&log.name, &signed)
            .map_err(|e| format!("writing the checkpoint lock: {e}"))?;
    }
    log.store
        .store_checkpoint(&signed)
        .map_err(|e| format!("writing the checkpoint file: {e}"))?;
    if history_last
        .is_none_or(|t| signed.signed_unix_micros - t >= checkpoint_history::SPACING_MICROS)
    {
        log.store
            .append_history(&signed)
            .map_err(|e| format!("appending to the checkpoint history: {e}"))?;
        *history_last = Some(signed.signed_unix_micros);
    }
    publish.send_replace(signed);
    Ok(())
}
