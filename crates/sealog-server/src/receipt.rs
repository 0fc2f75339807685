//! Receipts: an event's C2SP tlog-proof (its leaf, index and inclusion proof, with the signed
//! checkpoint it is proven against). Ingest with `?wait=checkpoint` and the read routes build
//! them here alike, always on the blocking pool: reading leaves and tree hashes waits on the
//! disk.

use crate::error::{ApiError, ApiResult};
use axum::http::StatusCode;
use sealog_core::receipt;
use sealog_storage::{Log, ProvenEntry, SignedCheckpoint};
use std::time::Duration;

/// The receipt of one proven entry against `cp`.
fn text(entry: ProvenEntry, cp: &SignedCheckpoint) -> ApiResult<String> {
    let proof = receipt::make(&entry.leaf, entry.index, entry.inclusion, cp.note.clone());
    String::from_utf8(proof.to_bytes()).map_err(|_| ApiError::internal("a receipt is not UTF-8"))
}

/// The receipts of entries `indices` (any order, repeats allowed) against `cp`, in the order
/// given, built on the blocking pool with the proofs' shared nodes computed once.
pub async fn receipts(
    log: &Log,
    indices: Vec<u64>,
    cp: SignedCheckpoint,
) -> ApiResult<Vec<String>> {
    crate::read::blocking(log, move |log| {
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let texts = log
            .proven_entries(&sorted, cp.size)?
            .map(|entry| text(entry?, &cp))
            .collect::<ApiResult<Vec<String>>>()?;
        // Every index given is in `sorted`, so none is left out.
        Ok(indices
            .iter()
            .filter_map(|i| sorted.binary_search(i).ok().map(|at| texts[at].clone()))
            .collect())
    })
    .await
}

/// The receipt of entry `index` against `cp`.
pub async fn receipt(log: &Log, index: u64, cp: SignedCheckpoint) -> ApiResult<String> {
    let one = receipts(log, vec![index], cp).await?;
    Ok(one.concat())
}

/// The latest signed checkpoint covering the first `size` entries, waiting up to `wait` for
/// one; a 503 with `code` and `message` (and a retry hint of one checkpoint interval) if none
/// came in time.
pub async fn covering(
    log: &Log,
    size: u64,
    wait: Duration,
    code: &'static str,
    message: &str,
) -> ApiResult<SignedCheckpoint> {
    match tokio::time::timeout(wait, log.wait_checkpoint(size)).await {
        Ok(cp) => Ok(cp?),
        Err(_) => Err(
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
                .retry_after(log.checkpoint_interval()),
        ),
    }
}
