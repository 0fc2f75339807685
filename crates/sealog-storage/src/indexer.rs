//! The indexer: feeds the derived index in large batches, off the acknowledgement path.

use crate::index::IdIndex;
use crate::lock;
use crate::log::LogInner;
use crate::log_store::LogStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Leaves per index batch: per-batch costs make large batches much cheaper (index README).
pub(crate) const BATCH: u64 = 10_000;

/// Pause between batches that are not full, so that small groups gather into a batch.
const GATHER: Duration = Duration::from_millis(20);

/// Pause after a failed batch before retrying.
const RETRY: Duration = Duration::from_secs(1);

/// Runs until the writer stops; whatever is left is applied on the next open.
pub(crate) fn run(log: Arc<LogInner>) {
    let queue = &log.queue;
    loop {
        let watermark = log.index.watermark();
        let head = queue.wait_head(None, |h| h.size > watermark || h.final_);
        if head.final_ {
            return;
        }
        let end = head.size.min(watermark + BATCH);
        if let Err(why) = apply(&*log.store, &log.index, watermark, end) {
            *lock(&log.index_error) = Some(why);
            queue.wait_head(Some(Instant::now() + RETRY), |h| h.final_);
            continue;
        }
        *lock(&log.index_error) = None;
        lock(&queue.recent).prune(log.index.watermark());
        if end - watermark < BATCH {
            queue.wait_head(Some(Instant::now() + GATHER), |h| h.final_);
        }
    }
}

/// Indexes entries `start..end` of `store`. Entries retention pruned are indexed as empty
/// leaves (no id, no field), so the index advances past them; queries leave them out.
pub(crate) fn apply(
    store: &dyn LogStore,
    index: &IdIndex,
    start: u64,
    end: u64,
) -> Result<(), String> {
    let kept = store.entries_pruned().below.clamp(start, end);
    let leaves = store
        .read_entries(kept, end)
        .map_err(|e| format!("reading entries for the index: {e}"))?;
    let pruned = std::iter::repeat_n(&[][..], (kept - start) as usize);
    let refs: Vec<&[u8]> = pruned.chain(leaves.iter().map(Vec::as_slice)).collect();
    index.apply(start, &refs).map_err(|e| e.to_string())
}
