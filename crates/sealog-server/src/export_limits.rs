//! What exports may hold of the server: how many one key runs at once, how long a pack nobody
//! reads keeps its scratch file, and how much free disk must remain for ingest.
//!
//! A pack is built into unnamed scratch files in the data directory and streamed from there.
//! A client that starts exports and never reads them would otherwise pin that disk for as long
//! as it keeps the connections open, and a tenant's read key could fill the disk the log needs.

use crate::error::{ApiError, ApiResult};
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use std::collections::HashMap;
use std::fs::File;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;

/// Bytes of the ZIP sent at a time.
const STREAM_CHUNK_BYTES: usize = 256 << 10;

/// The bounds on exports, shared by every request.
pub struct ExportLimits {
    per_key: usize,
    idle: Duration,
    disk_reserve: u64,
    running: Mutex<HashMap<String, usize>>,
}

/// One running export of a key; its place is given back when dropped.
pub struct ExportSlot {
    limits: Arc<ExportLimits>,
    key_id: String,
}

impl ExportLimits {
    /// At most `per_key` exports per key at once, each dropped after `idle` without a read,
    /// and none started while the data directory's disk has less than `disk_reserve` bytes free.
    pub fn new(per_key: usize, idle: Duration, disk_reserve: u64) -> Self {
        ExportLimits {
            per_key,
            idle,
            disk_reserve,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// A place for one more export of `key_id`, given `free` bytes on the data directory's
    /// disk; 429 when the key runs its most, 507 when the disk is at its reserve.
    pub fn admit(self: &Arc<Self>, key_id: &str, free: u64) -> ApiResult<ExportSlot> {
        if free < self.disk_reserve {
            return Err(ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "insufficient_storage",
                format!(
                    "the data directory's disk has {free} bytes free, below the {} kept for \
                     ingest (--export-disk-reserve-bytes); exports resume once the operator \
                     frees space",
                    self.disk_reserve
                ),
            ));
        }
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        let count = running.entry(key_id.to_owned()).or_default();
        if *count >= self.per_key {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_exports",
                format!(
                    "key {key_id} already runs {} exports, its most at once \
                     (--max-exports-per-key); finish reading one, then retry",
                    self.per_key
                ),
            )
            .retry_after(Duration::from_secs(5)));
        }
        *count += 1;
        Ok(ExportSlot {
            limits: Arc::clone(self),
            key_id: key_id.to_owned(),
        })
    }

    /// Streams `pack` as a response body. The export keeps its slot and the scratch file
    /// until the body is read to the end, or until the client has read nothing for the idle
    /// deadline: then the body ends short (the client sees a truncated download) and the file
    /// is closed, which frees its disk.
    pub fn stream(&self, pack: File, slot: ExportSlot) -> Body {
        let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(1);
        let idle = self.idle;
        tokio::spawn(async move {
            use futures_util::StreamExt;
            let mut chunks =
                ReaderStream::with_capacity(tokio::fs::File::from_std(pack), STREAM_CHUNK_BYTES);
            while let Some(chunk) = chunks.next().await {
                match tx.send_timeout(chunk, idle).await {
                    Ok(()) => {}
                    Err(mpsc::error::SendTimeoutError::Timeout(_)) => {
                        tracing::warn!(
                            key = %slot.key_id,
                            "an export was not read for {idle:?}; it is dropped and its \
                             scratch file freed"
                        );
                        break;
                    }
                    Err(mpsc::error::SendTimeoutError::Closed(_)) => break,
                }
            }
            drop(slot);
        });
        Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        }))
    }
}

impl Drop for ExportSlot {
    fn drop(&mut self) {
        let mut running = self
            .limits
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = running.get_mut(&self.key_id) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.key_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_exports_and_the_disk_reserve_refuses_them_all() {
        let limits = Arc::new(ExportLimits::new(2, Duration::from_secs(1), 1000));
        let a1 = limits.admit("a", 5000).unwrap();
        let _a2 = limits.admit("a", 5000).unwrap();
        let e = limits.admit("a", 5000).err().unwrap();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(e.retry_after.is_some());
        let _b = limits.admit("b", 5000).unwrap();
        drop(a1);
        let _a3 = limits.admit("a", 5000).unwrap();
        let e = limits.admit("c", 999).err().unwrap();
        assert_eq!(e.status, StatusCode::INSUFFICIENT_STORAGE);
    }
}
